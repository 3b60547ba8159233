// Backend ports for container apps that do not name one. The allocation is a
// pure function of the apps and the ports kept from earlier passes, so a dry
// run and an apply agree, and an app keeps its port while it exists.
import type { InetAddress } from '../manifest/address.js';
import { assertNever, type App } from '../manifest/app.js';

/** Below Linux's ephemeral range (32768-60999), so outgoing connections never hold them. */
export const PORT_RANGE = { first: 20000, last: 29999 } as const;

/** A container behind the proxy publishes its port on a host port; without `backend:`, appsd picks it. */
export function needsAllocatedBackend(app: App): boolean {
  if (app.activation !== 'proxy' || app.backend) return false;
  switch (app.runtime.kind) {
    case 'container':
      return true;
    case 'exec':
      return false; // validation requires `backend:` for exec behind the proxy
    default:
      return assertNever(app.runtime);
  }
}

/**
 * The backend address of every proxy app: its own, or an allocated loopback
 * port. `kept` holds ports allocated earlier (from appsd's state); `busy` holds
 * ports known to be taken by something else on the host.
 */
export function resolveBackends(
  apps: readonly App[],
  kept: ReadonlyMap<string, number> = new Map(),
  busy: ReadonlySet<number> = new Set(),
): Map<string, InetAddress> {
  const taken = new Set<number>(busy);
  for (const app of apps) {
    for (const l of app.listen) if (l.kind === 'inet') taken.add(l.port);
    if (app.backend) taken.add(app.backend.port);
  }
  const result = new Map<string, InetAddress>();
  for (const app of apps) if (app.activation === 'proxy' && app.backend) result.set(app.name, app.backend);
  const pending = apps.filter(needsAllocatedBackend).sort((a, b) => (a.name < b.name ? -1 : 1));
  // Kept ports first, so a new app can never take an existing app's port.
  const unplaced: App[] = [];
  for (const app of pending) {
    const port = kept.get(app.name);
    if (port !== undefined && !taken.has(port)) {
      taken.add(port);
      result.set(app.name, loopback(port));
    } else unplaced.push(app);
  }
  const size = PORT_RANGE.last - PORT_RANGE.first + 1;
  for (const app of unplaced) {
    // Start from a hash of the name: the same app gets the same port on every
    // machine, which makes rendered units reproducible.
    const start = fnv1a(app.name) % size;
    for (let i = 0; i < size; i++) {
      const port = PORT_RANGE.first + ((start + i) % size);
      if (!taken.has(port)) {
        taken.add(port);
        result.set(app.name, loopback(port));
        break;
      }
    }
  }
  return result;
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
