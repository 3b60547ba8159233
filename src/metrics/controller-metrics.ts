// Everything `appsd watch --metrics` exports. A pass only adds to counters
// (no I/O, no work per app); the apps' states and memory are asked of
// systemd when Prometheus scrapes, with a deadline, so a scrape while systemd
// is unreachable still answers with what the controller knows.
import type { LoadedManifest, LoadResult } from '../manifest/load.js';
import { nameFromFile } from '../manifest/normalize.js';
import type { SystemdPort } from '../plan/systemd-port.js';
import type { DesiredApp } from '../render/desired.js';
import { appUnitNames } from '../unit/names.js';
import { ActivityTracker, type AppActivity, type TrackedApp } from './activity.js';
import { APP_STATES, AppStateReader, type AppObservation, type ObservedApp } from './app-state.js';
import { formatExposition, type MetricFamily } from './exposition.js';
import { Counter, Histogram } from './registry.js';

/** The outcome of a pass, as `appsd status` names it (lastPass.result). */
export type PassResult = 'ok' | 'failed' | 'invalid-manifests';
const PASS_RESULTS: readonly PassResult[] = ['ok', 'failed', 'invalid-manifests'];

/**
 * systemd: a pass could not reach systemd. lock: another appsd held the lock.
 * permanent: a pass failed in a way retrying cannot fix. action: an action of
 * a pass failed. manifest: a problem with a manifest or app, counted when
 * first reported. scrape: a scrape could not ask systemd about the apps.
 * activity: a finished job's unit could not be read (a start not counted).
 */
export type ErrorKind = 'systemd' | 'lock' | 'permanent' | 'action' | 'manifest' | 'scrape' | 'activity';
const ERROR_KINDS: readonly ErrorKind[] = ['systemd', 'lock', 'permanent', 'action', 'manifest', 'scrape', 'activity'];

/** Passes from a few ms (nothing to do) to a minute (hundreds of apps, a slow reload). */
const PASS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;

/** How long a scrape waits for systemd before answering without the apps' states. */
const SYSTEMD_DEADLINE_MS = 3000;

export class ControllerMetrics {
  readonly activity: ActivityTracker;
  private readonly states = new AppStateReader();
  private readonly passes = new Counter('appsd_passes_total', 'Passes of the controller by outcome: ok, failed (an action failed, or the pass could not run), invalid-manifests.', ['outcome']);
  private readonly passDuration = new Histogram('appsd_pass_duration_seconds', 'Time a pass took, from reading the manifests until systemd converged (or the pass failed).', [], PASS_BUCKETS);
  private readonly reloads = new Counter('appsd_daemon_reloads_total', 'daemon-reloads the controller made (at most one per pass).');
  private readonly errors = new Counter('appsd_errors_total', 'Errors by kind: systemd, lock, permanent (whole passes); action; manifest (each problem once, when first reported); scrape; activity.', ['kind']);
  /** Seconds since the epoch of the last pass that ended ok or with invalid manifests only. */
  private lastSuccess: number | undefined;
  /** The last pass's results, by reference; the app lists below are worked out from them on first use. */
  private pass: LastPass | undefined;
  private apps: { readonly observed: readonly ObservedApp[]; readonly tracked: readonly TrackedApp[] } | undefined;

  constructor(since = Date.now()) {
    this.activity = new ActivityTracker(() => this.appLists().tracked, since, () => this.error('activity'));
    for (const outcome of PASS_RESULTS) this.passes.touch({ outcome });
    for (const kind of ERROR_KINDS) this.errors.touch({ kind });
    this.reloads.touch();
  }

  /** Follows a connection's jobs (once per connection; every pass asks). Never throws: metrics must not fail a pass. */
  async attach(port: SystemdPort): Promise<void> {
    try {
      await Promise.all([this.activity.attach(port), this.states.attach(port)]);
    } catch {
      // A failed subscription is not remembered: the next pass tries again.
      this.error('activity');
    }
  }

  error(kind: ErrorKind, count = 1): void {
    this.errors.inc({ kind }, count);
  }

  reloaded(): void {
    this.reloads.inc();
  }

  /**
   * A pass ended; `pass` when it got as far as loading the manifests. Its
   * results are kept by reference: a pass costs a few additions, and what a
   * scrape or a finished job needs of them is worked out then.
   */
  passFinished(result: PassResult, durationMs: number, pass?: LastPass): void {
    this.passes.inc({ outcome: result });
    this.passDuration.observe({}, durationMs / 1000);
    if (result !== 'failed') this.lastSuccess = Date.now() / 1000;
    if (pass && pass.load !== this.pass?.load) {
      // Only what is needed: the pass given may be a whole outcome (its plan, every action's result).
      this.pass = { load: pass.load, desired: pass.desired };
      this.apps = undefined;
    }
  }

  /** What the status socket reports per app. */
  appActivity(): Record<string, AppActivity> {
    return this.activity.snapshot();
  }

  /** The exposition text. Never throws: what systemd cannot tell now is left out. */
  async scrape(port: SystemdPort | undefined): Promise<string> {
    let observed: AppObservation[] | undefined;
    const apps = this.appLists().observed;
    if (apps.length) {
      try {
        // No connection: the controller is between a lost one and the next pass's.
        if (!port) throw new Error('not connected to systemd');
        observed = await withDeadline(this.states.observe(port, apps), SYSTEMD_DEADLINE_MS);
      } catch {
        this.error('scrape');
      }
    }
    const families: MetricFamily[] = [];
    if (observed) {
      families.push({
        name: 'appsd_app_state',
        help: 'The state of each app, as appsd status shows it: 1 for its current state, 0 for the others.',
        type: 'gauge',
        samples: observed.flatMap((o) => APP_STATES.map((state) => ({ labels: { app: o.name, state }, value: o.state === state ? 1 : 0 }))),
      });
      families.push({
        name: 'appsd_app_memory_bytes',
        help: "Memory of the app while it runs: MemoryCurrent of the unit that runs it, or where systemd does not account memory the RSS of its processes.",
        type: 'gauge',
        samples: observed.flatMap((o) => (o.memoryBytes === undefined ? [] : [{ labels: { app: o.name }, value: o.memoryBytes }])),
      });
    }
    // Also drops the series of removed apps, before the families below are taken.
    const activity = this.activity.snapshot();
    families.push(
      this.activity.activations.family(),
      this.activity.coldStarts.family(),
      {
        name: 'appsd_app_last_activation_timestamp_seconds',
        help: 'When the unit that runs the app last became active, of the starts counted since the controller started.',
        type: 'gauge',
        samples: Object.entries(activity).flatMap(([app, a]) => (a.lastActivatedAt ? [{ labels: { app }, value: Date.parse(a.lastActivatedAt) / 1000 }] : [])),
      },
      this.passes.family(),
      this.passDuration.family(),
      this.reloads.family(),
      this.errors.family(),
    );
    if (this.lastSuccess !== undefined) {
      families.push({ name: 'appsd_last_success_timestamp_seconds', help: 'When the last pass without a failure (ok, or invalid manifests only) ended.', type: 'gauge', samples: [{ labels: {}, value: this.lastSuccess }] });
    }
    return formatExposition(families);
  }

  /** The apps of the last pass: each name once (a valid manifest wins over an invalid file of the same name). */
  private appLists(): { readonly observed: readonly ObservedApp[]; readonly tracked: readonly TrackedApp[] } {
    if (!this.apps) {
      const byName = new Map<string, LoadedManifest>();
      for (const m of this.pass?.load.manifests ?? []) {
        const name = m.name ?? nameFromFile(m.file);
        if (!byName.get(name)?.app) byName.set(name, m);
      }
      const rendered = new Map((this.pass?.desired ?? []).map((d) => [d.name, d.units.map((u) => u.name)] as const));
      const names = [...byName.keys()].sort();
      this.apps = {
        observed: names.map((name) => ({ name, manifest: byName.get(name), units: rendered.get(name) ?? Object.values(appUnitNames(name)) })),
        tracked: names.map((name) => {
          const activation = byName.get(name)?.app?.activation;
          return activation === undefined ? { name } : { name, activation };
        }),
      };
    }
    return this.apps;
  }
}

/** What metrics keep of a pass. */
export interface LastPass {
  readonly load: LoadResult;
  readonly desired: readonly DesiredApp[];
}

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from systemd within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
