// The running controller answers `appsd status` over a unix socket in its
// state directory, so that reporting its last pass costs no file write.
import { createConnection, createServer, type Server } from 'node:net';
import { mkdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { AppResult } from '../plan/actions.js';

export const STATUS_SOCKET = 'controller.sock';

export interface ControllerStatus {
  readonly pid: number;
  readonly appsDir: string;
  readonly startedAt: string;
  readonly lastPass?: {
    readonly time: string;
    readonly result: 'ok' | 'failed' | 'invalid-manifests';
    readonly actions: number;
    readonly failedApps: readonly string[];
    /** What the pass did to each app it did not leave unchanged (created, configured, removed, failed, kept). */
    readonly changes: readonly AppResult[];
    readonly durationMs: number;
    readonly error?: string;
    /** With --pull: the git commit the applied manifests come from. */
    readonly commit?: string;
  };
  readonly git?: {
    readonly commit?: string;
    readonly lastPull?: { readonly time: string; readonly ok: boolean; readonly error?: string };
  };
  /** What the controller saw of each app since it started (from systemd's job signals). */
  readonly apps?: Readonly<Record<string, { readonly activations: number; readonly lastColdStartMs?: number; readonly lastActivatedAt?: string }>>;
}

export function statusSocketPath(stateDir: string): string {
  return join(stateDir, STATUS_SOCKET);
}

/** Asks a running controller; undefined if none answers. */
export function queryController(stateDir: string, timeoutMs = 2000): Promise<ControllerStatus | undefined> {
  return new Promise((resolve) => {
    const socket = createConnection(statusSocketPath(stateDir));
    let data = '';
    const done = (value: ControllerStatus | undefined) => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
    socket.on('end', () => {
      try {
        done(JSON.parse(data) as ControllerStatus);
      } catch {
        done(undefined);
      }
    });
    socket.on('error', () => done(undefined));
  });
}

export class ControllerAlreadyRunning extends Error {
  override name = 'ControllerAlreadyRunning';
}

export async function serveStatus(stateDir: string, status: () => ControllerStatus): Promise<Server> {
  const path = statusSocketPath(stateDir);
  const other = await queryController(stateDir, 500);
  if (other) throw new ControllerAlreadyRunning(`another appsd watch (PID ${other.pid}) is running for state directory ${stateDir}`);
  await mkdir(stateDir, { recursive: true });
  await unlink(path).catch(() => {}); // left by a controller that died
  const server = createServer((socket) => socket.end(JSON.stringify(status())));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  return server;
}
