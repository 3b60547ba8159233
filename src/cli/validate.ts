// `appsd validate`: every problem in every manifest, at its place, in one run;
// with --hosts FILE, for every host of a fleet at once.
import { compareDiagnostics, type Diagnostic } from '../diagnostics.js';
import { InputError } from '../errors.js';
import { readFleetFile } from '../host/identity.js';
import type { LoadResult, SkippedManifest } from '../manifest/load.js';
import { formatLabels, sameHostName, type HostIdentity } from '../manifest/placement.js';
import type { Span } from '../manifest/source.js';
import type { Locations } from './context.js';
import { EXIT_ERROR, EXIT_OK } from './exit-codes.js';
import { loadAndRender, loadAndRenderFor } from './load-apps.js';
import { displayDiagnostic, displayPath, formatLoadDiagnostics, hostJson, plural, skippedJson } from './output.js';

export async function validateCommand(locations: Locations, json: boolean, fleetFile?: string): Promise<number> {
  if (fleetFile !== undefined) return validateFleet(locations, json, fleetFile);
  const { load: result } = await loadAndRender(locations, false);
  const invalid = result.manifests.filter((m) => !m.app);
  if (json) {
    const out = {
      valid: invalid.length === 0,
      appsDir: locations.appsDir,
      ...(locations.host && { host: hostJson(locations.host) }),
      manifests: result.manifests.map((m) => ({ file: displayPath(m.file), app: m.name ?? null, valid: Boolean(m.app) })),
      skipped: result.skipped.map(skippedJson),
      diagnostics: [...result.diagnostics].sort(compareDiagnostics).map(displayDiagnostic),
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } else {
    const text = formatLoadDiagnostics(result);
    if (text) process.stdout.write(text + '\n\n');
    process.stdout.write(summary(result, locations) + '\n');
  }
  return invalid.length ? EXIT_ERROR : EXIT_OK;
}

function summary(result: LoadResult, locations: Locations): string {
  const invalid = result.manifests.filter((m) => !m.app);
  const total = result.manifests.length + result.skipped.length;
  const skipped = result.skipped.length ? `; ${result.skipped.length} placed on other hosts: ${result.skipped.map((s) => s.name).join(', ')}` : '';
  if (total === 0) return `no manifests in ${displayPath(locations.appsDir)} (*.yaml, *.yml)`;
  if (invalid.length === 0) return `${plural(total, 'manifest')} valid${result.apps.length ? `: ${result.apps.map((a) => a.name).join(', ')}` : ''}${skipped}`;
  return (
    `${plural(result.diagnostics.length, 'problem')} in ${invalid.length} of ${plural(total, 'manifest')}` +
    (result.apps.length ? `; valid: ${result.apps.map((a) => a.name).join(', ')}` : '') +
    skipped
  );
}

/**
 * Every host of a fleet file: each host's picture checked as that host would
 * (the rules across files among the apps placed on it). A problem found for
 * some hosts only says which; a manifest no host runs is a warning.
 */
async function validateFleet(locations: Locations, json: boolean, fleetFile: string): Promise<number> {
  let hosts: HostIdentity[];
  try {
    hosts = await readFleetFile(fleetFile);
  } catch (error) {
    if (error instanceof InputError) throw new InputError(`--hosts: ${error.message}`);
    throw error;
  }
  const loads = await loadAndRenderFor(locations, hosts, false);
  const results = hosts.map((host, i) => ({ host, load: loads[i]!.load }));

  // Each diagnostic once, with the hosts that see it (all of them: none named).
  const seen = new Map<string, { d: Diagnostic; text: string | undefined; hosts: string[] }>();
  for (const { host, load } of results) {
    for (const m of load.manifests) {
      for (const d of m.diagnostics) {
        const key = JSON.stringify([d.file, d.line, d.column, d.code, d.message]);
        const entry = seen.get(key) ?? seen.set(key, { d, text: m.text, hosts: [] }).get(key)!;
        entry.hosts.push(host.name);
      }
    }
  }
  // A manifest every host skips is placed nowhere in this fleet (an invalid
  // one is in every host's picture, so it is never counted here).
  const skippedBy = new Map<string, { skipped: SkippedManifest; hosts: number }>();
  for (const { load } of results) for (const s of load.skipped) skippedBy.set(s.file, { skipped: s, hosts: (skippedBy.get(s.file)?.hosts ?? 0) + 1 });
  for (const [file, { skipped: s, hosts: n }] of skippedBy) {
    if (n < hosts.length) continue;
    seen.set(JSON.stringify([file, 'nowhere']), {
      d: { file, ...s.at, severity: 'warning', code: 'placed-nowhere', message: `app "${s.name}" is placed on none of the hosts in ${displayPath(fleetFile)}` },
      text: s.text,
      hosts: hosts.map((h) => h.name),
    });
  }
  // A host name in hosts: that is none of the fleet's: a typo, or a host the file forgot.
  const placed = new Map<string, { name: string; hosts: readonly string[]; at: Span; text: string | undefined }>();
  for (const { load } of results) {
    for (const m of load.manifests) if (m.app?.placement?.hosts && m.placementAt) placed.set(m.file, { name: m.app.name, hosts: m.app.placement.hosts, at: m.placementAt, text: m.text });
    for (const s of load.skipped) if (s.placement?.hosts) placed.set(s.file, { name: s.name, hosts: s.placement.hosts, at: s.at, text: s.text });
  }
  for (const [file, p] of placed) {
    const unknown = p.hosts.filter((h) => !hosts.some((host) => sameHostName(h, host.name)));
    if (unknown.length === 0) continue;
    seen.set(JSON.stringify([file, 'unknown-host']), {
      d: { file, ...p.at, severity: 'warning', code: 'unknown-host', message: `app "${p.name}": ${unknown.map((h) => JSON.stringify(h)).join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not a host in ${displayPath(fleetFile)}` },
      text: p.text,
      hosts: hosts.map((h) => h.name),
    });
  }
  const entries = [...seen.values()].sort((a, b) => compareDiagnostics(a.d, b.d));
  const onSome = (e: { hosts: string[] }) => e.hosts.length < hosts.length;
  const errors = entries.filter((e) => e.d.severity === 'error');

  if (json) {
    const out = {
      valid: errors.length === 0,
      appsDir: locations.appsDir,
      hosts: results.map(({ host, load }) => ({
        ...hostJson(host),
        apps: load.apps.map((a) => a.name),
        invalid: load.manifests.filter((m) => !m.app).map((m) => displayPath(m.file)),
      })),
      diagnostics: entries.map((e) => ({ ...displayDiagnostic(e.d), hosts: e.hosts })),
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } else {
    const { formatDiagnostic } = await import('../diagnostics.js');
    const blocks = entries.map((e) => {
      const d = onSome(e) ? { ...e.d, message: `${e.d.message} (on ${e.hosts.length === 1 ? 'host' : 'hosts'} ${e.hosts.join(', ')})` } : e.d;
      return formatDiagnostic(displayDiagnostic(d), e.text);
    });
    if (blocks.length) process.stdout.write(blocks.join('\n') + '\n\n');
    for (const { host, load } of results) {
      const invalid = load.manifests.filter((m) => !m.app).length;
      const labels = host.labels.size ? ` (${formatLabels(host.labels)})` : '';
      process.stdout.write(`${host.name}${labels}: ${load.apps.length ? `runs ${load.apps.map((a) => a.name).join(', ')}` : 'runs no app'}${invalid ? `; ${plural(invalid, 'invalid manifest')}` : ''}\n`);
    }
    process.stdout.write(errors.length ? `${plural(errors.length, 'problem')} across ${plural(hosts.length, 'host')}\n` : `every host valid (${plural(hosts.length, 'host')})\n`);
  }
  return errors.length ? EXIT_ERROR : EXIT_OK;
}
