// `appsd render`: the unit files appsd would write, as `--- PATH ---` blocks.
import { join } from 'node:path';
import { UsageError, type Locations } from './context.js';
import { EXIT_ERROR, EXIT_OK } from './exit-codes.js';
import { loadAndRender } from './load-apps.js';
import { formatLoadDiagnostics } from './output.js';

export async function renderCommand(locations: Locations, names: readonly string[]): Promise<number> {
  const { load: result, desired } = await loadAndRender(locations);
  const known = new Set(result.manifests.map((m) => m.name));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length) throw new UsageError(`no app named ${unknown.map((n) => `"${n}"`).join(', ')} in ${locations.appsDir}`);
  const wanted = (name: string | undefined) => names.length === 0 || (name !== undefined && names.includes(name));

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
