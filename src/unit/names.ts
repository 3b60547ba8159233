// The names of an app's units, in one place. The app name's charset (lower-case
// letters, digits, '-') keeps them free of escaping.
import type { Activation } from '../manifest/app.js';

export const APP_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
export const APP_NAME_MAX = 48;

/**
 * An app name appsd can own units for: lower-case letters, digits and '-', at
 * most 48, not ending in -backend (appsd-X-backend.service is app X's
 * backend). Names read back from state are checked with it too.
 */
export function isAppName(name: string): boolean {
  return APP_NAME.test(name) && name.length <= APP_NAME_MAX && !name.endsWith('-backend');
}

/** How many slices appsd spreads apps over (see sliceOf). */
export const SLICES = 64;

/**
 * The slice an app's units run in: appsd-shardNN.slice, NN a stable hash of
 * the app name (FNV-1a) over 64 slices, all under appsd.slice. Why not one
 * slice: systemd 252's daemon-reload, for every unit whose cgroup it
 * realizes, walks the other members of the unit's slice, so thousands of
 * units in one slice make every reload grow with the square of their number
 * (docs/benchmarks.md, Growth). A slice needs no unit file: systemd makes it
 * when a unit names it.
 */
export function sliceOf(app: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < app.length; i++) hash = Math.imul(hash ^ app.charCodeAt(i), 0x01000193) >>> 0;
  return `appsd-shard${String(hash % SLICES).padStart(2, '0')}.slice`;
}

export interface AppUnitNames {
  /** appsd-NAME.socket: listens all the time; the only unit enabled. */
  readonly socket: string;
  /** appsd-NAME.service: the proxy (proxy activation) or the app itself (native). */
  readonly service: string;
  /** appsd-NAME-backend.service: the app behind the proxy (proxy activation only). */
  readonly backend: string;
}

export function appUnitNames(app: string): AppUnitNames {
  return { socket: `appsd-${app}.socket`, service: `appsd-${app}.service`, backend: `appsd-${app}-backend.service` };
}

/**
 * The socket and proxy of one backend port of an app: appsd-NAME.* for its
 * main port, appsd-NAME_PORT.* for each other one (`2222 -> 22`). App names
 * have no '_', so these never clash with another app's units.
 */
export function forwardUnitNames(app: string, port: number | undefined): { readonly socket: string; readonly service: string } {
  const base = port === undefined ? `appsd-${app}` : `appsd-${app}_${port}`;
  return { socket: `${base}.socket`, service: `${base}.service` };
}

/** Which of an app's units a name is (a socket, a proxy or native service, the backend), or undefined when it is none of them. */
export function unitRole(app: string, unit: string): keyof AppUnitNames | undefined {
  if (unit === `appsd-${app}-backend.service`) return 'backend';
  const prefix = `appsd-${app}`;
  if (!unit.startsWith(prefix)) return undefined;
  const m = /^(?:_([1-9][0-9]{0,4}))?\.(socket|service)$/.exec(unit.slice(prefix.length));
  if (!m || (m[1] !== undefined && Number(m[1]) > 65535)) return undefined;
  return m[2] as 'socket' | 'service';
}

/** The podman container of an app (one at a time: podman run --replace). */
export function containerName(app: string): string {
  return `appsd-${app}`;
}
