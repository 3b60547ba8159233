// Adapter: reads the unit files appsd cares about and asks systemd about them.
// It observes only units named by the desired apps and by the inventory:
// appsd never looks at (or touches) units it has no business with.
import { lstatSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Inventory } from '../state/inventory.js';
import type { SystemdManager, UnitStatus } from '../systemd/manager.js';
import { ownerOf, type Observed, type ObservedFile, type ObservedUnit } from '../plan/observed.js';

/** Unit files kept between passes, re-read only when their stat changes. */
export type UnitFileCache = Map<string, { readonly key: string; readonly file: ObservedFile }>;

/**
 * @param desired every desired unit's text: units whose file already matches
 *   need no systemd state beyond their socket's, which keeps a no-op pass cheap.
 */
export async function observe(
  unitDir: string,
  desired: ReadonlyMap<string, string>,
  inventory: Inventory,
  manager: SystemdManager | undefined,
  cache?: UnitFileCache,
): Promise<Observed> {
  const all = new Set(desired.keys());
  for (const app of Object.values(inventory.apps)) for (const u of app.units) all.add(u);
  const list = [...all].sort();
  const files = await Promise.all(list.map((n) => readUnitFile(join(unitDir, n), cache)));
  const units = new Map<string, ObservedUnit>();
  list.forEach((name, i) => units.set(name, files[i] ? { file: files[i] } : {}));
  if (!manager) return { online: false, units, inventory };

  // systemd's view: every socket (listening? enabled?), and every other unit
  // that is about to change or go (is it running?).
  const sockets = list.filter((n) => n.endsWith('.socket'));
  const changing = list.filter((n) => !n.endsWith('.socket') && (!desired.has(n) || units.get(n)!.file?.text !== desired.get(n)));
  const [statuses, enablement] = await Promise.all([
    manager.listUnitsByNames([...sockets, ...changing]),
    Promise.all(sockets.map((n) => socketEnablement(unitDir, n, manager))),
  ]);
  for (const [name, status] of statuses) units.set(name, withStatus(units.get(name)!, status));
  sockets.forEach((name, i) => {
    const state = enablement[i];
    if (state) units.set(name, { ...units.get(name)!, enablement: state });
  });
  return { online: true, units, inventory };
}

function withStatus(unit: ObservedUnit, status: UnitStatus): ObservedUnit {
  return { ...unit, status };
}

/**
 * A socket appsd enabled has its symlink in the unit directory's
 * sockets.target.wants: one lstat. Anything else (not enabled there, masked,
 * enabled elsewhere) is asked of systemd.
 */
async function socketEnablement(unitDir: string, name: string, manager: SystemdManager): Promise<string | undefined> {
  if (lstatSync(join(unitDir, 'sockets.target.wants', name), { throwIfNoEntry: false })?.isSymbolicLink()) return 'enabled';
  return manager.unitFileState(name);
}

async function readUnitFile(path: string, cache: UnitFileCache | undefined): Promise<ObservedFile | undefined> {
  let key: string | undefined;
  if (cache) {
    // Synchronous on purpose: see cachedSource in manifest/discover.ts.
    const s = statSync(path, { throwIfNoEntry: false });
    if (!s) {
      cache.delete(path);
      return undefined;
    }
    key = `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
    const hit = cache.get(path);
    if (hit?.key === key) return hit.file;
  }
  try {
    const text = await readFile(path, 'utf8');
    const file = { text, owner: ownerOf(text) };
    if (cache && key) cache.set(path, { key, file });
    return file;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
