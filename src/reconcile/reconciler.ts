// One reconciling pass, shared by diff, apply and watch: read the manifests,
// render the desired units, observe what exists, plan; and for apply, under
// the lock: record intent, execute the plan, save the inventory. `diff` prints
// exactly the plan `apply` would execute: the same code, without the last step.
import { ManifestDirectory } from '../fs/manifest-dir.js';
import { StateStore } from '../fs/state-store.js';
import { UnitDirectory } from '../fs/unit-dir.js';
import { CheckCache, loadManifests, withLateProblems, type LoadResult } from '../manifest/load.js';
import { nameFromFile } from '../manifest/normalize.js';
import type { HostIdentity } from '../manifest/placement.js';
import type { AppResult } from '../plan/actions.js';
import { intentInventory, keptPorts, type Inventory } from '../plan/inventory.js';
import { networkOwner, plan, type Plan } from '../plan/plan.js';
import type { PodmanPort } from '../plan/podman-port.js';
import { PodmanNetworks } from '../podman/networks.js';
import type { SystemdPort } from '../plan/systemd-port.js';
import { desiredUnits, RenderCache, type DesiredApp, type DesiredState } from '../render/desired.js';
import type { RenderOptions } from '../render/options.js';
import { execute, type ActionResult, type ExecuteResult } from './execute.js';
import { unixListenProblem } from '../fs/socket-paths.js';
import { ownedBy, type Observed } from '../plan/observed.js';
import { appUnitNames, unitRole } from '../unit/names.js';
import { tryBind, whySocketFails } from './diagnose.js';
import { acquireLock } from './lock.js';
import { observe } from './observe.js';

/** Where a pass reads and writes: the adapters, each keeping its own cache if asked to. */
export interface ReconcilerSetup {
  readonly manifests: ManifestDirectory;
  readonly units: UnitDirectory;
  readonly state: StateStore;
  readonly renderOptions: RenderOptions;
  /** Keep parsed manifests and rendered units between passes (the controller). */
  readonly cache?: boolean;
  /** The manager's runtime directory (/run, or $XDG_RUNTIME_DIR): unix sockets may go there. */
  readonly runtimeDir?: string;
  /** podman's networks, for apps that join one. */
  readonly podman?: PodmanPort;
  /** This host: manifests placed elsewhere are skipped (removed here if they were applied). */
  readonly host?: HostIdentity;
}

export interface PassPlan {
  /** The manifests, with apps that could not be rendered made invalid (they keep their units). */
  readonly load: LoadResult;
  readonly desired: readonly DesiredApp[];
  readonly plan: Plan;
}

export interface PassOutcome extends PassPlan {
  /** Undefined for a dry run or an empty plan. */
  readonly executed?: ExecuteResult;
}

export interface ApplyOptions {
  readonly dryRun?: boolean;
  readonly onResult?: (result: ActionResult) => void;
  /** How long to wait for another appsd's lock. */
  readonly lockWaitMs?: number;
}

export interface Directories {
  readonly appsDir: string;
  readonly unitDir: string;
  readonly stateDir: string;
}

export class Reconciler {
  /** A reconciler over the usual adapters for these directories. */
  static forDirectories(dirs: Directories, renderOptions: RenderOptions, options: { readonly cache?: boolean; readonly host?: HostIdentity | undefined } = {}): Reconciler {
    const cache = options.cache ?? false;
    const runtimeDir = renderOptions.scope === 'system' ? '/run' : process.env['XDG_RUNTIME_DIR'] || undefined;
    return new Reconciler({
      manifests: new ManifestDirectory(dirs.appsDir, { cache }),
      units: new UnitDirectory(dirs.unitDir, { cache }),
      state: new StateStore(dirs.stateDir),
      renderOptions,
      cache,
      ...(runtimeDir !== undefined && { runtimeDir }),
      podman: new PodmanNetworks(renderOptions.podmanPath, networkOwner(renderOptions.instance)),
      ...(options.host && { host: options.host }),
    });
  }

  private readonly checks: CheckCache | undefined;
  private readonly renders: RenderCache | undefined;
  private readonly texts: WeakMap<readonly DesiredApp[], Map<string, string>> | undefined;

  constructor(private readonly setup: ReconcilerSetup) {
    this.checks = setup.cache ? new CheckCache() : undefined;
    this.renders = setup.cache ? new RenderCache() : undefined;
    this.texts = setup.cache ? new WeakMap() : undefined;
  }

  /** The plan against systemd's state, or against the unit directory alone when `systemd` is undefined. */
  async plan(systemd: SystemdPort | undefined): Promise<PassPlan> {
    const load = loadManifests(await this.setup.manifests.read(), this.checks, this.setup.host);
    return this.planFor(load, await this.setup.state.read(), systemd);
  }

  /** A pass that converges: under the lock, plan, then execute exactly that plan. */
  async apply(systemd: SystemdPort, options: ApplyOptions = {}): Promise<PassOutcome> {
    const { state } = this.setup;
    const lock = options.dryRun ? undefined : await acquireLock(state.dir, options.lockWaitMs);
    try {
      // A crashed appsd may have left temporary files: the lock says no
      // other appsd of this state directory is writing now.
      if (!options.dryRun) await Promise.all([this.setup.units.sweep(), state.sweep()]);
      const load = loadManifests(await this.setup.manifests.read(), this.checks, this.setup.host);
      const inventory = await state.read();
      const planned = await this.planFor(load, inventory, systemd);
      if (options.dryRun) return planned;
      if (planned.plan.actions.length === 0) {
        // Nothing to do in systemd, but the inventory may still be behind
        // (an apply killed after removing an app's units): catch it up. An
        // unchanged inventory is not written.
        await state.write(planned.plan.inventory);
        return planned;
      }
      // Record intent first: units about to be written are in the inventory
      // before they exist, so a crash mid-pass can never orphan them.
      const reloads = planned.plan.phases.some((p) => p.kind === 'reload');
      await state.write(intentInventory(inventory, planned.plan.inventory, reloads));
      const apps = new Map(planned.desired.map((d) => [d.name, d.app] as const));
      const executed = await execute(planned.plan, this.setup.units, systemd, inventory, {
        ...(options.onResult && { onResult: options.onResult }),
        ...(this.setup.podman && { podman: this.setup.podman }),
        explain: async (action) => {
          const app = apps.get(action.app);
          const socketJob = (action.kind === 'start' || action.kind === 'restart') && unitRole(action.app, action.unit) === 'socket';
          return app && socketJob ? whySocketFails(app.listen, this.setup.renderOptions.scope) : undefined;
        },
      });
      await state.write(executed.inventory);
      return { ...planned, executed };
    } finally {
      await lock?.release();
    }
  }

  private async planFor(loaded: LoadResult, inventory: Inventory, systemd: SystemdPort | undefined): Promise<PassPlan> {
    const rendered = await this.desiredWithFreePorts(loaded, keptPorts(inventory));
    const load = withLateProblems(loaded, rendered.failures);
    const texts = this.unitTexts(rendered.apps);
    // podman is asked only when an app joins a network, or joined one appsd may have to remove.
    const networked = rendered.apps.some((d) => d.networks.length > 0) || Object.values(inventory.apps).some((a) => a.networks?.length);
    const observed = await observe(this.setup.units, texts, inventory, systemd, systemd && networked ? this.setup.podman : undefined);
    const instance = this.setup.renderOptions.instance;
    const refused = this.unixPathProblems(rendered.apps, observed);
    return {
      load,
      desired: rendered.apps,
      plan: plan({ desired: rendered.apps, ...protectedApps(load, inventory), placedElsewhere: new Set(load.skipped.map((s) => s.name)), observed, refused, ...(instance !== undefined && { instance }) }),
    };
  }

  /** Every desired unit's text by name; the same for the same desired apps (a controller's pass with nothing new). */
  private unitTexts(desired: readonly DesiredApp[]): Map<string, string> {
    let texts = this.texts?.get(desired);
    if (!texts) {
      texts = new Map();
      for (const d of desired) for (const u of d.units) texts.set(u.name, u.text);
      this.texts?.set(desired, texts);
    }
    return texts;
  }

  /** Apps whose unix listen path appsd must not use (see fs/socket-paths.ts). */
  private unixPathProblems(desired: readonly DesiredApp[], observed: Observed): Map<string, string> {
    const problems = new Map<string, string>();
    for (const d of desired) {
      for (const { address, udp } of d.app.listen) {
        if (address.kind !== 'unix') continue;
        // The path is appsd's own if one of the app's applied sockets listens there.
        const line = `${udp ? 'ListenDatagram' : 'ListenStream'}=${address.path}`;
        const ours = d.units.some((u) => {
          const socket = unitRole(d.name, u.name) === 'socket' ? observed.units.get(u.name)?.file : undefined;
          return socket !== undefined && ownedBy(socket, d.name, this.setup.renderOptions.instance) && socket.text.split('\n').includes(line);
        });
        const problem = unixListenProblem(address.path, this.setup.runtimeDir, ours);
        if (problem) {
          problems.set(d.name, problem);
          break;
        }
      }
    }
    return problems;
  }

  /**
   * Backend ports for new container apps must be free on the host, not only
   * unused by other apps: probe each newly allocated port, and allocate again
   * around the busy ones.
   */
  private async desiredWithFreePorts(load: LoadResult, kept: Map<string, number>): Promise<DesiredState> {
    const busy = new Set<number>();
    const render = () => desiredUnits(load.apps, this.setup.renderOptions, kept, busy, this.renders);
    for (let attempt = 0; attempt < 20; attempt++) {
      const desired = render();
      const fresh = desired.apps.flatMap((d) => [...d.allocated].flatMap(([key, port]) => (kept.get(key) !== port ? [port] : [])));
      const taken = (await Promise.all(fresh.map(async (port) => ((await portIsFree(port)) ? undefined : port)))).filter((p): p is number => p !== undefined);
      if (taken.length === 0) return desired;
      for (const port of taken) busy.add(port);
    }
    return render();
  }
}

/**
 * Apps whose manifest is present but invalid keep their last applied units:
 * matched by name, or by manifest path when the name itself is unreadable.
 */
export function protectedApps(load: LoadResult, inventory: Inventory): { protectedApps: Set<string>; keptReasons: Map<string, string> } {
  const names = new Set<string>();
  const needs = new Map<string, readonly string[]>();
  for (const m of load.manifests) {
    if (m.app) continue;
    const name = m.name ?? nameFromFile(m.file);
    names.add(name);
    if (m.needs) needs.set(name, m.needs);
    for (const [applied, entry] of Object.entries(inventory.apps)) if (entry.manifest === m.file) names.add(applied);
  }
  // What a kept app needs stays too, whatever became of its manifest (deleted,
  // placed on another host): the kept units Require= it, and would not start
  // without it. Transitively, as far as the kept apps' manifests say.
  const reasons = new Map<string, string>();
  const desired = new Set(load.apps.map((a) => a.name));
  const queue = [...names];
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    for (const need of needs.get(name) ?? []) {
      if (names.has(need) || desired.has(need) || !inventory.apps[need]) continue;
      names.add(need);
      reasons.set(need, `${name} keeps its last applied units and needs it: it stays as last applied too`);
      queue.push(need);
    }
  }
  return { protectedApps: names, keptReasons: reasons };
}

async function portIsFree(port: number): Promise<boolean> {
  return (await tryBind('127.0.0.1', port)) === undefined;
}

/** Invalid manifests, or apps the plan cannot converge (exit 2 for the CLI). */
export function hasErrors(pass: PassPlan): boolean {
  return pass.load.manifests.some((m) => !m.app) || pass.plan.apps.some((a) => a.outcome === 'failed');
}

/** Apps whose actions failed while executing (not those the plan already could not converge). */
export function failedWhileExecuting(outcome: PassOutcome): AppResult[] {
  if (!outcome.executed) return [];
  const planned = new Set(outcome.plan.apps.filter((a) => a.outcome === 'failed').map((a) => a.app));
  return outcome.executed.apps.filter((a) => a.outcome === 'failed' && !planned.has(a.app));
}
