// `appsd apply`: executes exactly the plan `diff` shows.
import { appProblems, describeAction, formatPlan, summarizePlan } from '../plan/format.js';
import { LockBusyError } from '../reconcile/lock.js';
import { failedWhileExecuting, hasErrors, Reconciler } from '../reconcile/reconciler.js';
import { renderOptionsFor } from '../render/options.js';
import { UsageError, type Locations } from './context.js';
import { EXIT_ERROR, EXIT_OK } from './exit-codes.js';
import { checkAppsDir } from './load-apps.js';
import { formatLoadDiagnostics, useColor } from './output.js';
import { connectManager } from './systemd.js';

export async function applyCommand(locations: Locations, dryRun: boolean): Promise<number> {
  // Fail early, with the usual message, if the apps directory is missing.
  await checkAppsDir(locations.appsDir);
  const manager = await connectManager(locations.scope, false);
  try {
    let outcome;
    try {
      outcome = await Reconciler.forDirectories(locations, renderOptionsFor(locations.scope, locations.stateDir), { host: locations.host }).apply(manager, {
        dryRun,
        onResult: (r) => {
          const status = r.skipped ? ' (skipped: an earlier action of this app failed)' : r.ok ? '' : `: FAILED: ${r.error}`;
          process.stdout.write(`${describeAction(r.action)}${status}\n`);
        },
      });
    } catch (error) {
      if (error instanceof LockBusyError) throw new UsageError(error.message);
      throw error;
    }
    const { load, plan, executed } = outcome;
    const problems = formatLoadDiagnostics(load);
    if (problems) process.stderr.write(problems + '\n\n');
    for (const line of appProblems(plan.apps)) process.stderr.write(`${line}\n`);
    const invalid = hasErrors(outcome);
    if (dryRun) {
      const text = formatPlan({ ...plan, apps: [] }, { color: useColor(process.stdout), unitDir: locations.unitDir });
      if (text) process.stdout.write(text + '\n\n');
      process.stdout.write(`dry run: ${summarizePlan(plan)}\n`);
      return invalid ? EXIT_ERROR : EXIT_OK;
    }
    if (!executed) {
      process.stdout.write('no changes\n');
      return invalid ? EXIT_ERROR : EXIT_OK;
    }
    // Apps that failed while executing (those the plan could not converge were reported above).
    const failures = failedWhileExecuting(outcome);
    process.stdout.write(
      `\napplied ${executed.results.filter((r) => r.ok).length} of ${plan.actions.length} actions` +
        (failures.length ? `; ${failures.length} app${failures.length === 1 ? '' : 's'} failed: ${failures.map((a) => `${a.app} (${a.error})`).join(', ')}` : '') +
        '\n',
    );
    return failures.length || invalid || executed.results.some((r) => !r.ok) ? EXIT_ERROR : EXIT_OK;
  } finally {
    manager.close();
  }
}
