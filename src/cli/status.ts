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
import { whySocketFails } from '../reconcile/diagnose.js';
import { missingInput } from '../reconcile/missing-inputs.js';
import { DEFAULT_RENDER_OPTIONS } from '../render/options.js';
import { appUnitNames, unitRole } from '../unit/names.js';
import type { Locations } from './context.js';
import { EXIT_ERROR, EXIT_OK } from './exit-codes.js';
import { loadAppsDir } from './load-apps.js';
import { displayPath } from './output.js';
import { connectManager } from './systemd.js';

export async function statusCommand(locations: Locations, json: boolean): Promise<number> {
  const load = await loadAppsDir(locations.appsDir);
  const manager = await connectManager(locations.scope, false);
  try {
    const inventory = await new StateStore(locations.stateDir).read();
    const manifests = new Map(load.manifests.map((m) => [m.name ?? nameFromFile(m.file), m] as const));
    const names = [...new Set([...Object.keys(inventory.apps), ...manifests.keys()])].sort();
    const unitsOfApp = (n: string) => [...new Set([...Object.values(appUnitNames(n)), ...(inventory.apps[n]?.units ?? [])])];
    const units = await manager.listUnits(names.flatMap(unitsOfApp));
    const wanted = names.flatMap((n) => detailsWanted(n, manifests.get(n), units));
    const details = new Map<string, ServiceDetails>(await Promise.all(wanted.map(async (u) => [u.name, await manager.serviceDetails(u)] as const)));
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
    const apps = names.map((name) => {
      const socketProblem = socketProblems.get(name);
      const startProblem = startProblems.get(name);
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
      });
    });
    const controller = await queryController(locations.stateDir);
    const installed = await installedController(locations, manager);
    const invalid = apps.some((a) => !a.valid);
    if (json) {
      process.stdout.write(JSON.stringify({ apps, controller: controller ?? null, installed: installed ?? null }, null, 2) + '\n');
    } else {
      process.stdout.write(formatStatus(apps, controller, installed) + '\n');
    }
    return invalid ? EXIT_ERROR : EXIT_OK;
  } finally {
    manager.close();
  }
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

function formatStatus(apps: readonly AppStatus[], controller: ControllerStatus | undefined, installed: InstalledController | undefined): string {
  const rows = [['APP', 'SOCKET', 'BACKEND', 'LAST ACTIVATED', 'IDLE', 'MANIFEST']];
  for (const a of apps) {
    const backend =
      a.socket === 'none' ? (a.backend === 'running' && a.neededBy.length ? `running (needed by ${a.neededBy.join(', ')})` : a.backend ?? '-')
      : a.backend === 'stopped' ? 'stopped (scaled to zero)' : a.backend ?? '-';
    rows.push([a.name, a.socket, backend, a.lastActivated ? ago(a.lastActivated) : '-', a.idleTimeout ?? '-', a.manifest ?? '-']);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
  for (const a of apps) if (a.needs.length) lines.push(`${a.name} needs ${a.needs.join(', ')}`);
  for (const a of apps) if (a.error) lines.push(`${a.name}: ${a.error}`);
  if (apps.length === 0) lines.push('(no apps)');
  lines.push('');
  if (installed?.problem) lines.push(`installed controller (${displayPath(installed.unit)}, ${installed.state}): ${installed.problem}`);
  else if (installed && installed.state === 'failed') lines.push(`installed controller (${displayPath(installed.unit)}) failed: systemctl status ${CONTROLLER_UNIT} says why`);
  if (!controller) lines.push('controller: not running (appsd watch, or appsd install to run it as a service)');
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

function ago(iso: string): string {
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  const span = seconds < 120 ? `${seconds}s` : seconds < 7200 ? `${Math.round(seconds / 60)}min` : `${Math.round(seconds / 3600)}h`;
  return `${iso.slice(0, 19).replace('T', ' ')} (${span} ago)`;
}
