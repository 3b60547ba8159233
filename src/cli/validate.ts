// `appsd validate`: every problem in every manifest, at its place, in one run.
import { compareDiagnostics } from '../diagnostics.js';
import type { Locations } from './context.js';
import { EXIT_ERROR, EXIT_OK } from './exit-codes.js';
import { loadAndRender } from './load-apps.js';
import { displayDiagnostic, displayPath, formatLoadDiagnostics, plural } from './output.js';

export async function validateCommand(locations: Locations, json: boolean): Promise<number> {
  const { load: result } = await loadAndRender(locations, false);
  const invalid = result.manifests.filter((m) => !m.app);
  if (json) {
    const out = {
      valid: invalid.length === 0,
      appsDir: locations.appsDir,
      manifests: result.manifests.map((m) => ({ file: displayPath(m.file), app: m.name ?? null, valid: Boolean(m.app) })),
      diagnostics: [...result.diagnostics].sort(compareDiagnostics).map(displayDiagnostic),
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } else {
    const text = formatLoadDiagnostics(result);
    if (text) process.stdout.write(text + '\n\n');
    const total = result.manifests.length;
    if (total === 0) process.stdout.write(`no manifests in ${displayPath(locations.appsDir)} (*.yaml, *.yml)\n`);
    else if (invalid.length === 0) process.stdout.write(`${plural(total, 'manifest')} valid: ${result.apps.map((a) => a.name).join(', ')}\n`);
    else {
      process.stdout.write(
        `${plural(result.diagnostics.length, 'problem')} in ${invalid.length} of ${plural(total, 'manifest')}` +
          (result.apps.length ? `; valid: ${result.apps.map((a) => a.name).join(', ')}` : '') + '\n',
      );
    }
  }
  return invalid.length ? EXIT_ERROR : EXIT_OK;
}
