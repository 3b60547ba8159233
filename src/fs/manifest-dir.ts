// Adapter: finds and reads the manifest files in an apps directory. Which
// names count is decided by isManifestName, shared with the watcher, so an
// editor's swap file or backup never becomes a phantom app.
import { lstatSync, statSync } from 'node:fs';
import { readdir, realpath } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { unsafeOwnership } from './ownership.js';
import { NotARegularFileError, readRegularFile, statKey, TooLargeError } from './read.js';
import type { ManifestSource } from '../manifest/load.js';

export const MAX_MANIFEST_BYTES = 1024 * 1024;

/**
 * `*.yaml` and `*.yml`, not hidden. Hidden covers vim's `.x.yaml.swp`, emacs'
 * `.#x.yaml` lock links and most tools' temporary files; `x.yaml~` and
 * `#x.yaml#` do not end in .yaml.
 */
export function isManifestName(name: string): boolean {
  return /\.ya?ml$/.test(name) && !name.startsWith('.') && !/[\0-\x1f\x7f]/.test(name);
}

/**
 * Sources kept between passes of a long-running controller: a file whose
 * inode, size and modification time are unchanged is not read again, and its
 * source is the same object as before (so later stages can reuse their work).
 */
export type SourceCache = Map<string, { readonly key: string; readonly source: ManifestSource }>;

/** An apps directory. With `cache` (a long-running controller), unchanged files are not read again. */
export class ManifestDirectory {
  private readonly cache: SourceCache | undefined;

  constructor(
    readonly dir: string,
    options: { readonly cache?: boolean } = {},
  ) {
    this.cache = options.cache ? new Map() : undefined;
  }

  read(): Promise<ManifestSource[]> {
    return readManifestSources(this.dir, this.cache);
  }
}

export async function readManifestSources(dir: string, cache?: SourceCache): Promise<ManifestSource[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && isManifestName(e.name))
    .map((e) => e.name)
    .sort();
  const sources = await Promise.all(names.map((name) => (cache ? cachedSource(join(dir, name), cache) : readSource(join(dir, name)))));
  if (cache) {
    const present = new Set(sources.map((s) => s.file));
    for (const file of cache.keys()) if (!present.has(file)) cache.delete(file);
  }
  return sources;
}

async function cachedSource(file: string, cache: SourceCache): Promise<ManifestSource> {
  // A synchronous stat: a few microseconds, where the promise version costs
  // a thread-pool round trip; with a thousand manifests that is most of a pass.
  const s = statSync(file, { throwIfNoEntry: false });
  if (!s) return readSource(file);
  const key = statKey(s);
  const hit = cache.get(file);
  if (hit && hit.key === key) return hit.source;
  const source = await readSource(file);
  cache.set(file, { key, source });
  return source;
}

/**
 * What may be a manifest: a regular file in the apps directory, or a symlink
 * to a regular file whose own name is a manifest's (*.yaml, *.yml). A link
 * to anything else (/etc/shadow, a FIFO, a device) is refused without reading
 * it, so its content can never end up in an error message.
 */
async function readSource(file: string): Promise<ManifestSource> {
  try {
    const unsafe = unsafeOwnership(file, statSync(file));
    if (unsafe) return { file, error: { code: 'unsafe-permissions', message: unsafe } };
    const link = lstatSync(file);
    if (link.isSymbolicLink()) {
      const target = await realpath(file);
      if (!isManifestName(basename(target))) {
        return { file, error: { code: 'not-a-file', message: `a symlink to ${target}, which is not a manifest (*.yaml, *.yml); appsd does not read it` } };
      }
    }
    return decode(file, await readRegularFile(file, MAX_MANIFEST_BYTES));
  } catch (error) {
    if (error instanceof NotARegularFileError) return { file, error: { code: 'not-a-file', message: 'not a regular file' } };
    if (error instanceof TooLargeError) {
      const size = error.size === undefined ? '' : `the file is ${error.size} bytes; `;
      return { file, error: { code: 'too-large', message: `${size}manifests are limited to ${MAX_MANIFEST_BYTES} bytes (1 MiB)` } };
    }
    const e = error as NodeJS.ErrnoException;
    return { file, error: { code: 'unreadable', message: `cannot read the file: ${e.code ?? e.message}` } };
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decode(file: string, bytes: Buffer): ManifestSource {
  if (bytes.includes(0)) return { file, error: { code: 'binary', message: 'this is a binary file (it contains NUL bytes), not a YAML manifest' } };
  try {
    // Strip a UTF-8 byte order mark some editors add.
    return { file, text: utf8.decode(bytes).replace(/^\uFEFF/, '') };
  } catch {
    return { file, error: { code: 'binary', message: 'the file is not valid UTF-8 text' } };
  }
}
