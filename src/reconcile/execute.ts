// Adapter: carries out a plan, action by action, in the plan's order. A failed
// action fails its app (the app's later actions are skipped) but not the
// others; the result says what failed and why.
import { mkdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDir, writeFileAtomic } from '../fs/atomic.js';
import type { Action, Plan } from '../plan/plan.js';
import type { Inventory } from '../state/inventory.js';
import type { SystemdManager } from '../systemd/manager.js';

export interface ActionResult {
  readonly action: Action;
  readonly ok: boolean;
  readonly error?: string;
  readonly skipped?: boolean;
}

export interface ExecuteResult {
  readonly results: ActionResult[];
  readonly failedApps: Map<string, string>;
  /** The inventory to save: the plan's, plus what could not be removed. */
  readonly inventory: Inventory;
}

export async function execute(
  plan: Plan,
  unitDir: string,
  manager: SystemdManager,
  previous: Inventory,
  onResult?: (result: ActionResult) => void,
): Promise<ExecuteResult> {
  const results: ActionResult[] = [];
  const failedApps = new Map<string, string>();
  let createdDir = false;
  let deleted = false;
  for (const action of plan.actions) {
    if (action.app && failedApps.has(action.app)) {
      const result = { action, ok: false, skipped: true };
      results.push(result);
      onResult?.(result);
      continue;
    }
    try {
      if (action.kind === 'reload' && deleted) await syncDir(unitDir);
      await run(action);
      const result = { action, ok: true };
      results.push(result);
      onResult?.(result);
    } catch (error) {
      const message = (error as Error).message;
      if (action.app) failedApps.set(action.app, `${action.kind} ${action.unit ?? ''}: ${message}`.replace('  ', ' '));
      const result = { action, ok: false, error: message };
      results.push(result);
      onResult?.(result);
    }
  }

  async function run(action: Action): Promise<void> {
    const unit = action.unit ?? '';
    switch (action.kind) {
      case 'write':
        if (!createdDir) {
          await mkdir(unitDir, { recursive: true });
          createdDir = true;
        }
        return writeFileAtomic(join(unitDir, unit), action.after!);
      case 'delete':
        deleted = true;
        return unlink(join(unitDir, unit)).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'ENOENT') throw error;
        });
      case 'reload':
        return manager.reload();
      case 'enable':
        return manager.enable([unit]);
      case 'disable':
        return manager.disable([unit]);
      case 'start':
        return manager.start(unit);
      case 'stop':
        return manager.stop(unit);
      case 'restart':
        return manager.restart(unit);
      case 'reset-failed':
        return manager.resetFailed(unit);
    }
  }

  // An app whose removal failed stays in the inventory, so the next pass
  // tries again instead of forgetting (orphaning) its units.
  const apps = { ...plan.inventory.apps };
  for (const name of failedApps.keys()) {
    if (!apps[name] && previous.apps[name]) apps[name] = previous.apps[name];
  }
  return { results, failedApps, inventory: { version: 1, apps } };
}
