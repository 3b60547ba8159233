// Reads and checks the apps directory, turning a missing directory into a
// message rather than a stack trace.
import { access, constants, stat } from 'node:fs/promises';
import { readManifestSources } from '../fs/manifest-dir.js';
import { unsafeOwnership } from '../fs/ownership.js';
import { StateStore } from '../fs/state-store.js';
import { CheckCache, loadManifests, withLateProblems, type LoadResult } from '../manifest/load.js';
import { EMPTY_INVENTORY, keptPorts } from '../plan/inventory.js';
import { desiredUnits, type DesiredState } from '../render/desired.js';
import { renderOptionsFor } from '../render/options.js';
import type { HostIdentity } from '../manifest/placement.js';
import { UsageError, type Locations } from './context.js';

export async function loadAppsDir(appsDir: string, host?: HostIdentity): Promise<LoadResult> {
  await checkAppsDir(appsDir);
  try {
    return loadManifests(await readManifestSources(appsDir), undefined, host);
  } catch (error) {
    throw usageErrorFor(appsDir, error);
  }
}

/**
 * Loads and renders: a manifest whose units cannot be written (a command
 * line longer than systemd reads, say) is invalid here too, so whatever
 * `validate` accepts, apply can write and systemd can load.
 * @param shown false when the units are only checked (validate): rendered without this appsd's instance line.
 */
export async function loadAndRender(locations: Locations, shown = true): Promise<{ load: LoadResult; desired: DesiredState }> {
  return (await loadAndRenderFor(locations, [locations.host], shown))[0]!;
}

/**
 * The same for each of several hosts (validate --hosts): the directory read
 * once and each file checked once; only the rules across files and the
 * rendering run per host.
 */
export async function loadAndRenderFor(locations: Locations, hosts: ReadonlyArray<HostIdentity | undefined>, shown = true): Promise<Array<{ load: LoadResult; desired: DesiredState }>> {
  await checkAppsDir(locations.appsDir);
  let sources;
  try {
    sources = await readManifestSources(locations.appsDir);
  } catch (error) {
    throw usageErrorFor(locations.appsDir, error);
  }
  const cache = new CheckCache();
  // Backend ports appsd allocated earlier are in its inventory: render with
  // them, so that render shows what apply would write.
  const inventory = await new StateStore(locations.stateDir).read().catch(() => EMPTY_INVENTORY);
  return hosts.map((host) => {
    const loaded = loadManifests(sources, cache, host);
    const desired = desiredUnits(loaded.apps, renderOptionsFor(locations.scope, shown ? locations.stateDir : undefined), keptPorts(inventory));
    return { load: withLateProblems(loaded, desired.failures), desired };
  });
}

/**
 * For commands that read the directory later themselves (apply, watch,
 * install): the same message for a missing directory, without reading and
 * checking every manifest twice.
 */
export async function checkAppsDir(appsDir: string): Promise<void> {
  let unsafe: string | undefined;
  try {
    const s = await stat(appsDir);
    if (!s.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    await access(appsDir, constants.R_OK | constants.X_OK);
    unsafe = unsafeOwnership(`apps directory ${appsDir}`, s);
  } catch (error) {
    throw usageErrorFor(appsDir, error);
  }
  if (unsafe) throw new UsageError(unsafe);
}

function usageErrorFor(appsDir: string, error: unknown): Error {
  const e = error as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return new UsageError(`apps directory ${appsDir} does not exist (set --apps-dir or APPSD_APPS_DIR)`);
  if (e.code === 'ENOTDIR') return new UsageError(`${appsDir} is not a directory`);
  if (e.code === 'EACCES') return new UsageError(`cannot read apps directory ${appsDir}: permission denied`);
  return e;
}
