// `appsd diff`: what apply would do, as unified diffs and a list of actions.
// Exit codes as diff(1) and kubectl diff: 0 no changes, 1 changes, 2 errors.
import { formatPlan, planToJSON, summarizePlan } from '../plan/format.js';
import { hasErrors, Reconciler } from '../reconcile/reconciler.js';
import { renderOptionsFor } from '../render/options.js';
import type { SystemdManager } from '../systemd/manager.js';
import type { Locations } from './context.js';
import { EXIT_CHANGES, EXIT_ERROR, EXIT_OK } from './exit-codes.js';
import { checkAppsDir } from './load-apps.js';
import { displayDiagnostic, formatLoadDiagnostics, hostJson, skippedJson, useColor } from './output.js';
import { formatLabels } from '../manifest/placement.js';

export interface DiffOptions {
  readonly json: boolean;
  readonly offline: boolean;
}

export async function diffCommand(locations: Locations, options: DiffOptions): Promise<number> {
  await checkAppsDir(locations.appsDir);
  const manager: SystemdManager | undefined = options.offline ? undefined : await (await import('./systemd.js')).connectManager(locations.scope, true);
  try {
    const pass = await Reconciler.forDirectories(locations, renderOptionsFor(locations.scope, locations.stateDir), { host: locations.host }).plan(manager);
    const { load, plan } = pass;
    const failed = hasErrors(pass);
    if (options.json) {
      const placement = locations.host ? { host: hostJson(locations.host), skipped: load.skipped.map(skippedJson) } : {};
      const out = { ...(planToJSON(plan, locations.unitDir) as object), diagnostics: load.diagnostics.map(displayDiagnostic), ...placement };
      process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    } else {
      const problems = formatLoadDiagnostics(load);
      if (problems) process.stderr.write(problems + '\n\n');
      const text = formatPlan(plan, { color: useColor(process.stdout), unitDir: locations.unitDir });
      if (text) process.stdout.write(text + '\n\n');
      process.stdout.write(`${summarizePlan(plan)}${failed ? '; some manifests or apps have errors (see above)' : ''}\n`);
      // Which host this plan is for, when manifests are placed (a preview from a laptop says whose).
      if (locations.host && load.skipped.length) {
        process.stdout.write(`host ${locations.host.name}${locations.host.labels.size ? ` (${formatLabels(locations.host.labels)})` : ''}; not run here: ${load.skipped.map((m) => m.name).join(', ')}\n`);
      }
    }
    return failed ? EXIT_ERROR : plan.actions.length ? EXIT_CHANGES : EXIT_OK;
  } finally {
    manager?.close();
  }
}
