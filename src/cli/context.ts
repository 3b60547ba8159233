// Where appsd reads manifests and writes units, from flags and environment.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export type Scope = 'user' | 'system';

export interface Locations {
  readonly scope: Scope;
  readonly appsDir: string;
  readonly unitDir: string;
}

export interface LocationFlags {
  'apps-dir'?: string | undefined;
  'unit-dir'?: string | undefined;
  user?: boolean | undefined;
  system?: boolean | undefined;
}

export function resolveLocations(flags: LocationFlags, env: NodeJS.ProcessEnv = process.env): Locations {
  if (flags.user && flags.system) throw new UsageError('--user and --system exclude each other');
  const scope: Scope = flags.system ? 'system' : 'user';
  const appsDir = resolve(flags['apps-dir'] ?? env['APPSD_APPS_DIR'] ?? 'apps.d');
  const configHome = env['XDG_CONFIG_HOME'] || join(env['HOME'] || homedir(), '.config');
  const unitDir = resolve(flags['unit-dir'] ?? (scope === 'system' ? '/etc/systemd/system' : join(configHome, 'systemd', 'user')));
  return { scope, appsDir, unitDir };
}

/** Bad flags or arguments: printed with a hint to --help, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
