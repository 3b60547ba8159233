// Convergence that converges, against real systemd: repairs that need no file
// change, a socket that cannot bind, manifests merely touched, and apply
// killed at random moments.
import anyTest, { type TestFn } from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PrivateManager } from '../../src/sandbox/private-manager.js';
import { execApp } from '../helpers/apps.js';
import { CLI } from '../helpers/cli.js';
import { activeState, get, systemctl } from '../helpers/systemd.js';
import { privateManagerTier } from '../helpers/tier.js';
import { workspace as makeWorkspace } from '../helpers/workspace.js';

const test = anyTest as TestFn<{ manager: PrivateManager }>;

privateManagerTier(test, 'real-systemd hardening', registerTests);

const workspace = (t: { context: { manager: PrivateManager }; teardown: (fn: () => void) => void }) =>
  makeWorkspace(t.context.manager, (fn) => t.teardown(fn));

function registerTests() {
  test.serial('a socket stopped by hand, and nothing else: apply starts it (exit 0), and diff is clean after', async (t) => {
    const w = workspace(t);
    w.write('idle.yaml', execApp(18500, 18501, 'idle'));
    t.is((await w.appsd('apply')).code, 0);
    await systemctl(t.context.manager, 'stop', 'appsd-idle.socket');
    const diff = await w.appsd('diff');
    t.is(diff.code, 1);
    t.regex(diff.stdout, /\+ start appsd-idle\.socket \(idle: socket is not listening\)/);
    t.notRegex(diff.stdout, /daemon-reload/);
    const apply = await w.appsd('apply');
    t.is(apply.code, 0, apply.stdout + apply.stderr);
    t.regex(apply.stdout, /applied 1 of 1 actions/);
    t.is(await activeState(t.context.manager, 'appsd-idle.socket'), 'active');
    t.is(await get(18500), 'idle');
    t.is((await w.appsd('diff')).code, 0);
    rmSync(join(w.apps, 'idle.yaml'));
    await w.appsd('apply');
  });

  test.serial('a port taken by another program: apply says so and fails, status says why, and the next apply starts it once the port is free', async (t) => {
    const w = workspace(t);
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(18510, '127.0.0.1', resolve));
    try {
      w.write('taken.yaml', execApp(18510, 18511, 'taken'));
      const apply = await w.appsd('apply');
      t.is(apply.code, 2, apply.stdout);
      t.regex(apply.stdout, /start appsd-taken\.socket .*FAILED: .*127\.0\.0\.1:18510 is already in use by another program/);
      const status = JSON.parse((await w.appsd('status', '--json')).stdout) as { apps: Array<{ name: string; socket: string; error: string }> };
      t.like(status.apps[0], { name: 'taken', socket: 'failed' });
      t.regex(status.apps[0]!.error, /127\.0\.0\.1:18510 is already in use by another program/);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
    const retry = await w.appsd('apply');
    t.is(retry.code, 0, retry.stdout + retry.stderr);
    t.regex(retry.stdout, /reset-failed appsd-taken\.socket/);
    t.is(await get(18510), 'taken');
    t.is((await w.appsd('diff')).code, 0);
    rmSync(join(w.apps, 'taken.yaml'));
    await w.appsd('apply');
  });

  test.serial('touching a manifest does not make its units need a daemon-reload', async (t) => {
    const w = workspace(t);
    w.write('touch.yaml', execApp(18520, 18521, 'touch'));
    t.is((await w.appsd('apply')).code, 0);
    const future = new Date(Date.now() + 60_000);
    utimesSync(join(w.apps, 'touch.yaml'), future, future);
    for (const unit of ['appsd-touch.socket', 'appsd-touch.service', 'appsd-touch-backend.service']) {
      t.is(await systemctl(t.context.manager, 'show', '-p', 'NeedDaemonReload', '--value', unit), 'no', unit);
    }
    t.is((await w.appsd('diff')).code, 0);
    rmSync(join(w.apps, 'touch.yaml'));
    await w.appsd('apply');
  });

  test.serial('apply killed at random moments: the next apply converges completely, and leaves no temporary file', async (t) => {
    const w = workspace(t);
    const m = t.context.manager;
    const ports = (i: number) => [18600 + i * 2, 18601 + i * 2] as const;
    const sets = [
      [0, 1, 2, 3, 4, 5, 6, 7],
      [4, 5, 6, 7, 8, 9, 10, 11],
      [0, 2, 4, 6, 8, 10],
    ];
    const trials = 12;
    for (let trial = 0; trial < trials; trial++) {
      const wanted = sets[trial % sets.length]!;
      for (const name of readdirSync(w.apps)) if (!wanted.includes(Number(name.slice(1, -5)))) rmSync(join(w.apps, name));
      for (const i of wanted) w.write(`k${i}.yaml`, execApp(...ports(i), `k${i}`));
      // Kill somewhere between reading the manifests and the last start.
      const child = spawn(process.execPath, [CLI, 'apply', '--apps-dir', w.apps, '--state-dir', w.state], { env: { ...process.env, ...m.env }, stdio: 'ignore' });
      // Listen for the exit before the kill: an apply that finished before it
      // has already emitted 'exit', and a listener added after would wait forever.
      const exited = new Promise((resolve) => child.once('exit', resolve));
      await sleep(150 + Math.floor(Math.random() * 450));
      child.kill('SIGKILL');
      await exited;
    }
    const final = sets[(trials - 1) % sets.length]!;
    const apply = await w.appsd('apply');
    t.true(apply.code === 0, apply.stdout + apply.stderr);
    const diff = await w.appsd('diff');
    t.is(diff.code, 0, diff.stdout + diff.stderr);
    // State, inventory and unit directory agree.
    const inventory = JSON.parse(readFileSync(join(w.state, 'inventory.json'), 'utf8')) as { apps: Record<string, { units: string[] }> };
    t.deepEqual(Object.keys(inventory.apps).sort(), final.map((i) => `k${i}`).sort());
    const ours = readdirSync(w.unitDir).filter((n) => /^appsd-k\d+/.test(n)).sort();
    t.deepEqual(ours, Object.values(inventory.apps).flatMap((a) => a.units).sort());
    for (const i of final) t.is(await activeState(m, `appsd-k${i}.socket`), 'active', `k${i}`);
    t.deepEqual(readdirSync(w.unitDir).filter((n) => n.includes('appsd-tmp')), [], 'no temporary file in the unit directory');
    t.deepEqual(readdirSync(w.state).filter((n) => n.includes('appsd-tmp')), [], 'no temporary file in the state directory');
    t.is(await get(ports(final[0]!)[0]), `k${final[0]}`);
    for (const name of readdirSync(w.apps)) rmSync(join(w.apps, name));
    t.is((await w.appsd('apply')).code, 0);
    t.false(existsSync(join(w.state, 'inventory.json')));
  });

  test.serial('a crafted inventory naming a file outside the unit directory: apply refuses it, and the file stays', async (t) => {
    const w = workspace(t);
    w.write('ok.yaml', execApp(18530, 18531, 'ok'));
    mkdirSync(w.state, { recursive: true });
    const victim = join(w.state, '..', 'victim.service');
    writeFileSync(victim, '[Unit]\nX-Appsd-App=x\n');
    writeFileSync(join(w.state, 'inventory.json'), JSON.stringify({ version: 1, apps: { x: { manifest: '/m.yaml', units: ['../../../../../..' + victim] } } }));
    const apply = await w.appsd('apply');
    t.is(apply.code, 2);
    t.regex(apply.stderr, /inventory\.json: app "x": lists unit .*which is not one of its units.*move it aside/);
    t.true(existsSync(victim));
  });
}
