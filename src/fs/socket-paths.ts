// Unix socket paths a manifest asks to listen on. systemd binds the path, and
// with RemoveOnStop= removes it again: a path where something else lives
// would be replaced and later deleted. appsd listens only where that cannot
// hurt: on a path that does not exist yet (or that its own socket made), in a
// directory whose every existing component is a real directory that only
// appsd's user (or root) can write, and, outside the runtime directory, not
// in one of the system's own directories.
import { lstatSync } from 'node:fs';
import { dirname } from 'node:path';
import { SYSTEM_DIRS } from '../manifest/paths.js';
import { unsafeOwnership } from './ownership.js';

/** Where a socket may not be created directly: the system's own directories, and the shared roots above them. */
const NO_SOCKET_DIRS = ['/', ...SYSTEM_DIRS, '/home', '/tmp'];

/**
 * Why appsd will not listen on `path`, or undefined.
 * @param runtimeDir the manager's runtime directory (/run, or $XDG_RUNTIME_DIR)
 * @param ours whether the app's applied socket unit already listens there (it made the path)
 */
export function unixListenProblem(path: string, runtimeDir: string | undefined, ours: boolean): string | undefined {
  try {
    const existing = lstatSync(path, { throwIfNoEntry: false });
    if (existing && !(existing.isSocket() && ours)) {
      const what = existing.isSocket() ? 'a socket appsd did not create' : existing.isDirectory() ? 'a directory' : 'a file';
      return `listen: ${path} is ${what}; appsd listens only on a path that does not exist yet (systemd would replace it, and remove it on stop)`;
    }
    const runtime = runtimeDir?.replace(/\/+$/, '');
    const inRuntime = runtime !== undefined && path.startsWith(`${runtime}/`);
    const where = runtime ? ` (or under the runtime directory ${runtime})` : '';
    // Every existing directory on the way, from the socket up to the runtime
    // directory (or the root): a symlink or a directory others can write would
    // let them choose where the socket goes, and what RemoveOnStop= removes.
    let first = true;
    for (let dir = dirname(path); ; dir = dirname(dir)) {
      const stat = lstatSync(dir, { throwIfNoEntry: false });
      if (stat) {
        if (first && !inRuntime && NO_SOCKET_DIRS.includes(dir)) {
          return `listen: ${path} would be created in ${dir}, a system directory; put sockets in a directory of their own${where}`;
        }
        if (stat.isSymbolicLink() || !stat.isDirectory()) return `listen: ${path}: ${dir} is not a plain directory (a symlink?); appsd does not follow it`;
        // Above the socket's own directory, a sticky directory (/tmp) is fine:
        // others cannot rename or remove what they do not own in it.
        const sticky = !first && (stat.mode & 0o1000) !== 0;
        const unsafe = unsafeOwnership(dir, sticky ? { ...stat, mode: stat.mode & ~0o022 } as typeof stat : stat);
        if (unsafe) return `listen: ${path}: ${unsafe}${where}`;
        first = false;
      }
      if (dir === '/' || (inRuntime && dir === runtime)) return undefined;
    }
  } catch (error) {
    return `listen: ${path}: cannot check the path (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
  }
}
