// Where appsd reads manifests and writes units, from flags and environment.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { HostIdentity } from '../manifest/placement.js';

export type Scope = 'user' | 'system';

export interface Locations {
  readonly scope: Scope;
  readonly appsDir: string;
  readonly unitDir: string;
  readonly stateDir: string;
  /** This host, for placement (set by the command line for every command that reads manifests). */
  readonly host?: HostIdentity;
}

export interface LocationFlags {
  'apps-dir'?: string | undefined;
  'unit-dir'?: string | undefined;
  'state-dir'?: string | undefined;
  user?: boolean | undefined;
  system?: boolean | undefined;
}

export function resolveLocations(flags: LocationFlags, env: NodeJS.ProcessEnv = process.env): Locations {
  if (flags.user && flags.system) throw new UsageError('--user and --system exclude each other');
  const scope: Scope = flags.system ? 'system' : 'user';
  const appsDir = resolve(flags['apps-dir'] ?? env['APPSD_APPS_DIR'] ?? 'apps.d');
  const configHome = env['XDG_CONFIG_HOME'] || join(env['HOME'] || homedir(), '.config');
  const unitDir = resolve(flags['unit-dir'] ?? (scope === 'system' ? '/etc/systemd/system' : join(configHome, 'systemd', 'user')));
  const stateHome = env['XDG_STATE_HOME'] || join(env['HOME'] || homedir(), '.local', 'state');
  const stateDir = resolve(flags['state-dir'] ?? (scope === 'system' ? '/var/lib/appsd' : join(stateHome, 'appsd')));
  return { scope, appsDir, unitDir, stateDir };
}

/** Bad flags or arguments: printed with a hint to --help, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
