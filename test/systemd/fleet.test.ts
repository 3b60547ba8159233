// A fleet of three hosts driven by one git repository (docs/fleet.md): three
// private systemd managers, each in a network namespace of its own (its own
// 127.0.0.1, as separate machines have), each running `appsd watch --pull` on
// its own clone with its own --host and --host-labels. What a pushed commit
// places on some hosts converges there and leaves the others untouched.
import anyTest, { type TestFn } from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { snapshot, changedFiles } from '../../bench/context.js';
import { queryController } from '../../src/controller/status-socket.js';
import { startPrivateManager, privateManagerUnsupported, type PrivateManager } from '../../src/sandbox/private-manager.js';
import { execApp } from '../helpers/apps.js';
import { manifestRepo } from '../helpers/git.js';
import { runCli } from '../helpers/cli.js';
import { ReloadCounter, waitFor } from '../helpers/systemd.js';
import { needPrograms, realTier } from '../helpers/tier.js';
import { WatchProcess } from '../helpers/watch.js';

interface Host {
  readonly name: string;
  readonly labels: string;
  readonly manager: PrivateManager;
  readonly clone: string;
  readonly state: string;
  watch?: WatchProcess;
  reloads?: ReloadCounter;
}

const test = anyTest as TestFn<{ hosts: Host[]; root: string }>;
const run = promisify(execFile);

realTier('fleet', privateManagerUnsupported() ?? needPrograms(['git', 'nsenter', 'curl', 'ip']), () => {
  test.before(async (t) => {
    const root = mkdtempSync(join(tmpdir(), 'appsd-fleet-'));
    const specs = [
      ['h1', 'role=edge,region=eu'],
      ['h2', 'role=edge,region=us'],
      ['h3', 'role=db,region=eu'],
    ] as const;
    const managers = await Promise.all(specs.map(() => startPrivateManager({ ownNetwork: true })));
    t.context = {
      root,
      hosts: specs.map(([name, labels], i) => ({ name, labels, manager: managers[i]!, clone: join(root, name), state: join(managers[i]!.root, 'appsd-state') })),
    };
  });
  test.after.always(async (t) => {
    for (const h of t.context.hosts ?? []) {
      await h.watch?.stop();
      h.reloads?.close();
    }
    await Promise.all((t.context.hosts ?? []).map((h) => h.manager.stop()));
    if (t.context.root) rmSync(t.context.root, { recursive: true, force: true });
  });

  test.serial('a pushed commit converges exactly the hosts it places an app on; a move moves it; a broken commit changes nothing anywhere', async (t) => {
    const { hosts, root } = t.context;
    // On every host: no placement.
    const { author, push, clone } = manifestRepo(root, { 'base.yaml': execApp(18750, 18751, 'base') }, 'base');

    /** What the host answers on its own 127.0.0.1:PORT ('' when nothing listens). */
    const get = async (h: Host, port: number) =>
      (await run('nsenter', ['--target', String(h.manager.pid), '--net', 'curl', '-s', '--max-time', '5', `http://127.0.0.1:${port}/`]).catch(() => ({ stdout: '' }))).stdout;
    const at = async (h: Host, commit: string) => (await queryController(h.state))?.lastPass?.commit === commit;
    const converged = (commit: string) => waitFor(async () => (await Promise.all(hosts.map((h) => at(h, commit)))).every(Boolean), 30_000, `every host to pass at ${commit.slice(0, 8)}`);
    const files = () => hosts.map((h) => snapshot([h.manager.unitDir, h.state]));

    for (const h of hosts) {
      clone(h.clone);
      h.watch = new WatchProcess(['--apps-dir', join(h.clone, 'apps.d'), '--state-dir', h.state, '--pull', '1s', '--host', h.name, '--host-labels', h.labels], h.manager.env);
      h.reloads = await ReloadCounter.attach(h.manager);
    }
    for (const h of hosts) await h.watch!.waitForLine(/pass \(start\): \d+ actions/, 30_000);
    for (const h of hosts) t.is(await get(h, 18750), 'base', h.name);

    // Placed by label on the two edge hosts.
    const before = files();
    for (const h of hosts) h.reloads!.count = 0;
    writeFileSync(join(author, 'apps.d', 'web.yaml'), `placement: {role: edge}\n${execApp(18760, 18761, 'web')}`);
    const t0 = performance.now();
    const placed = push('web on the edge');
    await waitFor(async () => (await get(hosts[0]!, 18760)) === 'web' && (await get(hosts[1]!, 18760)) === 'web', 30_000, 'web on h1 and h2');
    const answered = performance.now() - t0;
    await converged(placed);
    const all = performance.now() - t0;
    t.log(`push to web answering on h1 and h2: ${answered.toFixed(0)} ms; to every host's pass at the commit: ${all.toFixed(0)} ms (--pull 1s)`);
    t.is(await get(hosts[2]!, 18760), '', 'h3 does not run web');
    const after = files();
    t.is(changedFiles(before[2]!, after[2]!), 0, 'h3: no file written');
    t.is(await hosts[2]!.reloads!.settle(), 0, 'h3: no daemon-reload');
    t.true(changedFiles(before[0]!, after[0]!) > 0);
    t.is(await hosts[0]!.reloads!.settle(), 1);
    // Its log and status say what it leaves alone, and why.
    await hosts[2]!.watch!.waitForLine(/not run on this host: web \(placed where role=edge; this host has role=db\)/, 5000);
    const h3 = hosts[2]!;
    const status = await runCli(['status', '--apps-dir', join(h3.clone, 'apps.d'), '--state-dir', h3.state, '--host', h3.name, '--host-labels', h3.labels], { env: h3.manager.env });
    t.true(status.stdout.includes('not run on this host (h3):\n  web  placed where role=edge; this host has role=db\n'), status.stdout + status.stderr);
    const one = await runCli(['status', 'web', '--apps-dir', join(h3.clone, 'apps.d'), '--state-dir', h3.state, '--host', h3.name, '--host-labels', h3.labels], { env: h3.manager.env });
    t.is(one.code, 0, one.stderr);
    t.regex(one.stdout, /^web: not run on this host \(placed where role=edge; this host has role=db\); /);
    const restart = await runCli(['restart', 'web', '--apps-dir', join(h3.clone, 'apps.d'), '--state-dir', h3.state, '--host', h3.name, '--host-labels', h3.labels], { env: h3.manager.env });
    t.is(restart.code, 2);
    t.is(restart.stderr, 'appsd: "web" does not run on this host (placed where role=edge; this host has role=db)\n');

    // Moved by name to h3: it goes from h1 and h2, and comes up on h3.
    writeFileSync(join(author, 'apps.d', 'web.yaml'), `hosts: [h3]\n${execApp(18760, 18761, 'web')}`);
    const t1 = performance.now();
    const moved = push('web to h3');
    await waitFor(async () => (await get(hosts[2]!, 18760)) === 'web' && (await get(hosts[0]!, 18760)) === '' && (await get(hosts[1]!, 18760)) === '', 30_000, 'web to move to h3');
    t.log(`push to web moved (on h3, gone from h1 and h2): ${(performance.now() - t1).toFixed(0)} ms`);
    await converged(moved);
    await hosts[0]!.watch!.waitForLine(/- delete appsd-web\.socket \(web: not placed on this host any more\)/, 10_000);
    for (const h of hosts) t.is(await get(h, 18750), 'base', `${h.name} still runs base`);

    // A broken commit: web's placement is invalid. Nothing changes anywhere.
    const steady = files();
    for (const h of hosts) h.reloads!.count = 0;
    writeFileSync(join(author, 'apps.d', 'web.yaml'), `hosts: h3\n${execApp(18760, 18761, 'web')}`);
    const broken = push('broken placement');
    await converged(broken);
    for (const h of hosts) t.like((await queryController(h.state))?.lastPass, { result: 'invalid-manifests' }, h.name);
    t.is(await get(hosts[2]!, 18760), 'web', 'h3 keeps web as last applied');
    t.is(await get(hosts[0]!, 18760), '');
    const later = files();
    hosts.forEach((h, i) => t.is(changedFiles(steady[i]!, later[i]!), 0, `${h.name}: no file written`));
    for (const h of hosts) t.is(await h.reloads!.settle(), 0, `${h.name}: no daemon-reload`);
  });
});
