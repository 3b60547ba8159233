// `appsd status [--json]`: each app as systemd sees it, and the controller's
// last pass. Observing is here; classifying is status/app-status.ts.
import { queryController, type ControllerStatus } from '../controller/status-socket.js';
import { StateStore } from '../fs/state-store.js';
import { nameFromFile } from '../manifest/normalize.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceDetails, SystemdPort } from '../plan/systemd-port.js';
import { UnitFile } from '../unit/unitfile.js';
import { CONTROLLER_UNIT, readControllerUnit } from './install.js';
import { appStatus, detailsWanted, type AppStatus } from '../status/app-status.js';
import { processUsages, type ProcessUsage } from '../systemd/process-usage.js';
import { lastLines } from '../logs/last-lines.js';
import { closest } from '../manifest/schema-errors.js';
import { formatAddress } from '../manifest/address.js';
import type { App } from '../manifest/app.js';
import type { SkippedManifest } from '../manifest/load.js';
import type { InventoryApp } from '../plan/inventory.js';
import { whySocketFails } from '../reconcile/diagnose.js';
import { missingInput } from '../reconcile/missing-inputs.js';
import { DEFAULT_RENDER_OPTIONS } from '../render/options.js';
import { appUnitNames, unitRole } from '../unit/names.js';
import type { Locations } from './context.js';
import { EXIT_ERROR, EXIT_OK } from './exit-codes.js';
import { loadAppsDir } from './load-apps.js';
import { displayPath, hostJson, skippedJson, useColor } from './output.js';
import { UsageError } from './context.js';
import { InputError } from '../errors.js';
import { connectManager } from './systemd.js';

export async function statusCommand(locations: Locations, json: boolean, only?: string): Promise<number> {
  const load = await loadAppsDir(locations.appsDir, locations.host);
  const inventory = await new StateStore(locations.stateDir).read();
  const manifests = new Map(load.manifests.map((m) => [m.name ?? nameFromFile(m.file), m] as const));
  const known = [...new Set([...Object.keys(inventory.apps), ...manifests.keys()])].sort();
  const skipped = load.skipped.filter((s) => !known.includes(s.name));
  // Still applied here, but its manifest now places it elsewhere: the next pass removes it.
  const elsewhere = new Map(load.skipped.map((s) => [s.name, s.reason] as const));
  if (only !== undefined && !known.includes(only)) {
    const elsewhere = skipped.find((s) => s.name === only);
    if (!elsewhere) throw new UsageError(unknownApp(only, [...known, ...skipped.map((s) => s.name)]));
    if (json) process.stdout.write(JSON.stringify({ apps: [], skipped: [skippedJson(elsewhere)], host: locations.host ? hostJson(locations.host) : null }, null, 2) + '\n');
    else process.stdout.write(`${only}: not run on this host (${elsewhere.reason}); ${displayPath(elsewhere.file)}\n`);
    return EXIT_OK;
  }
  const manager = await connectManager(locations.scope, false);
  try {
    const names = only !== undefined ? [only] : known;
    const unitsOfApp = (n: string) => [...new Set([...Object.values(appUnitNames(n)), ...(inventory.apps[n]?.units ?? [])])];
    const units = await manager.listUnits(names.flatMap(unitsOfApp));
    const wanted = names.flatMap((n) => detailsWanted(n, manifests.get(n), units));
    const details = new Map<string, ServiceDetails>(await Promise.all(wanted.map(async (u) => [u.name, await manager.serviceDetails(u)] as const)));
    // Memory and CPU where systemd does not account them (cgroup v1 user managers): from the running unit's processes.
    const unaccounted = [...details].filter(([u, d]) => units.get(u)?.activeState === 'active' && d.memoryBytes === undefined && d.controlGroup);
    const byGroup = await processUsages(unaccounted.map(([, d]) => d.controlGroup!));
    const usage = new Map<string, ProcessUsage | undefined>(unaccounted.map(([u, d]) => [u, byGroup.get(d.controlGroup!)]));
    // A failed socket: try its addresses, to say why (systemd only says "failed").
    const socketProblems = new Map<string, string | undefined>(
      await Promise.all(
        names
          .filter((n) => unitsOfApp(n).some((u) => unitRole(n, u) === 'socket' && units.get(u)?.activeState === 'failed') && manifests.get(n)?.app)
          .map(async (n) => [n, await whySocketFails(manifests.get(n)!.app!.listen, locations.scope)] as const),
      ),
    );
    // A failed start: is something it reads at start missing (an env file, a secret)?
    const startProblems = new Map<string, string | undefined>(
      await Promise.all(
        names
          .filter((n) => manifests.get(n)?.app && [appUnitNames(n).backend, appUnitNames(n).service].some((u) => units.get(u)?.activeState === 'failed'))
          .map(async (n) => [n, await missingInput(manifests.get(n)!.app!, locations.scope, DEFAULT_RENDER_OPTIONS.podmanPath)] as const),
      ),
    );
    // A failed start: the last lines the app (or podman) wrote, from the journal.
    const failedLines = new Map<string, string[]>(
      await Promise.all(
        names
          .filter((n) => detailsWanted(n, manifests.get(n), units)[0]?.activeState === 'failed')
          .map(async (n) => [n, await lastLines(manifests.get(n)?.app ?? n, 5, { scope: locations.scope })] as const),
      ),
    );
    const controller = await queryController(locations.stateDir);
    const apps = names.map((name) => {
      const socketProblem = socketProblems.get(name);
      const startProblem = startProblems.get(name);
      const worker = detailsWanted(name, manifests.get(name), units)[0];
      const use = worker ? usage.get(worker.name) : undefined;
      const activity = controller?.apps?.[name];
      return appStatus({
        name,
        manifest: manifests.get(name),
        appliedManifest: inventory.apps[name]?.manifest,
        units,
        details,
        display: displayPath,
        ...(socketProblem !== undefined && { socketProblem }),
        ...(startProblem !== undefined && { startProblem }),
        neededBy: load.apps.filter((a) => a.needs.includes(name)).map((a) => a.name),
        backendAddresses: backendAddresses(manifests.get(name)?.app, inventory.apps[name]),
        ...(use && { usage: use }),
        ...(activity && { activity }),
        ...(failedLines.has(name) && { lastLines: failedLines.get(name)! }),
        ...(elsewhere.has(name) && { placedElsewhere: elsewhere.get(name)! }),
      });
    });
    const installed = await installedController(locations, manager);
    const invalid = apps.some((a) => !a.valid);
    if (json) {
      const placement = locations.host ? { host: hostJson(locations.host), skipped: skipped.map(skippedJson) } : {};
      process.stdout.write(JSON.stringify({ apps, controller: controller ?? null, installed: installed ?? null, ...placement }, null, 2) + '\n');
    } else if (only !== undefined) {
      process.stdout.write(formatApp(apps[0]!, useColor(process.stdout)) + '\n');
    } else {
      process.stdout.write(formatStatus(apps, controller, installed, useColor(process.stdout)) + '\n');
      // Manifests placed on other hosts (docs/fleet.md): what this host leaves alone, and why.
      if (skipped.length) {
        process.stdout.write(`\nnot run on this host (${locations.host!.name}):\n`);
        for (const s of skipped) process.stdout.write(`  ${s.name}  ${s.reason}\n`);
      }
    }
    return invalid ? EXIT_ERROR : EXIT_OK;
  } finally {
    manager.close();
  }
}


/**
 * An app name from the command line that is no app here: for an app placed
 * on other hosts, that it does not run here (not a usage mistake: no hint to
 * --help); otherwise `no app is named "x" (did you mean "y"?)`.
 */
export function notAnAppHere(name: string, known: readonly string[], skipped: readonly SkippedManifest[]): Error {
  const elsewhere = skipped.find((s) => s.name === name);
  if (elsewhere) return new InputError(`"${name}" does not run on this host (${elsewhere.reason})`);
  return new UsageError(unknownApp(name, known));
}

/** `no app is named "x" (did you mean "y"?)`, for every command that takes an app name. */
export function unknownApp(name: string, known: readonly string[]): string {
  const guess = closest(name.slice(0, 100), [...known]);
  // The name is the user's input: control characters shown escaped, and not 10 KB of it.
  const shown = JSON.stringify(name.length > 60 ? `${name.slice(0, 60)}...` : name);
  return `no app is named ${shown}${guess ? ` (did you mean "${guess}"?)` : known.length ? ` (apps: ${known.join(', ')})` : ' (there are no apps)'}`;
}

/** Where the app's proxies forward to: the manifest's backend:, or the loopback ports appsd allocated (the inventory). */
function backendAddresses(app: App | undefined, entry: InventoryApp | undefined): string[] {
  if (!app || app.activation === 'native') return [];
  const main = app.backend ? formatAddress(app.backend) : entry?.port !== undefined ? `127.0.0.1:${entry.port}` : undefined;
  const extra = Object.entries(entry?.ports ?? {}).map(([, host]) => `127.0.0.1:${host}`);
  if (app.runtime.kind === 'exec' && app.backend) {
    for (const l of app.listen) if (l.to !== undefined && l.to !== app.backend.port) extra.push(formatAddress({ ...app.backend, port: l.to }));
  }
  return [...(main ? [main] : []), ...new Set(extra)];
}

/** The controller service `appsd install` wrote, and whether it can run. */
interface InstalledController {
  readonly unit: string;
  /** The node and appsd the service runs. */
  readonly program: readonly string[];
  /** Why it cannot start, when that can be told (a program that is gone). */
  readonly problem: string | null;
  readonly state: string;
}

async function installedController(locations: Locations, manager: SystemdPort): Promise<InstalledController | undefined> {
  const path = join(locations.unitDir, CONTROLLER_UNIT);
  const text = await readControllerUnit(locations.unitDir).catch(() => '');
  if (text === undefined) return undefined;
  const execStart = UnitFile.parse(text).get('Service', 'ExecStart')[0] ?? '';
  // The first two words: node and main.js (appsd writes them bare or quoted).
  const program = [...execStart.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].slice(0, 2).map((m) => m[1] ?? m[2]!);
  const missing = program.find((p) => !existsSync(p));
  const state = (await manager.listUnits([CONTROLLER_UNIT])).get(CONTROLLER_UNIT);
  return {
    unit: path,
    program,
    problem: missing ? `${missing} does not exist any more: the installed controller cannot start; run appsd install again from where appsd now is` : null,
    state: state?.loadState === 'loaded' ? state.activeState : state?.loadState ?? 'unknown',
  };
}

const RED = '\x1b[31m';
const RESET = '\x1b[0m';

function formatStatus(apps: readonly AppStatus[], controller: ControllerStatus | undefined, installed: InstalledController | undefined, color: boolean): string {
  const rows = [['APP', 'STATE', 'SINCE', 'LISTEN', 'BACKEND', 'COLD START', 'STARTS', 'MEMORY', 'CPU']];
  for (const a of apps) {
    const state = a.state === 'running' && a.socket === 'none' && a.neededBy.length ? `running (needed by ${a.neededBy.join(', ')})` : a.state;
    rows.push([
      a.name,
      state,
      a.since ? ago(a.since) : '-',
      a.listen.join(', ') || (a.socket === 'none' ? '(internal)' : '-'),
      a.backendAddresses.join(', ') || '-',
      a.lastColdStartMs !== null ? formatMs(a.lastColdStartMs) : '-',
      a.activations !== null ? String(a.activations) : '-',
      a.memoryBytes !== null ? formatBytes(a.memoryBytes) : '-',
      a.cpuSeconds !== null ? `${a.cpuSeconds.toFixed(1)}s` : '-',
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r, row) =>
    r
      .map((c, i) => {
        const cell = c.padEnd(widths[i]!);
        // Colour after padding, so the escape codes do not count as width.
        return color && i === 1 && row > 0 && c === 'failed' ? `${RED}${cell}${RESET}` : cell;
      })
      .join('  ')
      .trimEnd(),
  );
  for (const a of apps) if (a.needs.length) lines.push(`${a.name} needs ${a.needs.join(', ')}`);
  for (const a of apps) if (a.error) lines.push(`${a.name}: ${a.error}`);
  if (apps.length === 0) lines.push('(no apps)');
  lines.push('');
  if (installed?.problem) lines.push(`installed controller (${displayPath(installed.unit)}, ${installed.state}): ${installed.problem}`);
  else if (installed && installed.state === 'failed') lines.push(`installed controller (${displayPath(installed.unit)}) failed: systemctl status ${CONTROLLER_UNIT} says why`);
  if (!controller) lines.push('controller: not running (appsd watch, or appsd install to run it as a service); STARTS counts need it');
  else {
    const p = controller.lastPass;
    lines.push(
      `controller: running (PID ${controller.pid}), watching ${displayPath(controller.appsDir)}` +
        (p ? `; last pass ${ago(p.time)}: ${p.result}, ${p.actions} actions${p.failedApps.length ? `, failed: ${p.failedApps.join(', ')}` : ''}${p.commit ? `, commit ${p.commit.slice(0, 12)}` : ''}` : ''),
    );
    if (p?.error) lines.push(`  last pass error: ${p.error}`);
    if (controller.git?.lastPull && !controller.git.lastPull.ok) lines.push(`  last git pull failed: ${controller.git.lastPull.error ?? ''}`);
  }
  return lines.join('\n');
}

/** `appsd status NAME`: one app in detail. */
function formatApp(a: AppStatus, color: boolean): string {
  const state = color && a.state === 'failed' ? `${RED}failed${RESET}` : a.state;
  const rows: Array<[string, string]> = [
    ['state', `${state}${a.since ? ` since ${ago(a.since)}` : ''}`],
    ['manifest', `${a.manifest ?? '-'}${a.valid ? '' : ' (invalid)'}`],
    ['activation', a.activation ?? '-'],
    ['listen', a.listen.join(', ') || (a.socket === 'none' ? 'none (an internal app)' : '-')],
    ['socket', a.socket],
    ['backend', `${a.backend ?? '-'}${a.backendAddresses.length ? ` on ${a.backendAddresses.join(', ')}` : ''}`],
    ['idle timeout', a.idleTimeout ?? '-'],
    ['last started', a.lastActivated ? ago(a.lastActivated) : '-'],
    ['last cold start', a.lastColdStartMs !== null ? formatMs(a.lastColdStartMs) : '-'],
    ['starts', a.activations !== null ? `${a.activations} since the controller started` : '- (no controller running)'],
    ['memory', a.memoryBytes !== null ? formatBytes(a.memoryBytes) : '-'],
    ['cpu', a.cpuSeconds !== null ? `${a.cpuSeconds.toFixed(2)}s` : '-'],
    ['needs', a.needs.join(', ') || '-'],
    ['needed by', a.neededBy.join(', ') || '-'],
    ['units', a.units.join(', ') || '-'],
  ];
  if (a.exit) rows.push(['last exit', 'status' in a.exit ? `status ${a.exit.status}` : `killed by ${a.exit.signal}`]);
  if (a.error) rows.push(['error', a.error]);
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = [a.name, ...rows.map(([k, v]) => `  ${`${k}:`.padEnd(width + 1)} ${v}`)];
  if (a.lastLines.length) lines.push('  last lines:', ...a.lastLines.map((l) => `    ${l}`));
  return lines.join('\n');
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function formatBytes(bytes: number): string {
  return bytes < 1024 * 1024 ? `${Math.round(bytes / 1024)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function ago(iso: string): string {
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  const span = seconds < 120 ? `${seconds}s` : seconds < 7200 ? `${Math.round(seconds / 60)}min` : `${Math.round(seconds / 3600)}h`;
  return `${iso.slice(0, 19).replace('T', ' ')} (${span} ago)`;
}
