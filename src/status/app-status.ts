// An app's status from what was observed: pure, so `appsd status`, the
// controller and metrics classify the same way. The adapter gathers the
// inputs: the loaded manifests, the inventory, systemd's unit states and,
// for the units `detailsWanted` names, their details.
import type { LoadedManifest } from '../manifest/load.js';
import { formatTimespan } from '../manifest/timespan.js';
import type { ServiceDetails, UnitStatus } from '../plan/systemd-port.js';
import { appUnitNames, unitRole } from '../unit/names.js';

/** none: an internal app, which has no socket. With several sockets (several ports), the worst of them. */
export type SocketState = 'listening' | 'stopped' | 'failed' | 'missing' | 'none';
export type BackendState = 'running' | 'stopped' | 'starting' | 'failed';

export interface AppStatus {
  readonly name: string;
  readonly manifest: string | null;
  readonly valid: boolean;
  /** listening, stopped, failed, or missing (never applied). */
  readonly socket: SocketState;
  readonly backend: BackendState | null;
  readonly activation: 'proxy' | 'native' | null;
  /** When the unit that runs the app last started (ISO 8601): by a connection on any of its ports, or by an app that needs it; or null. */
  readonly lastActivated: string | null;
  readonly idleTimeout: string | null;
  /** The apps this one needs (its manifest's needs:). */
  readonly needs: readonly string[];
  /** The valid apps that need this one. */
  readonly neededBy: readonly string[];
  readonly error: string | null;
}

export interface AppStatusInput {
  readonly name: string;
  /** The app's manifest in the apps directory, valid or not. */
  readonly manifest: LoadedManifest | undefined;
  /** The manifest appsd last applied the app from (its inventory), if any. */
  readonly appliedManifest: string | undefined;
  readonly units: ReadonlyMap<string, UnitStatus>;
  /** Details of the units detailsWanted named. */
  readonly details: ReadonlyMap<string, ServiceDetails>;
  /** Why the socket cannot listen, when it failed and the adapter could tell (address in use, ...). */
  readonly socketProblem?: string;
  /** What the app reads at start and is missing, when its last start failed and the adapter could tell (an env file, a secret). */
  readonly startProblem?: string;
  /** How a file path is shown (relative to the working directory, say). */
  readonly display?: (file: string) => string;
  /** The valid apps whose manifests need this one. */
  readonly neededBy?: readonly string[];
}

const loaded = (u: UnitStatus | undefined): u is UnitStatus => u?.loadState === 'loaded';

/** The unit that runs the app: the backend behind a proxy, the service itself when native. */
function workerOf(name: string, manifest: LoadedManifest | undefined, units: ReadonlyMap<string, UnitStatus>): UnitStatus | undefined {
  const names = appUnitNames(name);
  const app = manifest?.app;
  const native = app ? app.activation === 'native' : !loaded(units.get(names.backend));
  return units.get(native ? names.service : names.backend);
}

/**
 * The units whose details the status needs: the one that runs the app, for
 * when it last started (by a connection on any of its ports, or by an app
 * that needs it) and, when it failed, why.
 */
export function detailsWanted(name: string, manifest: LoadedManifest | undefined, units: ReadonlyMap<string, UnitStatus>): UnitStatus[] {
  const worker = workerOf(name, manifest, units);
  return loaded(worker) ? [worker] : [];
}

export function appStatus(input: AppStatusInput): AppStatus {
  const { name, manifest, appliedManifest, units, details } = input;
  const display = input.display ?? ((f: string) => f);
  const names = appUnitNames(name);
  const app = manifest?.app;
  const service = units.get(names.service);
  const worker = workerOf(name, manifest, units);
  // Every socket of the app (one per backend port): the state shown is the worst.
  const sockets = [...units.values()].filter((u) => unitRole(name, u.name) === 'socket' && loaded(u));
  const socketState: SocketState =
    app && app.listen.length === 0 ? 'none'
    : sockets.length === 0 ? 'missing'
    : sockets.some((s) => s.activeState === 'failed') ? 'failed'
    : sockets.every((s) => s.activeState === 'active') ? 'listening'
    : 'stopped';
  let backend: BackendState | null = null;
  if (loaded(worker)) {
    const s = worker.activeState;
    backend = s === 'active' || s === 'reloading' ? 'running' : s === 'activating' ? 'starting' : s === 'failed' ? 'failed' : 'stopped';
  }
  const enteredAt = worker ? details.get(worker.name)?.activeEnteredAt : undefined;
  let error: string | null = null;
  if (manifest && !app) {
    const first = manifest.diagnostics[0];
    error = first ? `${display(first.file)}:${first.line}:${first.column}: ${first.message}` : 'invalid manifest';
  } else if (socketState === 'failed') {
    error = `the socket failed to listen${input.socketProblem ? `: ${input.socketProblem}` : ''}; the next pass starts it again`;
  } else if (backend === 'failed' && worker) {
    const d = details.get(worker.name);
    error = input.startProblem ? `the last start failed: ${input.startProblem}` : d?.statusText || `the last start failed (${d?.result ?? 'unknown'})`;
  } else if (!manifest && appliedManifest) {
    error = 'manifest removed; the next pass removes the app';
  }
  return {
    name,
    manifest: manifest ? display(manifest.file) : appliedManifest ? display(appliedManifest) : null,
    valid: Boolean(app),
    socket: socketState,
    backend,
    activation: app ? app.activation : loaded(units.get(names.backend)) ? 'proxy' : loaded(service) ? 'native' : null,
    lastActivated: enteredAt ? new Date(enteredAt).toISOString() : null,
    idleTimeout: app && app.activation === 'proxy' && app.listen.length > 0 ? (app.idleTimeoutMs === null ? 'infinity' : formatTimespan(app.idleTimeoutMs)) : null,
    needs: app?.needs ?? [],
    neededBy: input.neededBy ?? [],
    error,
  };
}
