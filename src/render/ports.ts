// Backend addresses: where each proxy of an app connects. A container app
// publishes each backend port it forwards to on a loopback port; without
// `backend:`, appsd picks those ports. The allocation is a pure function of
// the apps and the ports kept from earlier passes, so a dry run and an apply
// agree, and an app keeps its ports while it exists.
import type { InetAddress } from '../manifest/address.js';
import { assertNever, type App } from '../manifest/app.js';

/** Below Linux's ephemeral range (32768-60999), so outgoing connections never hold them. */
export const PORT_RANGE = { first: 20000, last: 29999 } as const;

/** The backend address of each backend port an app forwards to, by that port. */
export type Backends = ReadonlyMap<number, InetAddress>;

/**
 * The app's main backend port: a container's `port`, or the port of an exec
 * app's `backend:`. `listen` entries without `-> PORT` forward to it.
 */
export function mainPort(app: App): number | undefined {
  switch (app.runtime.kind) {
    case 'container':
      return app.runtime.port;
    case 'exec':
      return app.backend?.port;
    default:
      return assertNever(app.runtime);
  }
}

/** The backend ports the app's proxies forward to, the main one first, then in the order written. */
export function forwardedPorts(app: App): number[] {
  if (app.activation !== 'proxy') return [];
  const main = mainPort(app);
  const ports: number[] = [];
  for (const l of app.listen) {
    const port = l.to ?? main;
    if (port !== undefined && !ports.includes(port)) ports.push(port);
  }
  return main !== undefined && ports.includes(main) ? [main, ...ports.filter((p) => p !== main)] : ports;
}

/** Whether a forwarded port is published on a host port appsd allocates: a container's, unless `backend:` says where (the main port only). */
function allocates(app: App, port: number): boolean {
  switch (app.runtime.kind) {
    case 'container':
      return !(app.backend && port === mainPort(app));
    case 'exec':
      return false; // exec apps listen on their backend host themselves
    default:
      return assertNever(app.runtime);
  }
}

/** The key of an allocated port in the inventory: the app for its main port, `app:PORT` for another. */
export function portKey(app: App, port: number): string {
  return port === mainPort(app) ? app.name : `${app.name}:${port}`;
}

/**
 * The backend addresses of every app behind the proxy (and an internal app's
 * own `backend:`). `kept` holds ports allocated earlier (from appsd's state),
 * by portKey; `busy` holds ports known to be taken by something else.
 */
export function resolveBackends(
  apps: readonly App[],
  kept: ReadonlyMap<string, number> = new Map(),
  busy: ReadonlySet<number> = new Set(),
): Map<string, Map<number, InetAddress>> {
  const taken = new Set<number>(busy);
  for (const app of apps) {
    for (const l of app.listen) if (l.address.kind === 'inet') taken.add(l.address.port);
    if (app.backend) taken.add(app.backend.port);
  }
  const result = new Map<string, Map<number, InetAddress>>();
  const pending: Array<{ app: App; port: number; key: string }> = [];
  const order = new Map<string, number[]>();
  for (const app of apps) {
    const addresses = new Map<number, InetAddress>();
    result.set(app.name, addresses);
    // An internal app has no proxy; its backend: is where others reach it (its port published there).
    const main = mainPort(app);
    const ports = app.listen.length === 0 ? (app.backend && main !== undefined ? [main] : []) : forwardedPorts(app);
    order.set(app.name, ports);
    for (const port of ports) {
      if (allocates(app, port)) pending.push({ app, port, key: portKey(app, port) });
      else if (app.backend) {
        const address = port === mainPort(app) ? app.backend : { ...app.backend, port };
        taken.add(address.port);
        addresses.set(port, address);
      }
    }
  }
  pending.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  // Kept ports first, so a new app can never take an existing app's port.
  const unplaced: typeof pending = [];
  for (const p of pending) {
    const port = kept.get(p.key);
    if (port !== undefined && !taken.has(port)) {
      taken.add(port);
      result.get(p.app.name)!.set(p.port, loopback(port));
    } else unplaced.push(p);
  }
  const size = PORT_RANGE.last - PORT_RANGE.first + 1;
  for (const p of unplaced) {
    // Start from a hash of the key: the same app gets the same port on every
    // machine, which makes rendered units reproducible.
    const start = fnv1a(p.key) % size;
    for (let i = 0; i < size; i++) {
      const port = PORT_RANGE.first + ((start + i) % size);
      if (!taken.has(port)) {
        taken.add(port);
        result.get(p.app.name)!.set(p.port, loopback(port));
        break;
      }
    }
  }
  // Each app's addresses in the order of its ports, the main one first (kept ports were placed first).
  for (const [name, addresses] of result) result.set(name, new Map(order.get(name)!.flatMap((p) => (addresses.has(p) ? [[p, addresses.get(p)!] as const] : []))));
  return result;
}

/** The host ports appsd allocated for an app, by portKey: what the inventory keeps. */
export function allocatedPorts(app: App, backends: Backends): Map<string, number> {
  const out = new Map<string, number>();
  for (const [port, address] of backends) if (allocates(app, port)) out.set(portKey(app, port), address.port);
  return out;
}

function loopback(port: number): InetAddress {
  return { kind: 'inet', host: '127.0.0.1', family: 4, port };
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
