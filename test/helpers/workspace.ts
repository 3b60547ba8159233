// A test's own apps directory and state directory against a shared private
// manager: tests never prune each other's apps (each has its own inventory).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PrivateManager } from '../../src/sandbox/private-manager.js';
import { runCli, type CliResult } from './cli.js';

export interface Workspace {
  readonly apps: string;
  readonly state: string;
  readonly unitDir: string;
  appsd(...args: string[]): Promise<CliResult>;
  write(name: string, text: string): void;
  remove(name: string): void;
}

/** @param env added to the manager's environment for appsd (e.g. the CONTAINERS_CONF its units get, for appsd's own podman calls). */
export function workspace(manager: PrivateManager, teardown: (fn: () => void) => void, env: NodeJS.ProcessEnv = {}): Workspace {
  const dir = mkdtempSync(join(tmpdir(), 'appsd-ws-'));
  teardown(() => rmSync(dir, { recursive: true, force: true }));
  const apps = join(dir, 'apps.d');
  const state = join(dir, 'state');
  mkdirSync(apps, { recursive: true });
  return {
    apps,
    state,
    unitDir: manager.unitDir,
    appsd: (...args) => runCli([...args, '--apps-dir', apps, '--state-dir', state], { env: { ...manager.env, ...env } }),
    write: (name, text) => writeFileSync(join(apps, name), text),
    remove: (name) => rmSync(join(apps, name), { force: true }),
  };
}
