// Reads and checks the apps directory, turning a missing directory into a
// message rather than a stack trace.
import { loadManifests, type LoadResult } from '../manifest/load.js';
import { readManifestSources } from '../manifest/discover.js';
import { UsageError } from './context.js';

export async function loadAppsDir(appsDir: string): Promise<LoadResult> {
  try {
    return loadManifests(await readManifestSources(appsDir));
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new UsageError(`apps directory ${appsDir} does not exist (set --apps-dir or APPSD_APPS_DIR)`);
    if (e.code === 'ENOTDIR') throw new UsageError(`${appsDir} is not a directory`);
    if (e.code === 'EACCES') throw new UsageError(`cannot read apps directory ${appsDir}: permission denied`);
    throw error;
  }
}
