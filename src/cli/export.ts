// `appsd export knative [NAME...] [-o DIR]`: the apps as Knative Services,
// one YAML document each on stdout, or one file each in DIR. What an app
// becomes is decided in export/knative.ts; this reads the apps directory,
// prints, writes and picks the exit code. An invalid manifest is reported as
// `validate` reports it, an app Knative cannot express at the field that
// says so, and the other apps still export.
import { mkdir, realpath } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { compareDiagnostics, formatDiagnostic } from '../diagnostics.js';
import { knativeService } from '../export/knative.js';
import { exportDiagnostics } from '../export/problems.js';
import { toYaml } from '../export/yaml.js';
import { writeFilesAtomic } from '../fs/atomic.js';
import { closest } from '../manifest/schema-errors.js';
import { UsageError, type Locations } from './context.js';
import { EXIT_ERROR, EXIT_OK } from './exit-codes.js';
import { loadAndRender } from './load-apps.js';
import { displayDiagnostic, displayPath, plural } from './output.js';

export async function exportKnativeCommand(locations: Locations, names: readonly string[], output: string | undefined): Promise<number> {
  if (output !== undefined) await refuseAppsDir(output, locations.appsDir);
  // As validate loads them: what validate calls invalid is not exported.
  const { load } = await loadAndRender(locations, false);
  const known = [...new Set(load.manifests.flatMap((m) => (m.name === undefined ? [] : [m.name])))].sort();
  for (const name of names) if (!known.includes(name)) throw new UsageError(unknownApp(name, known));
  const shown = load.manifests.filter((m) => names.length === 0 || (m.name !== undefined && names.includes(m.name)));

  const reports: string[] = [];
  const exported: Array<{ name: string; text: string }> = [];
  const failed: string[] = [];
  for (const m of shown) {
    const diagnostics = [...m.diagnostics];
    const result = m.app && knativeService(m.app);
    if (m.app && result?.ok) {
      exported.push({ name: m.app.name, text: toYaml(result.service, `appsd export knative: ${displayPath(m.file)}`) });
    } else {
      if (m.app && result && !result.ok) diagnostics.push(...exportDiagnostics(m.file, m.text ?? '', 'Knative', result.problems));
      failed.push(m.name ?? displayPath(m.file));
    }
    for (const d of diagnostics.sort(compareDiagnostics)) reports.push(formatDiagnostic(displayDiagnostic(d), m.text));
  }
  exported.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  if (shown.length === 0) reports.push(`no manifests in ${displayPath(locations.appsDir)} (*.yaml, *.yml)`);
  else if (failed.length) reports.push(`${exported.length} of ${plural(shown.length, 'app')} exported; not exported: ${failed.join(', ')}`);
  if (reports.length) process.stderr.write(reports.join('\n') + '\n');

  if (output === undefined) {
    process.stdout.write(exported.map((e) => e.text).join('---\n'));
  } else if (!(await writeAll(resolve(output), exported))) {
    return EXIT_ERROR;
  }
  return failed.length ? EXIT_ERROR : EXIT_OK;
}

/** NAME.yaml in `dir` for each app, each written whole or not at all; says which it wrote. */
async function writeAll(dir: string, exported: ReadonlyArray<{ name: string; text: string }>): Promise<boolean> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    process.stderr.write(`appsd: cannot create ${displayPath(dir)}: ${(error as Error).message}\n`);
    return false;
  }
  const writes = exported.map((e) => ({ path: join(dir, `${e.name}.yaml`), data: e.text }));
  const errors = await writeFilesAtomic(dir, writes);
  for (const { path } of writes) {
    const error = errors.get(path);
    if (error) process.stderr.write(`appsd: cannot write ${displayPath(path)}: ${error.message}\n`);
    else process.stdout.write(`wrote ${displayPath(path)}\n`);
  }
  return errors.size === 0;
}

/** Files written into the apps directory would be read as (invalid) manifests on the next pass, or overwrite one. */
async function refuseAppsDir(output: string, appsDir: string): Promise<void> {
  const real = (path: string) => realpath(path).catch(() => resolve(path));
  if ((await real(output)) === (await real(appsDir))) {
    throw new UsageError(`--output ${output} is the apps directory: the exported files would be read as manifests; write them elsewhere`);
  }
}

/** As the other commands that take app names say it (cli/status.ts), without loading status and D-Bus here. */
function unknownApp(name: string, known: readonly string[]): string {
  const guess = closest(name.slice(0, 100), known);
  const shown = JSON.stringify(name.length > 60 ? `${name.slice(0, 60)}...` : name);
  return `no app is named ${shown}${guess ? ` (did you mean "${guess}"?)` : known.length ? ` (apps: ${known.join(', ')})` : ' (there are no apps)'}`;
}
