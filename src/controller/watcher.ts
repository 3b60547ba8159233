// Adapter: file events in the apps directory. An event only means "look
// again": the controller re-reads the whole directory (level-based), so
// editors' temporary files, atomic renames and event storms need no special
// handling beyond not waking up for files that are not manifests.
import { watch, type FSWatcher } from 'chokidar';
import { basename, resolve } from 'node:path';
import { isManifestName } from '../fs/manifest-dir.js';

export interface DirWatcher {
  close(): Promise<void>;
}

export async function watchAppsDir(dir: string, onChange: (what: string) => void, onError: (error: Error) => void): Promise<DirWatcher> {
  const root = resolve(dir);
  const watcher: FSWatcher = watch(root, {
    ignoreInitial: true,
    depth: 0,
    // Only the directory itself and manifest names; everything else (swap
    // files, backups, README) never wakes the controller.
    ignored: (path: string) => resolve(path) !== root && !isManifestName(basename(path)),
  });
  watcher.on('all', (event, path) => onChange(`${event} ${basename(path)}`));
  watcher.on('error', (error) => onError(error as Error));
  await new Promise<void>((ready) => watcher.once('ready', () => ready()));
  return { close: () => watcher.close() };
}
