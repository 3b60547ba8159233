// `appsd diff`: what apply would do, as unified diffs and a list of actions.
// Exit codes as diff(1) and kubectl diff: 0 no changes, 1 changes, 2 errors.
import { formatPlan, planToJSON, summarizePlan } from '../plan/format.js';
import { planPass } from '../reconcile/reconcile.js';
import { DEFAULT_RENDER_OPTIONS } from '../render/options.js';
import { StateStore } from '../state/store.js';
import type { SystemdManager } from '../systemd/manager.js';
import type { Locations } from './context.js';
import { EXIT_CHANGES, EXIT_ERROR, EXIT_OK } from './exit-codes.js';
import { loadAppsDir } from './load-apps.js';
import { displayDiagnostic, formatLoadDiagnostics, useColor } from './output.js';
import { connectManager } from './systemd.js';

export interface DiffOptions {
  readonly json: boolean;
  readonly offline: boolean;
}

export async function diffCommand(locations: Locations, options: DiffOptions): Promise<number> {
  const load = await loadAppsDir(locations.appsDir);
  const manager: SystemdManager | undefined = options.offline ? undefined : await connectManager(locations.scope, true);
  try {
    const inventory = await new StateStore(locations.stateDir).read();
    const { plan } = await planPass({ load, inventory, unitDir: locations.unitDir, manager, renderOptions: DEFAULT_RENDER_OPTIONS });
    const failed = load.manifests.some((m) => !m.app) || plan.errors.length > 0;
    if (options.json) {
      const out = { ...(planToJSON(plan, locations.unitDir) as object), diagnostics: load.diagnostics.map(displayDiagnostic) };
      process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    } else {
      const problems = formatLoadDiagnostics(load);
      if (problems) process.stderr.write(problems + '\n\n');
      const text = formatPlan(plan, { color: useColor(process.stdout), unitDir: locations.unitDir });
      if (text) process.stdout.write(text + '\n\n');
      process.stdout.write(`${summarizePlan(plan)}${failed ? '; some manifests or apps have errors (see above)' : ''}\n`);
    }
    return failed ? EXIT_ERROR : plan.actions.length ? EXIT_CHANGES : EXIT_OK;
  } finally {
    manager?.close();
  }
}
