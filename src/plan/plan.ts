// plan(desired, observed) -> Plan. Pure: no I/O, deterministic order. `diff`
// prints the plan; `apply` executes exactly that plan.
import type { DesiredApp } from '../render/desired.js';
import { needsAllocatedBackend } from '../render/ports.js';
import type { Inventory, InventoryApp } from '../state/inventory.js';
import { UnitFile } from '../unit/unitfile.js';
import type { Observed, ObservedUnit } from './observed.js';

export type ActionKind = 'stop' | 'disable' | 'write' | 'delete' | 'enable' | 'reload' | 'reset-failed' | 'restart' | 'start';

export interface Action {
  readonly kind: ActionKind;
  /** Undefined only for the daemon-reload, which serves every app. */
  readonly app?: string;
  readonly unit?: string;
  readonly reason: string;
  /** For write and delete: the file's text before (undefined: new) and after (undefined: deleted). */
  readonly before?: string;
  readonly after?: string;
}

export interface PlanError {
  readonly app: string;
  readonly message: string;
}

export interface Plan {
  readonly online: boolean;
  readonly actions: Action[];
  /** Apps that cannot be converged (a unit name taken by a unit appsd does not own). */
  readonly errors: PlanError[];
  /** Apps kept as last applied because their manifest is invalid. */
  readonly kept: string[];
  /** The inventory once every action has succeeded. */
  readonly inventory: Inventory;
}

export interface PlanInput {
  readonly desired: readonly DesiredApp[];
  /** Apps whose manifest exists but is invalid: their units stay as last applied. */
  readonly protectedApps: ReadonlySet<string>;
  readonly observed: Observed;
}

const ACTIVE = new Set(['active', 'activating', 'reloading', 'deactivating']);

// Execution order: what must happen before files change, the file changes,
// one reload, stops of services running an old definition, then what needs
// the new definitions.
const ORDER: ActionKind[] = ['stop', 'disable', 'write', 'delete', 'enable', 'reload', 'reset-failed', 'restart', 'start'];
const PRE_RELOAD: ActionKind[] = ['stop', 'disable', 'write', 'delete', 'enable'];

export function plan({ desired, protectedApps, observed }: PlanInput): Plan {
  const actions: Action[] = [];
  const late: Action[] = []; // stops of changed services: after the reload
  const errors: PlanError[] = [];
  const inventoryApps: Record<string, InventoryApp> = {};
  const unit = (name: string): ObservedUnit => observed.units.get(name) ?? {};
  const desiredNames = new Set(desired.map((d) => d.name));

  for (const app of desired) {
    const foreign = app.units.filter((u) => {
      const file = unit(u.name).file;
      return file !== undefined && file.owner === undefined;
    });
    if (foreign.length) {
      errors.push({
        app: app.name,
        message: `${foreign.map((u) => u.name).join(', ')} already exist${foreign.length === 1 ? 's' : ''} and ${foreign.length === 1 ? 'is' : 'are'} not managed by appsd (no X-Appsd-App= line); appsd leaves ${foreign.length === 1 ? 'it' : 'them'} alone: rename the app or remove the unit`,
      });
      const previous = observed.inventory.apps[app.name];
      if (previous) inventoryApps[app.name] = previous;
      continue;
    }
    const previous = observed.inventory.apps[app.name];
    const isNew = !previous;
    const writes = new Map<string, Action>();
    for (const u of app.units) {
      const before = unit(u.name).file?.text;
      if (before === u.text) continue;
      const reason = before === undefined ? (isNew ? 'new app' : 'unit file missing') : 'unit file differs from the manifest';
      const write: Action = { kind: 'write', app: app.name, unit: u.name, reason, ...(before !== undefined && { before }), after: u.text };
      writes.set(u.name, write);
      actions.push(write);
    }
    // Units the app had before but no longer needs (e.g. proxy -> native).
    const stale = (previous?.units ?? []).filter((n) => !app.units.some((u) => u.name === n));
    removeUnits(app.name, stale, 'no longer part of the app', actions, observed);

    const socketName = `appsd-${app.name}.socket`;
    const socket = unit(socketName);
    const socketWrite = writes.get(socketName);
    if (observed.online) {
      if (socket.enablement !== 'enabled') actions.push({ kind: 'enable', app: app.name, unit: socketName, reason: socket.enablement ? `socket is ${socket.enablement}` : 'new socket' });
      const state = socket.status?.activeState;
      if (state === 'failed') {
        actions.push({ kind: 'reset-failed', app: app.name, unit: socketName, reason: `socket failed (${socket.status!.subState})` });
        actions.push({ kind: 'start', app: app.name, unit: socketName, reason: 'socket is not listening' });
      } else if (!state || !ACTIVE.has(state)) {
        actions.push({ kind: 'start', app: app.name, unit: socketName, reason: socketWrite && !socketWrite.before ? 'new socket' : 'socket is not listening' });
      } else if (socketWrite?.before !== undefined && listenSideChanged(socketWrite.before, socketWrite.after!)) {
        actions.push({ kind: 'restart', app: app.name, unit: socketName, reason: 'listen address changed' });
      }
      for (const u of app.units) {
        if (u.name === socketName) continue;
        const written = writes.get(u.name)?.before !== undefined;
        const running = ACTIVE.has(unit(u.name).status?.activeState ?? '');
        if (written && running) late.push({ kind: 'stop', app: app.name, unit: u.name, reason: 'running with the old definition; the next connection starts the new one' });
      }
    } else if (isNew) {
      actions.push({ kind: 'enable', app: app.name, unit: socketName, reason: 'new socket' });
      actions.push({ kind: 'start', app: app.name, unit: socketName, reason: 'new socket' });
    }
    inventoryApps[app.name] = {
      manifest: app.app.file,
      units: app.units.map((u) => u.name),
      ...(needsAllocatedBackend(app.app) && app.backend && { port: app.backend.port }),
    };
  }

  const kept: string[] = [];
  for (const [name, entry] of Object.entries(observed.inventory.apps).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (desiredNames.has(name)) continue;
    if (protectedApps.has(name)) {
      kept.push(name);
      inventoryApps[name] = entry;
      continue;
    }
    removeUnits(name, entry.units, 'manifest removed', actions, observed);
  }

  // One reload for any number of changed apps, after every file change and
  // before anything that needs the new definitions.
  const before = sortActions(actions.filter((a) => PRE_RELOAD.includes(a.kind)));
  const after = sortActions(actions.filter((a) => !PRE_RELOAD.includes(a.kind)));
  const reload: Action[] = before.some((a) => a.kind !== 'stop') ? [{ kind: 'reload', reason: 'unit files changed' }] : [];
  return {
    online: observed.online,
    actions: [...before, ...reload, ...late, ...after],
    errors,
    kept,
    inventory: { version: 1, apps: inventoryApps },
  };
}

/**
 * Stop, disable and delete units of an app (or units an app no longer has).
 * Only files that carry appsd's marker are deleted: a unit replaced by hand
 * with one of the user's own is left alone.
 */
function removeUnits(app: string, names: readonly string[], reason: string, actions: Action[], observed: Observed): void {
  // Socket first, so no new connection starts what is being stopped.
  const ordered = [...names].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1));
  for (const name of ordered) {
    const u = observed.units.get(name) ?? {};
    const loaded = u.status && u.status.loadState !== 'not-found';
    if (!observed.online || (loaded && (ACTIVE.has(u.status!.activeState) || u.status!.activeState === 'failed'))) {
      actions.push({ kind: 'stop', app, unit: name, reason });
    }
    if (name.endsWith('.socket') && (!observed.online || u.enablement === 'enabled')) actions.push({ kind: 'disable', app, unit: name, reason });
    if (u.file && u.file.owner !== undefined) actions.push({ kind: 'delete', app, unit: name, reason, before: u.file.text });
  }
}

function rank(name: string): number {
  return name.endsWith('.socket') ? 0 : name.endsWith('-backend.service') ? 2 : 1;
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

function sortActions(actions: Action[]): Action[] {
  // Stable: within a kind, the order the planner produced (apps by name).
  return actions
    .map((a, i) => ({ a, i }))
    .sort((x, y) => ORDER.indexOf(x.a.kind) - ORDER.indexOf(y.a.kind) || x.i - y.i)
    .map(({ a }) => a);
}
