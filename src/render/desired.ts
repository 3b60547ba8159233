// The desired state: every valid app's unit files, with backend ports
// resolved and the links between apps that need each other. An app whose
// units cannot be rendered is a failure of that app (and of the apps that
// need it), reported at its manifest field; the others render as usual.
import type { InetAddress } from '../manifest/address.js';
import type { App } from '../manifest/app.js';
import type { LateProblem } from '../manifest/load.js';
import { appUnitNames } from '../unit/names.js';
import type { RenderOptions } from './options.js';
import { allocatedPorts, resolveBackends, type Backends } from './ports.js';
import { renderApp, type Links, type RenderedUnit, type RenderResult } from './units.js';

/** The podman network containers of apps that need each other share, reaching each other by app name. */
export const GROUP_NETWORK = 'appsd';

export interface DesiredApp {
  readonly name: string;
  readonly app: App;
  /** The backend address of each backend port, by that port (the main one first). */
  readonly backends: Backends;
  /** Host ports appsd allocated for the app, by portKey (kept in the inventory while the app exists). */
  readonly allocated: ReadonlyMap<string, number>;
  /** podman networks the app's container joins (its own and appsd's group network). */
  readonly networks: readonly string[];
  readonly units: RenderedUnit[];
}

export interface DesiredState {
  readonly apps: DesiredApp[];
  /** Apps that could not be rendered, at the field to blame. */
  readonly failures: LateProblem[];
}

/**
 * Renders kept between passes: an unchanged app (the same object) with the
 * same backends and links renders the same bytes; and the last whole desired
 * state, which the same apps (the same array) with the same ports get back.
 */
export class RenderCache {
  readonly apps = new WeakMap<App, { readonly key: string; readonly result: RenderResult }>();
  last:
    | {
        readonly apps: readonly App[];
        readonly options: RenderOptions;
        readonly kept: ReadonlyMap<string, number> | undefined;
        readonly busy: ReadonlySet<number> | undefined;
        readonly state: DesiredState;
      }
    | undefined;
}

export function desiredUnits(
  apps: readonly App[],
  options: RenderOptions,
  keptPorts?: ReadonlyMap<string, number>,
  busyPorts?: ReadonlySet<number>,
  cache?: RenderCache,
): DesiredState {
  const last = cache?.last;
  if (last && last.apps === apps && last.options === options && sameEntries(last.kept, keptPorts) && sameEntries(last.busy, busyPorts)) return last.state;
  const state = renderAll(apps, options, keptPorts, busyPorts, cache);
  if (cache) cache.last = { apps, options, kept: keptPorts, busy: busyPorts, state };
  return state;
}

/** The same entries (for sets: members); undefined is empty. */
function sameEntries<K, V>(a: ReadonlyMap<K, V> | ReadonlySet<K> | undefined, b: ReadonlyMap<K, V> | ReadonlySet<K> | undefined): boolean {
  if ((a?.size ?? 0) !== (b?.size ?? 0)) return false;
  if (!a?.size) return true;
  if (a instanceof Map) {
    for (const [k, v] of a) if ((b as ReadonlyMap<K, V>).get(k) !== v || !b!.has(k)) return false;
    return true;
  }
  for (const k of a as ReadonlySet<K>) if (!b!.has(k)) return false;
  return true;
}

function renderAll(
  apps: readonly App[],
  options: RenderOptions,
  keptPorts: ReadonlyMap<string, number> | undefined,
  busyPorts: ReadonlySet<number> | undefined,
  cache: RenderCache | undefined,
): DesiredState {
  const backends = resolveBackends(apps, keptPorts, busyPorts);
  const links = linksOf(apps);
  const rendered: Array<{ app: App; backends: Backends; links: Links; result: RenderResult }> = [];
  for (const app of apps) {
    const own = backends.get(app.name) ?? new Map<number, InetAddress>();
    const linked = links.get(app.name)!;
    const key = JSON.stringify([[...own].map(([p, a]) => [p, a.host, a.port]), linked]);
    let result = cache?.apps.get(app)?.key === key ? cache.apps.get(app)!.result : undefined;
    if (!result) {
      result = renderApp(app, own, linked, options);
      cache?.apps.set(app, { key, result });
    }
    rendered.push({ app, backends: own, links: linked, result });
  }
  // An app that needs one that failed fails too, and keeps its last applied units.
  const failed = new Map<string, LateProblem>();
  for (const r of rendered) if (!r.result.ok) failed.set(r.app.name, { file: r.app.file, path: r.result.path, code: 'unrenderable', message: r.result.message });
  for (let changed = true; changed; ) {
    changed = false;
    for (const r of rendered) {
      const need = failed.has(r.app.name) ? undefined : r.app.needs.find((n) => failed.has(n));
      if (need === undefined) continue;
      failed.set(r.app.name, { file: r.app.file, path: ['needs'], code: 'invalid-need', message: `"${need}" cannot be rendered: this app keeps its last applied units until it is fixed` });
      changed = true;
    }
  }
  const desired: DesiredApp[] = [];
  for (const r of rendered) {
    if (failed.has(r.app.name) || !r.result.ok) continue;
    desired.push({ name: r.app.name, app: r.app, backends: r.backends, allocated: allocatedPorts(r.app, r.backends), networks: r.links.networks, units: r.result.units });
  }
  return { apps: desired, failures: [...failed.values()] };
}

/**
 * What each app's units point at: the units that run the apps it needs, and
 * the networks its container joins. Containers of apps joined by `needs`
 * (either way) share GROUP_NETWORK, so they reach each other by app name.
 */
function linksOf(apps: readonly App[]): Map<string, Links> {
  const byName = new Map(apps.map((a) => [a.name, a] as const));
  const grouped = new Set<string>();
  for (const app of apps) {
    if (app.runtime.kind !== 'container') continue;
    for (const need of app.needs) {
      if (byName.get(need)?.runtime.kind !== 'container') continue;
      grouped.add(app.name);
      grouped.add(need);
    }
  }
  const links = new Map<string, Links>();
  for (const app of apps) {
    const requires = app.needs.flatMap((n) => {
      const other = byName.get(n);
      return other ? [runUnit(other)] : [];
    });
    const own = app.runtime.kind === 'container' ? app.runtime.networks : [];
    const networks = grouped.has(app.name) && !own.includes(GROUP_NETWORK) ? [...own, GROUP_NETWORK] : own;
    links.set(app.name, { requires, networks });
  }
  return links;
}

/** The unit that runs an app: its backend, or with native activation its service. */
export function runUnit(app: App): string {
  const names = appUnitNames(app.name);
  return app.activation === 'native' ? names.service : names.backend;
}
