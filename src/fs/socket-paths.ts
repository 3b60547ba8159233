// Unix socket paths a manifest asks to listen on. systemd binds the path, and
// with RemoveOnStop= removes it again: a path where something else lives
// would be replaced and later deleted. appsd listens only where that cannot
// hurt: in the runtime directory, or in a directory of its own user's that
// nobody else can write, and never on a path that exists unless appsd's own
// socket made it.
import { lstatSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { trustedUid } from './ownership.js';

const SYSTEM_DIRS = ['/', '/etc', '/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/boot', '/dev', '/proc', '/sys', '/var', '/root', '/home', '/tmp'];

/**
 * Why appsd will not listen on `path`, or undefined.
 * @param runtimeDir the manager's runtime directory (/run, or $XDG_RUNTIME_DIR)
 * @param ours whether the app's applied socket unit already listens there (it made the path)
 */
export function unixListenProblem(path: string, runtimeDir: string | undefined, ours: boolean): string | undefined {
  const existing = lstatSync(path, { throwIfNoEntry: false });
  if (existing && !(existing.isSocket() && ours)) {
    const what = existing.isSocket() ? 'a socket appsd did not create' : existing.isDirectory() ? 'a directory' : 'a file';
    return `listen: ${path} is ${what}; appsd listens only on a path that does not exist yet (systemd would replace it, and remove it on stop)`;
  }
  if (runtimeDir && (path.startsWith(`${runtimeDir.replace(/\/+$/, '')}/`))) return undefined;
  // Elsewhere: the nearest existing directory must be appsd's user's (or
  // root's), writable by nobody else, and not one of the system's own.
  let dir = dirname(path);
  let stat = statSync(dir, { throwIfNoEntry: false });
  while (!stat && dir !== '/') {
    dir = dirname(dir);
    stat = statSync(dir, { throwIfNoEntry: false });
  }
  const where = runtimeDir ? ` (or under the runtime directory ${runtimeDir})` : '';
  if (SYSTEM_DIRS.includes(dir)) return `listen: ${path} would be created in ${dir}, a system directory; put sockets in a directory of their own${where}`;
  const uid = trustedUid();
  if (!stat || !stat.isDirectory() || (stat.uid !== uid && stat.uid !== 0) || stat.mode & 0o022) {
    return `listen: ${path}: ${dir} must be a directory that only appsd's user (or root) can write${where}`;
  }
  return undefined;
}
