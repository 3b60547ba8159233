// The planner's rules, with a fake observed state built by hand.
import test from 'ava';
import type { Observed, ObservedUnit } from '../../src/plan/observed.js';
import type { Action } from '../../src/plan/actions.js';
import { plan } from '../../src/plan/plan.js';
import type { UnitStatus } from '../../src/plan/systemd-port.js';
import { EMPTY_INVENTORY, type Inventory } from '../../src/plan/inventory.js';
import { render } from '../helpers/fixtures.js';

const app = (name: string, port: number, body = 'v1') =>
  `name: ${name}\nlisten: 127.0.0.1:${port}\nbackend: 127.0.0.1:${port + 1}\nexec:\n  command: [/bin/echo, ${body}]\n`;

const status = (name: string, activeState: string, subState = activeState === 'active' ? 'running' : 'dead'): UnitStatus => ({
  name,
  loadState: 'loaded',
  activeState,
  subState,
});

/** Observed state in which the given apps were applied and are healthy (sockets enabled and listening). */
function applied(files: Record<string, string>, tweak: (units: Map<string, ObservedUnit>) => void = () => {}): Observed {
  const units = new Map<string, ObservedUnit>();
  const apps: Record<string, Inventory['apps'][string]> = {};
  for (const d of render(files).apps) {
    for (const u of d.units) {
      const socket = u.name.endsWith('.socket');
      units.set(u.name, {
        file: { text: u.text, owner: d.name },
        status: status(u.name, socket ? 'active' : 'inactive', socket ? 'listening' : 'dead'),
        ...(socket && { enablement: 'enabled' }),
      });
    }
    apps[d.name] = { manifest: d.app.file, units: d.units.map((u) => u.name) };
  }
  tweak(units);
  return { online: true, units, inventory: { version: 1, apps } };
}

const summary = (actions: readonly Action[]) => actions.map((a) => (a.kind === 'reload' ? a.kind : `${a.kind} ${'unit' in a ? a.unit : a.network}`));
const appOf = (a: Action) => (a.kind === 'reload' ? undefined : a.app);
const outcomes = (p: ReturnType<typeof plan>) => Object.fromEntries(p.apps.map((a) => [a.app, a.outcome]));
const NONE = new Set<string>();

test('a new app: write its units, enable, one reload, start its socket', (t) => {
  const p = plan({ desired: render({ 'a.yaml': app('a', 8000) }).apps, protectedApps: NONE, observed: { online: true, units: new Map(), inventory: EMPTY_INVENTORY } });
  t.deepEqual(summary(p.actions), [
    'write appsd-a.socket', 'write appsd-a.service', 'write appsd-a-backend.service', 'enable appsd-a.socket', 'reload', 'start appsd-a.socket',
  ]);
  t.deepEqual(p.inventory.apps['a']?.units, ['appsd-a.socket', 'appsd-a.service', 'appsd-a-backend.service']);
});

test('nothing changed: an empty plan, so no write and no reload', (t) => {
  const files = { 'a.yaml': app('a', 8000), 'b.yaml': app('b', 8010) };
  const p = plan({ desired: render(files).apps, protectedApps: NONE, observed: applied(files) });
  t.deepEqual(p.actions, []);
  t.deepEqual(p.phases, []);
  t.deepEqual(outcomes(p), { a: 'unchanged', b: 'unchanged' });
});

test('a changed app: rewrite what changed; a running backend is stopped after the reload, a stopped one left alone', (t) => {
  const before = { 'a.yaml': app('a', 8000, 'v1'), 'b.yaml': app('b', 8010, 'v1') };
  const after = { 'a.yaml': app('a', 8000, 'v2'), 'b.yaml': app('b', 8010, 'v2') };
  const observed = applied(before, (units) => units.set('appsd-a-backend.service', { ...units.get('appsd-a-backend.service')!, status: status('appsd-a-backend.service', 'active') }));
  const p = plan({ desired: render(after).apps, protectedApps: NONE, observed });
  t.deepEqual(summary(p.actions), ['write appsd-a-backend.service', 'write appsd-b-backend.service', 'reload', 'stop appsd-a-backend.service']);
});

test('a changed listen address restarts the socket; a changed description does not', (t) => {
  const before = { 'a.yaml': app('a', 8000) };
  const moved = plan({ desired: render({ 'a.yaml': app('a', 8000).replace('listen: 127.0.0.1:8000', 'listen: 127.0.0.1:8100') }).apps, protectedApps: NONE, observed: applied(before) });
  t.deepEqual(summary(moved.actions), ['write appsd-a.socket', 'reload', 'restart appsd-a.socket']);
  const described = plan({ desired: render({ 'a.yaml': `description: new words\n${app('a', 8000)}` }).apps, protectedApps: NONE, observed: applied(before) });
  t.false(described.actions.some((a) => a.kind === 'restart'));
});

test('a removed manifest: stop, disable, delete, one reload, and out of the inventory', (t) => {
  const files = { 'a.yaml': app('a', 8000), 'b.yaml': app('b', 8010) };
  const observed = applied(files, (units) => units.set('appsd-b-backend.service', { ...units.get('appsd-b-backend.service')!, status: status('appsd-b-backend.service', 'active') }));
  const p = plan({ desired: render({ 'a.yaml': app('a', 8000) }).apps, protectedApps: NONE, observed });
  t.deepEqual(summary(p.actions), [
    'stop appsd-b.socket', 'stop appsd-b-backend.service', 'disable appsd-b.socket',
    'delete appsd-b.socket', 'delete appsd-b.service', 'delete appsd-b-backend.service', 'reload',
  ]);
  t.deepEqual(Object.keys(p.inventory.apps), ['a']);
});

test('an invalid manifest keeps its units exactly as last applied', (t) => {
  const files = { 'a.yaml': app('a', 8000), 'b.yaml': app('b', 8010) };
  const p = plan({ desired: render({ 'a.yaml': app('a', 8000) }).apps, protectedApps: new Set(['b']), observed: applied(files) });
  t.deepEqual(p.actions, []);
  t.deepEqual(outcomes(p), { a: 'unchanged', b: 'kept' });
  t.deepEqual(Object.keys(p.inventory.apps).sort(), ['a', 'b']);
});

test('a unit name taken by a unit without the marker: that app fails, nothing of it is touched, others converge', (t) => {
  const units = new Map<string, ObservedUnit>([['appsd-a.socket', { file: { text: '[Socket]\nListenStream=1\n', owner: undefined } }]]);
  const p = plan({
    desired: render({ 'a.yaml': app('a', 8000), 'b.yaml': app('b', 8010) }).apps,
    protectedApps: NONE,
    observed: { online: true, units, inventory: EMPTY_INVENTORY },
  });
  t.deepEqual(outcomes(p), { a: 'failed', b: 'created' });
  t.regex(p.apps[0]!.error!, /appsd-a.socket already exists and is not managed by appsd/);
  t.false(p.actions.some((a) => appOf(a) === 'a'));
  t.true(p.actions.some((a) => appOf(a) === 'b' && a.kind === 'write'));
  t.false('a' in p.inventory.apps);
});

test('removal never deletes a file that lost its marker', (t) => {
  const files = { 'a.yaml': app('a', 8000) };
  const observed = applied(files, (units) => units.set('appsd-a.service', { file: { text: '[Service]\nExecStart=/bin/mine\n', owner: undefined } }));
  const p = plan({ desired: [], protectedApps: NONE, observed });
  t.false(p.actions.some((a) => a.kind === 'delete' && a.unit === 'appsd-a.service'));
  t.true(p.actions.some((a) => a.kind === 'delete' && a.unit === 'appsd-a.socket'));
});

test('drift: a failed socket is reset and started, a stopped one started, a disabled one enabled', (t) => {
  const files = { 'a.yaml': app('a', 8000), 'b.yaml': app('b', 8010), 'c.yaml': app('c', 8020) };
  const observed = applied(files, (units) => {
    units.set('appsd-a.socket', { ...units.get('appsd-a.socket')!, status: status('appsd-a.socket', 'failed', 'failed') });
    units.set('appsd-b.socket', { ...units.get('appsd-b.socket')!, status: status('appsd-b.socket', 'inactive') });
    units.set('appsd-c.socket', { ...units.get('appsd-c.socket')!, enablement: 'disabled' });
  });
  const p = plan({ desired: render(files).apps, protectedApps: NONE, observed });
  t.deepEqual(summary(p.actions), ['enable appsd-c.socket', 'reload', 'reset-failed appsd-a.socket', 'start appsd-a.socket', 'start appsd-b.socket']);
});

test('a unit edited by hand is rewritten', (t) => {
  const files = { 'a.yaml': app('a', 8000) };
  const observed = applied(files, (units) => {
    const u = units.get('appsd-a.service')!;
    units.set('appsd-a.service', { ...u, file: { text: u.file!.text.replace('1min', '5s'), owner: 'a' } });
  });
  const p = plan({ desired: render(files).apps, protectedApps: NONE, observed });
  t.deepEqual(summary(p.actions), ['write appsd-a.service', 'reload']);
  t.is(p.actions[0]!.reason, 'unit-differs');
  t.deepEqual(outcomes(p), { a: 'configured' });
});

test('any number of changed apps costs one reload', (t) => {
  const files = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`a${i}.yaml`, app(`a${i}`, 10000 + i * 2)]));
  const p = plan({ desired: render(files).apps, protectedApps: NONE, observed: { online: true, units: new Map(), inventory: EMPTY_INVENTORY } });
  t.is(p.actions.filter((a) => a.kind === 'reload').length, 1);
  t.is(p.actions.filter((a) => a.kind === 'start').length, 50);
});

test('switching to native activation stops and deletes the backend unit it no longer has', (t) => {
  const before = { 'a.yaml': app('a', 8000) };
  const native = { 'a.yaml': 'name: a\nlisten: 127.0.0.1:8000\nactivation: native\nexec:\n  command: [/bin/echo]\n' };
  const observed = applied(before, (units) => units.set('appsd-a-backend.service', { ...units.get('appsd-a-backend.service')!, status: status('appsd-a-backend.service', 'active') }));
  const p = plan({ desired: render(native).apps, protectedApps: NONE, observed });
  // The socket changes too (FlushPending= is a proxy-mode setting), so it restarts.
  t.deepEqual(summary(p.actions), [
    'stop appsd-a-backend.service', 'write appsd-a.socket', 'write appsd-a.service', 'delete appsd-a-backend.service', 'reload', 'restart appsd-a.socket',
  ]);
});

test('offline: files are compared, and a new app is assumed to need enabling and starting', (t) => {
  const p = plan({ desired: render({ 'a.yaml': app('a', 8000) }).apps, protectedApps: NONE, observed: { online: false, units: new Map(), inventory: EMPTY_INVENTORY } });
  t.false(p.online);
  t.deepEqual(summary(p.actions).slice(-3), ['enable appsd-a.socket', 'reload', 'start appsd-a.socket']);
});

const netApp = (name: string, port: number, networks: string[]) =>
  `name: ${name}\nlisten: 127.0.0.1:${port}\ncontainer:\n  image: localhost/x\n  port: 80\n  network: ${JSON.stringify(networks)}\n`;

test('networks: a missing one is created before the units, once for all the apps that join it; one someone else made is joined, never recorded', (t) => {
  const desired = render({ 'a.yaml': netApp('a', 8100, ['shared', 'theirs']), 'b.yaml': netApp('b', 8110, ['shared']) }).apps;
  const observed: Observed = { online: true, units: new Map(), inventory: EMPTY_INVENTORY, networks: new Map([['theirs', undefined], ['podman', undefined]]) };
  const p = plan({ desired, protectedApps: NONE, observed, instance: 'i1' });
  t.is(p.phases[0]!.kind, 'networks');
  t.deepEqual(summary(p.phases[0]!.actions), ['create-network shared']);
  t.deepEqual(p.inventory.apps['a']!.networks, ['shared']);
  t.deepEqual(p.inventory.apps['b']!.networks, ['shared']);
  // Once it exists (labelled as this instance's), nothing to do.
  const after: Observed = { ...observed, networks: new Map([['theirs', undefined], ['shared', 'i1']]) };
  t.false(plan({ desired, protectedApps: NONE, observed: after, instance: 'i1' }).actions.some((a) => a.kind === 'create-network'));
});

test('networks: removed once no app joins them, after the containers stopped; never one another appsd or a person created', (t) => {
  const inventory: Inventory = {
    version: 1,
    apps: {
      a: { manifest: '/x/a.yaml', units: [], networks: ['mine', 'other-instance'] },
      b: { manifest: '/x/b.yaml', units: [], networks: ['mine', 'kept'] },
    },
  };
  const networks = new Map([['mine', 'i1'], ['other-instance', 'i2'], ['kept', 'i1']]);
  // b's manifest is invalid: it keeps its units, and its network.
  const p = plan({ desired: [], protectedApps: new Set(['b']), observed: { online: true, units: new Map(), inventory, networks }, instance: 'i1' });
  t.deepEqual(summary(p.actions.filter((a) => a.kind === 'remove-network')), []);
  const p2 = plan({ desired: [], protectedApps: NONE, observed: { online: true, units: new Map(), inventory, networks }, instance: 'i1' });
  const removals = p2.actions.filter((a) => a.kind === 'remove-network');
  t.deepEqual(summary(removals), ['remove-network mine', 'remove-network kept']);
  t.is(p2.phases.at(-1)!.kind, 'prune');
  // Not observed (offline, or no app ever joined a network): no network actions at all.
  const offline = plan({ desired: [], protectedApps: NONE, observed: { online: false, units: new Map(), inventory }, instance: 'i1' });
  t.false(offline.actions.some((a) => a.kind === 'remove-network'));
});
