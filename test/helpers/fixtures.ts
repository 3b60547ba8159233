// Small builders for tests: manifests as text, loaded through the real pipeline.
import { loadManifests, type ManifestSource } from '../../src/manifest/load.js';
import { desiredUnits } from '../../src/render/desired.js';
import { DEFAULT_RENDER_OPTIONS } from '../../src/render/options.js';

export const APPS_DIR = '/srv/appsd/apps.d';

export function load(files: Record<string, string>) {
  const sources: ManifestSource[] = Object.entries(files).map(([name, text]) => ({ file: `${APPS_DIR}/${name}`, text }));
  return loadManifests(sources);
}

/** Loads and renders; fails loudly if anything is invalid. */
export function render(files: Record<string, string>) {
  const result = load(files);
  if (result.diagnostics.length) throw new Error(result.diagnostics.map((d) => `${d.file}:${d.line}:${d.column}: ${d.message}`).join('\n'));
  return desiredUnits(result.apps, DEFAULT_RENDER_OPTIONS);
}

/** The units of one app by name, e.g. units['appsd-x.socket']. */
export function unitsOf(files: Record<string, string>, app?: string): Record<string, string> {
  const state = render(files);
  const picked = app ? state.apps.filter((a) => a.name === app) : state.apps;
  return Object.fromEntries(picked.flatMap((a) => a.units.map((u) => [u.name, u.text])));
}

/** `file:line:col: message` lines, relative to the apps dir, as the CLI prints them there. */
export function errorLines(files: Record<string, string>): string[] {
  return load(files).diagnostics.map((d) => `${d.file.slice(APPS_DIR.length + 1)}:${d.line}:${d.column}: ${d.message}`);
}
