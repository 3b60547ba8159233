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

export function desiredUnits(
  apps: readonly App[],
  options: RenderOptions,
  keptPorts?: ReadonlyMap<string, number>,
  busyPorts?: ReadonlySet<number>,
): DesiredState {
  const backends = resolveBackends(apps, keptPorts, busyPorts);
  return {
    apps: apps.map((app) => {
      const backend = backends.get(app.name);
      return { name: app.name, app, ...(backend && { backend }), units: renderApp(app, backend, options) };
    }),
  };
}
