// `appsd status [--json]`: each app as systemd sees it, and the controller's
// last pass.
import { loadAppsDir } from './load-apps.js';
import { nameFromFile } from '../manifest/normalize.js';
import { formatTimespan } from '../manifest/timespan.js';
import { queryController, type ControllerStatus } from '../controller/status-socket.js';
import { StateStore } from '../state/store.js';
import type { SystemdManager, UnitStatus } from '../systemd/manager.js';
import type { Locations } from './context.js';
import { EXIT_ERROR, EXIT_OK } from './exit-codes.js';
import { displayPath } from './output.js';
import { connectManager } from './systemd.js';

export type BackendState = 'running' | 'stopped' | 'starting' | 'failed';

export interface AppStatus {
  readonly name: string;
  readonly manifest: string | null;
  readonly valid: boolean;
  /** listening, stopped, failed, or missing (never applied). */
  readonly socket: string;
  readonly backend: BackendState | null;
  readonly activation: 'proxy' | 'native' | null;
  /** When the app was last started by a connection (ISO 8601), or null. */
  readonly lastActivated: string | null;
  readonly idleTimeout: string | null;
  readonly error: string | null;
}

export async function statusCommand(locations: Locations, json: boolean): Promise<number> {
  const load = await loadAppsDir(locations.appsDir);
  const manager = await connectManager(locations.scope, false);
  try {
    const inventory = await new StateStore(locations.stateDir).read();
    const names = new Set<string>(Object.keys(inventory.apps));
    for (const m of load.manifests) names.add(m.name ?? nameFromFile(m.file));
    const sorted = [...names].sort();
    const unitNames = sorted.flatMap((n) => [`appsd-${n}.socket`, `appsd-${n}.service`, `appsd-${n}-backend.service`]);
    const units = await manager.listUnitsByNames(unitNames);
    const apps = await Promise.all(sorted.map((name) => appStatus(name, load, inventory.apps[name]?.manifest, units, manager)));
    const controller = await queryController(locations.stateDir);
    const invalid = apps.some((a) => !a.valid);
    if (json) {
      process.stdout.write(JSON.stringify({ apps, controller: controller ?? null }, null, 2) + '\n');
    } else {
      process.stdout.write(formatStatus(apps, controller) + '\n');
    }
    return invalid ? EXIT_ERROR : EXIT_OK;
  } finally {
    manager.close();
  }
}

async function appStatus(
  name: string,
  load: Awaited<ReturnType<typeof loadAppsDir>>,
  appliedManifest: string | undefined,
  units: Map<string, UnitStatus>,
  manager: SystemdManager,
): Promise<AppStatus> {
  const manifest = load.manifests.find((m) => (m.name ?? nameFromFile(m.file)) === name);
  const app = manifest?.app;
  const socket = units.get(`appsd-${name}.socket`);
  const service = units.get(`appsd-${name}.service`);
  const backendUnit = units.get(`appsd-${name}-backend.service`);
  const native = app ? app.activation === 'native' : !(backendUnit && backendUnit.loadState === 'loaded');
  const worker = native ? service : backendUnit;
  const socketState = !socket || socket.loadState !== 'loaded' ? 'missing' : socket.activeState === 'active' ? 'listening' : socket.activeState === 'failed' ? 'failed' : 'stopped';
  let backend: BackendState | null = null;
  if (worker && worker.loadState === 'loaded') {
    backend = worker.activeState === 'active' || worker.activeState === 'reloading' ? 'running' : worker.activeState === 'activating' ? 'starting' : worker.activeState === 'failed' ? 'failed' : 'stopped';
  }
  let lastActivated: string | null = null;
  let error: string | null = null;
  if (service?.path && service.loadState === 'loaded') {
    const usec = (await manager.property(service.path, 'org.freedesktop.systemd1.Unit', 'ActiveEnterTimestamp')) as bigint;
    if (usec > 0n) lastActivated = new Date(Number(usec / 1000n)).toISOString();
  }
  if (manifest && !app) {
    const first = manifest.diagnostics[0];
    error = first ? `${displayPath(first.file)}:${first.line}:${first.column}: ${first.message}` : 'invalid manifest';
  } else if (backend === 'failed' && worker?.path) {
    const text = (await manager.property(worker.path, 'org.freedesktop.systemd1.Service', 'StatusText')) as string;
    const result = (await manager.property(worker.path, 'org.freedesktop.systemd1.Service', 'Result')) as string;
    error = text || `the last start failed (${result})`;
  } else if (!manifest && appliedManifest) {
    error = 'manifest removed; the next pass removes the app';
  }
  return {
    name,
    manifest: manifest ? displayPath(manifest.file) : appliedManifest ? displayPath(appliedManifest) : null,
    valid: Boolean(app),
    socket: socketState,
    backend,
    activation: app ? app.activation : backendUnit?.loadState === 'loaded' ? 'proxy' : service?.loadState === 'loaded' ? 'native' : null,
    lastActivated,
    idleTimeout: app && app.activation === 'proxy' ? (app.idleTimeoutMs === null ? 'infinity' : formatTimespan(app.idleTimeoutMs)) : null,
    error,
  };
}

function formatStatus(apps: readonly AppStatus[], controller: ControllerStatus | undefined): string {
  const rows = [['APP', 'SOCKET', 'BACKEND', 'LAST ACTIVATED', 'IDLE', 'MANIFEST']];
  for (const a of apps) {
    const backend = a.backend === 'stopped' ? 'stopped (scaled to zero)' : a.backend ?? '-';
    rows.push([a.name, a.socket, backend, a.lastActivated ? ago(a.lastActivated) : '-', a.idleTimeout ?? '-', a.manifest ?? '-']);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
  for (const a of apps) if (a.error) lines.push(`${a.name}: ${a.error}`);
  if (apps.length === 0) lines.push('(no apps)');
  lines.push('');
  if (!controller) lines.push('controller: not running (appsd watch, or appsd install to run it as a service)');
  else {
    const p = controller.lastPass;
    lines.push(
      `controller: running (PID ${controller.pid}), watching ${displayPath(controller.appsDir)}` +
        (p ? `; last pass ${ago(p.time)}: ${p.result}, ${p.actions} actions${p.failedApps.length ? `, failed: ${p.failedApps.join(', ')}` : ''}${p.commit ? `, commit ${p.commit.slice(0, 12)}` : ''}` : ''),
    );
    if (controller.git?.lastPull && !controller.git.lastPull.ok) lines.push(`  last git pull failed: ${controller.git.lastPull.error ?? ''}`);
  }
  return lines.join('\n');
}

function ago(iso: string): string {
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  const span = seconds < 120 ? `${seconds}s` : seconds < 7200 ? `${Math.round(seconds / 60)}min` : `${Math.round(seconds / 3600)}h`;
  return `${iso.slice(0, 19).replace('T', ' ')} (${span} ago)`;
}
