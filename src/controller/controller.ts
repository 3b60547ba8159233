// `appsd watch`: a level-based controller. Every trigger (a file event, the
// periodic resync, SIGHUP, a git pull) only says "look again"; each pass
// compares the whole desired state with the whole observed state, exactly as
// `appsd apply` does. Events are debounced and coalesced, so a `git pull` of
// 300 manifests is one pass and one daemon-reload.
import type { Server } from 'node:net';
import type { App } from '../manifest/app.js';
import { formatDiagnosticLine } from '../diagnostics.js';
import { isTransient } from '../errors.js';
import { appProblems, describeAction } from '../plan/format.js';
import type { SystemdPort } from '../plan/systemd-port.js';
import { SystemdUnavailableError } from '../plan/systemd-port.js';
import { failedWhileExecuting, hasErrors, Reconciler, type PassOutcome } from '../reconcile/reconciler.js';
import { LockBusyError } from '../reconcile/lock.js';
import { ControllerMetrics } from '../metrics/controller-metrics.js';
import { formatMetricsAddress, serveMetrics, type MetricsAddress, type MetricsServer } from '../metrics/server.js';
import type { RenderOptions } from '../render/options.js';
import { SystemdManager } from '../systemd/manager.js';
import type { HostIdentity } from '../manifest/placement.js';
import { headCommit, pullFastForward } from './git.js';
import { releaseAfterPass } from './heap.js';
import { DEBUG, ERR, INFO, NOTICE, WARNING, type Logger } from './log.js';
import { notifySystemd } from './notify.js';
import { serveStatus, type ControllerStatus } from './status-socket.js';
import { watchAppsDir, type DirWatcher } from './watcher.js';

export interface ControllerOptions {
  readonly appsDir: string;
  readonly unitDir: string;
  readonly stateDir: string;
  readonly scope: 'user' | 'system';
  readonly renderOptions: RenderOptions;
  readonly log: Logger;
  /** Quiet time after the last event before a pass. */
  readonly debounceMs: number;
  /** The same, once more than a few events came in a row. */
  readonly burstDebounceMs: number;
  /** A pass at the latest this long after the first of a stream of events. */
  readonly maxDelayMs: number;
  readonly resyncMs: number;
  /** With --pull: how often to fast-forward the git work tree. */
  readonly pullMs?: number;
  /** Display path of a file, for log lines. */
  readonly display: (file: string) => string;
  /** Retries after a transient failure: first delay, doubling up to max. */
  readonly backoff?: { readonly firstMs: number; readonly maxMs: number };
  /** How to reach systemd; by default over D-Bus for the scope. Tests pass a fake. */
  readonly connect?: () => Promise<SystemdPort>;
  /** With --metrics: where to serve Prometheus metrics (docs/metrics.md). */
  readonly metrics?: MetricsAddress;
  /** This host, for placement: manifests placed elsewhere are skipped. */
  readonly host?: HostIdentity;
}

const DEFAULT_BACKOFF = { firstMs: 1000, maxMs: 60_000 } as const;
// An editor's save is up to three events (unlink, add, change); more is a burst.
const BURST_EVENTS = 3;

export class Controller {
  private manager: SystemdPort | undefined;
  private watcher: DirWatcher | undefined;
  private server: Server | undefined;
  private metricsServer: MetricsServer | undefined;
  /** Counted whether or not --metrics serves them: the status socket reports the apps' activity too. */
  private readonly metrics = new ControllerMetrics();
  private readonly reconciler: Reconciler;
  /** The last permanent failure, reported once until it changes. */
  private permanentFailure: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private firstEventAt: number | undefined;
  private batchEvents = 0;
  private resyncTimer: NodeJS.Timeout | undefined;
  /** The one pending retry: a new failure replaces it, so retries never multiply. */
  private retryTimer: NodeJS.Timeout | undefined;
  private pullTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopping = false;
  private backoffMs = 0;
  private reported = new Set<string>();
  private skipped = '';
  private readonly startedAt = new Date().toISOString();
  private lastPass: ControllerStatus['lastPass'];
  private git: { commit?: string; lastPull?: { time: string; ok: boolean; error?: string } } | undefined;
  /** The valid apps of the last pass. */
  apps: readonly App[] = [];

  constructor(private readonly o: ControllerOptions) {
    this.reconciler = Reconciler.forDirectories(o, o.renderOptions, { cache: true, host: o.host });
  }

  async start(): Promise<void> {
    const { log } = this.o;
    this.server = await serveStatus(this.o.stateDir, () => this.status());
    if (this.o.metrics) {
      try {
        this.metricsServer = await serveMetrics(this.o.metrics, () => this.metrics.scrape(this.manager));
      } catch (error) {
        this.server.close();
        throw error;
      }
    }
    if (this.o.pullMs !== undefined) {
      const commit = await headCommit(this.o.appsDir);
      this.git = { ...(commit !== undefined && { commit }) };
    }
    this.watcher = await watchAppsDir(
      this.o.appsDir,
      (what) => this.poke(what),
      (error) => log.log(WARNING, `watching ${this.o.display(this.o.appsDir)}: ${error.message}`),
    );
    const metrics = this.metricsServer ? `, metrics on http://${formatMetricsAddress(this.metricsServer.address)}/metrics` : '';
    log.log(NOTICE, `watching ${this.o.display(this.o.appsDir)} (resync every ${this.o.resyncMs / 1000}s${this.o.pullMs ? `, git pull every ${this.o.pullMs / 1000}s` : ''}${metrics})`);
    await this.passNow('start');
    this.scheduleResync();
    if (this.o.pullMs !== undefined) this.schedulePull();
    notifySystemd({ ready: true, status: `watching ${this.o.appsDir}` });
  }

  /**
   * Something may have changed: a pass soon, coalesced with other pokes. A
   * lone event (an editor's save) waits only `debounceMs` of quiet; once a
   * burst shows (a git pull, a copy of many files), the quiet needed grows to
   * `burstDebounceMs`, so that the burst is one pass and one daemon-reload.
   */
  poke(reason: string): void {
    if (this.stopping) return;
    this.o.log.log(DEBUG, `event: ${reason}`);
    const now = Date.now();
    this.firstEventAt ??= now;
    this.batchEvents++;
    if (this.timer) clearTimeout(this.timer);
    const quiet = this.batchEvents > BURST_EVENTS ? this.o.burstDebounceMs : this.o.debounceMs;
    const wait = Math.max(0, Math.min(quiet, this.firstEventAt + this.o.maxDelayMs - now));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.firstEventAt = undefined;
      this.batchEvents = 0;
      void this.passNow('change');
    }, wait);
  }

  /** SIGHUP: pull (with --pull), then a pass at once. */
  async hangup(): Promise<void> {
    this.o.log.log(INFO, 'SIGHUP: a pass now');
    if (this.o.pullMs !== undefined) await this.pull();
    await this.passNow('SIGHUP');
  }

  /** Runs a pass now, or right after the one in flight. */
  async passNow(reason: string): Promise<void> {
    if (this.stopping) return;
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        this.again = false;
        await this.pass(reason);
      } finally {
        this.running = undefined;
      }
      releaseAfterPass();
      // Events during the pass are likely the middle of a burst: wait for
      // quiet again rather than passing at once.
      if (this.again && !this.stopping) this.poke('changes during the last pass');
    })();
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    notifySystemd({ stopping: true });
    for (const t of [this.timer, this.resyncTimer, this.pullTimer, this.retryTimer]) if (t) clearTimeout(t);
    if (this.backoffMs > 0) {
      // systemd has been failing: a pass in flight is most likely waiting on
      // a dead bus. Closing the connection fails its calls at once, and a
      // reconnect in progress is not waited for beyond a moment.
      this.manager?.close();
      await Promise.race([this.running, new Promise((resolve) => setTimeout(resolve, 500))]);
    } else {
      await this.running;
    }
    await this.watcher?.close();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    await this.metricsServer?.close();
    this.manager?.close();
  }

  status(): ControllerStatus {
    return {
      pid: process.pid,
      appsDir: this.o.appsDir,
      startedAt: this.startedAt,
      ...(this.lastPass && { lastPass: this.lastPass }),
      ...(this.git && { git: this.git }),
      apps: this.metrics.appActivity(),
    };
  }

  private async pass(reason: string): Promise<void> {
    const { log } = this.o;
    const started = performance.now();
    // The commit the manifests of this pass come from.
    const commit = this.git?.commit;
    let outcome: PassOutcome;
    try {
      this.manager ??= await (this.o.connect?.() ?? SystemdManager.connect({ scope: this.o.scope }));
      await this.metrics.attach(this.manager);
      outcome = await this.reconciler.apply(this.manager, {
        onResult: (r) => {
          if (r.skipped) return;
          if (!r.ok) this.metrics.error('action');
          else if (r.action.kind === 'reload') this.metrics.reloaded();
          log.log(r.ok ? INFO : ERR, r.ok ? describeAction(r.action) : `${describeAction(r.action)}: FAILED: ${r.error}`);
        },
      });
    } catch (error) {
      const message = (error as Error).message;
      this.lastPass = { time: new Date().toISOString(), result: 'failed', actions: 0, failedApps: [], changes: [], durationMs: Math.round(performance.now() - started), error: message };
      this.metrics.error(error instanceof LockBusyError ? 'lock' : isTransient(error) ? 'systemd' : 'permanent');
      this.metrics.passFinished('failed', performance.now() - started);
      if (isTransient(error)) {
        // The bus or the manager went away, or another appsd holds the lock:
        // reconnect if needed, and retry with backoff.
        if (error instanceof SystemdUnavailableError) {
          this.manager?.close();
          this.manager = undefined;
        }
        this.retryLater(`pass failed: ${message}`);
      } else {
        // Retrying cannot fix it (a corrupt inventory, a unit directory appsd
        // may not write): say so once, and wait for a change, the resync or SIGHUP.
        if (message !== this.permanentFailure) log.log(ERR, `pass failed: ${message}; waiting for a change before trying again`);
        this.permanentFailure = message;
        this.backoffMs = 0;
      }
      return;
    }
    if (this.permanentFailure !== undefined) log.log(INFO, `resolved: ${this.permanentFailure}`);
    this.permanentFailure = undefined;
    this.reportProblems(outcome);
    this.apps = outcome.load.apps;
    const executed = outcome.executed;
    const apps = executed?.apps ?? outcome.plan.apps;
    const failedApps = failedWhileExecuting(outcome).map((a) => a.app);
    const invalid = hasErrors(outcome);
    const durationMs = Math.round(performance.now() - started);
    this.lastPass = {
      time: new Date().toISOString(),
      result: failedApps.length ? 'failed' : invalid ? 'invalid-manifests' : 'ok',
      actions: outcome.plan.actions.length,
      failedApps,
      changes: apps.filter((a) => a.outcome !== 'unchanged'),
      durationMs,
      ...(commit !== undefined && { commit }),
    };
    this.metrics.passFinished(this.lastPass.result, performance.now() - started, outcome);
    if (executed) {
      log.log(failedApps.length ? WARNING : INFO, `pass (${reason}): ${outcome.plan.actions.length} actions, ${failedApps.length} apps failed, ${durationMs} ms`);
    } else {
      log.log(DEBUG, `pass (${reason}): no changes, ${durationMs} ms`);
    }
    if (failedApps.length) this.retryLater(`apps failed: ${failedApps.join(', ')}`);
    else {
      this.backoffMs = 0;
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
  }

  /** Invalid manifests and app errors are reported once per change, not on every pass. */
  private reportProblems(outcome: PassOutcome): void {
    const lines = [
      ...outcome.load.diagnostics.map((d) => formatDiagnosticLine({ ...d, file: this.o.display(d.file) })),
      ...appProblems(outcome.plan.apps),
    ];
    const now = new Set(lines);
    for (const line of lines) {
      if (this.reported.has(line)) continue;
      this.o.log.log(WARNING, line);
      this.metrics.error('manifest');
    }
    for (const line of this.reported) if (!now.has(line)) this.o.log.log(INFO, `resolved: ${line}`);
    this.reported = now;
    // Manifests placed on other hosts: said once per change, as information.
    const skipped = outcome.load.skipped.map((m) => `${m.name} (${m.reason})`).join(', ');
    if (skipped !== this.skipped) this.o.log.log(INFO, skipped ? `not run on this host: ${skipped}` : 'every manifest runs on this host');
    this.skipped = skipped;
  }

  private retryLater(why: string): void {
    const { firstMs, maxMs } = this.o.backoff ?? DEFAULT_BACKOFF;
    this.backoffMs = Math.min(maxMs, this.backoffMs ? this.backoffMs * 2 : firstMs);
    this.o.log.log(WARNING, `${why}; retrying in ${this.backoffMs / 1000}s`);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.passNow('retry');
    }, this.backoffMs);
    this.retryTimer.unref();
  }

  private scheduleResync(): void {
    this.resyncTimer = setTimeout(async () => {
      await this.passNow('resync');
      if (!this.stopping) this.scheduleResync();
    }, this.o.resyncMs);
  }

  private schedulePull(): void {
    this.pullTimer = setTimeout(async () => {
      if (await this.pull()) await this.passNow('git pull');
      if (!this.stopping) this.schedulePull();
    }, this.o.pullMs);
  }

  /** True when the pull brought new commits. A failed pull keeps the manifests as they are. */
  private async pull(): Promise<boolean> {
    const result = await pullFastForward(this.o.appsDir);
    const time = new Date().toISOString();
    if (!result.ok) {
      this.o.log.log(WARNING, `git pull --ff-only failed (the manifests stay as they are; retrying): ${result.error}`);
      this.git = { ...this.git, lastPull: { time, ok: false, error: result.error } };
      return false;
    }
    if (result.changed) this.o.log.log(INFO, `git pull: now at ${result.commit?.slice(0, 12)}`);
    this.git = { ...(result.commit !== undefined && { commit: result.commit }), lastPull: { time, ok: true } };
    return result.changed;
  }
}
