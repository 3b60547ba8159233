// Seeing why and acting, against a real systemd user manager: a failing app
// fails fast and says why in `status`; restart, stop and start change what
// status shows. Ports 18650-18699.
import anyTest, { type TestFn } from 'ava';
import { request } from 'node:http';
import type { PrivateManager } from '../../src/sandbox/private-manager.js';
import { execApp } from '../helpers/apps.js';
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
  });
}
