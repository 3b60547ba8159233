// Reading a file appsd did not write, without trusting what is at the path:
// it must be a regular file (a FIFO, a device or a socket would block the
// read or never end), and it is read only up to a limit. The open itself is
// non-blocking, so even a FIFO swapped in after a check cannot hang appsd.
import { constants, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';

export class NotARegularFileError extends Error {
  override name = 'NotARegularFileError';
  readonly code = 'ENOTREG';
}

export class TooLargeError extends Error {
  override name = 'TooLargeError';
  readonly code = 'EFBIG';
  constructor(
    message: string,
    /** The size seen, when known. */
    readonly size?: number,
  ) {
    super(message);
  }
}

/** A file's identity and version for caches: unchanged key, unchanged content (or directory listing). */
export function statKey(s: Stats): string {
  return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
}

const FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

/**
 * The file's bytes; ENOENT and other errors as the file system gives them.
 * With `scratch`, a file that fits is read into it, and the bytes returned
 * are a view of it, valid until the scratch buffer is used again: reading
 * thousands of unit files then allocates no buffer per file.
 */
export async function readRegularFile(path: string, maxBytes: number, scratch?: Buffer): Promise<Buffer> {
  const handle = await open(path, FLAGS);
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new NotARegularFileError(`${path} is not a regular file`);
    if (stat.size > maxBytes) throw new TooLargeError(`${path} is ${stat.size} bytes; the limit is ${maxBytes}`, stat.size);
    // One byte past the limit, in case the file grew since the stat.
    const size = Math.min(stat.size, maxBytes) + 1;
    const buffer = scratch && scratch.length >= size ? scratch.subarray(0, size) : Buffer.alloc(size);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > maxBytes) throw new TooLargeError(`${path} is larger than ${maxBytes} bytes`);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
