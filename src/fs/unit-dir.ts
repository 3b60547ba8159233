// Adapter: the unit directory. appsd reads only the files of units it is
// asked about (those of the desired apps and of its inventory), and writes
// atomically, so systemd never reads half a unit.
import { lstatSync, statSync } from 'node:fs';
import { mkdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { observedFile, type ObservedFile } from '../plan/observed.js';
import { syncDir, TempFileSweeper, writeFilesAtomic } from './atomic.js';
import { readRegularFile, statKey } from './read.js';

// systemd reads unit-file lines up to 1 MiB; a unit appsd writes is far smaller.
const MAX_UNIT_BYTES = 8 * 1024 * 1024;

/** Unit files kept between passes, re-read only when their stat changes. */
type UnitFileCache = Map<string, { readonly key: string; readonly file: ObservedFile }>;

export class UnitDirectory {
  private readonly cache: UnitFileCache | undefined;

  constructor(
    readonly dir: string,
    options: { readonly cache?: boolean } = {},
  ) {
    this.cache = options.cache ? new Map() : undefined;
    this.sweeper = new TempFileSweeper(dir);
  }

  /**
   * Each named unit's file, or undefined where there is none. A file whose
   * text is the one in `expected` (what appsd would write) keeps that string
   * rather than a second copy of it: a controller with a thousand apps holds
   * their units once, not twice.
   */
  async read(names: readonly string[], expected?: ReadonlyMap<string, string>): Promise<Map<string, ObservedFile | undefined>> {
    const files = await Promise.all(names.map((n) => this.readOne(join(this.dir, n), expected?.get(n))));
    return new Map(names.map((n, i) => [n, files[i]]));
  }

  /** A socket appsd enabled has its symlink in this directory's sockets.target.wants: one lstat. */
  enabledHere(socket: string): boolean {
    try {
      return Boolean(lstatSync(join(this.dir, 'sockets.target.wants', socket), { throwIfNoEntry: false })?.isSymbolicLink());
    } catch {
      return false; // then systemd is asked
    }
  }

  /** Writes every file at once; returns the error of each unit that failed. */
  async write(files: ReadonlyArray<{ readonly unit: string; readonly text: string }>): Promise<Map<string, Error>> {
    if (files.length === 0) return new Map();
    await mkdir(this.dir, { recursive: true });
    const failed = await writeFilesAtomic(this.dir, files.map((f) => ({ path: join(this.dir, f.unit), data: f.text })));
    return new Map(files.flatMap((f) => {
      const error = failed.get(join(this.dir, f.unit));
      return error ? [[f.unit, error] as const] : [];
    }));
  }

  /** Removes a unit file; one that is already gone is fine. Call sync() after a batch. */
  async delete(unit: string): Promise<void> {
    await unlink(join(this.dir, unit)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }

  private readonly sweeper: TempFileSweeper;

  /** Removes temporary files a crashed appsd left here. */
  sweep(): Promise<string[]> {
    return this.sweeper.sweep();
  }

  /** Makes deletions durable. */
  async sync(): Promise<void> {
    await syncDir(this.dir).catch(() => {});
  }

  private async readOne(path: string, expected: string | undefined): Promise<ObservedFile | undefined> {
    let key: string | undefined;
    if (this.cache) {
      // Synchronous on purpose: see cachedSource in manifest-dir.ts.
      let s;
      try {
        s = statSync(path, { throwIfNoEntry: false });
      } catch {
        return { text: '', owner: undefined };
      }
      if (!s) {
        this.cache.delete(path);
        return undefined;
      }
      key = statKey(s);
      const hit = this.cache.get(path);
      if (hit?.key === key) return hit.file;
    }
    try {
      const text = (await readRegularFile(path, MAX_UNIT_BYTES)).toString('utf8');
      const file = observedFile(text === expected ? expected : text);
      if (this.cache && key) this.cache.set(path, { key, file });
      return file;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      // Something appsd cannot read as its own unit (a FIFO, a huge file, no
      // permission, a symlink loop): not appsd's, so the app that needs the
      // name fails and nothing touches the path; the other apps go on.
      return { text: '', owner: undefined };
    }
  }
}
