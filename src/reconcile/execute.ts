// Adapter: carries out a plan. Every action of the plan runs, and each app's
// actions run in the plan's order; across apps, work is batched and
// overlapped, because that is where the time goes with hundreds of apps:
//   1. per app: stops, disables (of removed apps), file deletions
//   2. all unit files written at once (concurrent fsyncs, one directory sync)
//   3. one EnableUnitFiles call for every socket to enable
//   4. the daemon-reload
//   5. per app, many apps at a time: stops of changed services, reset-failed,
//      restarts, starts
// A failed action fails its app (its later actions are skipped) but not the
// others; the result says what failed and why.
import { mkdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { forEachLimited, syncDir, writeFilesAtomic } from '../fs/atomic.js';
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

// How many apps' systemd jobs run at once: enough to overlap D-Bus round
// trips, few enough not to flood the manager's job queue.
const CONCURRENCY = 32;

export async function execute(
  plan: Plan,
  unitDir: string,
  manager: SystemdManager,
  previous: Inventory,
  onResult?: (result: ActionResult) => void,
): Promise<ExecuteResult> {
  const results: ActionResult[] = [];
  const failedApps = new Map<string, string>();
  const record = (action: Action, error?: unknown) => {
    const result: ActionResult = error === undefined ? { action, ok: true } : { action, ok: false, error: (error as Error).message };
    if (error !== undefined && action.app && !failedApps.has(action.app)) {
      failedApps.set(action.app, `${action.kind}${action.unit ? ` ${action.unit}` : ''}: ${(error as Error).message}`);
    }
    results.push(result);
    onResult?.(result);
  };
  const skipIfFailed = (action: Action): boolean => {
    if (!action.app || !failedApps.has(action.app)) return false;
    const result = { action, ok: false, skipped: true };
    results.push(result);
    onResult?.(result);
    return true;
  };
  const runPerApp = async (actions: Action[]) => {
    const byApp = groupByApp(actions);
    await forEachLimited([...byApp.values()], CONCURRENCY, async (list) => {
      for (const action of list) {
        if (skipIfFailed(action)) continue;
        try {
          await runJob(manager, action);
          record(action);
        } catch (error) {
          record(action, error);
        }
      }
    });
  };

  const reloadIndex = plan.actions.findIndex((a) => a.kind === 'reload');
  const before = reloadIndex < 0 ? plan.actions : plan.actions.slice(0, reloadIndex);
  const after = reloadIndex < 0 ? [] : plan.actions.slice(reloadIndex + 1);

  // 1. Stops, disables and deletions, app by app (a removed app's units are
  //    stopped before their files go).
  await runPerApp(before.filter((a) => a.kind === 'stop' || a.kind === 'disable'));
  const deletes = before.filter((a) => a.kind === 'delete');
  for (const action of deletes) {
    if (skipIfFailed(action)) continue;
    try {
      await unlink(join(unitDir, action.unit!)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
      record(action);
    } catch (error) {
      record(action, error);
    }
  }
  if (deletes.length) await syncDir(unitDir).catch(() => {});

  // 2. Every write at once.
  const writes = before.filter((a) => a.kind === 'write' && !skipIfFailed(a));
  if (writes.length) {
    await mkdir(unitDir, { recursive: true });
    const failed = await writeFilesAtomic(unitDir, writes.map((a) => ({ path: join(unitDir, a.unit!), data: a.after! })));
    for (const action of writes) record(action, failed.get(join(unitDir, action.unit!)));
  }

  // 3. One call for every socket to enable; on failure, one by one to find the culprit.
  const enables = before.filter((a) => a.kind === 'enable' && !skipIfFailed(a));
  if (enables.length) {
    try {
      await manager.enable(enables.map((a) => a.unit!));
      for (const action of enables) record(action);
    } catch {
      for (const action of enables) {
        try {
          await manager.enable([action.unit!]);
          record(action);
        } catch (error) {
          record(action, error);
        }
      }
    }
  }

  // 4. The one daemon-reload.
  if (reloadIndex >= 0) {
    const reload = plan.actions[reloadIndex]!;
    try {
      await manager.reload();
      record(reload);
    } catch (error) {
      record(reload, error);
    }
  }

  // 5. What needs the new definitions.
  await runPerApp(after);

  // An app whose removal failed stays in the inventory, so the next pass
  // tries again instead of forgetting (orphaning) its units.
  const apps = { ...plan.inventory.apps };
  for (const name of failedApps.keys()) {
    if (!apps[name] && previous.apps[name]) apps[name] = previous.apps[name];
  }
  return { results, failedApps, inventory: { version: 1, apps } };
}

function groupByApp(actions: readonly Action[]): Map<string, Action[]> {
  const groups = new Map<string, Action[]>();
  for (const action of actions) {
    const key = action.app ?? '';
    groups.set(key, [...(groups.get(key) ?? []), action]);
  }
  return groups;
}

async function runJob(manager: SystemdManager, action: Action): Promise<void> {
  const unit = action.unit!;
  switch (action.kind) {
    case 'stop':
      return manager.stop(unit);
    case 'disable':
      return manager.disable([unit]);
    case 'start':
      return manager.start(unit);
    case 'restart':
      return manager.restart(unit);
    case 'reset-failed':
      return manager.resetFailed(unit);
    default:
      throw new Error(`unexpected action ${action.kind} after the reload`);
  }
}
