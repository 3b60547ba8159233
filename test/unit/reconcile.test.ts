// The reconciler and execute against real files and a fake systemd: what
// only the slow tier covered before (failure isolation, the enable fallback,
// the inventory merge, phases run as planned), in milliseconds.
import test from 'ava';
import { existsSync, mkdirSync, readFileSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Reconciler } from '../../src/reconcile/reconciler.js';
import { ManifestDirectory } from '../../src/fs/manifest-dir.js';
import { StateStore } from '../../src/fs/state-store.js';
import { UnitDirectory } from '../../src/fs/unit-dir.js';
import { DEFAULT_RENDER_OPTIONS, renderOptionsFor } from '../../src/render/options.js';
import { describeAction } from '../../src/plan/format.js';
import { withLateProblems } from '../../src/manifest/load.js';
import { APPS_DIR, load } from '../helpers/fixtures.js';
import { echoApp, tempDirs, type Dirs } from '../helpers/dirs.js';
import { FakeSystemd, jobFailed } from '../helpers/fake-systemd.js';

function setup(t: { teardown(fn: () => void): void }): { dirs: Dirs; systemd: FakeSystemd; reconciler: Reconciler } {
  const dirs = tempDirs();
  t.teardown(() => dirs.cleanup());
  return { dirs, systemd: new FakeSystemd(), reconciler: Reconciler.forDirectories(dirs, DEFAULT_RENDER_OPTIONS) };
}

const CHANGING = /^(reload|enable|disable|resetFailed|start|stop|restart)\b/;
const changes = (systemd: FakeSystemd) => systemd.calls.filter((c) => CHANGING.test(c));

test('a new app converges with one reload; the next pass writes nothing and changes nothing', async (t) => {
  const { dirs, systemd, reconciler } = setup(t);
  dirs.write('a.yaml', echoApp('a', 8000));
  const first = await reconciler.apply(systemd);
  t.deepEqual(first.executed?.apps, [{ app: 'a', outcome: 'created' }]);
  t.deepEqual(changes(systemd), ['enable appsd-a.socket', 'reload', 'start appsd-a.socket']);
  t.deepEqual(dirs.unitFiles(), ['appsd-a-backend.service', 'appsd-a.service', 'appsd-a.socket']);
  const mtime = readFileSync(join(dirs.stateDir, 'inventory.json'), 'utf8');
  systemd.reset();
  const second = await reconciler.apply(systemd);
  t.is(second.executed, undefined);
  t.deepEqual(second.plan.apps, [{ app: 'a', outcome: 'unchanged' }]);
  t.deepEqual(changes(systemd), []);
  t.is(readFileSync(join(dirs.stateDir, 'inventory.json'), 'utf8'), mtime);
});

test('systemd is asked whether a socket is enabled only where it may be: not for a new one, but for a masked one or a file of ours without its link', async (t) => {
  const { dirs, systemd, reconciler } = setup(t);
  for (const n of ['a', 'b', 'c']) dirs.write(`${n}.yaml`, echoApp(n, 8000 + n.charCodeAt(0) * 10));
  systemd.loadStates.set('appsd-b.socket', 'masked');
  await reconciler.apply(systemd);
  // a and c are new: no file anywhere, systemd cannot find them; b is masked.
  t.deepEqual(systemd.calls.filter((c) => c.startsWith('unitFileState')), ['unitFileState appsd-b.socket']);
  // Applied (the fake makes no links: b and c get theirs as systemd would);
  // a, without its link (disabled by hand), is asked about, and enabled.
  systemd.loadStates.delete('appsd-b.socket');
  mkdirSync(join(dirs.unitDir, 'sockets.target.wants'));
  for (const n of ['b', 'c']) symlinkSync(`../appsd-${n}.socket`, join(dirs.unitDir, 'sockets.target.wants', `appsd-${n}.socket`));
  systemd.units.get('appsd-a.socket')!.enablement = 'disabled';
  systemd.reset();
  await reconciler.apply(systemd);
  t.deepEqual(systemd.calls.filter((c) => c.startsWith('unitFileState')).sort(), ['unitFileState appsd-a.socket']);
  t.true(systemd.calls.includes('enable appsd-a.socket'));
});

test('execute runs the phases in the order the plan lists them, each action once', async (t) => {
  const { dirs, systemd, reconciler } = setup(t);
  dirs.write('a.yaml', echoApp('a', 8000));
  await reconciler.apply(systemd);
  // Change the app and have its backend running: update, reload, stop the old definition.
  systemd.units.set('appsd-a-backend.service', { activeState: 'active', subState: 'running' });
  dirs.write('a.yaml', echoApp('a', 8000, 'v2'));
  systemd.reset();
  const outcome = await reconciler.apply(systemd);
  t.deepEqual(outcome.plan.phases.map((p) => p.kind), ['files', 'reload', 'activate']);
  t.deepEqual(outcome.executed!.results.map((r) => describeAction(r.action)), outcome.plan.actions.map(describeAction));
  t.deepEqual(changes(systemd), ['reload', 'stop appsd-a-backend.service']);
  t.deepEqual(outcome.executed!.apps, [{ app: 'a', outcome: 'configured' }]);
});

test('a plan without file changes still runs: a socket stopped by hand is started, with no reload', async (t) => {
  const { dirs, systemd, reconciler } = setup(t);
  dirs.write('a.yaml', echoApp('a', 8000));
  await reconciler.apply(systemd);
  systemd.units.set('appsd-a.socket', { activeState: 'inactive', subState: 'dead', enablement: 'enabled' });
  systemd.reset();
  const outcome = await reconciler.apply(systemd);
  t.deepEqual(changes(systemd), ['start appsd-a.socket']);
  t.true(outcome.executed!.results.every((r) => r.ok));
  t.is(systemd.units.get('appsd-a.socket')?.activeState, 'active');
});

test('one app failing does not stop the others: enable falls back to one call per socket, the failed app skips the rest', async (t) => {
  const { dirs, systemd, reconciler } = setup(t);
  dirs.write('a.yaml', echoApp('a', 8000));
  dirs.write('b.yaml', echoApp('b', 8010));
  systemd.failWhen = (method, units) => (method === 'enable' && units.includes('appsd-a.socket') ? new Error('Unit file appsd-a.socket is masked.') : undefined);
  const lines: string[] = [];
  const outcome = await reconciler.apply(systemd, { onResult: (r) => lines.push(`${describeAction(r.action)}${r.skipped ? ' SKIPPED' : r.ok ? '' : ' FAILED'}`) });
  t.deepEqual(changes(systemd), ['enable appsd-a.socket appsd-b.socket', 'enable appsd-a.socket', 'enable appsd-b.socket', 'reload', 'start appsd-b.socket']);
  t.true(lines.includes('+ enable appsd-a.socket (a: new socket) FAILED'));
  t.true(lines.includes('+ start appsd-a.socket (a: new socket) SKIPPED'));
  t.deepEqual(outcome.executed!.apps, [
    { app: 'a', outcome: 'failed', error: 'enable appsd-a.socket: Unit file appsd-a.socket is masked.' },
    { app: 'b', outcome: 'created' },
  ]);
  // The next pass retries what failed, and only that.
  systemd.failWhen = () => undefined;
  systemd.reset();
  const retry = await reconciler.apply(systemd);
  t.deepEqual(changes(systemd), ['enable appsd-a.socket', 'reload', 'start appsd-a.socket']);
  t.deepEqual(retry.executed!.apps.map((a) => a.outcome), ['configured', 'unchanged']);
});

test('an app whose removal fails stays in the inventory, and the next pass removes it', async (t) => {
  const { dirs, systemd, reconciler } = setup(t);
  dirs.write('a.yaml', echoApp('a', 8000));
  dirs.write('b.yaml', echoApp('b', 8010));
  await reconciler.apply(systemd);
  dirs.remove('b.yaml');
  systemd.failWhen = (method, units) => (method === 'stop' && units[0] === 'appsd-b.socket' ? jobFailed('appsd-b.socket', 'stop') : undefined);
  const failed = await reconciler.apply(systemd);
  t.deepEqual(failed.executed!.apps.map((a) => `${a.app} ${a.outcome}`), ['a unchanged', 'b failed']);
  const inventory = JSON.parse(readFileSync(join(dirs.stateDir, 'inventory.json'), 'utf8')) as { apps: Record<string, unknown> };
  t.deepEqual(Object.keys(inventory.apps), ['a', 'b']);
  t.true(existsSync(join(dirs.unitDir, 'appsd-b.socket')), 'nothing of b was deleted after its stop failed');
  systemd.failWhen = () => undefined;
  const retried = await reconciler.apply(systemd);
  t.deepEqual(retried.executed!.apps.map((a) => `${a.app} ${a.outcome}`), ['a unchanged', 'b removed']);
  t.deepEqual(dirs.unitFiles(), ['appsd-a-backend.service', 'appsd-a.service', 'appsd-a.socket']);
});

test('a NUL byte in an environment value is refused at its place; the other apps converge', async (t) => {
  const { dirs, systemd, reconciler } = setup(t);
  dirs.write('bad.yaml', `${echoApp('bad', 8000)}  env:\n    TOKEN: "a\\0b"\n`);
  dirs.write('good.yaml', echoApp('good', 8010));
  const outcome = await reconciler.apply(systemd);
  const bad = outcome.load.manifests.find((m) => m.file.endsWith('bad.yaml'))!;
  t.is(bad.app, undefined);
  t.deepEqual(bad.diagnostics.map((d) => `${d.line}:${d.column} ${d.code} ${d.message}`), ['7:12 bad-value exec.env.TOKEN: must not contain a NUL byte: no environment variable can hold one']);
  t.deepEqual(outcome.executed!.apps, [{ app: 'good', outcome: 'created' }]);
});

test('a problem found while rendering makes that manifest invalid, at its field, and only that one', (t) => {
  const loaded = load({ 'a.yaml': echoApp('a', 8000) + '  env:\n    TOKEN: x\n', 'b.yaml': echoApp('b', 8010) });
  const result = withLateProblems(loaded, [{ file: `${APPS_DIR}/a.yaml`, path: ['exec', 'env', 'TOKEN'], code: 'unrenderable', message: 'cannot be written' }]);
  t.deepEqual(result.apps.map((a) => a.name), ['b']);
  t.deepEqual(result.diagnostics.map((d) => `${d.file.slice(APPS_DIR.length + 1)}:${d.line}:${d.column}: ${d.code}: ${d.message}`), ['a.yaml:7:12: unrenderable: exec.env.TOKEN: cannot be written']);
});

test('a corrupt inventory is a permanent error with the file named', async (t) => {
  const { dirs, systemd, reconciler } = setup(t);
  writeFileSync(join(dirs.stateDir, 'inventory.json'), '{"version": 7}');
  const error = await t.throwsAsync(reconciler.apply(systemd));
  t.regex(error!.message, /inventory\.json: unknown inventory format/);
});

test('a unit systemd refuses after the reload fails its app, with the reason; the others start', async (t) => {
  const { dirs, systemd, reconciler } = setup(t);
  dirs.write('a.yaml', echoApp('a', 8000));
  dirs.write('b.yaml', echoApp('b', 8010));
  systemd.loadStates.set('appsd-a-backend.service', 'bad-setting');
  const outcome = await reconciler.apply(systemd);
  t.deepEqual(outcome.executed!.apps, [
    { app: 'a', outcome: 'failed', error: 'systemd refuses appsd-a-backend.service (load state bad-setting); systemd-analyze verify appsd-a-backend.service says why' },
    { app: 'b', outcome: 'created' },
  ]);
  t.deepEqual(changes(systemd).filter((c) => c.startsWith('start')), ['start appsd-b.socket']);
});

test('a socket that cannot bind says why: the address is in use', async (t) => {
  const { dirs, systemd, reconciler } = setup(t);
  const { createServer } = await import('node:net');
  const squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  t.teardown(() => squatter.close());
  const port = (squatter.address() as { port: number }).port;
  dirs.write('a.yaml', `name: a\nlisten: 127.0.0.1:${port}\nbackend: 127.0.0.1:${port === 65535 ? 65534 : port + 1}\nexec:\n  command: [/bin/true]\n`);
  systemd.failWhen = (method, units) => (method === 'start' && units[0] === 'appsd-a.socket' ? jobFailed('appsd-a.socket') : undefined);
  const outcome = await reconciler.apply(systemd);
  t.regex(outcome.executed!.apps[0]!.error!, new RegExp(`start appsd-a\\.socket: start appsd-a\\.socket: job failed: 127\\.0\\.0\\.1:${port} is already in use by another program`));
});

test('two appsd sharing a unit directory never take or remove each other\'s units', async (t) => {
  const { dirs, systemd } = setup(t);
  const mine = Reconciler.forDirectories(dirs, renderOptionsFor('user', dirs.stateDir));
  const other = tempDirs();
  t.teardown(() => other.cleanup());
  const theirs = Reconciler.forDirectories({ ...other, unitDir: dirs.unitDir }, renderOptionsFor('user', other.stateDir));
  dirs.write('web.yaml', echoApp('web', 8000));
  other.write('web.yaml', echoApp('web', 8100, 'theirs'));
  await mine.apply(systemd);
  const before = readFileSync(join(dirs.unitDir, 'appsd-web.socket'), 'utf8');
  const clash = await theirs.apply(systemd);
  t.is(clash.plan.apps[0]!.outcome, 'failed');
  t.regex(clash.plan.apps[0]!.error!, /managed by another appsd \(X-Appsd-Instance=[0-9a-f]{16}/);
  t.is(readFileSync(join(dirs.unitDir, 'appsd-web.socket'), 'utf8'), before);
  // The other one, told its app is gone, removes nothing of ours either.
  other.remove('web.yaml');
  await theirs.apply(systemd);
  t.is(readFileSync(join(dirs.unitDir, 'appsd-web.socket'), 'utf8'), before);
});

test('after a crash: temporary files of dead writers are swept, a live writer\'s kept; a stale inventory is caught up without touching systemd', async (t) => {
  const { dirs, systemd, reconciler } = setup(t);
  dirs.write('a.yaml', echoApp('a', 8000));
  dirs.write('b.yaml', echoApp('b', 8010));
  await reconciler.apply(systemd);
  // An apply killed after removing b's units, before saving the inventory.
  dirs.remove('b.yaml');
  for (const unit of ['appsd-b.socket', 'appsd-b.service', 'appsd-b-backend.service']) unlinkSync(join(dirs.unitDir, unit));
  systemd.units.delete('appsd-b.socket');
  const dead = '.appsd-a.socket.appsd-tmp-999999-abcd1234';
  const live = `.appsd-a.socket.appsd-tmp-${process.pid}-abcd1234`;
  writeFileSync(join(dirs.unitDir, dead), 'half');
  writeFileSync(join(dirs.unitDir, live), 'in flight');
  writeFileSync(join(dirs.stateDir, '.inventory.json.appsd-tmp-999999-00ff'), '{');
  systemd.reset();
  const outcome = await reconciler.apply(systemd);
  t.is(outcome.plan.actions.length, 0);
  t.deepEqual(changes(systemd), []);
  const inventory = JSON.parse(readFileSync(join(dirs.stateDir, 'inventory.json'), 'utf8')) as { apps: Record<string, unknown> };
  t.deepEqual(Object.keys(inventory.apps), ['a']);
  t.false(existsSync(join(dirs.unitDir, dead)));
  t.true(existsSync(join(dirs.unitDir, live)));
  t.false(existsSync(join(dirs.stateDir, '.inventory.json.appsd-tmp-999999-00ff')));
});

test('a crafted inventory naming a path outside the unit directory is refused before any file operation', async (t) => {
  const { dirs, systemd, reconciler } = setup(t);
  const victim = join(dirs.root, 'victim.service');
  writeFileSync(victim, '[Unit]\nX-Appsd-App=x\n');
  writeFileSync(join(dirs.stateDir, 'inventory.json'), JSON.stringify({ version: 1, apps: { x: { manifest: '/m.yaml', units: ['../victim.service'] } } }));
  const error = await t.throwsAsync(reconciler.apply(systemd));
  t.regex(error!.message, /inventory\.json: app "x": lists unit "\.\.\/victim\.service", which is not one of its units/);
  t.true(existsSync(victim));
  t.deepEqual(changes(systemd), []);
});

test('unix listen paths: never on an existing file or a foreign socket, never in a system or shared directory; appsd\'s own socket is fine', async (t) => {
  const { dirs, systemd } = setup(t);
  const runtimeDir = join(dirs.root, 'run');
  mkdirSync(runtimeDir);
  const reconciler = new Reconciler({
    manifests: new ManifestDirectory(dirs.appsDir),
    units: new UnitDirectory(dirs.unitDir),
    state: new StateStore(dirs.stateDir),
    renderOptions: DEFAULT_RENDER_OPTIONS,
    runtimeDir,
  });
  let port = 9300;
  const unixApp = (name: string, path: string) => `name: ${name}\nlisten: ${path}\nbackend: 127.0.0.1:${port++}\nexec:\n  command: [/bin/true]\n`;
  const precious = join(dirs.root, 'precious.db');
  writeFileSync(precious, 'data');
  dirs.write('file.yaml', unixApp('file', precious));
  dirs.write('etc.yaml', unixApp('etc', '/etc/appsd-test.sock'));
  dirs.write('shared.yaml', unixApp('shared', '/tmp/appsd-test-shared.sock'));
  dirs.write('run.yaml', unixApp('run', `${runtimeDir}/app.sock`));
  dirs.write('mine.yaml', unixApp('mine', join(dirs.root, 'sockets', 'mine.sock')));
  const outcome = await reconciler.apply(systemd);
  const byApp = Object.fromEntries(outcome.executed!.apps.map((a) => [a.app, a.error ?? a.outcome]));
  t.regex(byApp['file']!, new RegExp(`listen: ${precious} is a file; appsd listens only on a path that does not exist yet`));
  t.regex(byApp['etc']!, /\/etc\/appsd-test\.sock would be created in \/etc, a system directory/);
  t.regex(byApp['shared']!, /would be created in \/tmp, a system directory/);
  t.is(byApp['run'], 'created');
  t.is(byApp['mine'], 'created');
  t.is(readFileSync(precious, 'utf8'), 'data');
  // Once systemd listens there, the socket is appsd's own: the next pass is quiet.
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(`${runtimeDir}/app.sock`, resolve));
  t.teardown(() => server.close());
  const again = await reconciler.apply(systemd);
  t.is(again.plan.apps.find((a) => a.app === 'run')?.outcome, 'unchanged');
  // A socket someone else made is not.
  const other = createServer();
  await new Promise<void>((resolve) => other.listen(join(runtimeDir, 'theirs.sock'), resolve));
  t.teardown(() => other.close());
  dirs.write('theirs.yaml', unixApp('theirs', join(runtimeDir, 'theirs.sock')));
  const third = await reconciler.apply(systemd);
  t.regex(third.plan.apps.find((a) => a.app === 'theirs')!.error!, /is a socket appsd did not create/);
});

test('a failed daemon-reload fails the apps that changed (nothing starts on old definitions) and is owed: the next pass reloads though no file differs', async (t) => {
  const { dirs, systemd, reconciler } = setup(t);
  dirs.write('a.yaml', echoApp('a', 8000));
  systemd.failWhen = (method) => (method === 'reload' ? new Error('Connection timed out') : undefined);
  const failed = await reconciler.apply(systemd);
  t.deepEqual(failed.executed!.apps.map((a) => `${a.app} ${a.outcome} ${a.error ?? ''}`), ['a failed daemon-reload failed: Connection timed out']);
  t.false(changes(systemd).some((c) => c.startsWith('start')));
  t.true((JSON.parse(readFileSync(join(dirs.stateDir, 'inventory.json'), 'utf8')) as { reloadPending?: boolean }).reloadPending);
  systemd.failWhen = () => undefined;
  systemd.reset();
  const retry = await reconciler.apply(systemd);
  t.deepEqual(retry.plan.actions.filter((a) => a.kind === 'write'), [], 'the files are already right');
  t.deepEqual(changes(systemd), ['reload', 'start appsd-a.socket']);
  t.is((JSON.parse(readFileSync(join(dirs.stateDir, 'inventory.json'), 'utf8')) as { reloadPending?: boolean }).reloadPending, undefined);
  systemd.reset();
  t.deepEqual((await reconciler.apply(systemd)).plan.actions, []);
});

test('units an app no longer has stay in the inventory until they are really gone', async (t) => {
  const { dirs, systemd, reconciler } = setup(t);
  dirs.write('a.yaml', echoApp('a', 8000));
  await reconciler.apply(systemd);
  systemd.units.set('appsd-a-backend.service', { activeState: 'active', subState: 'running' });
  // Switch to native: the backend unit goes; its stop fails this time.
  dirs.write('a.yaml', 'name: a\nlisten: 127.0.0.1:8000\nactivation: native\nexec:\n  command: [/bin/true]\n');
  systemd.failWhen = (method, units) => (method === 'stop' && units[0] === 'appsd-a-backend.service' ? jobFailed('appsd-a-backend.service', 'stop') : undefined);
  const failed = await reconciler.apply(systemd);
  t.is(failed.executed!.apps[0]!.outcome, 'failed');
  const units = () => (JSON.parse(readFileSync(join(dirs.stateDir, 'inventory.json'), 'utf8')) as { apps: { a: { units: string[] } } }).apps.a.units;
  t.true(units().includes('appsd-a-backend.service'));
  systemd.failWhen = () => undefined;
  await reconciler.apply(systemd);
  t.deepEqual(units(), ['appsd-a.socket', 'appsd-a.service']);
  t.false(existsSync(join(dirs.unitDir, 'appsd-a-backend.service')));
});

test('an inventory deleted by hand under a running controller is written again', async (t) => {
  const dirs = tempDirs();
  t.teardown(() => dirs.cleanup());
  const systemd = new FakeSystemd();
  const reconciler = Reconciler.forDirectories(dirs, DEFAULT_RENDER_OPTIONS, { cache: true });
  dirs.write('a.yaml', echoApp('a', 8000));
  await reconciler.apply(systemd);
  unlinkSync(join(dirs.stateDir, 'inventory.json'));
  await reconciler.apply(systemd);
  t.true(existsSync(join(dirs.stateDir, 'inventory.json')));
});
