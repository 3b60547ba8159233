// `appsd render`: the unit files appsd would write, as `--- PATH ---` blocks.
import { join } from 'node:path';
import { StateStore } from '../fs/state-store.js';
import { withLateProblems } from '../manifest/load.js';
import { EMPTY_INVENTORY, keptPorts } from '../plan/inventory.js';
import { desiredUnits } from '../render/desired.js';
import { DEFAULT_RENDER_OPTIONS } from '../render/options.js';
import { UsageError, type Locations } from './context.js';
import { EXIT_ERROR, EXIT_OK } from './exit-codes.js';
import { loadAppsDir } from './load-apps.js';
import { formatLoadDiagnostics } from './output.js';

export async function renderCommand(locations: Locations, names: readonly string[]): Promise<number> {
  const loaded = await loadAppsDir(locations.appsDir);
  const known = new Set(loaded.manifests.map((m) => m.name));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length) throw new UsageError(`no app named ${unknown.map((n) => `"${n}"`).join(', ')} in ${locations.appsDir}`);
  const wanted = (name: string | undefined) => names.length === 0 || (name !== undefined && names.includes(name));

  // Backend ports appsd allocated earlier are in its inventory: render them,
  // so that render shows what apply would write.
  const inventory = await new StateStore(locations.stateDir).read().catch(() => EMPTY_INVENTORY);
  const desired = desiredUnits(loaded.apps, DEFAULT_RENDER_OPTIONS, keptPorts(inventory));
  const result = withLateProblems(loaded, desired.failures);

  const shown = { ...result, manifests: result.manifests.filter((m) => wanted(m.name)) };
  const diagnostics = formatLoadDiagnostics(shown);
  if (diagnostics) process.stderr.write(diagnostics + '\n');
  const blocks: string[] = [];
  for (const app of desired.apps) {
    if (!wanted(app.name)) continue;
    for (const unit of app.units) blocks.push(`--- ${join(locations.unitDir, unit.name)} ---\n${unit.text}`);
  }
  process.stdout.write(blocks.join('\n'));
  return shown.manifests.some((m) => !m.app) ? EXIT_ERROR : EXIT_OK;
}
