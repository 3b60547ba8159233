// Adapter: the unit directory. appsd reads only the files of units it is
// asked about (those of the desired apps and of its inventory), and writes
// atomically, so systemd never reads half a unit.
import { readdirSync, statSync } from 'node:fs';
import { mkdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { observedFile, type ObservedFile } from '../plan/observed.js';
import { forEachLimited, syncDir, TempFileSweeper, writeFilesAtomic } from './atomic.js';
import { readRegularFile, statKey } from './read.js';

// systemd reads unit-file lines up to 1 MiB; a unit appsd writes is far smaller.
const MAX_UNIT_BYTES = 8 * 1024 * 1024;

/** Unit files kept between passes by unit name, re-read only when their stat changes. */
type UnitFileCache = Map<string, { readonly key: string; readonly file: ObservedFile }>;

const MISS = Symbol('miss');
// Unit files read at once, each reader with a buffer that fits any unit appsd writes.
const READERS = 16;
const scratchBuffers = (n: number) => Array.from({ length: n }, () => Buffer.allocUnsafe(64 * 1024));
/** A path appsd cannot read as its own unit file. */
const NOT_APPSDS: ObservedFile = { text: '', owner: undefined };

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
   * their units once, not twice. With the cache, an unchanged file costs one
   * synchronous stat and nothing else.
   */
  async read(names: readonly string[], expected?: ReadonlyMap<string, string>): Promise<Map<string, ObservedFile | undefined>> {
    const files = new Map<string, ObservedFile | undefined>();
    const misses: Array<{ name: string; key: string | undefined }> = [];
    for (const name of names) {
      const hit = this.cached(name);
      if (hit === MISS || typeof hit === 'string') misses.push({ name, key: hit === MISS ? undefined : hit });
      else files.set(name, hit);
    }
    if (misses.length) {
      // A few at a time, each into a buffer of its own reused from file to
      // file (a pass after a bulk apply reads back thousands of files).
      await forEachLimited(scratchBuffers(Math.min(READERS, misses.length)), READERS, async (scratch) => {
        for (let m = misses.pop(); m; m = misses.pop()) files.set(m.name, await this.readOne(m.name, m.key, expected?.get(m.name), scratch));
      });
    }
    // In the order asked.
    return new Map(names.map((n) => [n, files.get(n)]));
  }

  /**
   * The sockets enabled in this directory, by the symlinks in its
   * sockets.target.wants (one readdir for all of them). A socket not among
   * them may still be enabled elsewhere (or masked): systemd is asked then.
   */
  socketsEnabledHere(): ReadonlySet<string> {
    try {
      const entries = readdirSync(`${this.dir}/sockets.target.wants`, { withFileTypes: true });
      return new Set(entries.flatMap((e) => (e.isSymbolicLink() ? [e.name] : [])));
    } catch {
      return new Set(); // then systemd is asked about each
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

  /**
   * From the cache alone: the file (or undefined: there is none), or the
   * file's stat key when it changed, or MISS without a cache or a stat.
   */
  private cached(name: string): ObservedFile | undefined | string | typeof MISS {
    if (!this.cache) return MISS;
    const path = `${this.dir}/${name}`;
    // Synchronous on purpose: see cachedSource in manifest-dir.ts.
    let s;
    try {
      s = statSync(path, { throwIfNoEntry: false });
    } catch {
      return NOT_APPSDS;
    }
    if (!s) {
      this.cache.delete(name);
      return undefined;
    }
    const key = statKey(s);
    const hit = this.cache.get(name);
    return hit?.key === key ? hit.file : key;
  }

  private async readOne(name: string, key: string | undefined, expected: string | undefined, scratch: Buffer): Promise<ObservedFile | undefined> {
    try {
      const text = (await readRegularFile(`${this.dir}/${name}`, MAX_UNIT_BYTES, scratch)).toString('utf8');
      const file = observedFile(text === expected ? expected : text);
      if (this.cache && key) this.cache.set(name, { key, file });
      return file;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      // Something appsd cannot read as its own unit (a FIFO, a huge file, no
      // permission, a symlink loop): not appsd's, so the app that needs the
      // name fails and nothing touches the path; the other apps go on.
      return NOT_APPSDS;
    }
  }
}
