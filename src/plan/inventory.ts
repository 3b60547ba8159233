// appsd's memory between passes: which units it applied for which app, and
// the backend ports it allocated. Ownership follows Flux: appsd prunes only
// what its inventory lists and what still carries its marker.
import { isAppName, unitsOf } from '../unit/names.js';

export interface InventoryApp {
  /** The manifest the app came from. */
  readonly manifest: string;
  /** Unit file names appsd wrote for the app. */
  readonly units: readonly string[];
  /** A backend port appsd allocated (containers without `backend:`), kept while the app exists. */
  readonly port?: number;
}

export interface Inventory {
  readonly version: 1;
  readonly apps: Readonly<Record<string, InventoryApp>>;
}

export const EMPTY_INVENTORY: Inventory = { version: 1, apps: {} };

export function keptPorts(inventory: Inventory): Map<string, number> {
  const ports = new Map<string, number>();
  for (const [name, app] of Object.entries(inventory.apps)) if (app.port !== undefined) ports.set(name, app.port);
  return ports;
}

/** Byte-stable JSON (sorted app names), so an unchanged inventory is an unchanged file. */
export function serializeInventory(inventory: Inventory): string {
  const apps = Object.fromEntries(Object.keys(inventory.apps).sort().map((name) => [name, inventory.apps[name]]));
  return JSON.stringify({ version: 1, apps }, null, 2) + '\n';
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
  const record = data as { version?: unknown; apps?: unknown };
  if (typeof data !== 'object' || data === null || record.version !== 1 || typeof record.apps !== 'object' || record.apps === null || Array.isArray(record.apps)) {
    throw new Error('unknown inventory format');
  }
  const apps: Record<string, InventoryApp> = {};
  for (const [name, value] of Object.entries(record.apps as Record<string, unknown>)) {
    apps[name] = checkEntry(name, value);
  }
  return { version: 1, apps };
}

function checkEntry(name: string, value: unknown): InventoryApp {
  const bad = (why: string) => new Error(`app ${JSON.stringify(name)}: ${why}`);
  if (!isAppName(name)) throw bad('not an app name appsd gives');
  if (typeof value !== 'object' || value === null) throw bad('not an entry');
  const { manifest, units, port } = value as Record<string, unknown>;
  if (typeof manifest !== 'string' || !manifest.startsWith('/')) throw bad('the manifest is not an absolute path');
  const own = new Set(unitsOf(name, 'proxy'));
  if (!Array.isArray(units) || units.some((u) => typeof u !== 'string' || !own.has(u))) {
    const odd = Array.isArray(units) ? units.find((u) => typeof u !== 'string' || !own.has(u)) : units;
    throw bad(`lists unit ${JSON.stringify(odd)}, which is not one of its units (${[...own].join(', ')})`);
  }
  if (port !== undefined && !(Number.isInteger(port) && (port as number) >= 1 && (port as number) <= 65535)) throw bad('the port is not a port number');
  return { manifest, units: units as string[], ...(port !== undefined && { port: port as number }) };
}
