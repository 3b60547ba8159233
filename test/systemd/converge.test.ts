// diff and apply against a real systemd user manager that the suite starts
// itself (never the host's), with exec apps serving HTTP through their sockets.
import anyTest, { type TestFn } from 'ava';
import { existsSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PrivateManager } from '../../src/sandbox/private-manager.js';
import { runCli } from '../helpers/cli.js';
import { workspace as makeWorkspace } from '../helpers/workspace.js';
import { activeState, get, ReloadCounter, systemctl, waitFor } from '../helpers/systemd.js';
import { privateManagerTier } from '../helpers/tier.js';
import { execApp, HELLO_SERVER } from '../helpers/apps.js';

const test = anyTest as TestFn<{ manager: PrivateManager }>;

privateManagerTier(test, 'real-systemd', registerTests);

const workspace = (t: { context: { manager: PrivateManager }; teardown: (fn: () => void) => void }) =>
  makeWorkspace(t.context.manager, (fn) => t.teardown(fn));

function fingerprint(path: string): string {
  const s = statSync(path, { bigint: true });
  return `${s.ino}:${s.mtimeNs}:${s.size}`;
}

function registerTests() {
  test.serial('a new app: diff shows it (exit 1), apply makes it answer through its socket, then diff is clean', async (t) => {
    const w = workspace(t);
    w.write('hello.yaml', execApp(18080, 18081, 'hello v1'));
    const diff = await w.appsd('diff');
    t.is(diff.code, 1, diff.stdout + diff.stderr);
    t.regex(diff.stdout, /^\+\+\+ .*appsd-hello\.socket$/m);
    t.regex(diff.stdout, /^\+ListenStream=127\.0\.0\.1:18080$/m);
    t.regex(diff.stdout, /\+ start appsd-hello\.socket \(hello: new socket\)/);
    const apply = await w.appsd('apply');
    t.is(apply.code, 0, apply.stdout + apply.stderr);
    t.is(await get(18080), 'hello v1');
    t.is(await activeState(t.context.manager, 'appsd-hello-backend.service'), 'active');
    const again = await w.appsd('diff');
    t.is(again.code, 0, again.stdout);
    t.regex(again.stdout, /no changes/);
    await w.appsd('apply'); // leave nothing running for the next tests
    rmSync(join(w.apps, 'hello.yaml'));
    t.is((await w.appsd('apply')).code, 0);
  });

  test.serial('apply --dry-run prints the plan diff would and changes nothing; diff --json has actions, reasons and per-app outcomes', async (t) => {
    const w = workspace(t);
    w.write('dry.yaml', execApp(18090, 18091, 'dry'));
    const dry = await w.appsd('apply', '--dry-run');
    t.is(dry.code, 0, dry.stderr);
    t.regex(dry.stdout, /^\+\+\+ .*appsd-dry\.socket$/m);
    t.regex(dry.stdout, /\+ start appsd-dry\.socket \(dry: new socket\)/);
    t.regex(dry.stdout, /^dry run: 6 actions: 1 app to create, 0 to change, 0 to remove$/m);
    t.false(existsSync(join(w.unitDir, 'appsd-dry.socket')), 'no unit written');
    t.false(existsSync(join(w.state, 'inventory.json')), 'no state written');
    t.is(await activeState(t.context.manager, 'appsd-dry.socket'), 'inactive');

    const json = await w.appsd('diff', '--json');
    t.is(json.code, 1, json.stderr);
    const out = JSON.parse(json.stdout) as { online: boolean; changes: number; actions: Array<Record<string, unknown>>; apps: unknown[]; errors: unknown[]; kept: unknown[] };
    t.true(out.online);
    t.is(out.changes, 6);
    t.deepEqual(out.actions.map((a) => `${String(a['symbol'])} ${String(a['action'])} ${String(a['unit'])} ${String(a['reason'])}`), [
      '+ create appsd-dry.socket new-app',
      '+ create appsd-dry.service new-app',
      '+ create appsd-dry-backend.service new-app',
      '+ enable appsd-dry.socket new-socket',
      '~ reload null units-changed',
      '+ start appsd-dry.socket new-socket',
    ]);
    t.regex(String(out.actions[0]!['diff']), /^\+ListenStream=127\.0\.0\.1:18090$/m);
    t.deepEqual(out.apps, [{ app: 'dry', outcome: 'created' }]);
    await w.appsd('apply');
    const clean = JSON.parse((await w.appsd('diff', '--json')).stdout) as { changes: number; apps: unknown[] };
    t.is(clean.changes, 0);
    t.deepEqual(clean.apps, [{ app: 'dry', outcome: 'unchanged' }]);
    rmSync(join(w.apps, 'dry.yaml'));
    t.is((await w.appsd('apply')).code, 0);
  });

  test.serial('scale to zero: after idleTimeout the backend stops, the socket listens, the next request starts it again', async (t) => {
    const w = workspace(t);
    const m = t.context.manager;
    w.write('idle.yaml', execApp(18090, 18091, 'idle app', 'idleTimeout: 1s'));
    t.is((await w.appsd('apply')).code, 0);
    t.is(await activeState(m, 'appsd-idle-backend.service'), 'inactive', 'nothing runs before the first connection');
    t.is(await get(18090), 'idle app');
    t.is(await activeState(m, 'appsd-idle-backend.service'), 'active');
    await waitFor(async () => (await activeState(m, 'appsd-idle-backend.service')) === 'inactive', 10_000, 'scale to zero');
    t.is(await activeState(m, 'appsd-idle.service'), 'inactive');
    t.is(await activeState(m, 'appsd-idle.socket'), 'active');
    t.is(await systemctl(m, 'show', '-p', 'Result', '--value', 'appsd-idle-backend.service'), 'success', 'a scale-down is not a failure');
    t.is(await get(18090), 'idle app');
    rmSync(join(w.apps, 'idle.yaml'));
    await w.appsd('apply');
  });

  test.serial('a second apply is a no-op: no file written, no daemon-reload', async (t) => {
    const w = workspace(t);
    w.write('noop.yaml', execApp(18100, 18101, 'noop'));
    t.is((await w.appsd('apply')).code, 0);
    const files = ['appsd-noop.socket', 'appsd-noop.service', 'appsd-noop-backend.service'].map((n) => join(w.unitDir, n));
    files.push(join(w.state, 'inventory.json'));
    const before = files.map(fingerprint);
    const reloads = await ReloadCounter.attach(t.context.manager);
    try {
      const second = await w.appsd('apply');
      t.is(second.code, 0);
      t.is(second.stdout, 'no changes\n');
      t.is(await reloads.settle(), 0);
      t.deepEqual(files.map(fingerprint), before);
    } finally {
      reloads.close();
    }
    rmSync(join(w.apps, 'noop.yaml'));
    await w.appsd('apply');
  });

  test.serial('a changed manifest converges: the running backend is stopped and the next request gets the new version', async (t) => {
    const w = workspace(t);
    const m = t.context.manager;
    w.write('change.yaml', execApp(18110, 18111, 'version 1'));
    await w.appsd('apply');
    t.is(await get(18110), 'version 1');
    w.write('change.yaml', execApp(18110, 18111, 'version 2'));
    const diff = await w.appsd('diff');
    t.is(diff.code, 1);
    t.regex(diff.stdout, /^-ExecStart=.*version 1/m);
    t.regex(diff.stdout, /^\+ExecStart=.*version 2/m);
    t.regex(diff.stdout, /- stop appsd-change-backend\.service/);
    t.notRegex(diff.stdout, /restart appsd-change\.socket/, 'the listen side did not change');
    t.is((await w.appsd('apply')).code, 0);
    t.is(await get(18110), 'version 2');
    // A new listen address restarts the socket.
    w.write('change.yaml', execApp(18112, 18111, 'version 2'));
    const moved = await w.appsd('apply');
    t.regex(moved.stdout, /~ restart appsd-change\.socket \(change: listen address changed\)/);
    t.is(await get(18112), 'version 2');
    await t.throwsAsync(get(18110, '/', 1000));
    t.is(await activeState(m, 'appsd-change.socket'), 'active');
    rmSync(join(w.apps, 'change.yaml'));
    await w.appsd('apply');
  });

  test.serial('an invalid manifest keeps the last applied units, running; the others converge', async (t) => {
    const w = workspace(t);
    w.write('keep.yaml', execApp(18120, 18121, 'keep me'));
    await w.appsd('apply');
    t.is(await get(18120), 'keep me');
    const socketBefore = readFileSync(join(w.unitDir, 'appsd-keep.socket'), 'utf8');
    w.write('keep.yaml', execApp(18120, 18121, 'keep me').replace('listen:', 'lisen:'));
    w.write('other.yaml', execApp(18122, 18123, 'other'));
    const apply = await w.appsd('apply');
    t.is(apply.code, 2);
    t.regex(apply.stderr, /keep\.yaml:1:1: unknown field "lisen" \(did you mean "listen"\?\)/);
    t.regex(apply.stderr, /kept: keep: its manifest is invalid/);
    t.is(readFileSync(join(w.unitDir, 'appsd-keep.socket'), 'utf8'), socketBefore);
    t.is(await get(18120), 'keep me');
    t.is(await get(18122), 'other');
    // A manifest that is no longer even YAML keeps its units too.
    w.write('keep.yaml', 'listen: [\n');
    t.is((await w.appsd('apply')).code, 2);
    t.true(existsSync(join(w.unitDir, 'appsd-keep.socket')));
    t.is(await get(18120), 'keep me');
    rmSync(join(w.apps, 'keep.yaml'));
    rmSync(join(w.apps, 'other.yaml'));
    t.is((await w.appsd('apply')).code, 0);
    t.false(existsSync(join(w.unitDir, 'appsd-keep.socket')));
  });

  test.serial('a unit appsd does not own is left byte for byte, and only the app that needs its name fails', async (t) => {
    const w = workspace(t);
    const foreign = join(w.unitDir, 'appsd-taken.socket');
    const text = '[Socket]\nListenStream=127.0.0.1:18139\n# hand-written, not appsd\'s\n';
    writeFileSync(foreign, text);
    const before = fingerprint(foreign);
    w.write('taken.yaml', execApp(18130, 18131, 'never'));
    w.write('fine.yaml', execApp(18132, 18133, 'fine'));
    const apply = await w.appsd('apply');
    t.is(apply.code, 2);
    t.regex(apply.stderr, /error: taken: appsd-taken\.socket already exists and is not managed by appsd/);
    t.is(readFileSync(foreign, 'utf8'), text);
    t.is(fingerprint(foreign), before);
    t.false(existsSync(join(w.unitDir, 'appsd-taken.service')), 'none of the app is written');
    t.is(await get(18132), 'fine');
    unlinkSync(foreign);
    rmSync(join(w.apps, 'taken.yaml'));
    rmSync(join(w.apps, 'fine.yaml'));
    await w.appsd('apply');
  });

  test.serial('drift: a unit edited by hand, deleted by hand, a socket stopped by hand show in diff and apply repairs them', async (t) => {
    const w = workspace(t);
    const m = t.context.manager;
    w.write('drift.yaml', execApp(18140, 18141, 'drift'));
    await w.appsd('apply');
    const proxy = join(w.unitDir, 'appsd-drift.service');
    const original = readFileSync(proxy, 'utf8');
    writeFileSync(proxy, original.replace(/--exit-idle-time=\S+/, '--exit-idle-time=5s'));
    unlinkSync(join(w.unitDir, 'appsd-drift-backend.service'));
    await systemctl(m, 'stop', 'appsd-drift.socket');
    const diff = await w.appsd('diff');
    t.is(diff.code, 1);
    t.regex(diff.stdout, /^-ExecStart=.*--exit-idle-time=5s/m);
    t.regex(diff.stdout, /\+ create appsd-drift-backend\.service \(drift: unit file missing\)/);
    t.regex(diff.stdout, /\+ start appsd-drift\.socket \(drift: socket is not listening\)/);
    t.is((await w.appsd('apply')).code, 0);
    t.is(readFileSync(proxy, 'utf8'), original);
    t.is(await activeState(m, 'appsd-drift.socket'), 'active');
    t.is(await get(18140), 'drift');
    t.is((await w.appsd('diff')).code, 0);
    // Disabled by hand: enabled again.
    await systemctl(m, 'disable', 'appsd-drift.socket');
    const reenable = await w.appsd('apply');
    t.regex(reenable.stdout, /\+ enable appsd-drift\.socket \(drift: socket is not enabled \(disabled\)\)/);
    t.is(await systemctl(m, 'is-enabled', 'appsd-drift.socket'), 'enabled');
    rmSync(join(w.apps, 'drift.yaml'));
    await w.appsd('apply');
  });

  test.serial('a removed manifest leaves no unit, no state and a closed port', async (t) => {
    const w = workspace(t);
    const m = t.context.manager;
    w.write('gone.yaml', execApp(18150, 18151, 'gone soon'));
    await w.appsd('apply');
    t.is(await get(18150), 'gone soon');
    rmSync(join(w.apps, 'gone.yaml'));
    const diff = await w.appsd('diff');
    t.is(diff.code, 1);
    t.regex(diff.stdout, /- delete appsd-gone\.socket \(gone: manifest removed\)/);
    t.is((await w.appsd('apply')).code, 0);
    for (const unit of ['appsd-gone.socket', 'appsd-gone.service', 'appsd-gone-backend.service']) {
      t.false(existsSync(join(w.unitDir, unit)), unit);
      t.not(await activeState(m, unit), 'active', unit);
    }
    t.false(existsSync(join(w.unitDir, 'sockets.target.wants', 'appsd-gone.socket')));
    t.false(existsSync(join(w.state, 'inventory.json')), 'no state left');
    await t.throwsAsync(get(18150, '/', 1000));
    t.is((await w.appsd('diff')).code, 0);
  });

  test.serial('fifty apps applied at once cost exactly one daemon-reload', async (t) => {
    const w = workspace(t);
    for (let i = 0; i < 50; i++) w.write(`bulk-${i}.yaml`, execApp(18200 + i, 18300 + i, `bulk ${i}`));
    const reloads = await ReloadCounter.attach(t.context.manager);
    try {
      const apply = await w.appsd('apply');
      t.is(apply.code, 0, apply.stdout.slice(-500) + apply.stderr);
      t.is(await reloads.settle(), 1);
      t.is(await get(18249), 'bulk 49');
      for (let i = 0; i < 50; i++) rmSync(join(w.apps, `bulk-${i}.yaml`));
      reloads.count = 0;
      t.is((await w.appsd('apply')).code, 0);
      t.is(await reloads.settle(), 1, 'removing them all: one reload too');
    } finally {
      reloads.close();
    }
  });

  test.serial('hostile values reach the process exactly, through real systemd', async (t) => {
    const w = workspace(t);
    const args = ['line\nExecStartPre=/bin/false', '%n %h %%', '$HOME ${PATH} $$', ';', 'back\\slash\\', '\'single\' "double"', ''];
    const env = { APP_NEWLINE: 'a\nb', APP_SPECIFIER: '%t', APP_DOLLAR: '$USER', APP_QUOTES: '" \' \\' };
    w.write(
      'evil.yaml',
      [
        'listen: 127.0.0.1:18160',
        'backend: 127.0.0.1:18161',
        'exec:',
        `  command: ${JSON.stringify([process.execPath, HELLO_SERVER, '18161', 'x', '0', ...args])}`,
        `  env: ${JSON.stringify(env)}`,
        '  workingDirectory: /tmp',
      ].join('\n') + '\n',
    );
    t.is((await w.appsd('apply')).code, 0);
    t.deepEqual(JSON.parse(await get(18160, '/argv')), { argv: args, env, cwd: '/tmp' });
    rmSync(join(w.apps, 'evil.yaml'));
    await w.appsd('apply');
  });

  test.serial('diff without systemd: an error that says how to fix it; --offline compares with the unit directory', async (t) => {
    const w = workspace(t);
    w.write('off.yaml', execApp(18170, 18171, 'off'));
    const env = { ...t.context.manager.env, DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' };
    const online = await runCli(['diff', '--apps-dir', w.apps, '--state-dir', w.state], { env });
    t.is(online.code, 2);
    t.regex(online.stderr, /cannot reach the systemd user manager/);
    t.regex(online.stderr, /--offline/);
    const offline = await runCli(['diff', '--offline', '--apps-dir', w.apps, '--state-dir', w.state], { env });
    t.is(offline.code, 1, offline.stderr);
    t.regex(offline.stdout, /^offline: comparing with the unit directory only/m);
    t.regex(offline.stdout, /\+ create appsd-off\.socket/);
  });
}
