// Shared by the golden test and the systemd-analyze tier.
import { existsSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readManifestSources } from '../../src/fs/manifest-dir.js';
import { loadManifests } from '../../src/manifest/load.js';
import { desiredUnits } from '../../src/render/desired.js';
import { DEFAULT_RENDER_OPTIONS } from '../../src/render/options.js';

export const GOLDEN_DIR = fileURLToPath(new URL('../golden/', import.meta.url));
/** Manifests are loaded as if they lived here, so SourcePath= is the same on every machine. */
export const VIRTUAL_APPS_DIR = '/srv/appsd/apps.d';

export async function renderGoldenCase(name: string) {
  const sources = await readManifestSources(join(GOLDEN_DIR, name, 'apps.d'));
  const result = loadManifests(sources.map((s) => ({ ...s, file: `${VIRTUAL_APPS_DIR}/${basename(s.file)}` })));
  const errors = result.diagnostics.map((d) => `apps.d/${basename(d.file)}:${d.line}:${d.column}: ${d.message}`);
  const units = desiredUnits(result.apps, DEFAULT_RENDER_OPTIONS).apps.flatMap((a) => a.units);
  return { errors, units };
}

export const goldenCases = readdirSync(GOLDEN_DIR).filter((n) => existsSync(join(GOLDEN_DIR, n, 'apps.d'))).sort();

