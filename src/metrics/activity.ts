// Activations and cold starts, counted from systemd's own signals rather than
// by polling: every job the manager finishes arrives as JobRemoved; one that
// finished `done` for the unit that runs an app (appsd-NAME-backend.service
// behind a proxy, appsd-NAME.service for a native app) may be a start. The
// signal does not say the job's type, so the unit's timestamps decide: a
// start moved ActiveEnterTimestamp past the last one counted; a stop, or a
// start that found the unit running, left it where it was.
//
// The cold start is the unit's own measure: ActiveEnterTimestampMonotonic
// minus InactiveExitTimestampMonotonic, from the moment systemd began
// starting it (ExecStartPre, ExecStart) until it was active, which for a
// backend includes appsd's readiness wait (ExecStartPost). It leaves out
// the millisecond or two from the connection to the job, and the proxy's
// own connect: systemd timestamps neither.
import type { FinishedJob, SystemdPort } from '../plan/systemd-port.js';
import { appUnitNames } from '../unit/names.js';
import { Counter, Histogram } from './registry.js';

/** What the controller saw of an app since it started (ControllerStatus.apps). */
export interface AppActivity {
  /** Starts of the unit that runs the app since the controller started. */
  readonly activations: number;
  /** How long the last of those starts took, in ms (readiness wait included). */
  readonly lastColdStartMs?: number;
  /** When the last of them finished (the unit became active), ISO 8601. */
  readonly lastActivatedAt?: string;
}

/** An app as the tracker needs it: its name, and which of its units runs it. */
export interface TrackedApp {
  readonly name: string;
  /** native: appsd-NAME.service runs the app; proxy: appsd-NAME-backend.service; undefined (an invalid manifest): the backend, if it has one. */
  readonly activation?: 'proxy' | 'native';
}

/** Cold starts from 50 ms (a process that listens at once) to 60 s (a large image), finer where most land. */
export const COLD_START_BUCKETS = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10, 30, 60] as const;

export class ActivityTracker {
  readonly activations = new Counter('appsd_app_activations_total', 'Starts of the unit that runs the app (its backend, or its service when native) since the controller started, whoever caused them: a connection, an app that needs it, a restart.', ['app']);
  readonly coldStarts = new Histogram(
    'appsd_app_cold_start_seconds',
    "Time from systemd starting the unit that runs the app until it was active (readiness wait included), from the unit's own monotonic timestamps.",
    ['app'],
    COLD_START_BUCKETS,
  );
  private readonly last = new Map<string, { readonly coldStartMs?: number; readonly activatedAt: number }>();
  /** Per unit, the ActiveEnterTimestamp (ms) of the start last counted. */
  private readonly counted = new Map<string, number>();
  /** Unit name -> app, for the apps it was built from: rebuilt when a job needs it after the apps changed. */
  private index: { readonly apps: readonly TrackedApp[]; readonly units: Map<string, string> } | undefined;
  private readonly attached = new WeakSet<SystemdPort>();
  private readonly inFlight = new Set<Promise<void>>();

  /**
   * @param apps the apps of the last pass; asked when a job finishes or on a
   *   snapshot, so a pass costs the tracker nothing. The same array until they change.
   * @param since starts before this time (ms since the epoch) are not counted.
   * @param onError a unit's timestamps could not be read; the start is not counted.
   */
  constructor(
    private readonly apps: () => readonly TrackedApp[],
    private readonly since: number = Date.now(),
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  /** Listens to a connection's finished jobs; once per connection. */
  async attach(port: SystemdPort): Promise<void> {
    if (this.attached.has(port)) return;
    await port.onJobFinished((job) => this.jobFinished(port, job));
    this.attached.add(port);
  }

  /** Resolves once every finished job seen so far has been looked at (for tests). */
  async settled(): Promise<void> {
    while (this.inFlight.size) await Promise.all(this.inFlight);
  }

  /** Each app of the last pass, with what was counted for it. */
  snapshot(): Record<string, AppActivity> {
    this.forgetRemovedApps();
    const out: Record<string, AppActivity> = {};
    for (const { name } of this.apps()) {
      const last = this.last.get(name);
      out[name] = {
        activations: this.activations.get({ app: name }),
        ...(last?.coldStartMs !== undefined && { lastColdStartMs: Math.round(last.coldStartMs) }),
        ...(last && { lastActivatedAt: new Date(last.activatedAt).toISOString() }),
      };
    }
    return out;
  }

  /** A removed app's series go: Prometheus treats a series that ends as gone, and the label set stays bounded. */
  forgetRemovedApps(): void {
    const names = new Set(this.apps().map((a) => a.name));
    for (const name of this.last.keys()) if (!names.has(name)) this.last.delete(name);
    for (const unit of this.counted.keys()) if (this.appOf(unit) === undefined) this.counted.delete(unit);
    this.activations.retain((l) => names.has(l['app']!));
    this.coldStarts.retain((l) => names.has(l['app']!));
    // Every app is exported, at zero before its first start.
    for (const name of names) {
      this.activations.touch({ app: name });
      this.coldStarts.touch({ app: name });
    }
  }

  private appOf(unit: string): string | undefined {
    const apps = this.apps();
    if (this.index?.apps !== apps) {
      const units = new Map<string, string>();
      for (const app of apps) {
        const names = appUnitNames(app.name);
        units.set(app.activation === 'native' ? names.service : names.backend, app.name);
      }
      this.index = { apps, units };
    }
    return this.index.units.get(unit);
  }

  private jobFinished(port: SystemdPort, job: FinishedJob): void {
    if (job.result !== 'done') return;
    const app = this.appOf(job.unit);
    if (app === undefined) return;
    const work = this.look(port, job.unit, app).finally(() => this.inFlight.delete(work));
    this.inFlight.add(work);
  }

  private async look(port: SystemdPort, unitName: string, app: string): Promise<void> {
    let details;
    try {
      const unit = (await port.listUnits([unitName])).get(unitName);
      if (unit?.loadState !== 'loaded') return;
      details = await port.serviceDetails(unit);
    } catch (error) {
      this.onError(error);
      return;
    }
    const enteredAt = details.activeEnteredAt;
    // Before the controller started (a stop job of an older start), or not new.
    if (enteredAt === undefined || enteredAt < this.since) return;
    if (enteredAt <= (this.counted.get(unitName) ?? -Infinity)) return;
    this.counted.set(unitName, enteredAt);
    this.activations.inc({ app });
    const coldStartMs = details.lastStartMs;
    if (coldStartMs !== undefined) this.coldStarts.observe({ app }, coldStartMs / 1000);
    this.last.set(app, { ...(coldStartMs !== undefined && { coldStartMs }), activatedAt: enteredAt });
  }
}
