// `appsd apply`: executes exactly the plan `diff` shows.
import { readManifestSources } from '../manifest/discover.js';
import { describeAction, formatPlan, summarizePlan } from '../plan/format.js';
import { LockBusyError } from '../reconcile/lock.js';
import { runPass } from '../reconcile/pass.js';
import { DEFAULT_RENDER_OPTIONS } from '../render/options.js';
import { StateStore } from '../state/store.js';
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
      outcome = await runPass({
        readSources: () => readManifestSources(locations.appsDir),
        unitDir: locations.unitDir,
        stateDir: locations.stateDir,
        store: new StateStore(locations.stateDir),
        manager,
        renderOptions: DEFAULT_RENDER_OPTIONS,
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
    for (const error of plan.errors) process.stderr.write(`error: ${error.app}: ${error.message}\n`);
    for (const name of plan.kept) process.stderr.write(`kept: ${name}: its manifest is invalid, its units stay as last applied\n`);
    const invalid = load.manifests.some((m) => !m.app) || plan.errors.length > 0;
    if (dryRun) {
      const text = formatPlan({ ...plan, errors: [], kept: [] }, { color: useColor(process.stdout), unitDir: locations.unitDir });
      if (text) process.stdout.write(text + '\n\n');
      process.stdout.write(`dry run: ${summarizePlan(plan)}\n`);
      return invalid ? EXIT_ERROR : EXIT_OK;
    }
    if (!executed) {
      process.stdout.write('no changes\n');
      return invalid ? EXIT_ERROR : EXIT_OK;
    }
    const failures = executed.failedApps;
    process.stdout.write(
      `\napplied ${executed.results.filter((r) => r.ok).length} of ${plan.actions.length} actions` +
        (failures.size ? `; ${failures.size} app${failures.size === 1 ? '' : 's'} failed: ${[...failures.entries()].map(([a, e]) => `${a} (${e})`).join(', ')}` : '') +
        '\n',
    );
    return failures.size || invalid || executed.results.some((r) => !r.ok) ? EXIT_ERROR : EXIT_OK;
  } finally {
    manager.close();
  }
}
