// Why a socket could not start. systemd's job result says only "failed" and,
// without a journal, the reason (EADDRINUSE, EACCES) is nowhere to be read
// over D-Bus. appsd tries the same bind itself: the error it gets is the
// reason systemd got.
import { net } from '../node-lazy.js';
import { formatAddress } from '../manifest/address.js';
import type { Listener } from '../manifest/app.js';

/** Tries each TCP address (UDP and unix paths are not tried). */
export async function whySocketFails(listen: readonly Listener[], scope: 'user' | 'system'): Promise<string | undefined> {
  for (const { address, udp } of listen) {
    if (address.kind !== 'inet' || udp) continue;
    const code = await tryBind(address.host, address.port);
    if (code === 'EADDRINUSE') return `${formatAddress(address)} is already in use by another program`;
    if (code === 'EACCES') {
      return `permission denied binding ${formatAddress(address)}${address.port < 1024 && scope === 'user' ? ': ports below 1024 need privileges a user manager does not have (use a higher port, or the system manager)' : ''}`;
    }
    if (code === 'EADDRNOTAVAIL') return `${formatAddress(address)}: no network interface on this host has that address`;
  }
  return undefined;
}

/** The error code of binding host:port now, or undefined when the bind works (and is undone at once). */
export function tryBind(host: string | undefined, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    // node:net on first use (node-lazy.ts): only a failed socket or a fresh port is probed.
    const server = net().createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    server.listen({ port, ...(host !== undefined && { host }), exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}
