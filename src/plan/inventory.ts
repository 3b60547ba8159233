// appsd's memory between passes: which units it applied for which app, and
// the backend ports it allocated. Ownership follows Flux: appsd prunes only
// what its inventory lists and what still carries its marker.

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

export function parseInventory(text: string): Inventory {
  const data = JSON.parse(text) as Partial<Inventory>;
  if (data.version !== 1 || typeof data.apps !== 'object' || data.apps === null) throw new Error('unknown inventory format');
  return { version: 1, apps: data.apps };
}
