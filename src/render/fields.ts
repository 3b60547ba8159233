// Blame: a value the unit-file layer refuses fails the app at the manifest
// field it came from, not somewhere in the middle of a unit.
import type { HostPath } from '../manifest/paths.js';
import type { Path } from '../manifest/source.js';
import { escapeSpecifiers, specifier, UnitValueError, type Word } from '../unit/escape.js';

/** A value that cannot be written, and the manifest field it came from. */
export class FieldError extends Error {
  constructor(
    readonly path: Path,
    message: string,
  ) {
    super(message);
  }
}

/** Runs `write`, blaming the field at `path` for a value the unit-file layer refuses. */
export function field<T>(path: Path, write: () => T): T {
  try {
    return write();
  } catch (error) {
    if (error instanceof UnitValueError) throw new FieldError(path, error.message);
    throw error;
  }
}

/** A host path as a command word: `~` becomes %h, which works for any user. */
export function hostPathWord(path: HostPath): Word {
  return path.home ? [specifier('h'), path.path] : path.path;
}

/** A host path as a unit-file value: %h for `~` (systemd's own `~` only works alone, in some settings). */
export function hostPathValue(path: HostPath): string {
  return path.home ? `%h${escapeSpecifiers(path.path)}` : escapeSpecifiers(path.path);
}
