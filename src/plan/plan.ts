// plan(desired, observed) -> Plan. Pure: no I/O, deterministic order. `diff`
// prints the plan; `apply` executes exactly that plan, phase by phase.
import { runUnit, type DesiredApp } from '../render/desired.js';
import { unitRole } from '../unit/names.js';
import { UnitFile } from '../unit/unitfile.js';
import {
  actionsOf,
  type Action,
  type AppResult,
  type DeleteAction,
  type DisableAction,
  type EnableAction,
  type NetworkAction,
  type Phase,
  type RemovalReason,
  type ResetFailedAction,
  type RestartAction,
  type StartAction,
  type StopAction,
  type WriteAction,
} from './actions.js';
import type { Inventory, InventoryApp } from './inventory.js';
import { ownedBy, type Observed, type ObservedUnit } from './observed.js';

export interface Plan {
  readonly online: boolean;
  /** The phases to run, in order; only those with actions. */
  readonly phases: readonly Phase[];
  /** Every action, in the order the phases run them. */
  readonly actions: readonly Action[];
  /** What the plan does to each app (by name): the outcome once every action succeeds. */
  readonly apps: readonly AppResult[];
  /** The inventory once every action has succeeded. */
  readonly inventory: Inventory;
}

export interface PlanInput {
  readonly desired: readonly DesiredApp[];
  /** Apps whose manifest exists but is invalid: their units stay as last applied. */
  readonly protectedApps: ReadonlySet<string>;
  readonly observed: Observed;
  /** This appsd's X-Appsd-Instance=; units another instance wrote are not touched. */
  readonly instance?: string;
  /** Apps that must not be converged now, and why (found by an adapter: a listen path that is not appsd's). */
  readonly refused?: ReadonlyMap<string, string>;
  /** Apps whose manifest is valid but placed on other hosts: removed here, and the plan says why. */
  readonly placedElsewhere?: ReadonlySet<string>;
  /** Why a protected app whose own manifest is fine is kept (an app that is kept needs it). */
  readonly keptReasons?: ReadonlyMap<string, string>;
}

const ACTIVE = new Set(['active', 'activating', 'reloading', 'deactivating']);

/** The actions of a plan, gathered by phase while the planner walks the apps. */
class Phases {
  readonly teardown: Array<StopAction | DisableAction> = [];
  readonly writes: WriteAction[] = [];
  readonly deletes: DeleteAction[] = [];
  readonly enable: EnableAction[] = [];
  readonly activate: Array<StopAction | ResetFailedAction | RestartAction | StartAction> = [];
  readonly networks: NetworkAction[] = [];
  readonly prune: NetworkAction[] = [];

  /** In execution order; within a phase, by kind, then in the order planned (apps by name). */
  build(reloadPending: boolean): Phase[] {
    const teardown = byKind(this.teardown, ['stop', 'disable']);
    const files = [...this.writes, ...this.deletes];
    const activate = byKind(this.activate, ['stop', 'reset-failed', 'restart', 'start']);
    // One reload for any number of changed apps, after every file change and
    // before anything that needs the new definitions.
    const reload = reloadPending || teardown.some((a) => a.kind === 'disable') || files.length > 0 || this.enable.length > 0;
    const phases: Phase[] = [];
    if (teardown.length) phases.push({ kind: 'teardown', actions: teardown });
    if (this.networks.length) phases.push({ kind: 'networks', actions: this.networks });
    if (files.length) phases.push({ kind: 'files', actions: files });
    if (this.enable.length) phases.push({ kind: 'enable', actions: this.enable });
    if (reload) phases.push({ kind: 'reload', actions: [{ kind: 'reload', reason: 'units-changed' }] });
    if (activate.length) phases.push({ kind: 'activate', actions: activate });
    if (this.prune.length) phases.push({ kind: 'prune', actions: this.prune });
    return phases;
  }

  /** How many actions are planned so far: an app with none of its own is unchanged. */
  get size(): number {
    return this.teardown.length + this.writes.length + this.deletes.length + this.enable.length + this.activate.length + this.networks.length + this.prune.length;
  }
}

export function plan({ desired, protectedApps, observed, instance, refused, placedElsewhere, keptReasons }: PlanInput): Plan {
  const phases = new Phases();
  const results: AppResult[] = [];
  const inventoryApps: Record<string, InventoryApp> = {};
  const unit = (name: string): ObservedUnit => observed.units.get(name) ?? {};
  const desiredNames = new Set(desired.map((d) => d.name));
  // Stopping what runs a needed app stops the apps that need it too (Requires=): the plan says so.
  const neededBy = new Map<string, string[]>();
  for (const d of desired) for (const n of d.app.needs) neededBy.set(n, [...(neededBy.get(n) ?? []), d.name]);

  const blocked = blockedApps(desired, unit, instance, refused);
  for (const app of desired) {
    const previous = observed.inventory.apps[app.name];
    const block = blocked.get(app.name);
    if (block !== undefined) {
      results.push({ app: app.name, outcome: 'failed', error: block });
      if (previous) inventoryApps[app.name] = previous;
      continue;
    }
    const isNew = !previous;
    const planned = phases.size;
    const networks = joinNetworks(app, observed, instance, phases);
    const writes = new Map<string, WriteAction>();
    for (const u of app.units) {
      const before = unit(u.name).file?.text;
      if (before === u.text) continue;
      const reason = before === undefined ? (isNew ? 'new-app' : 'unit-missing') : 'unit-differs';
      const write: WriteAction = { kind: 'write', app: app.name, unit: u.name, reason, ...(before !== undefined && { before }), after: u.text };
      writes.set(u.name, write);
      phases.writes.push(write);
    }
    // Units the app had before but no longer needs (e.g. proxy -> native).
    const stale = (previous?.units ?? []).filter((n) => !app.units.some((u) => u.name === n));
    removeUnits(app.name, stale, 'unit-dropped', phases, observed, instance);

    const sockets = app.units.filter((u) => unitRole(app.name, u.name) === 'socket').map((u) => u.name);
    for (const socketName of sockets) {
      const socket = unit(socketName);
      const socketWrite = writes.get(socketName);
      const subject = { app: app.name, unit: socketName };
      if (observed.online) {
        if (socket.enablement !== 'enabled') {
          phases.enable.push(socket.enablement ? { kind: 'enable', ...subject, reason: 'socket-not-enabled', detail: socket.enablement } : { kind: 'enable', ...subject, reason: 'new-socket' });
        }
        const state = socket.status?.activeState;
        if (state === 'failed') {
          phases.activate.push({ kind: 'reset-failed', ...subject, reason: 'socket-failed', detail: socket.status!.subState });
          phases.activate.push({ kind: 'start', ...subject, reason: 'socket-not-listening' });
        } else if (!state || !ACTIVE.has(state)) {
          phases.activate.push({ kind: 'start', ...subject, reason: socketWrite && socketWrite.before === undefined ? 'new-socket' : 'socket-not-listening' });
        } else if (socketWrite?.before !== undefined && listenSideChanged(socketWrite.before, socketWrite.after)) {
          phases.activate.push({ kind: 'restart', ...subject, reason: 'listen-changed' });
        }
      } else if (socketWrite?.before === undefined && socketWrite !== undefined) {
        // Offline: a socket whose file is new (a new app, a new port, an internal app that now listens) will need enabling and starting.
        phases.enable.push({ kind: 'enable', ...subject, reason: 'new-socket' });
        phases.activate.push({ kind: 'start', ...subject, reason: 'new-socket' });
      }
    }
    if (observed.online) {
      for (const u of app.units) {
        if (sockets.includes(u.name)) continue;
        const rewritten = writes.get(u.name)?.before !== undefined;
        const running = ACTIVE.has(unit(u.name).status?.activeState ?? '');
        if (!rewritten || !running) continue;
        const dependents = u.name === runUnit(app.app) ? (neededBy.get(app.name) ?? []) : [];
        const detail = dependents.length ? `${dependents.join(', ')} need${dependents.length === 1 ? 's' : ''} it and stop${dependents.length === 1 ? 's' : ''} with it` : undefined;
        phases.activate.push({ kind: 'stop', app: app.name, unit: u.name, reason: 'old-definition', ...(detail && { detail }) });
      }
    }
    inventoryApps[app.name] = {
      manifest: app.app.file,
      units: app.units.map((u) => u.name),
      ...inventoryPorts(app),
      ...(networks.length > 0 && { networks }),
    };
    results.push({ app: app.name, outcome: isNew ? 'created' : phases.size > planned ? 'configured' : 'unchanged', ...(app.app.needs.length > 0 && { needs: app.app.needs }) });
  }

  for (const [name, entry] of Object.entries(observed.inventory.apps).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (desiredNames.has(name)) continue;
    if (protectedApps.has(name)) {
      results.push({ app: name, outcome: 'kept', error: keptReasons?.get(name) ?? 'its manifest is invalid, its units stay as last applied' });
      inventoryApps[name] = entry;
      continue;
    }
    removeUnits(name, entry.units, placedElsewhere?.has(name) ? 'not-placed' : 'manifest-removed', phases, observed, instance);
    results.push({ app: name, outcome: 'removed' });
  }

  pruneNetworks(desired, inventoryApps, observed, instance, phases);

  // A reload that a crash or a failure left undone is done now.
  const built = phases.build(observed.inventory.reloadPending === true);
  return {
    online: observed.online,
    phases: built,
    actions: actionsOf(built),
    apps: results.sort((a, b) => (a.app < b.app ? -1 : a.app > b.app ? 1 : 0)),
    inventory: { version: 1, apps: inventoryApps },
  };
}

/**
 * Apps that cannot be converged now, and why: refused by an adapter (a listen
 * path that is not appsd's), or with a unit name taken by a unit that is not
 * this appsd's. An app that needs a blocked app is blocked too, and keeps its
 * last applied units: its units would require a unit that is not appsd's, or
 * none at all.
 */
function blockedApps(desired: readonly DesiredApp[], unit: (name: string) => ObservedUnit, instance: string | undefined, refused: ReadonlyMap<string, string> | undefined): Map<string, string> {
  const blocked = new Map<string, string>();
  for (const app of desired) {
    const refusal = refused?.get(app.name);
    if (refusal !== undefined) {
      blocked.set(app.name, refusal);
      continue;
    }
    const foreign = app.units.flatMap((u) => {
      const file = unit(u.name).file;
      return file !== undefined && !ownedBy(file, app.name, instance) ? [{ name: u.name, file }] : [];
    });
    if (!foreign.length) continue;
    const one = foreign.length === 1;
    const names = foreign.map((u) => u.name).join(', ');
    const other = foreign.find((u) => u.file.owner !== undefined)?.file;
    const whose = other
      ? other.owner === app.name
        ? `managed by another appsd (X-Appsd-Instance=${other.instance ?? '?'}, with another state directory)`
        : `marked as app "${other.owner}"'s`
      : 'not managed by appsd (no X-Appsd-App= line)';
    blocked.set(app.name, `${names} already exist${one ? 's' : ''} and ${one ? 'is' : 'are'} ${whose}; appsd leaves ${one ? 'it' : 'them'} alone: rename the app or remove the unit`);
  }
  for (let changed = blocked.size > 0; changed; ) {
    changed = false;
    for (const app of desired) {
      const need = blocked.has(app.name) ? undefined : app.app.needs.find((n) => blocked.has(n));
      if (need === undefined) continue;
      blocked.set(app.name, `it needs ${need}, which cannot be applied now; it keeps its last applied units`);
      changed = true;
    }
  }
  return blocked;
}

/**
 * Stop, disable and delete units of an app (or units an app no longer has).
 * A unit whose file is no longer this appsd's (replaced by hand with one of
 * the user's own, or taken by another appsd) is left alone entirely.
 */
function removeUnits(app: string, names: readonly string[], reason: RemovalReason, phases: Phases, observed: Observed, instance: string | undefined): void {
  // Socket first, so no new connection starts what is being stopped.
  const rank = (unit: string) => ({ socket: 0, service: 1, backend: 2 } as const)[unitRole(app, unit) ?? 'service'];
  const ordered = [...names].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1));
  for (const name of ordered) {
    const u = observed.units.get(name) ?? {};
    if (u.file && !ownedBy(u.file, app, instance)) continue;
    const loaded = u.status && u.status.loadState !== 'not-found';
    if (!observed.online || (loaded && (ACTIVE.has(u.status!.activeState) || u.status!.activeState === 'failed'))) {
      phases.teardown.push({ kind: 'stop', app, unit: name, reason });
    }
    if (unitRole(app, name) === 'socket' && (!observed.online || u.enablement === 'enabled')) phases.teardown.push({ kind: 'disable', app, unit: name, reason });
    if (u.file) phases.deletes.push({ kind: 'delete', app, unit: name, reason, before: u.file.text });
  }
}

/** The host ports allocated for the app, as the inventory keeps them: the main one, and the others by backend port. */
function inventoryPorts(app: DesiredApp): Pick<InventoryApp, 'port' | 'ports'> {
  let port: number | undefined;
  const ports: Record<string, number> = {};
  for (const [key, host] of app.allocated) {
    if (key === app.name) port = host;
    else ports[key.slice(app.name.length + 1)] = host;
  }
  return { ...(port !== undefined && { port }), ...(Object.keys(ports).length > 0 && { ports }) };
}

/**
 * The networks an app joins: those missing are created (labelled as this
 * appsd's). Returns the ones appsd created, for the inventory; a network
 * someone else created is joined but never recorded, so never removed.
 */
function joinNetworks(app: DesiredApp, observed: Observed, instance: string | undefined, phases: Phases): string[] {
  if (!observed.networks) return [];
  const ours: string[] = [];
  for (const network of app.networks) {
    if (!observed.networks.has(network)) {
      if (!phases.networks.some((a) => a.network === network)) phases.networks.push({ kind: 'create-network', app: app.name, network, reason: 'network-missing' });
      ours.push(network);
    } else if (observed.networks.get(network) === networkOwner(instance)) {
      ours.push(network);
    }
  }
  return ours;
}

/** The label value of networks this appsd creates. */
export function networkOwner(instance: string | undefined): string {
  return instance ?? 'appsd';
}

/**
 * Networks appsd created that no app joins any more (not a desired app, nor
 * one kept or refused with its last applied units) are removed, once their
 * containers have stopped.
 */
function pruneNetworks(desired: readonly DesiredApp[], next: Record<string, InventoryApp>, observed: Observed, instance: string | undefined, phases: Phases): void {
  if (!observed.networks) return;
  const joined = new Set<string>();
  for (const d of desired) for (const n of d.networks) joined.add(n);
  for (const entry of Object.values(next)) for (const n of entry.networks ?? []) joined.add(n);
  const seen = new Set<string>();
  for (const [app, entry] of Object.entries(observed.inventory.apps).sort(([a], [b]) => (a < b ? -1 : 1))) {
    for (const network of entry.networks ?? []) {
      if (joined.has(network) || seen.has(network) || observed.networks.get(network) !== networkOwner(instance)) continue;
      seen.add(network);
      phases.prune.push({ kind: 'remove-network', app, network, reason: 'network-unused' });
    }
  }
}

function listenSideChanged(before: string, after: string): boolean {
  const socketSection = (text: string) => {
    try {
      return JSON.stringify(UnitFile.parse(text).sections.filter((s) => s.name === 'Socket'));
    } catch {
      return text;
    }
  };
  return socketSection(before) !== socketSection(after);
}

/** Stable: within a phase, actions by kind, then in the order planned. */
function byKind<A extends { kind: string }>(actions: readonly A[], order: ReadonlyArray<A['kind']>): A[] {
  return actions
    .map((a, i) => ({ a, i }))
    .sort((x, y) => order.indexOf(x.a.kind) - order.indexOf(y.a.kind) || x.i - y.i)
    .map(({ a }) => a);
}
