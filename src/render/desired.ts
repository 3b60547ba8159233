// The desired state: every valid app's unit files, with backend ports
// resolved. An app whose units cannot be rendered is a failure of that app
// alone, reported at its manifest field; the others render as usual.
import type { InetAddress } from '../manifest/address.js';
import type { App } from '../manifest/app.js';
import type { LateProblem } from '../manifest/load.js';
import type { RenderOptions } from './options.js';
import { needsAllocatedBackend, resolveBackends } from './ports.js';
import { renderApp, type RenderedUnit, type RenderResult } from './units.js';

export interface DesiredApp {
  readonly name: string;
  readonly app: App;
  readonly backend?: InetAddress;
  /** A backend port appsd allocated for the app (kept in the inventory while the app exists). */
  readonly allocatedPort?: number;
  readonly units: RenderedUnit[];
}

export interface DesiredState {
  readonly apps: DesiredApp[];
  /** Apps that could not be rendered, at the field to blame. */
  readonly failures: LateProblem[];
}

/** Renders kept between passes: an unchanged app (the same object) with the same backend renders the same bytes. */
export type RenderCache = WeakMap<App, { readonly backend: string; readonly result: RenderResult }>;

export function desiredUnits(
  apps: readonly App[],
  options: RenderOptions,
  keptPorts?: ReadonlyMap<string, number>,
  busyPorts?: ReadonlySet<number>,
  cache?: RenderCache,
): DesiredState {
  const backends = resolveBackends(apps, keptPorts, busyPorts);
  const desired: DesiredApp[] = [];
  const failures: LateProblem[] = [];
  for (const app of apps) {
    const backend = backends.get(app.name);
    const key = backend ? `${backend.host}:${backend.port}` : '';
    let result = cache?.get(app)?.backend === key ? cache.get(app)!.result : undefined;
    if (!result) {
      result = renderApp(app, backend, options);
      cache?.set(app, { backend: key, result });
    }
    if (!result.ok) {
      failures.push({ file: app.file, path: result.path, code: 'unrenderable', message: result.message });
      continue;
    }
    desired.push({
      name: app.name,
      app,
      ...(backend && { backend }),
      ...(backend && needsAllocatedBackend(app) && { allocatedPort: backend.port }),
      units: result.units,
    });
  }
  return { apps: desired, failures };
}
