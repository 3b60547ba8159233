// Writes that a crash cannot tear: a reader sees the old file or the new one,
// never half of either. Temporary files are hidden and never end in .socket
// or .service, so systemd ignores them if appsd dies half way.
import { open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { statSync } from 'node:fs';
import { crypto } from '../node-lazy.js';
import { statKey } from './read.js';

export async function writeFileAtomic(path: string, data: string): Promise<void> {
  const failed = await writeFilesAtomic(dirname(path), [{ path, data }]);
  const error = failed.get(path);
  if (error) throw error;
}

/** Makes a rename or unlink in `dir` durable. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export interface FileWrite {
  readonly path: string;
  readonly data: string;
}

/**
 * Many atomic writes into one directory at once: every temporary file is
 * written and fsynced concurrently (the file system merges the flushes), then
 * renamed into place, then the directory is synced once. Each file is still
 * all old or all new after a crash. Returns the error of each file that failed.
 */
export async function writeFilesAtomic(dir: string, writes: readonly FileWrite[], concurrency = 32): Promise<Map<string, Error>> {
  const failed = new Map<string, Error>();
  const staged: Array<{ tmp: string; path: string }> = [];
  // node:crypto on the first write only (node-lazy.ts).
  const { randomBytes } = crypto();
  await forEachLimited(writes, concurrency, async ({ path, data }) => {
    const tmp = join(dir, `.${basename(path)}.appsd-tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      const handle = await open(tmp, 'wx', 0o644);
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      staged.push({ tmp, path });
    } catch (error) {
      await unlink(tmp).catch(() => {});
      failed.set(path, error as Error);
    }
  });
  for (const { tmp, path } of staged) {
    try {
      await rename(tmp, path);
    } catch (error) {
      await unlink(tmp).catch(() => {});
      failed.set(path, error as Error);
    }
  }
  if (staged.length) await syncDir(dir);
  return failed;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

const TEMP_FILE = /^\..+\.appsd-tmp-(\d+)-[0-9a-f]+$/;

/**
 * Removes appsd's own temporary files that a crashed appsd left in `dir`
 * (those whose writer is no longer running), so no crash leaves litter. A
 * live writer's files are left alone: it renames them in a moment.
 */
export async function sweepTempFiles(dir: string): Promise<{ swept: string[]; live: number }> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return { swept: [], live: 0 };
  }
  const swept: string[] = [];
  let live = 0;
  for (const name of names) {
    if (name.charCodeAt(0) !== 46 /* . */) continue;
    const pid = TEMP_FILE.exec(name)?.[1];
    if (pid === undefined) continue;
    if (processAlive(Number(pid))) live++;
    else await unlink(join(dir, name)).then(() => swept.push(name), () => {});
  }
  return { swept, live };
}

/**
 * sweepTempFiles for a directory swept again and again (every pass of a
 * controller): a directory whose modification time has not changed since the
 * last sweep gained no file, so one stat replaces reading it.
 */
export class TempFileSweeper {
  private swept: string | undefined;

  constructor(private readonly dir: string) {}

  async sweep(): Promise<string[]> {
    const s = statSync(this.dir, { throwIfNoEntry: false });
    if (!s) return [];
    const key = statKey(s);
    if (key === this.swept) return [];
    const { swept, live } = await sweepTempFiles(this.dir);
    // Removing files changed the directory again: take its new time. A live
    // writer's file may be left behind if that writer dies: look again then.
    const after = statSync(this.dir, { throwIfNoEntry: false });
    this.swept = live === 0 && after ? statKey(after) : undefined;
    return swept;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
