// One pass of the reconciler, shared by diff, apply and (later) watch:
// read manifests, render the desired units, observe, plan.
import { createServer } from 'node:net';
import type { LoadResult } from '../manifest/load.js';
import { nameFromFile } from '../manifest/normalize.js';
import { plan, type Plan } from '../plan/plan.js';
import { desiredUnits, type DesiredApp, type RenderCache } from '../render/desired.js';
import type { PassCache } from './cache.js';
import type { RenderOptions } from '../render/options.js';
import { keptPorts, type Inventory } from '../state/inventory.js';
import type { SystemdManager } from '../systemd/manager.js';
import { observe } from './observe.js';

export interface PassInput {
  readonly load: LoadResult;
  readonly inventory: Inventory;
  readonly unitDir: string;
  readonly manager: SystemdManager | undefined;
  readonly renderOptions: RenderOptions;
  readonly cache?: PassCache;
}

export interface PassPlan {
  readonly desired: DesiredApp[];
  readonly plan: Plan;
}

export async function planPass(input: PassInput): Promise<PassPlan> {
  const { load, inventory } = input;
  const kept = keptPorts(inventory);
  const desired = await desiredWithFreePorts(load, kept, input.renderOptions, input.cache?.renders);
  const texts = new Map(desired.flatMap((d) => d.units.map((u) => [u.name, u.text] as const)));
  const observed = await observe(input.unitDir, texts, inventory, input.manager, input.cache?.unitFiles);
  return { desired, plan: plan({ desired, protectedApps: protectedApps(load, inventory), observed }) };
}

/**
 * Apps whose manifest is present but invalid keep their last applied units:
 * matched by name, or by manifest path when the name itself is unreadable.
 */
export function protectedApps(load: LoadResult, inventory: Inventory): Set<string> {
  const names = new Set<string>();
  for (const m of load.manifests) {
    if (m.app) continue;
    names.add(m.name ?? nameFromFile(m.file));
    for (const [name, entry] of Object.entries(inventory.apps)) if (entry.manifest === m.file) names.add(name);
  }
  return names;
}

/**
 * Backend ports for new container apps must be free on the host, not only
 * unused by other apps: probe each newly allocated port, and allocate again
 * around the busy ones.
 */
async function desiredWithFreePorts(load: LoadResult, kept: Map<string, number>, options: RenderOptions, cache: RenderCache | undefined): Promise<DesiredApp[]> {
  const busy = new Set<number>();
  for (let attempt = 0; attempt < 20; attempt++) {
    const desired = desiredUnits(load.apps, options, kept, busy, cache).apps;
    const fresh = desired.filter((d) => d.backend && !d.app.backend && kept.get(d.name) !== d.backend.port);
    const taken = (await Promise.all(fresh.map(async (d) => ((await portIsFree(d.backend!.port)) ? undefined : d.backend!.port)))).filter(
      (p): p is number => p !== undefined,
    );
    if (taken.length === 0) return desired;
    for (const port of taken) busy.add(port);
  }
  return desiredUnits(load.apps, options, kept, busy, cache).apps;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}
