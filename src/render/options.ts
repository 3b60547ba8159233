// What rendering needs besides the app: where the programs the units run
// live (defaults fit Debian, Fedora and most merged-/usr systems), which
// manager the units are for, and which appsd writes them.
import { resolve } from 'node:path';
// node:crypto on first use only (`appsd validate` renders without an instance).
import { crypto } from '../node-lazy.js';

export interface RenderOptions {
  readonly proxydPath: string;
  readonly podmanPath: string;
  readonly bashPath: string;
  /** The manager the units are for: in the system manager, backends do not run as root unless the manifest says so. */
  readonly scope: 'user' | 'system';
  /**
   * This appsd's identity (X-Appsd-Instance=), so that two appsd sharing a
   * unit directory never take each other's units. Undefined: no such line
   * (golden tests, which must not depend on a path).
   */
  readonly instance?: string;
  /** Whether podman runs rootless (a user manager of a user other than root): `userns: keep-id` needs it. */
  readonly rootless: boolean;
  /**
   * podman's --log-driver for containers, where podman would not pick the
   * journal by itself: under appsd's sandbox, journald runs in the private
   * manager's namespace only, and podman (which looks for systemd as PID 1)
   * would log to files that --rm deletes. Undefined: no such flag (podman's
   * default, the journal on a systemd host).
   */
  readonly containerLogDriver?: string;
}

export const DEFAULT_RENDER_OPTIONS: RenderOptions = {
  proxydPath: '/usr/lib/systemd/systemd-socket-proxyd',
  podmanPath: '/usr/bin/podman',
  bashPath: '/bin/bash',
  scope: 'user',
  rootless: true,
};

/** An appsd is its state directory (its inventory and its lock): the instance id is a short hash of its path. */
export function instanceId(stateDir: string): string {
  return crypto()
    .createHash('sha256').update(resolve(stateDir)).digest('hex').slice(0, 16);
}

/**
 * @param stateDir the appsd whose units these are; undefined: units without X-Appsd-Instance= (`appsd validate`, which
 *   checks the units and shows none: that line is 16 hex digits and cannot make a unit invalid).
 * @param env APPSD_JOURNAL_DIR there: the user manager is appsd's sandbox, with a journal of its own (docs/logs.md).
 */
export function renderOptionsFor(scope: 'user' | 'system', stateDir: string | undefined, uid = process.getuid?.() ?? 0, env: Readonly<Record<string, string | undefined>> = process.env): RenderOptions {
  const sandboxJournal = scope === 'user' && Boolean(env['APPSD_JOURNAL_DIR']);
  return { ...DEFAULT_RENDER_OPTIONS, scope, ...(stateDir !== undefined && { instance: instanceId(stateDir) }), rootless: scope === 'user' && uid !== 0, ...(sandboxJournal && { containerLogDriver: 'journald' }) };
}
