// appsd watch, --pull, status and install against a private systemd manager.
import anyTest, { type TestFn } from 'ava';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PrivateManager } from '../../src/sandbox/private-manager.js';
import { runCli } from '../helpers/cli.js';
import { activeState, get, ReloadCounter, systemctl, waitFor } from '../helpers/systemd.js';
import { privateManagerTier } from '../helpers/tier.js';
import { answers, execApp } from '../helpers/apps.js';
import { git, manifestRepo } from '../helpers/git.js';
import { WatchProcess } from '../helpers/watch.js';
import { workspace as makeWorkspace } from '../helpers/workspace.js';

const test = anyTest as TestFn<{ manager: PrivateManager }>;

privateManagerTier(test, 'watch', registerTests);

const workspace = (t: { context: { manager: PrivateManager }; teardown: (fn: () => void) => void }) => makeWorkspace(t.context.manager, (fn) => t.teardown(fn));

// The reaction itself (about 100 ms) is measured by `npm run bench`; this
// bound only tells a watch that reacts from one that does not, on a CI
// machine running every tier at once.
const REACTION_BOUND_MS = 5000;

/** Resolves when `check` holds, and says how long it took; fails past `withinMs`. */
async function convergedWithin(check: () => Promise<boolean>, withinMs: number, what: string): Promise<number> {
  const started = Date.now();
  await waitFor(async () => check().catch(() => false), withinMs, what);
  return Date.now() - started;
}

function registerTests() {
  test.serial('watch converges a new, changed, renamed and deleted manifest, each within moments (the bench measures how fast)', async (t) => {
    const w = workspace(t);
    const watch = new WatchProcess(['--apps-dir', w.apps, '--state-dir', w.state], t.context.manager.env);
    try {
      await watch.waitForLine(/watching /);
      await watch.waitForLine(/pass \(start\)/);
      w.write('a.yaml', execApp(18400, 18401, 'first'));
      t.log(`new: ${await convergedWithin(answers(18400, 'first'), REACTION_BOUND_MS, 'the new app')} ms`);
      w.write('a.yaml', execApp(18400, 18401, 'second'));
      t.log(`changed: ${await convergedWithin(answers(18400, 'second'), REACTION_BOUND_MS, 'the change')} ms`);
      renameSync(join(w.apps, 'a.yaml'), join(w.apps, 'b.yaml'));
      t.log(`renamed: ${await convergedWithin(async () => (await activeState(t.context.manager, 'appsd-b.socket')) === 'active' && !existsSync(join(w.unitDir, 'appsd-a.socket')), REACTION_BOUND_MS, 'the rename')} ms`);
      t.is(await get(18400), 'second');
      rmSync(join(w.apps, 'b.yaml'));
      t.log(`deleted: ${await convergedWithin(async () => !(await answers(18400, 'second')()) && !existsSync(join(w.unitDir, 'appsd-b.socket')), REACTION_BOUND_MS, 'the removal')} ms`);
    } finally {
      t.is(await watch.stop(), 0);
    }
  });

  test.serial('a burst of 200 new manifests is one pass and one daemon-reload; editor leftovers never wake the controller', async (t) => {
    const w = workspace(t);
    const reloads = await ReloadCounter.attach(t.context.manager);
    const watch = new WatchProcess(['--apps-dir', w.apps, '--state-dir', w.state], t.context.manager.env);
    try {
      await watch.waitForLine(/pass \(start\)/);
      const mark = watch.lines.length;
      for (const junk of ['.a.yaml.swp', 'a.yaml~', '#a.yaml#', '.#a.yaml', '4913', 'notes.txt', 'a.yaml.bak']) writeFileSync(join(w.apps, junk), 'junk');
      // A manifest written after the junk is a barrier: its event comes after
      // any event the junk caused, so no wait on the clock is needed.
      w.write('sentinel.yaml', execApp(21999, 22999, 'sentinel'));
      const sentinel = await watch.waitForLine(/pass \(change\): \d+ actions/, 10_000, mark);
      t.deepEqual(watch.lines.slice(mark, sentinel).filter((l) => /event:/.test(l)), ['<7>event: add sentinel.yaml'], 'no event but the manifest\'s');
      reloads.count = 0;
      for (let i = 0; i < 200; i++) w.write(`bulk-${i}.yaml`, execApp(21000 + i, 22000 + i, `bulk ${i}`));
      const line = await watch.waitForLine(/pass \(change\): \d+ actions/, 30_000, sentinel + 1);
      t.regex(watch.lines[line]!, /: 1001 actions, 0 apps failed/);
      t.is(await reloads.settle(), 1);
      t.is(await get(21199), 'bulk 199');
      for (let i = 0; i < 200; i++) rmSync(join(w.apps, `bulk-${i}.yaml`));
      await watch.waitForLine(/pass \(change\): \d+ actions/, 30_000, line + 1);
      t.false(existsSync(join(w.unitDir, 'appsd-bulk-0.socket')));
    } finally {
      reloads.close();
      t.is(await watch.stop(), 0);
    }
  });

  test.serial('the periodic resync repairs a unit edited by hand; invalid manifests are reported once', async (t) => {
    const w = workspace(t);
    w.write('r.yaml', execApp(18410, 18411, 'resync'));
    const watch = new WatchProcess(['--apps-dir', w.apps, '--state-dir', w.state, '--resync', '500ms'], t.context.manager.env);
    try {
      await watch.waitForLine(/pass \(start\): \d+ actions/);
      const proxy = join(w.unitDir, 'appsd-r.service');
      const original = readFileSync(proxy, 'utf8');
      writeFileSync(proxy, original.replace(/--exit-idle-time=\S+/, '--exit-idle-time=1s'));
      await waitFor(async () => readFileSync(proxy, 'utf8') === original, 5000, 'the resync to repair the unit');
      t.pass();
      w.write('bad.yaml', 'listen: 99999\n');
      const reported = await watch.waitForLine(/bad\.yaml:1:9: listen: port 99999 is out of range/);
      let resync = reported;
      for (let i = 0; i < 3; i++) resync = await watch.waitForLine(/pass \(resync\)/, 5000, resync + 1);
      t.is(watch.lines.filter((l) => l.includes('bad.yaml:1:9')).length, 1, 'reported once, not on every pass');
      t.true(watch.lines.every((l) => /^<\d>/.test(l)), 'every line carries its syslog priority');
      t.true(watch.lines.some((l) => l.startsWith('<4>') && l.includes('bad.yaml:1:9')));
      rmSync(join(w.apps, 'bad.yaml'));
      rmSync(join(w.apps, 'r.yaml'));
      await watch.waitForLine(/- delete appsd-r\.socket/);
    } finally {
      t.is(await watch.stop(), 0);
    }
  });

  test.serial('when the bus goes away, the controller reconnects and converges again', async (t) => {
    const w = workspace(t);
    const m = t.context.manager;
    const watch = new WatchProcess(['--apps-dir', w.apps, '--state-dir', w.state, '--resync', '1h'], m.env);
    try {
      await watch.waitForLine(/pass \(start\)/);
      // dbus-daemon is socket-activated in the user manager: kill it, and the
      // next connection starts a new one.
      const busPid = Number(await systemctl(m, 'show', '-p', 'MainPID', '--value', 'dbus.service'));
      t.true(busPid > 0);
      process.kill(busPid, 'SIGKILL');
      await waitFor(async () => !existsSync(`/proc/${busPid}`), 5000, 'the bus to be gone');
      w.write('after.yaml', execApp(18450, 18451, 'after the bus came back'));
      await waitFor(answers(18450, 'after the bus came back'), 15_000, 'convergence after reconnecting').catch((e) => { t.log(watch.lines.join('\n')); throw e; });
      t.truthy(watch.lines.find((l) => /pass failed: .*retrying in/.test(l)), 'the failure was reported and retried');
      rmSync(join(w.apps, 'after.yaml'));
      await watch.waitForLine(/- delete appsd-after\.socket/, 10_000);
    } finally {
      t.is(await watch.stop(), 0);
    }
  });

  test.serial('SIGTERM finishes cleanly with exit 0; SIGHUP runs a pass at once', async (t) => {
    const w = workspace(t);
    const watch = new WatchProcess(['--apps-dir', w.apps, '--state-dir', w.state, '--resync', '1h'], t.context.manager.env);
    await watch.waitForLine(/pass \(start\)/);
    watch.signal('SIGHUP');
    await watch.waitForLine(/pass \(SIGHUP\)/);
    watch.signal('SIGTERM');
    t.is(await watch.exited, 0);
    t.truthy(watch.lines.find((l) => /SIGTERM: finishing the pass in flight/.test(l)));
    t.false(existsSync(join(w.state, 'controller.sock')) && (await runCli(['status', '--json', '--apps-dir', w.apps, '--state-dir', w.state], { env: t.context.manager.env })).stdout.includes('"pid"'));
  });

  test.serial('status --json matches reality: running, then scaled to zero, with the controller\'s last pass', async (t) => {
    const w = workspace(t);
    w.write('s.yaml', execApp(18420, 18421, 'status', 'idleTimeout: 4s'));
    w.write('broken.yaml', 'listen: [\n');
    const watch = new WatchProcess(['--apps-dir', w.apps, '--state-dir', w.state], t.context.manager.env);
    const status = async () => {
      const r = await runCli(['status', '--json', '--apps-dir', w.apps, '--state-dir', w.state], { env: t.context.manager.env });
      return JSON.parse(r.stdout) as { apps: Array<Record<string, unknown>>; controller: Record<string, unknown> | null };
    };
    try {
      await watch.waitForLine(/pass \(start\): \d+ actions/);
      let s = await status();
      const app = () => s.apps.find((a) => a['name'] === 's')!;
      t.like(app(), { socket: 'listening', backend: 'stopped', valid: true, idleTimeout: '4s', lastActivated: null, error: null });
      t.like(s.apps.find((a) => a['name'] === 'broken'), { valid: false, socket: 'missing', backend: null });
      t.regex(String(s.apps.find((a) => a['name'] === 'broken')!['error']), /broken\.yaml:\d+:\d+: YAML/);
      t.is(s.controller?.['pid'], watch.pid);
      t.like(s.controller?.['lastPass'], { result: 'invalid-manifests' });
      t.is(await get(18420), 'status');
      s = await status();
      t.like(app(), { backend: 'running' });
      t.true(Date.now() - Date.parse(String(app()['lastActivated'])) < 5000);
      await waitFor(async () => (await activeState(t.context.manager, 'appsd-s-backend.service')) === 'inactive', 10_000, 'scale to zero');
      s = await status();
      t.like(app(), { socket: 'listening', backend: 'stopped' });
      rmSync(join(w.apps, 's.yaml'));
      rmSync(join(w.apps, 'broken.yaml'));
      await watch.waitForLine(/- delete appsd-s\.socket/);
    } finally {
      await watch.stop();
    }
  });

  test.serial('--pull applies a pushed commit, keeps the last good state on a bad one, and reports a pull that cannot fast-forward', async (t) => {
    const w = workspace(t);
    const root = mkdtempSync(join(tmpdir(), 'appsd-git-'));
    t.teardown(() => rmSync(root, { recursive: true, force: true }));
    const { author, clone } = manifestRepo(root, { 'g.yaml': execApp(18430, 18431, 'from git v1') }, 'v1');
    const deployed = join(root, 'deployed');
    clone(deployed);
    const apps = join(deployed, 'apps.d');
    const watch = new WatchProcess(['--apps-dir', apps, '--state-dir', w.state, '--pull', '300ms'], t.context.manager.env);
    const status = async () => JSON.parse((await runCli(['status', '--json', '--apps-dir', apps, '--state-dir', w.state], { env: t.context.manager.env })).stdout);
    try {
      await watch.waitForLine(/pass \(start\): \d+ actions/);
      t.is(await get(18430), 'from git v1');
      // A pushed commit is pulled and applied.
      writeFileSync(join(author, 'apps.d', 'g.yaml'), execApp(18430, 18431, 'from git v2'));
      git(author, 'commit', '-q', '-am', 'v2');
      git(author, 'push', '-q', 'origin', 'HEAD:main');
      const v2 = git(author, 'rev-parse', 'HEAD');
      await waitFor(answers(18430, 'from git v2'), 10_000, 'v2 to be applied');
      await waitFor(async () => (await status()).controller?.lastPass?.commit === v2, 5000, 'status to show the applied commit');
      // A bad commit: the manifest turns invalid; the app keeps its last good units.
      writeFileSync(join(author, 'apps.d', 'g.yaml'), 'listen: 127.0.0.1:18430\nexec: {commnd: [x]}\n');
      git(author, 'commit', '-q', '-am', 'broken');
      git(author, 'push', '-q', 'origin', 'HEAD:main');
      await watch.waitForLine(/kept: g: its manifest is invalid/, 10_000);
      t.is(await get(18430), 'from git v2');
      t.like((await status()).controller?.lastPass, { result: 'invalid-manifests' });
      // History rewritten upstream: the pull cannot fast-forward; nothing changes.
      git(author, 'reset', '-q', '--hard', 'HEAD~2');
      writeFileSync(join(author, 'apps.d', 'g.yaml'), execApp(18430, 18431, 'rewritten'));
      git(author, 'commit', '-q', '-am', 'rewritten');
      git(author, 'push', '-q', '-f', 'origin', 'HEAD:main');
      await watch.waitForLine(/git pull --ff-only failed/, 10_000);
      t.is(await get(18430), 'from git v2');
      t.false((await status()).controller?.git?.lastPull?.ok);
      rmSync(apps, { recursive: true });
      mkdirSync(apps);
      watch.signal('SIGHUP');
      await watch.waitForLine(/- delete appsd-g\.socket/, 10_000);
    } finally {
      t.is(await watch.stop(), 0);
    }
  });

  test.serial('install runs the controller under systemd; uninstall removes it', async (t) => {
    const w = workspace(t);
    const m = t.context.manager;
    // --host-labels goes into host.yaml, which the controller and every command here then read.
    const install = await w.appsd('install', '--resync', '1min', '--host-labels', 'role=edge');
    t.is(install.code, 0, install.stdout + install.stderr);
    const hostFile = join(m.env['XDG_CONFIG_HOME']!, 'appsd', 'host.yaml');
    t.teardown(() => rmSync(hostFile, { force: true }));
    t.true(install.stdout.includes(`wrote ${hostFile}: this host is `), install.stdout);
    t.regex(readFileSync(hostFile, 'utf8'), /^labels:\n {2}"role": "edge"$/m);
    t.notRegex(readFileSync(join(w.unitDir, 'appsd.service'), 'utf8'), /--host/);
    t.regex(install.stderr, /the service will run .*dist\/cli\/main\.js, from this checkout: moving, deleting or rebuilding it stops the controller/);
    t.is(await activeState(m, 'appsd.service'), 'active', 'ready: its first pass is done');
    t.is(await systemctl(m, 'is-enabled', 'appsd.service'), 'enabled');
    w.write('i.yaml', `placement: {role: edge}\n${execApp(18440, 18441, 'installed')}`);
    await convergedWithin(answers(18440, 'installed'), 5000, 'the controller to apply the new manifest');
    const mainPid = Number(await systemctl(m, 'show', '-p', 'MainPID', '--value', 'appsd.service'));
    const status = JSON.parse((await w.appsd('status', '--json')).stdout);
    t.is(status.controller.pid, mainPid);
    // The service restarts on failure.
    process.kill(mainPid, 'SIGKILL');
    await waitFor(async () => Number(await systemctl(m, 'show', '-p', 'MainPID', '--value', 'appsd.service')) > 0 && Number(await systemctl(m, 'show', '-p', 'MainPID', '--value', 'appsd.service')) !== mainPid && (await activeState(m, 'appsd.service')) === 'active', 15_000, 'a restart');
    rmSync(join(w.apps, 'i.yaml'));
    await waitFor(async () => !existsSync(join(w.unitDir, 'appsd-i.socket')), 5000, 'the app to be removed');
    // A controller whose program went away (the checkout moved): status says so.
    const unitPath = join(w.unitDir, 'appsd.service');
    const unitText = readFileSync(unitPath, 'utf8');
    writeFileSync(unitPath, unitText.replace(/ \S*dist\/cli\/main\.js /, ' /gone/checkout/dist/cli/main.js '));
    const moved = await w.appsd('status');
    t.regex(moved.stdout, /installed controller \(.*appsd\.service, active\): \/gone\/checkout\/dist\/cli\/main\.js does not exist any more: the installed controller cannot start/);
    t.like(JSON.parse((await w.appsd('status', '--json')).stdout).installed, { program: [process.execPath, '/gone/checkout/dist/cli/main.js'] });
    writeFileSync(unitPath, unitText);
    const uninstall = await w.appsd('uninstall');
    t.is(uninstall.code, 0, uninstall.stderr);
    t.false(existsSync(join(w.unitDir, 'appsd.service')));
    t.not(await activeState(m, 'appsd.service'), 'active');
  });
}
