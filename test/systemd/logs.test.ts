// `appsd logs` and lastLines against a real systemd user manager, whose units
// log to the journald the private manager runs in its namespace
// (docs/logs.md). Ports 18950-18979.
import anyTest, { type TestFn } from 'ava';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { lastLines } from '../../src/logs/last-lines.js';
import type { PrivateManager } from '../../src/sandbox/private-manager.js';
import { HELLO_SERVER } from '../helpers/apps.js';
import { CLI } from '../helpers/cli.js';
import { activeState, get, waitFor } from '../helpers/systemd.js';
import { privateManagerTier } from '../helpers/tier.js';
import { workspace as makeWorkspace } from '../helpers/workspace.js';

const test = anyTest as TestFn<{ manager: PrivateManager }>;

privateManagerTier(test, 'logs', registerTests);

const workspace = (t: { context: { manager: PrivateManager }; teardown: (fn: () => void) => void }) =>
  makeWorkspace(t.context.manager, (fn) => t.teardown(fn));

/** An app that writes `lines` lines (`NAME line 1`, ...) and one on stderr when it starts, then serves `body`. */
function talkingApp(name: string, listen: number, lines: number): string {
  const script = `for i in $(seq 1 ${lines}); do echo "${name} line $i"; done; echo "${name} warming up" >&2; exec "$0" "$1" ${listen + 1} ${name}`;
  return `listen: 127.0.0.1:${listen}\nbackend: 127.0.0.1:${listen + 1}\nexec:\n  command: [/bin/sh, -c, ${JSON.stringify(script)}, ${JSON.stringify(process.execPath)}, ${JSON.stringify(HELLO_SERVER)}]\n`;
}

/** A request that may be reset (an app that fails to start). */
function attempt(port: number): Promise<void> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 30_000 }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', () => resolve());
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

const LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (\S+): (.*)$/;

function registerTests() {
  test.serial('logs -n 3: the last three lines the app wrote, each with its time and unit, stdout and stderr in order', async (t) => {
    const w = workspace(t);
    w.write('chatty.yaml', talkingApp('chatty', 18950, 5));
    t.is((await w.appsd('apply')).code, 0);
    t.is(await get(18950), 'chatty');
    // The journal gets a line a moment after the app wrote it.
    await waitFor(async () => (await lastLines('chatty', 1, { scope: 'user', env: t.context.manager.env }))[0] === 'chatty warming up', 15_000, 'the lines in the journal');
    const r = await w.appsd('logs', 'chatty', '-n', '3');
    t.is(r.code, 0, r.stderr);
    const shown = r.stdout.split('\n').filter(Boolean);
    const parsed = shown.map((l) => LINE.exec(l));
    t.true(parsed.every(Boolean), shown.join('\n'));
    t.deepEqual(parsed.map((m) => m![1]), ['appsd-chatty-backend.service', 'appsd-chatty-backend.service', 'appsd-chatty-backend.service']);
    t.deepEqual(parsed.map((m) => m![2]), ['chatty line 4', 'chatty line 5', 'chatty warming up']);

    // All of them by default, oldest first; --since a span ago; --json.
    const all = await w.appsd('logs', 'chatty');
    t.deepEqual(all.stdout.split('\n').filter(Boolean).map((l) => LINE.exec(l)?.[2]), ['chatty line 1', 'chatty line 2', 'chatty line 3', 'chatty line 4', 'chatty line 5', 'chatty warming up']);
    const since = await w.appsd('logs', 'chatty', '--since', '10min', '-n', '2');
    t.deepEqual(since.stdout.split('\n').filter(Boolean).map((l) => LINE.exec(l)?.[2]), ['chatty line 5', 'chatty warming up']);
    const json = (await w.appsd('logs', 'chatty', '-n', '1', '--json')).stdout.trim();
    t.like(JSON.parse(json), { unit: 'appsd-chatty-backend.service', message: 'chatty warming up' });
    const bad = await w.appsd('logs', 'chatty', '--since', 'whenever');
    t.is(bad.code, 2);
    t.regex(bad.stderr, /timestamp/i);
  });

  test.serial('logs -f streams the lines written after it started, until it is stopped', async (t) => {
    const w = workspace(t);
    w.write('later.yaml', talkingApp('later', 18955, 2));
    t.is((await w.appsd('apply')).code, 0);
    const child = spawn(process.execPath, [CLI, 'logs', 'later', '-f', '--apps-dir', w.apps, '--state-dir', w.state], {
      env: { ...process.env, ...t.context.manager.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.teardown(() => child.kill('SIGKILL'));
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // The app has not run yet: nothing to show. Give journalctl a moment to start following.
    await new Promise((r) => setTimeout(r, 700));
    t.is(out, '');
    // The first request starts the app, which writes its lines now.
    t.is(await get(18955), 'later');
    await waitFor(async () => out.includes('later warming up'), 15_000, "the new lines in the follower's output");
    t.regex(out, /^\S+ appsd-later-backend\.service: later line 1$/m, err);
    t.regex(out, /^\S+ appsd-later-backend\.service: later warming up$/m);
    child.kill('SIGTERM');
    t.is(await exited, 0);
  });

  test.serial('an unknown app name is exit 2 with a suggestion', async (t) => {
    const w = workspace(t);
    w.write('billing.yaml', talkingApp('billing', 18960, 1));
    const r = await w.appsd('logs', 'biling');
    t.is(r.code, 2);
    t.regex(r.stderr, /no app is named "biling" \(did you mean "billing"\?\)/);
    t.is(r.stdout, '');
    const none = await w.appsd('logs');
    t.is(none.code, 2);
  });

  test.serial('lastLines: a crashing app\'s error lines from its last run only', async (t) => {
    const w = workspace(t);
    const { manager } = t.context;
    // Crashes on every start, saying which start it was (a count in a file).
    const count = `${w.state}-starts`;
    const script = `n=$(( $(cat ${count} 2>/dev/null || echo 0) + 1 )); echo $n > ${count}; echo "starting run $n"; echo "fatal: cannot read /etc/crashy.conf (run $n)" >&2; exit 3`;
    w.write('crashy.yaml', `listen: 127.0.0.1:18965\nbackend: 127.0.0.1:18966\nexec:\n  command: [/bin/sh, -c, ${JSON.stringify(script)}]\n`);
    t.is((await w.appsd('apply')).code, 0);
    t.deepEqual(await lastLines('crashy', 5, { scope: 'user', env: manager.env }), [], 'never ran: no lines');
    await attempt(18965);
    await waitFor(async () => (await activeState(manager, 'appsd-crashy-backend.service')) === 'failed', 15_000, 'the backend to fail');
    // The app's lines; not the readiness wait's, which is the unit's status text.
    let lines: string[] = [];
    await waitFor(async () => (lines = await lastLines('crashy', 5, { scope: 'user', env: manager.env })).length === 2, 15_000, 'the lines in the journal');
    t.deepEqual(lines, ['starting run 1', 'fatal: cannot read /etc/crashy.conf (run 1)']);
    // A second start: only its own lines, and n counts from the end.
    await attempt(18965);
    await waitFor(async () => (lines = await lastLines('crashy', 1, { scope: 'user', env: manager.env }))[0]?.includes('run 2') === true, 15_000, 'the second run');
    t.deepEqual(lines, ['fatal: cannot read /etc/crashy.conf (run 2)']);
    t.deepEqual(await lastLines('crashy', 10, { scope: 'user', env: manager.env }), ['starting run 2', 'fatal: cannot read /etc/crashy.conf (run 2)']);
    // `logs` shows the last run's lines, and the readiness wait's message.
    // (Run 1's may be missing: a process that exits at once can leave lines
    // journald could not give a unit, and only the last run's main process
    // is known by its PID; docs/logs.md.)
    const all = await w.appsd('logs', 'crashy');
    t.regex(all.stdout, /^\S+Z appsd-crashy-backend\.service: fatal: cannot read \/etc\/crashy\.conf \(run 2\)$/m);
    t.regex(all.stdout, /^\S+Z appsd-crashy-backend\.service: appsd: backend 127\.0\.0\.1:18966 exited before it was ready$/m);
  });
}
