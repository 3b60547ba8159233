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

/** The units an app with this activation has, socket first. */
export function unitsOf(app: string, activation: Activation): string[] {
  const names = appUnitNames(app);
  return activation === 'proxy' ? [names.socket, names.service, names.backend] : [names.socket, names.service];
}

/** Which of an app's units a name is, or undefined when it is none of them. */
export function unitRole(app: string, unit: string): keyof AppUnitNames | undefined {
  const names = appUnitNames(app);
  return unit === names.socket ? 'socket' : unit === names.service ? 'service' : unit === names.backend ? 'backend' : undefined;
}

/** The podman container of an app (one at a time: podman run --replace). */
export function containerName(app: string): string {
  return `appsd-${app}`;
}
