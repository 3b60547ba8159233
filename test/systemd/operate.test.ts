// Seeing why and acting, against a real systemd user manager: a failing app
// fails fast and says why in `status`; restart, stop and start change what
// status shows. Ports 18650-18699.
import anyTest, { type TestFn } from 'ava';
import { request } from 'node:http';
import type { PrivateManager } from '../../src/sandbox/private-manager.js';
import { execApp, HELLO_SERVER } from '../helpers/apps.js';
import { activeState, get, systemctl, waitFor } from '../helpers/systemd.js';
import { privateManagerTier } from '../helpers/tier.js';
import { workspace as makeWorkspace } from '../helpers/workspace.js';

const test = anyTest as TestFn<{ manager: PrivateManager }>;

privateManagerTier(test, 'operate', registerTests);

const workspace = (t: { context: { manager: PrivateManager }; teardown: (fn: () => void) => void }) =>
  makeWorkspace(t.context.manager, (fn) => t.teardown(fn));

/** A request's outcome: the body, or the error (a reset), and how long it took. */
function attempt(port: number): Promise<{ ok: boolean; body: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 60_000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ ok: true, body, ms: Date.now() - started }));
    });
    req.on('error', (e) => resolve({ ok: false, body: e.message, ms: Date.now() - started }));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

function registerTests() {
  test.serial('a program that exits at once: the waiting client is reset within a second, not at the readiness timeout', async (t) => {
    const w = workspace(t);
    // Like a server given an option it does not know: a message, exit status 2.
    const crash = `listen: 127.0.0.1:18650\nbackend: 127.0.0.1:18651\nexec:\n  command: [/bin/sh, -c, "echo 'serve: invalid option -- x' >&2; exit 2"]\n`;
    w.write('crash.yaml', crash);
    t.is((await w.appsd('apply')).code, 0);
    const first = await attempt(18650);
    t.false(first.ok, first.body);
    t.true(first.ms < 1000, `the client waited ${first.ms} ms`);
    t.log(`the client was reset after ${first.ms} ms`);
    await waitFor(async () => (await activeState(t.context.manager, 'appsd-crash-backend.service')) === 'failed', 5000, 'the backend to fail');
    t.regex(await systemctl(t.context.manager, 'show', '-p', 'StatusText', '--value', 'appsd-crash-backend.service'), /exited before it was ready/);
    // The socket still listens, and the next client is reset as fast.
    t.is(await activeState(t.context.manager, 'appsd-crash.socket'), 'active');
    const second = await attempt(18650);
    t.false(second.ok);
    t.true(second.ms < 1000, `the second client waited ${second.ms} ms`);
    // A healthy app is unaffected: the wait does not end while the process runs.
    w.write('ok.yaml', execApp(18652, 18653, 'still fine'));
    t.is((await w.appsd('apply')).code, 0);
    t.is(await get(18652), 'still fine');

    // status gives the cause: the state, the exit status, and the unit's own message.
    const table = await w.appsd('status');
    t.regex(table.stdout, /^crash\s+failed\s/m);
    t.regex(table.stdout, /^crash: appsd: backend 127\.0\.0\.1:18651 exited before it was ready; exit status 2; it last wrote: serve: invalid option -- x$/m);
    const json = JSON.parse((await w.appsd('status', '--json')).stdout) as { apps: Array<Record<string, unknown>> };
    t.like(json.apps.find((a) => a['name'] === 'crash'), { state: 'failed', backend: 'failed', exit: { status: 2 }, listen: ['127.0.0.1:18650'], backendAddresses: ['127.0.0.1:18651'], lastLines: ['serve: invalid option -- x'] });
    const detail = await w.appsd('status', 'crash');
    t.regex(detail.stdout, /last exit:\s+status 2/);
    t.regex(detail.stdout, /last lines:\n {4}serve: invalid option -- x/);
    t.regex(detail.stdout, /units:\s+appsd-crash-backend\.service, appsd-crash\.service, appsd-crash\.socket/);
    // start of an app that cannot start: exit 2, pointing at status.
    const start = await w.appsd('start', 'crash');
    t.is(start.code, 2);
    t.regex(start.stderr, /^appsd: crash did not start \(appsd-crash\.service: job dependency\): appsd status crash says why$/m);
    const typo = await w.appsd('status', 'crsh');
    t.is(typo.code, 2);
    t.regex(typo.stderr, /no app is named "crsh" \(did you mean "crash"\?\)/);
  });

  test.serial('start warms an app up, and it still idles out without a connection; restart --now of an internal app is refused before anything stops', async (t) => {
    const w = workspace(t);
    const { manager } = t.context;
    w.write('warm.yaml', execApp(18670, 18671, 'warm', 'idleTimeout: 2s'));
    w.write('db.yaml', `backend: 127.0.0.1:18673\nexec:\n  command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(HELLO_SERVER)}, "18673", db]\n`);
    w.write('web.yaml', execApp(18674, 18675, 'web', 'idleTimeout: 1min\nneeds: db'));
    t.is((await w.appsd('apply')).code, 0);
    t.is((await w.appsd('start', 'warm')).code, 0);
    t.is(await activeState(manager, 'appsd-warm-backend.service'), 'active');
    await waitFor(async () => (await activeState(manager, 'appsd-warm-backend.service')) === 'inactive', 15_000, 'the warmed-up app to idle out');
    t.is(await get(18674), 'web');
    const refused = await w.appsd('restart', 'db', '--now');
    t.is(refused.code, 2);
    t.regex(refused.stderr, /db is an internal app: it runs while an app that needs it runs; start web instead/);
    t.is(await activeState(manager, 'appsd-web-backend.service'), 'active', 'nothing was stopped');
    t.is(await activeState(manager, 'appsd-db-backend.service'), 'active');
  });

  test.serial('start, stop and restart change what status shows; the socket keeps listening', async (t) => {
    const w = workspace(t);
    const { manager } = t.context;
    w.write('act.yaml', execApp(18660, 18661, 'acting', 'idleTimeout: 1min'));
    t.is((await w.appsd('apply')).code, 0);
    const state = async () => (JSON.parse((await w.appsd('status', '--json')).stdout) as { apps: Array<{ name: string; state: string; memoryBytes: number | null; lastColdStartMs: number | null }> }).apps.find((a) => a.name === 'act')!;
    t.is((await state()).state, 'listening');
    // start: warm before traffic.
    const start = await w.appsd('start', 'act');
    t.is(start.code, 0, start.stderr);
    t.regex(start.stdout, /started appsd-act\.service \(and appsd-act-backend\.service with it\)/);
    t.is(await activeState(manager, 'appsd-act-backend.service'), 'active');
    const running = await state();
    t.is(running.state, 'running');
    t.true((running.memoryBytes ?? 0) > 1024 * 1024, `memory ${running.memoryBytes}`);
    t.true((running.lastColdStartMs ?? -1) >= 0);
    t.is(await get(18660), 'acting');
    // stop: scale to zero now; the socket stays.
    const stop = await w.appsd('stop', 'act');
    t.is(stop.code, 0, stop.stderr);
    t.is(await activeState(manager, 'appsd-act-backend.service'), 'inactive');
    t.is(await activeState(manager, 'appsd-act.socket'), 'active');
    t.is((await state()).state, 'scaled-to-zero');
    t.is(await get(18660), 'acting', 'the next connection starts it');
    const pid = await systemctl(manager, 'show', '-p', 'MainPID', '--value', 'appsd-act-backend.service');
    // restart --now: a new process at once.
    const restart = await w.appsd('restart', 'act', '--now');
    t.is(restart.code, 0, restart.stderr);
    t.is(await activeState(manager, 'appsd-act-backend.service'), 'active');
    t.not(await systemctl(manager, 'show', '-p', 'MainPID', '--value', 'appsd-act-backend.service'), pid);
    // restart: stopped until the next connection.
    t.is((await w.appsd('restart', 'act')).code, 0);
    t.is(await activeState(manager, 'appsd-act-backend.service'), 'inactive');
    // Unknown names and misuse are errors, as for other commands.
    const unknown = await w.appsd('stop', 'atc');
    t.is(unknown.code, 2);
    t.regex(unknown.stderr, /no app is named "atc" \(did you mean "act"\?\)/);
    t.is((await w.appsd('start', 'act', '--now')).code, 2);
  });
}
