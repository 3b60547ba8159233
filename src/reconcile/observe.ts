// Observing what exists, for the planner: the unit files and what systemd
// says about them. Only units named by the desired apps and by the inventory
// are looked at: appsd never reads (or touches) units it has no business with.
import type { Inventory } from '../plan/inventory.js';
import type { Observed, ObservedUnit } from '../plan/observed.js';
import type { PodmanPort } from '../plan/podman-port.js';
import type { SystemdPort } from '../plan/systemd-port.js';
import type { UnitDirectory } from '../fs/unit-dir.js';

/**
 * @param desired every desired unit's text: units whose file already matches
 *   need no systemd state beyond their socket's, which keeps a no-op pass cheap.
 * @param systemd undefined for an offline diff: files only.
 * @param podman asked for its networks when set: only when an app joins or joined one.
 */
export async function observe(
  units: UnitDirectory,
  desired: ReadonlyMap<string, string>,
  inventory: Inventory,
  systemd: SystemdPort | undefined,
  podman?: PodmanPort,
): Promise<Observed> {
  const all = new Set(desired.keys());
  for (const app of Object.values(inventory.apps)) for (const u of app.units) all.add(u);
  const list = [...all].sort();
  const files = await units.read(list, desired);
  const observed = new Map<string, ObservedUnit>();
  for (const name of list) {
    const file = files.get(name);
    observed.set(name, file ? { file } : {});
  }
  if (!systemd) return { online: false, units: observed, inventory };

  // systemd's view: every socket (listening? enabled?), and every other unit
  // that is about to change or go (is it running?).
  const sockets = list.filter((n) => n.endsWith('.socket'));
  const changing = list.filter((n) => !n.endsWith('.socket') && (!desired.has(n) || observed.get(n)!.file?.text !== desired.get(n)));
  // Enabled by appsd: its symlink is here (one readdir for all). A socket
  // with no file here that systemd cannot find either (not-found: no file
  // anywhere, not masked) is a new one: nothing to ask. Anything else (not
  // enabled here, masked, a file elsewhere) is asked of systemd, after the
  // statuses: a burst of 500 new apps asked 500 times for nothing before.
  const enabledHere = units.socketsEnabledHere();
  const [statuses, networks] = await Promise.all([systemd.listUnits([...sockets, ...changing]), podman?.networks()]);
  const isNew = (n: string) => !observed.get(n)!.file && statuses.get(n)?.loadState === 'not-found';
  const enablement = await Promise.all(sockets.map((n) => (enabledHere.has(n) ? 'enabled' : isNew(n) ? undefined : systemd.unitFileState(n))));
  for (const [name, status] of statuses) if (observed.has(name)) observed.set(name, { ...observed.get(name)!, status });
  sockets.forEach((name, i) => {
    const state = enablement[i];
    if (state) observed.set(name, { ...observed.get(name)!, enablement: state });
  });
  return { online: true, units: observed, inventory, ...(networks && { networks }) };
}
