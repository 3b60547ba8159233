// The desired state: every valid app's unit files, with backend ports resolved.
import type { InetAddress } from '../manifest/address.js';
import type { App } from '../manifest/app.js';
import type { RenderOptions } from './options.js';
import { resolveBackends } from './ports.js';
import { renderApp, type RenderedUnit } from './units.js';

export interface DesiredApp {
  readonly name: string;
  readonly app: App;
  readonly backend?: InetAddress;
  readonly units: RenderedUnit[];
}

export interface DesiredState {
  readonly apps: DesiredApp[];
}

/** Rendered units kept between passes: an unchanged app (the same object) with the same backend renders the same bytes. */
export type RenderCache = WeakMap<App, { readonly backend: string; readonly units: RenderedUnit[] }>;

export function desiredUnits(
  apps: readonly App[],
  options: RenderOptions,
  keptPorts?: ReadonlyMap<string, number>,
  busyPorts?: ReadonlySet<number>,
  cache?: RenderCache,
): DesiredState {
  const backends = resolveBackends(apps, keptPorts, busyPorts);
  return {
    apps: apps.map((app) => {
      const backend = backends.get(app.name);
      const key = backend ? `${backend.host}:${backend.port}` : '';
      let units = cache?.get(app)?.backend === key ? cache.get(app)!.units : undefined;
      if (!units) {
        units = renderApp(app, backend, options);
        cache?.set(app, { backend: key, units });
      }
      return { name: app.name, app, ...(backend && { backend }), units };
    }),
  };
}
