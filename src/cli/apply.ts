// `appsd apply`: executes exactly the plan `diff` shows.
import { describeAction, formatPlan, summarizePlan } from '../plan/format.js';
import { acquireLock, LockBusyError } from '../reconcile/lock.js';
import { execute } from '../reconcile/execute.js';
import { planPass } from '../reconcile/reconcile.js';
import { DEFAULT_RENDER_OPTIONS } from '../render/options.js';
import { StateStore } from '../state/store.js';
import { UsageError, type Locations } from './context.js';
import { EXIT_ERROR, EXIT_OK } from './exit-codes.js';
import { loadAppsDir } from './load-apps.js';
import { formatLoadDiagnostics, useColor } from './output.js';
import { connectManager } from './systemd.js';

export async function applyCommand(locations: Locations, dryRun: boolean): Promise<number> {
  let lock;
  if (!dryRun) {
    try {
      lock = await acquireLock(locations.stateDir);
    } catch (error) {
      if (error instanceof LockBusyError) throw new UsageError(error.message);
      throw error;
    }
  }
  const manager = await connectManager(locations.scope, false);
  try {
    const load = await loadAppsDir(locations.appsDir);
    const problems = formatLoadDiagnostics(load);
    if (problems) process.stderr.write(problems + '\n\n');
    const store = new StateStore(locations.stateDir);
    const inventory = await store.read();
    const { plan } = await planPass({ load, inventory, unitDir: locations.unitDir, manager, renderOptions: DEFAULT_RENDER_OPTIONS });
    const invalid = load.manifests.some((m) => !m.app);
    for (const error of plan.errors) process.stderr.write(`error: ${error.app}: ${error.message}\n`);
    for (const name of plan.kept) process.stderr.write(`kept: ${name}: its manifest is invalid, its units stay as last applied\n`);
    if (dryRun) {
      const text = formatPlan({ ...plan, errors: [], kept: [] }, { color: useColor(process.stdout), unitDir: locations.unitDir });
      if (text) process.stdout.write(text + '\n\n');
      process.stdout.write(`dry run: ${summarizePlan(plan)}\n`);
      return invalid || plan.errors.length ? EXIT_ERROR : EXIT_OK;
    }
    if (plan.actions.length === 0) {
      process.stdout.write('no changes\n');
      return invalid || plan.errors.length ? EXIT_ERROR : EXIT_OK;
    }
    // Record intent first: units about to be written are in the inventory
    // before they exist, so a crash mid-apply can never orphan them.
    await store.write({ version: 1, apps: { ...inventory.apps, ...plan.inventory.apps } });
    const result = await execute(plan, locations.unitDir, manager, inventory, (r) => {
      const status = r.skipped ? ' (skipped: an earlier action of this app failed)' : r.ok ? '' : `: FAILED: ${r.error}`;
      process.stdout.write(`${describeAction(r.action)}${status}\n`);
    });
    await store.write(result.inventory);
    const failures = result.failedApps.size;
    process.stdout.write(
      `\napplied ${result.results.filter((r) => r.ok).length} of ${plan.actions.length} actions` +
        (failures ? `; ${failures} app${failures === 1 ? '' : 's'} failed: ${[...result.failedApps.entries()].map(([a, e]) => `${a} (${e})`).join(', ')}` : '') +
        '\n',
    );
    return failures || invalid || plan.errors.length || result.results.some((r) => !r.ok) ? EXIT_ERROR : EXIT_OK;
  } finally {
    manager.close();
    await lock?.release();
  }
}
