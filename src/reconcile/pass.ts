// One converging pass, as `apply` and the watch controller run it: lock, read
// the manifests, plan against what exists, record intent, execute, save the
// inventory. The plan is the one `diff` would print.
import type { LoadResult } from '../manifest/load.js';
import { loadManifests, type ManifestSource } from '../manifest/load.js';
import type { Plan } from '../plan/plan.js';
import type { RenderOptions } from '../render/options.js';
import type { StateStore } from '../state/store.js';
import type { SystemdManager } from '../systemd/manager.js';
import { execute, type ActionResult, type ExecuteResult } from './execute.js';
import { acquireLock } from './lock.js';
import { planPass } from './reconcile.js';
import type { PassCache } from './cache.js';

export interface PassOptions {
  readonly readSources: (cache?: PassCache) => Promise<ManifestSource[]>;
  /** Kept between passes by the controller; the CLI passes none. */
  readonly cache?: PassCache;
  readonly unitDir: string;
  readonly stateDir: string;
  readonly store: StateStore;
  readonly manager: SystemdManager;
  readonly renderOptions: RenderOptions;
  readonly dryRun?: boolean;
  readonly onResult?: (result: ActionResult) => void;
  /** How long to wait for another appsd's lock. */
  readonly lockWaitMs?: number;
}

export interface PassOutcome {
  readonly load: LoadResult;
  readonly plan: Plan;
  /** Undefined for a dry run or an empty plan. */
  readonly executed?: ExecuteResult;
}

export async function runPass(o: PassOptions): Promise<PassOutcome> {
  const lock = o.dryRun ? undefined : await acquireLock(o.stateDir, o.lockWaitMs);
  try {
    const load = loadManifests(await o.readSources(o.cache), o.cache?.checks);
    const inventory = await o.store.read();
    const { plan } = await planPass({ load, inventory, unitDir: o.unitDir, manager: o.manager, renderOptions: o.renderOptions, ...(o.cache && { cache: o.cache }) });
    if (o.dryRun || plan.actions.length === 0) return { load, plan };
    // Record intent first: units about to be written are in the inventory
    // before they exist, so a crash mid-pass can never orphan them.
    await o.store.write({ version: 1, apps: { ...inventory.apps, ...plan.inventory.apps } });
    const executed = await execute(plan, o.unitDir, o.manager, inventory, o.onResult);
    await o.store.write(executed.inventory);
    return { load, plan, executed };
  } finally {
    await lock?.release();
  }
}
