// Adapter: reads the unit files appsd cares about and asks systemd about them.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Inventory } from '../state/inventory.js';
import type { SystemdManager } from '../systemd/manager.js';
import { ownerOf, type Observed, type ObservedFile, type ObservedUnit } from '../plan/observed.js';

/**
 * Observes the units named by the desired apps and by the inventory, and no
 * others: appsd never looks at (or touches) units it has no business with.
 */
export async function observe(
  unitDir: string,
  names: ReadonlySet<string>,
  inventory: Inventory,
  manager: SystemdManager | undefined,
): Promise<Observed> {
  const all = new Set(names);
  for (const app of Object.values(inventory.apps)) for (const u of app.units) all.add(u);
  const list = [...all].sort();
  const sockets = list.filter((n) => n.endsWith('.socket'));
  const [files, statuses, enablement] = await Promise.all([
    Promise.all(list.map((n) => readUnitFile(join(unitDir, n)))),
    manager ? manager.listUnitsByNames(list) : undefined,
    manager ? Promise.all(sockets.map((n) => manager.unitFileState(n))) : undefined,
  ]);
  const units = new Map<string, ObservedUnit>();
  list.forEach((name, i) => {
    const status = statuses?.get(name);
    const socketIndex = sockets.indexOf(name);
    const state = socketIndex >= 0 ? enablement?.[socketIndex] : undefined;
    units.set(name, { ...(files[i] && { file: files[i] }), ...(status && { status }), ...(state && { enablement: state }) });
  });
  return { online: manager !== undefined, units, inventory };
}

async function readUnitFile(path: string): Promise<ObservedFile | undefined> {
  try {
    const text = await readFile(path, 'utf8');
    return { text, owner: ownerOf(text) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
