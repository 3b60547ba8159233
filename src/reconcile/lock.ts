// One appsd applies at a time per state directory. The lock is a listening
// unix socket in Linux's abstract namespace, named after the state directory:
// taking it writes nothing to disk (a no-op pass writes nothing, not even a
// lock file), the kernel releases it when its holder dies (no stale locks),
// and whoever holds it answers with its PID.
import type { Server } from 'node:net';
import { resolve } from 'node:path';
import { TransientError } from '../errors.js';
// node:crypto and node:net load when a lock is taken (node-lazy.ts): `diff`
// loads the reconciler but takes no lock.
import { crypto, net } from '../node-lazy.js';

/** Another appsd is applying: transient, the next try may get the lock. */
export class LockBusyError extends TransientError {
  override name = 'LockBusyError';
}

export interface Lock {
  release(): Promise<void>;
}

export function lockName(stateDir: string): string {
  return `\0appsd-lock-${crypto().createHash('sha256').update(resolve(stateDir)).digest('hex').slice(0, 40)}`;
}

export async function acquireLock(stateDir: string, waitMs = 10_000): Promise<Lock> {
  const name = lockName(stateDir);
  const deadline = Date.now() + waitMs;
  for (;;) {
    const server = net().createServer((socket) => socket.end(String(process.pid)));
    const taken = await new Promise<boolean>((done, fail) => {
      server.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' ? done(false) : fail(error)));
      server.listen(name, () => done(true));
    });
    if (taken) return { release: () => close(server) };
    if (Date.now() >= deadline) {
      const holder = await holderPid(name);
      throw new LockBusyError(`another appsd${holder ? ` (PID ${holder})` : ''} is applying to state directory ${stateDir}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function close(server: Server): Promise<void> {
  return new Promise((done) => server.close(() => done()));
}

function holderPid(name: string): Promise<string | undefined> {
  return new Promise((done) => {
    const socket = net().createConnection(name);
    let data = '';
    socket.setTimeout(1000, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
    socket.on('close', () => done(/^\d+$/.test(data) ? data : undefined));
    socket.on('error', () => done(undefined));
  });
}
