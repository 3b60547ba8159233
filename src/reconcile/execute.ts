// Carries out a plan, phase by phase, exactly as the plan lists them (see
// plan/actions.ts). Within a phase, work is batched and overlapped, because
// that is where the time goes with hundreds of apps: unit files are written
// at once, sockets enabled in one call, and each app's systemd jobs run in
// the plan's order while many apps run at a time. A failed action fails its
// app (its later actions are skipped) but not the others; the result says
// what failed and why, per action and per app.
import { forEachLimited } from '../fs/atomic.js';
import type { UnitDirectory } from '../fs/unit-dir.js';
import { assertNever } from '../manifest/app.js';
import type { Action, AppResult, NetworkAction, Phase, UnitAction, WriteAction } from '../plan/actions.js';
import { subject } from '../plan/format.js';
import type { PodmanPort } from '../plan/podman-port.js';
import { intentInventory, type Inventory } from '../plan/inventory.js';
import type { Plan } from '../plan/plan.js';
import type { SystemdPort } from '../plan/systemd-port.js';

export interface ActionResult {
  readonly action: Action;
  readonly ok: boolean;
  readonly error?: string;
  /** Not run, because an earlier action of its app failed. */
  readonly skipped?: boolean;
}

export interface ExecuteResult {
  readonly results: ActionResult[];
  /** Each app's outcome: the plan's, or failed (with the first error). */
  readonly apps: AppResult[];
  /** The inventory to save: the plan's, plus what could not be removed. */
  readonly inventory: Inventory;
}

// How many apps' systemd jobs run at once: enough to overlap D-Bus round
// trips, few enough not to flood the manager's job queue.
const CONCURRENCY = 32;

export interface ExecuteOptions {
  readonly onResult?: (result: ActionResult) => void;
  /** Why an action failed, beyond systemd's one word (`job failed`): e.g. the address a socket could not bind. */
  readonly explain?: (action: UnitAction, error: unknown) => Promise<string | undefined>;
  /** For plans with network actions. */
  readonly podman?: PodmanPort;
}

export async function execute(plan: Plan, units: UnitDirectory, systemd: SystemdPort, previous: Inventory, options: ExecuteOptions = {}): Promise<ExecuteResult> {
  const run = new Run(options);
  const written: WriteAction[] = [];
  const ports = { units, systemd, ...(options.podman && { podman: options.podman }) };
  for (const phase of plan.phases) await runPhase(phase, run, ports, written, plan.phases);

  const failed = run.failedApps;
  const apps = plan.apps.map((a): AppResult => {
    const error = failed.get(a.app);
    return error === undefined ? a : { app: a.app, outcome: 'failed', error };
  });
  // An app that failed keeps the units it had too (an app whose removal
  // failed stays whole), so the next pass tries again instead of forgetting
  // (orphaning) them; a reload that did not happen is still owed.
  const failedOnly = { version: 1 as const, apps: Object.fromEntries(Object.entries(plan.inventory.apps).filter(([name]) => failed.has(name))) };
  const kept = intentInventory({ version: 1, apps: Object.fromEntries([...failed.keys()].flatMap((n) => (previous.apps[n] ? [[n, previous.apps[n]]] : []))) }, failedOnly, false);
  const reloaded = run.results.some((r) => r.action.kind === 'reload' && r.ok) || !plan.phases.some((p) => p.kind === 'reload');
  const inventory = { version: 1 as const, apps: { ...plan.inventory.apps, ...kept.apps }, ...(!reloaded && { reloadPending: true as const }) };
  return { results: run.results, apps, inventory };
}

/** Results of the actions so far, and which apps failed. */
class Run {
  readonly results: ActionResult[] = [];
  readonly failedApps = new Map<string, string>();

  constructor(private readonly options: ExecuteOptions) {}

  record(action: Action, error?: unknown): void {
    const result: ActionResult = error === undefined ? { action, ok: true } : { action, ok: false, error: (error as Error).message };
    if (error !== undefined && action.kind !== 'reload') this.fail(action.app, `${action.kind} ${subject(action)}: ${(error as Error).message}`);
    this.push(result);
  }

  /** A failed action, with the reason explained where possible. */
  async recordFailure(action: UnitAction, error: unknown): Promise<void> {
    const why = await this.options.explain?.(action, error).catch(() => undefined);
    this.record(action, why ? new Error(`${(error as Error).message}: ${why}`) : error);
  }

  /** The app failed (its first failure is the one reported); its later actions are skipped. */
  fail(app: string, message: string): void {
    if (!this.failedApps.has(app)) this.failedApps.set(app, message);
  }

  /** True (and recorded as skipped) when an earlier action of the app failed. */
  skip(action: UnitAction | NetworkAction): boolean {
    if (!this.failedApps.has(action.app)) return false;
    this.push({ action, ok: false, skipped: true });
    return true;
  }

  private push(result: ActionResult): void {
    this.results.push(result);
    this.options.onResult?.(result);
  }
}

/**
 * After the reload: did systemd load every unit just written? One it refuses
 * (a setting it cannot parse: load state bad-setting or error) fails its app
 * here, with the reason, rather than as a mysterious failure on the first
 * connection. Validation should make this impossible; this is the proof.
 */
async function refusedUnits(written: readonly WriteAction[], run: Run, systemd: SystemdPort): Promise<void> {
  if (written.length === 0) return;
  const states = await systemd.listUnits(written.map((w) => w.unit));
  for (const action of written) {
    const state = states.get(action.unit)?.loadState;
    if (state === undefined || state === 'loaded' || state === 'not-found') continue;
    run.fail(action.app, `systemd refuses ${action.unit} (load state ${state}); systemd-analyze verify ${action.unit} says why`);
  }
}

interface Ports {
  readonly units: UnitDirectory;
  readonly systemd: SystemdPort;
  readonly podman?: PodmanPort;
}

async function runPhase(phase: Phase, run: Run, { units, systemd, podman }: Ports, written: WriteAction[], phases: readonly Phase[]): Promise<void> {
  switch (phase.kind) {
    case 'networks':
    case 'prune':
      for (const action of phase.actions) {
        if (run.skip(action)) continue;
        try {
          if (!podman) throw new Error('podman is not available to this pass');
          if (action.kind === 'create-network') await podman.createNetwork(action.network);
          else await podman.removeNetwork(action.network);
          run.record(action);
        } catch (error) {
          run.record(action, error);
        }
      }
      return;
    case 'teardown':
      return perApp(phase.actions, run, (action) => runJob(systemd, action));
    case 'activate':
      return perApp(phase.actions, run, (action) => runJob(systemd, action));
    case 'files': {
      const deletes = phase.actions.filter((a) => a.kind === 'delete' && !run.skip(a));
      for (const action of deletes) {
        try {
          await units.delete(action.unit);
          run.record(action);
        } catch (error) {
          run.record(action, error);
        }
      }
      if (deletes.length) await units.sync();
      const writes = phase.actions.flatMap((a) => (a.kind === 'write' && !run.skip(a) ? [a] : []));
      const failed = await units.write(writes.map((a) => ({ unit: a.unit, text: a.after })));
      for (const action of writes) {
        run.record(action, failed.get(action.unit));
        if (!failed.has(action.unit)) written.push(action);
      }
      return;
    }
    case 'enable': {
      // One call for every socket; on failure, one by one to find the culprit.
      const enables = phase.actions.filter((a) => !run.skip(a));
      if (enables.length === 0) return;
      try {
        await systemd.enable(enables.map((a) => a.unit));
        for (const action of enables) run.record(action);
      } catch {
        for (const action of enables) {
          try {
            await systemd.enable([action.unit]);
            run.record(action);
          } catch (error) {
            run.record(action, error);
          }
        }
      }
      return;
    }
    case 'reload': {
      const [reload] = phase.actions;
      try {
        await systemd.reload();
        run.record(reload);
      } catch (error) {
        run.record(reload, error);
        // systemd still runs the old definitions: nothing that needs the new
        // ones may start. Every app that changed files fails (and is retried).
        for (const p of phases) {
          if (p.kind !== 'files' && p.kind !== 'enable' && p.kind !== 'teardown' && p.kind !== 'networks') continue;
          for (const a of p.actions) run.fail(a.app, `daemon-reload failed: ${(error as Error).message}`);
        }
        return;
      }
      await refusedUnits(written, run, systemd);
      return;
    }
    default:
      return assertNever(phase);
  }
}

/** Each app's actions in order, many apps at a time; an app stops at its first failure. */
async function perApp<A extends JobAction>(actions: readonly A[], run: Run, job: (action: A) => Promise<void>): Promise<void> {
  const byApp = new Map<string, A[]>();
  for (const action of actions) {
    const list = byApp.get(action.app);
    if (list) list.push(action);
    else byApp.set(action.app, [action]);
  }
  await forEachLimited([...byApp.values()], CONCURRENCY, async (list) => {
    for (const action of list) {
      if (run.skip(action)) continue;
      try {
        await job(action);
        run.record(action);
      } catch (error) {
        await run.recordFailure(action, error);
      }
    }
  });
}

/** The actions that are systemd jobs (or calls) on one unit. */
type JobAction = Exclude<UnitAction, { kind: 'write' | 'delete' | 'enable' }>;

function runJob(systemd: SystemdPort, action: JobAction): Promise<void> {
  switch (action.kind) {
    case 'stop':
      return systemd.stop(action.unit);
    case 'disable':
      return systemd.disable([action.unit]);
    case 'start':
      return systemd.start(action.unit);
    case 'restart':
      return systemd.restart(action.unit);
    case 'reset-failed':
      return systemd.resetFailed(action.unit);
    default:
      return assertNever(action);
  }
}
