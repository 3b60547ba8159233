// Who may decide what runs. A manifest says what runs, and in the system
// manager as whom; appsd's state says which units it may delete. As sshd's
// StrictModes and sudo do, appsd reads them only from files and directories
// that nobody but the manager's user (or root) can write.
import type { Stats } from 'node:fs';

/** The user whose files appsd trusts besides root: the one it runs as (root for the system manager). */
export function trustedUid(): number {
  return process.getuid?.() ?? 0;
}

/** Why `path` is not safe to trust, or undefined. `stat` follows symlinks: a link is judged by its target. */
export function unsafeOwnership(path: string, stat: Stats, uid = trustedUid()): string | undefined {
  const mode = (stat.mode & 0o7777).toString(8).padStart(4, '0');
  const owner = stat.uid === uid || stat.uid === 0;
  const writable = stat.mode & 0o002 ? 'anyone' : stat.mode & 0o020 ? 'its group' : undefined;
  // A sticky, world-writable directory (/tmp) still lets others add files.
  if (!owner) return `${path} is owned by user ${stat.uid}, not by ${uid === 0 ? 'root' : `user ${uid} (who runs appsd) or root`}; appsd does not trust it`;
  if (writable) return `${path} can be written by ${writable} (mode ${mode}); appsd trusts only what its own user can write: chmod go-w ${path}`;
  return undefined;
}
