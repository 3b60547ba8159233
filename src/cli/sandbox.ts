// `--sandbox`: a private systemd user manager for this session, where no
// manager is reachable (a container, a fresh VM). The same mechanism as the
// test suite's (src/sandbox/private-manager.ts).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { privateManagerUnsupported, startPrivateManager, type PrivateManager } from '../sandbox/private-manager.js';
import { SystemdManager } from '../systemd/manager.js';
import { UsageError } from './context.js';

export type SandboxMode = 'never' | 'always' | 'auto';

/** Is a user manager reachable with the current environment? */
export async function userManagerReachable(): Promise<boolean> {
  try {
    (await SystemdManager.connect({ scope: 'user', timeoutMs: 2000 })).close();
    return true;
  } catch {
    return false;
  }
}

export interface Sandbox {
  readonly manager: PrivateManager;
  /** A file of KEY=VALUE lines: `env $(cat FILE) appsd status` reaches the sandbox. */
  readonly envFile: string;
}

/**
 * Starts the private manager and points this process at it (XDG_* and the
 * bus address), so every default (unit directory, state directory, bus) now
 * means the sandbox's.
 */
export async function startSandbox(appsDir: string): Promise<Sandbox> {
  const why = privateManagerUnsupported();
  if (why) throw new UsageError(`cannot start a sandbox: ${why}`);
  // Services get podman's configuration from the caller, if it has one.
  const serviceEnv: Record<string, string> = {};
  if (process.env['CONTAINERS_CONF']) serviceEnv['CONTAINERS_CONF'] = process.env['CONTAINERS_CONF'];
  const manager = await startPrivateManager({ serviceEnv, shareNetns: true });
  Object.assign(process.env, manager.env);
  const envFile = join(manager.root, 'env');
  const lines = { ...manager.env, APPSD_APPS_DIR: appsDir, ...serviceEnv };
  writeFileSync(envFile, Object.entries(lines).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  return { manager, envFile };
}
