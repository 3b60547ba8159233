// appsd's memory between passes: which units it applied for which app, and
// the backend ports it allocated. Ownership follows Flux: appsd prunes only
// what its inventory lists and what still carries its marker.
import { PORT_RANGE } from '../render/ports.js';
import { PODMAN_NAME } from '../manifest/paths.js';
import { isAppName, unitRole } from '../unit/names.js';

export interface InventoryApp {
  /** The manifest the app came from. */
  readonly manifest: string;
  /** Unit file names appsd wrote for the app. */
  readonly units: readonly string[];
  /** The host port appsd allocated for the main backend port (containers without `backend:`), kept while the app exists. */
  readonly port?: number;
  /** Host ports allocated for the app's other backend ports (`listen: 2222 -> 22`), by that backend port. */
  readonly ports?: Readonly<Record<string, number>>;
  /** podman networks appsd created that the app joins: removed once no app joins them. */
  readonly networks?: readonly string[];
}

export interface Inventory {
  readonly version: 1;
  readonly apps: Readonly<Record<string, InventoryApp>>;
  /**
   * Unit files were written but the daemon-reload after them has not
   * succeeded yet (it failed, or appsd died first): the next pass reloads even
   * if no file differs, or systemd would go on running the old definitions.
   */
  readonly reloadPending?: true;
}

/**
 * The inventory to record before executing a plan: the new entries, each
 * still listing the units it had before, so that a unit about to be removed
 * is not forgotten if the removal fails or appsd dies first.
 */
export function intentInventory(previous: Inventory, next: Inventory, reloadPending: boolean): Inventory {
  const apps: Record<string, InventoryApp> = { ...previous.apps };
  for (const [name, entry] of Object.entries(next.apps)) {
    const before = previous.apps[name]?.units ?? [];
    apps[name] = { ...entry, units: [...entry.units, ...before.filter((u) => !entry.units.includes(u))] };
  }
  return { version: 1, apps, ...((reloadPending || previous.reloadPending) && { reloadPending: true }) };
}

export const EMPTY_INVENTORY: Inventory = { version: 1, apps: {} };

export function keptPorts(inventory: Inventory): Map<string, number> {
  const ports = new Map<string, number>();
  for (const [name, app] of Object.entries(inventory.apps)) {
    if (app.port !== undefined) ports.set(name, app.port);
    for (const [port, host] of Object.entries(app.ports ?? {})) ports.set(`${name}:${port}`, host);
  }
  return ports;
}

/**
 * The same inventory, field by field (app order aside, which the file sorts):
 * how a pass that changed nothing finds so without serializing a thousand
 * entries to compare the text.
 */
export function sameInventory(a: Inventory, b: Inventory): boolean {
  if (a === b) return true;
  if (a.version !== b.version || a.reloadPending !== b.reloadPending) return false;
  const names = Object.keys(a.apps);
  if (names.length !== Object.keys(b.apps).length) return false;
  for (const name of names) {
    const x = a.apps[name]!;
    const y = b.apps[name];
    if (y === undefined || !sameEntry(x, y)) return false;
  }
  return true;
}

function sameEntry(a: InventoryApp, b: InventoryApp): boolean {
  if (a === b) return true;
  if (a.manifest !== b.manifest || a.port !== b.port || !sameList(a.units, b.units) || !sameList(a.networks, b.networks)) return false;
  if (a.ports === b.ports) return true;
  if (a.ports === undefined || b.ports === undefined) return false;
  // In the file's order too: the text must come out the same.
  const ka = Object.keys(a.ports);
  const kb = Object.keys(b.ports);
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a.ports![k] === b.ports![k]);
}

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Byte-stable JSON (sorted app names), so an unchanged inventory is an unchanged file. */
export function serializeInventory(inventory: Inventory): string {
  const apps = Object.fromEntries(Object.keys(inventory.apps).sort().map((name) => [name, inventory.apps[name]]));
  return JSON.stringify({ version: 1, ...(inventory.reloadPending && { reloadPending: true }), apps }, null, 2) + '\n';
}

/**
 * The inventory is read back from disk and treated as untrusted: every app
 * name and unit name is checked against appsd's naming rules before anything
 * acts on it, so a crafted file cannot name a path outside the unit
 * directory or a unit appsd never writes.
 */
export function parseInventory(text: string): Inventory {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new Error(`not JSON (${(error as Error).message})`);
  }
  const record = data as { version?: unknown; apps?: unknown; reloadPending?: unknown };
  if (typeof data !== 'object' || data === null || record.version !== 1 || typeof record.apps !== 'object' || record.apps === null || Array.isArray(record.apps)) {
    throw new Error('unknown inventory format');
  }
  const apps: Record<string, InventoryApp> = {};
  for (const [name, value] of Object.entries(record.apps as Record<string, unknown>)) {
    apps[name] = checkEntry(name, value);
  }
  return { version: 1, apps, ...(record.reloadPending === true && { reloadPending: true }) };
}

function checkEntry(name: string, value: unknown): InventoryApp {
  const bad = (why: string) => new Error(`app ${JSON.stringify(name)}: ${why}`);
  if (!isAppName(name)) throw bad('not an app name appsd gives');
  if (typeof value !== 'object' || value === null) throw bad('not an entry');
  const { manifest, units, port, ports, networks } = value as Record<string, unknown>;
  if (typeof manifest !== 'string' || !manifest.startsWith('/')) throw bad('the manifest is not an absolute path');
  const own = (u: unknown) => typeof u === 'string' && unitRole(name, u) !== undefined;
  if (!Array.isArray(units) || !units.every(own)) {
    const odd = Array.isArray(units) ? units.find((u) => !own(u)) : units;
    throw bad(`lists unit ${JSON.stringify(odd)}, which is not one of its units (appsd-${name}.socket, appsd-${name}.service, appsd-${name}-backend.service, appsd-${name}_PORT.socket/.service)`);
  }
  // appsd allocates in PORT_RANGE only; anything else was not written by appsd.
  const allocated = (p: unknown) => Number.isInteger(p) && (p as number) >= PORT_RANGE.first && (p as number) <= PORT_RANGE.last;
  if (port !== undefined && !allocated(port)) throw bad(`the port is not one appsd allocates (${PORT_RANGE.first}-${PORT_RANGE.last})`);
  if (ports !== undefined) {
    const entries = typeof ports === 'object' && ports !== null && !Array.isArray(ports) ? Object.entries(ports) : undefined;
    if (!entries || !entries.every(([k, v]) => /^[1-9][0-9]{0,4}$/.test(k) && Number(k) <= 65535 && allocated(v))) {
      throw bad(`the ports are not backend ports with ports appsd allocates (${PORT_RANGE.first}-${PORT_RANGE.last})`);
    }
  }
  if (networks !== undefined && !(Array.isArray(networks) && networks.every((n) => typeof n === 'string' && PODMAN_NAME.test(n)))) {
    throw bad('lists a network that is not a podman network name');
  }
  return { manifest, units: units as string[], ...(port !== undefined && { port: port as number }), ...(ports !== undefined && { ports: ports as Record<string, number> }), ...(networks !== undefined && { networks: networks as string[] }) };
}
