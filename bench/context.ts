// What every figure gets: the private manager, a D-Bus connection for the
// baselines, the built CLI and a scratch apps directory.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from 'node:net';
import type { PrivateManager } from '../src/sandbox/private-manager.js';
import type { SystemdManager } from '../src/systemd/manager.js';
import { loadManifests } from '../src/manifest/load.js';
import { desiredUnits } from '../src/render/desired.js';
import { DEFAULT_RENDER_OPTIONS } from '../src/render/options.js';
import type { RenderedUnit } from '../src/render/units.js';

export const run = promisify(execFile);

export interface BenchContext {
  readonly manager: PrivateManager;
  readonly bus: SystemdManager;
  readonly podmanEnv: NodeJS.ProcessEnv;
  /** A static copy of test/fixtures/sockact-server.c, for exec apps. */
  readonly server: string;
  readonly runs: number;
  readonly scratch: string;
}

/** App i's addresses: loopback addresses by the thousand, without running out of ports. */
export function addressOf(i: number): { listen: string; backend: string } {
  const a = 20 + Math.floor(i / 250);
  const b = (i % 250) + 1;
  return { listen: `127.${a}.${b}.1:18000`, backend: `127.${a}.${b}.2:18001` };
}

export function execManifest(server: string, i: number, extra = ''): string {
  const { listen, backend } = addressOf(i);
  const port = backend.split(':')[1];
  return `listen: ${listen}\nbackend: ${backend}\n${extra}exec:\n  command: [${JSON.stringify(server)}, "app ${i}", "0", "${port}"]\n`;
}

/** Renders manifests the way appsd would, with unit names from `name(i)`. */
export function renderUnits(files: Record<string, string>): RenderedUnit[] {
  const load = loadManifests(Object.entries(files).map(([file, text]) => ({ file: `/bench/${file}`, text })));
  if (load.diagnostics.length) throw new Error(load.diagnostics.map((d) => d.message).join('\n'));
  return desiredUnits(load.apps, DEFAULT_RENDER_OPTIONS).apps.flatMap((a) => a.units);
}

/** Resolves once a TCP connection to host:port succeeds (the socket listens). */
export async function untilListening(address: string, timeoutMs = 30_000): Promise<void> {
  const [host, port] = address.split(':') as [string, string];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host, port: Number(port) });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${address} is not listening after ${timeoutMs} ms`);
    await sleep(1);
  }
}

export async function untilClosed(address: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await untilListening(address, 0);
    } catch {
      return;
    }
    if (Date.now() > deadline) throw new Error(`${address} still listens after ${timeoutMs} ms`);
    await sleep(5);
  }
}

export function scratchDir(parent: string, name: string): string {
  const dir = mkdtempSync(join(parent ?? tmpdir(), `${name}-`));
  return dir;
}

export function writeAll(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
}

export function emptyDir(dir: string): void {
  for (const name of readdirSync(dir)) rmSync(join(dir, name), { recursive: true, force: true });
}

/** inode:mtime of every file below `dirs`, to count what a pass wrote. */
export function snapshot(dirs: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const s = statSync(p, { bigint: true, throwIfNoEntry: false });
        if (s) out.set(p, `${s.ino}:${s.mtimeNs}`);
      }
    }
  };
  for (const d of dirs) walk(d);
  return out;
}

export function changedFiles(before: Map<string, string>, after: Map<string, string>): number {
  let n = 0;
  for (const [p, v] of after) if (before.get(p) !== v) n++;
  for (const p of before.keys()) if (!after.has(p)) n++;
  return n;
}
