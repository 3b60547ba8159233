// An app's status from what was observed: pure, so `appsd status`, the
// controller and metrics classify the same way. The adapter gathers the
// inputs: the loaded manifests, the inventory, systemd's unit states and,
// for the units `detailsWanted` names, their details.
import { constants } from 'node:os';
import { formatAddress } from '../manifest/address.js';
import type { LoadedManifest } from '../manifest/load.js';
import { formatTimespan } from '../manifest/timespan.js';
import type { ServiceDetails, UnitStatus } from '../plan/systemd-port.js';
import { appUnitNames, unitRole } from '../unit/names.js';

/** none: an internal app, which has no socket. With several sockets (several ports), the worst of them. */
export type SocketState = 'listening' | 'stopped' | 'failed' | 'missing' | 'none';
export type BackendState = 'running' | 'stopped' | 'starting' | 'failed';
/**
 * The app in one word: running (its backend is up), starting, scaled-to-zero
 * (it ran and stopped when idle), listening (its socket waits for a first
 * connection), stopped (an internal app not running, or a socket that does not
 * listen), failed (its socket or its last start), missing (no units).
 */
export type AppState = 'running' | 'starting' | 'scaled-to-zero' | 'listening' | 'stopped' | 'failed' | 'missing';

/** What the running controller counted for an app (ControllerStatus.apps). */
export interface AppActivity {
  /** Starts of the app's backend since the controller started. */
  readonly activations: number;
}

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
  /** One word for the whole app (AppState). */
  readonly state: AppState;
  /** Since when the unit that runs the app is in its current state (ISO 8601). */
  readonly since: string | null;
  /** Where the app's sockets listen (`udp ` before a UDP address). */
  readonly listen: readonly string[];
  /** Where its proxies forward to, the main port first. */
  readonly backendAddresses: readonly string[];
  /** How long the last start took, from systemd's timestamps of the unit that runs the app (readiness included), in ms. */
  readonly lastColdStartMs: number | null;
  /** Starts counted by the running controller since it started; null without a controller. */
  readonly activations: number | null;
  /** Of the running backend: its memory and CPU time; null when it does not run. */
  readonly memoryBytes: number | null;
  readonly cpuSeconds: number | null;
  /** How its main process last ended, when the last start failed. */
  readonly exit: { readonly status: number } | { readonly signal: string } | null;
  /** The last lines the app wrote (up to 5), when the last start failed. */
  readonly lastLines: readonly string[];
  /** The app's units, as applied. */
  readonly units: readonly string[];
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
  /** Backend addresses, as the adapter resolved them (the manifest's, or the ports appsd allocated). */
  readonly backendAddresses?: readonly string[];
  /** Memory and CPU where systemd does not account them, from the processes of the running unit. */
  readonly usage?: { readonly memoryBytes: number; readonly cpuNs: number };
  /** What the running controller counted; undefined without a controller. */
  readonly activity?: AppActivity;
  /** The last lines the app wrote, when its last start failed. */
  readonly lastLines?: readonly string[];
  /** Why this host no longer runs the app, when its manifest is now placed on other hosts (docs/fleet.md). */
  readonly placedElsewhere?: string;
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
    const how = d?.exit ? ('status' in d.exit ? `exit status ${d.exit.status}` : `killed by ${signalName(d.exit.signal)}`) : undefined;
    const last = input.lastLines?.at(-1);
    error = input.startProblem
      ? `the last start failed: ${input.startProblem}`
      : `${d?.statusText || `the last start failed (${d?.result ?? 'unknown'})`}${how ? `; ${how}` : ''}${last ? `; it last wrote: ${last}` : ''}`;
  } else if (!manifest && appliedManifest && input.placedElsewhere) {
    error = `not placed on this host any more (${input.placedElsewhere}); the next pass removes the app`;
  } else if (!manifest && appliedManifest) {
    error = 'manifest removed; the next pass removes the app';
  }
  const d = worker ? details.get(worker.name) : undefined;
  const running = backend === 'running';
  const memory = running ? (d?.memoryBytes ?? input.usage?.memoryBytes) : undefined;
  const cpu = running ? (d?.cpuNs ?? input.usage?.cpuNs) : undefined;
  const state: AppState =
    socketState === 'failed' || backend === 'failed' ? 'failed'
    : backend === 'starting' ? 'starting'
    : backend === 'running' ? 'running'
    : socketState === 'missing' && backend === null ? 'missing'
    : socketState === 'none' || socketState === 'stopped' ? 'stopped'
    : enteredAt !== undefined ? 'scaled-to-zero'
    : 'listening';
  const exit = backend === 'failed' && d?.exit ? ('status' in d.exit ? { status: d.exit.status } : { signal: signalName(d.exit.signal) }) : null;
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
    state,
    since: d?.stateChangedAt !== undefined ? new Date(d.stateChangedAt).toISOString() : null,
    listen: app ? app.listen.map((l) => `${l.udp ? 'udp ' : ''}${formatAddress(l.address)}`) : [],
    backendAddresses: input.backendAddresses ?? [],
    lastColdStartMs: d?.lastStartMs !== undefined && enteredAt !== undefined ? Math.round(d.lastStartMs) : null,
    activations: input.activity?.activations ?? null,
    memoryBytes: memory ?? null,
    cpuSeconds: cpu !== undefined ? Math.round(cpu / 1e6) / 1e3 : null,
    exit,
    lastLines: backend === 'failed' ? (input.lastLines ?? []).slice(-5) : [],
    units: [...units.values()].filter((u) => loaded(u) && unitRole(name, u.name) !== undefined).map((u) => u.name).sort(),
  };
}

/** SIGKILL for 9: the name people read in `kill -l`. */
function signalName(signal: number): string {
  const found = Object.entries(constants.signals).find(([, n]) => n === signal);
  return found ? found[0] : `signal ${signal}`;
}
