// What a pass needs from systemd, as the core sees it. The D-Bus adapter
// (systemd/manager.ts) implements it; unit tests use a fake. The core and the
// reconciler depend on this interface, never on the adapter.
import { TransientError } from '../errors.js';

/** What systemd says about a unit (as ListUnitsByNames reports it). */
export interface UnitStatus {
  readonly name: string;
  /** loaded, not-found, bad-setting, error, masked, ... */
  readonly loadState: string;
  /** active, reloading, inactive, failed, activating, deactivating. */
  readonly activeState: string;
  readonly subState: string;
  /** The adapter's handle for reading the unit's details; opaque to the core. */
  readonly path?: string;
}

/** The details `status` shows for a service, read only when asked. */
export interface ServiceDetails {
  /** When the unit last became active, in ms since the epoch; undefined: never. */
  readonly activeEnteredAt: number | undefined;
  /** When the unit last changed state (active, inactive, failed, ...), in ms since the epoch. */
  readonly stateChangedAt?: number;
  /** How long its last start took, from leaving inactive until active (readiness included), in ms. */
  readonly lastStartMs?: number;
  /** The STATUS= text the service last sent (appsd's readiness wait puts its failure there). */
  readonly statusText: string;
  /** success, exit-code, timeout, ... */
  readonly result: string;
  /** How the main process last ended: its exit status, or the signal that killed it. */
  readonly exit?: { readonly status: number } | { readonly signal: number };
  /** The unit's cgroup (e.g. /user.slice/.../appsd-x-backend.service), for what accounting does not report. */
  readonly controlGroup?: string;
  /** Memory and CPU time as systemd accounts them; undefined where accounting is off (cgroup v1 user managers). */
  readonly memoryBytes?: number;
  readonly cpuNs?: number;
}

export interface SystemdPort {
  /** Units systemd knows among `names` (it may answer for every name, with loadState not-found). */
  listUnits(names: readonly string[]): Promise<Map<string, UnitStatus>>;
  /** enabled, disabled, masked, ... or undefined when systemd knows no such unit file. */
  unitFileState(name: string): Promise<string | undefined>;
  reload(): Promise<void>;
  enable(names: readonly string[]): Promise<void>;
  disable(names: readonly string[]): Promise<void>;
  resetFailed(name: string): Promise<void>;
  /** Jobs resolve when systemd finished them, and reject with JobFailedError when it did not reach its goal. */
  start(name: string): Promise<void>;
  stop(name: string): Promise<void>;
  restart(name: string): Promise<void>;
  serviceDetails(unit: UnitStatus): Promise<ServiceDetails>;
  /**
   * Calls `listener` for every job the manager finishes from now on, whoever
   * queued it (a socket's connection, a dependency, appsd): how the
   * controller counts activations without polling. Per connection: a new
   * connection needs its listener again.
   */
  onJobFinished(listener: (job: FinishedJob) => void): Promise<void>;
  close(): void;
}

/** A job the manager finished (its JobRemoved signal). The signal does not say the job's type (start, stop, ...). */
export interface FinishedJob {
  readonly unit: string;
  /** done, canceled, timeout, failed, dependency, skipped. */
  readonly result: string;
}

/** A job systemd ran and that did not end in `done` (failed, timeout, dependency, ...). */
export class JobFailedError extends Error {
  override name = 'JobFailedError';
  constructor(
    readonly unit: string,
    readonly operation: string,
    readonly result: string,
  ) {
    super(`${operation} ${unit}: job ${result}`);
  }
}

/** The manager or the bus cannot be reached, or stopped answering: retry later. */
export class SystemdUnavailableError extends TransientError {
  override name = 'SystemdUnavailableError';
}
