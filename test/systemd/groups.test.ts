// needs, internal apps, several ports per app and UDP against a real systemd
// user manager that the suite starts itself: an app that needs another starts
// it first and waits until it accepts connections; an internal app runs only
// while an app that needs it runs; a backend with two ports runs while either
// port has traffic; a UDP socket is handed to a natively activated app.
import anyTest, { type TestFn } from 'ava';
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { PrivateManager } from '../../src/sandbox/private-manager.js';
import { execApp } from '../helpers/apps.js';
import { activeState, get, systemctl, waitFor } from '../helpers/systemd.js';
import { needPrograms, privateManagerTier, realTier } from '../helpers/tier.js';
import { workspace as makeWorkspace } from '../helpers/workspace.js';

const test = anyTest as TestFn<{ manager: PrivateManager }>;
const run = promisify(execFile);

privateManagerTier(test, 'groups', registerTests);

const workspace = (t: { context: { manager: PrivateManager }; teardown: (fn: () => void) => void }) =>
  makeWorkspace(t.context.manager, (fn) => t.teardown(fn));

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const KV_SERVER = fixture('kv-server.mjs');
const KV_WEB = fixture('kv-web.mjs');
const TWO_PORTS = fixture('two-ports.mjs');
const UDP_ECHO = fixture('udp-echo.c');

const command = (...args: string[]) => `  command: ${JSON.stringify([process.execPath, ...args])}`;
const manifest = (...lines: string[]) => lines.join('\n') + '\n';

/** Sends one datagram to 127.0.0.1:PORT; resolves to the first answer. */
function udpRequest(port: number, message: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no UDP answer from 127.0.0.1:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('message', (data) => {
      clearTimeout(timer);
      socket.close();
      resolve(data.toString());
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      socket.close();
      reject(error);
    });
    socket.send(message, port, '127.0.0.1');
  });
}

function registerTests() {
  test.serial('needs: the first request starts the internal app it needs, ready, first; both stop when idle; the next request starts both again', async (t) => {
    const w = workspace(t);
    const m = t.context.manager;
    // db listens only after 300 ms: web, which exits at start when it cannot
    // read from db, starts only once the readiness probe saw db accept.
    w.write('db.yaml', manifest('backend: 127.0.0.1:18801', 'exec:', command(KV_SERVER, '18801', 'value from db', '300')));
    w.write('web.yaml', manifest('listen: 127.0.0.1:18800', 'backend: 127.0.0.1:18802', 'idleTimeout: 2s', 'needs: [db]', 'exec:', command(KV_WEB, '18802', '127.0.0.1', '18801')));
    const apply = await w.appsd('apply');
    t.is(apply.code, 0, apply.stdout + apply.stderr);

    // db is internal: its backend unit alone, no socket, stopped when unneeded.
    t.false(existsSync(join(w.unitDir, 'appsd-db.socket')), 'an internal app has no socket');
    t.false(existsSync(join(w.unitDir, 'appsd-db.service')), 'nor a proxy');
    t.is(await systemctl(m, 'show', '-p', 'StopWhenUnneeded', '--value', 'appsd-db-backend.service'), 'yes');
    t.regex(await systemctl(m, 'show', '-p', 'Requires', '--value', 'appsd-web-backend.service'), /(^|\s)appsd-db-backend\.service(\s|$)/);
    t.regex(await systemctl(m, 'show', '-p', 'After', '--value', 'appsd-web-backend.service'), /(^|\s)appsd-db-backend\.service(\s|$)/);
    t.regex(await systemctl(m, 'show', '-p', 'RequiredBy', '--value', 'appsd-db-backend.service'), /(^|\s)appsd-web-backend\.service(\s|$)/);

    t.is(await activeState(m, 'appsd-web-backend.service'), 'inactive', 'nothing runs before the first connection');
    t.is(await activeState(m, 'appsd-db-backend.service'), 'inactive', 'nor the app it needs');
    t.is(await activeState(m, 'appsd-web.socket'), 'active');

    t.is(await get(18800), 'web read: value from db', 'the very first request');
    // Read well within the 2 s idle timeout.
    t.is(await activeState(m, 'appsd-web-backend.service'), 'active');
    t.is(await activeState(m, 'appsd-db-backend.service'), 'active');

    await waitFor(async () => (await activeState(m, 'appsd-web-backend.service')) === 'inactive', 15_000, 'web to scale to zero');
    await waitFor(async () => (await activeState(m, 'appsd-db-backend.service')) === 'inactive', 10_000, 'db to stop with it: nothing needs it');
    t.is(await activeState(m, 'appsd-web.service'), 'inactive');
    t.is(await activeState(m, 'appsd-web.socket'), 'active', 'the socket still listens');
    t.is(await systemctl(m, 'show', '-p', 'Result', '--value', 'appsd-db-backend.service'), 'success', 'stopping an unneeded app is no failure');
    t.is(await systemctl(m, 'show', '-p', 'Result', '--value', 'appsd-web-backend.service'), 'success');

    t.is(await get(18800), 'web read: value from db', 'the next request starts both again');
    t.is(await activeState(m, 'appsd-web-backend.service'), 'active');
    t.is(await activeState(m, 'appsd-db-backend.service'), 'active');

    w.remove('web.yaml');
    w.remove('db.yaml');
    t.is((await w.appsd('apply')).code, 0);
    t.not(await activeState(m, 'appsd-db-backend.service'), 'active');
  });

  test.serial('two ports: each listen address reaches its own backend port; the backend runs while either has traffic', async (t) => {
    const w = workspace(t);
    const m = t.context.manager;
    w.write('two.yaml', manifest(
      'listen: ["127.0.0.1:18810", "127.0.0.1:18820 -> 18821"]',
      'backend: 127.0.0.1:18811',
      'idleTimeout: 2s',
      'exec:',
      command(TWO_PORTS, '18811', 'port a', '18821', 'port b'),
    ));
    const apply = await w.appsd('apply');
    t.is(apply.code, 0, apply.stdout + apply.stderr);
    t.is(await systemctl(m, 'show', '-p', 'Listen', '--value', 'appsd-two.socket'), '127.0.0.1:18810 (Stream)');
    t.is(await systemctl(m, 'show', '-p', 'Listen', '--value', 'appsd-two_18821.socket'), '127.0.0.1:18820 (Stream)');
    t.is(await activeState(m, 'appsd-two-backend.service'), 'inactive');

    t.is(await get(18820), 'port b', 'port B first: it starts the backend too');
    t.is(await get(18810), 'port a');
    t.is(await activeState(m, 'appsd-two_18821.service'), 'active');
    t.is(await activeState(m, 'appsd-two.service'), 'active');

    // Traffic on A only, every 0.7 s for 5 s (idleTimeout is 2 s): B's proxy
    // exits, the backend never stops.
    const backend: string[] = [];
    const proxyB: string[] = [];
    const until = Date.now() + 5000;
    const sample = async () => {
      while (Date.now() < until) {
        backend.push(await activeState(m, 'appsd-two-backend.service'));
        proxyB.push(await activeState(m, 'appsd-two_18821.service'));
        await sleep(100);
      }
    };
    const traffic = async () => {
      const bodies: string[] = [];
      while (Date.now() < until) {
        bodies.push(await get(18810));
        await sleep(700);
      }
      return bodies;
    };
    const [bodies] = await Promise.all([traffic(), sample()]);
    t.true(bodies.length >= 5, `${bodies.length} requests`);
    t.true(bodies.every((b) => b === 'port a'));
    t.true(backend.length > 20, `${backend.length} samples`);
    t.deepEqual([...new Set(backend)], ['active'], 'the backend ran throughout');
    t.is(proxyB.at(-1), 'inactive', "port B's proxy exited after its idle timeout");
    t.is(await activeState(m, 'appsd-two_18821.socket'), 'active', "port B's socket still listens");
    // B again: its proxy starts, to the backend that is already running.
    const pid = await systemctl(m, 'show', '-p', 'MainPID', '--value', 'appsd-two-backend.service');
    t.is(await get(18820), 'port b');
    t.is(await systemctl(m, 'show', '-p', 'MainPID', '--value', 'appsd-two-backend.service'), pid, 'the same backend process');

    // No traffic: once both proxies have exited, the backend stops.
    await waitFor(async () => (await activeState(m, 'appsd-two-backend.service')) === 'inactive', 15_000, 'the backend to stop');
    t.is(await activeState(m, 'appsd-two.service'), 'inactive');
    t.is(await activeState(m, 'appsd-two_18821.service'), 'inactive');
    t.is(await activeState(m, 'appsd-two.socket'), 'active');
    t.is(await activeState(m, 'appsd-two_18821.socket'), 'active');
    t.is(await get(18810), 'port a', 'and starts again');

    w.remove('two.yaml');
    t.is((await w.appsd('apply')).code, 0);
    t.false(existsSync(join(w.unitDir, 'appsd-two_18821.socket')));
    await t.throwsAsync(get(18820, '/', 1000));
  });

  realTier('groups UDP', needPrograms(['cc']), () => {
    test.serial('UDP: with activation: native the app gets the datagram socket (LISTEN_FDS) and answers through it', async (t) => {
      const w = workspace(t);
      const m = t.context.manager;
      const dir = mkdtempSync(join(tmpdir(), 'appsd-udp-'));
      t.teardown(() => rmSync(dir, { recursive: true, force: true }));
      const server = join(dir, 'udp-echo');
      await run('cc', ['-O2', '-o', server, UDP_ECHO]);
      w.write('dns.yaml', manifest('listen: [{udp: 127.0.0.1:18830}]', 'activation: native', 'exec:', `  command: ${JSON.stringify([server, 'dns says', '2'])}`));
      const apply = await w.appsd('apply');
      t.is(apply.code, 0, apply.stdout + apply.stderr);
      t.regex(readFileSync(join(w.unitDir, 'appsd-dns.socket'), 'utf8'), /^ListenDatagram=127\.0\.0\.1:18830$/m);
      t.is(await systemctl(m, 'show', '-p', 'Listen', '--value', 'appsd-dns.socket'), '127.0.0.1:18830 (Datagram)');
      t.is(await activeState(m, 'appsd-dns.socket'), 'active');
      t.is(await activeState(m, 'appsd-dns.service'), 'inactive', 'nothing runs before the first datagram');

      t.is(await udpRequest(18830, 'hello'), 'dns says hello (LISTEN_FDS=1)');
      t.is(await activeState(m, 'appsd-dns.service'), 'active');
      t.is(await udpRequest(18830, 'again'), 'dns says again (LISTEN_FDS=1)');
      // The app exits after 2 s without a datagram; the socket listens on.
      await waitFor(async () => (await activeState(m, 'appsd-dns.service')) === 'inactive', 15_000, 'the app to exit');
      t.is(await systemctl(m, 'show', '-p', 'Result', '--value', 'appsd-dns.service'), 'success');
      t.is(await activeState(m, 'appsd-dns.socket'), 'active');
      t.is(await udpRequest(18830, 'later'), 'dns says later (LISTEN_FDS=1)', 'the next datagram starts it again');

      w.remove('dns.yaml');
      t.is((await w.appsd('apply')).code, 0);
      t.not(await activeState(m, 'appsd-dns.socket'), 'active');
      await t.throwsAsync(udpRequest(18830, 'gone', 1000));
    });
  });

  test.serial('an unknown need or a cycle: apply fails at file:line:col for those apps, the others converge', async (t) => {
    const w = workspace(t);
    const m = t.context.manager;
    // Unknown need, next to a new valid app.
    w.write('lonely.yaml', manifest('listen: 127.0.0.1:18840', 'backend: 127.0.0.1:18841', 'needs: [nosuch]', 'exec:', command(KV_SERVER, '18841', 'never')));
    w.write('fine.yaml', execApp(18842, 18843, 'fine'));
    const unknown = await w.appsd('apply');
    t.is(unknown.code, 2, unknown.stdout + unknown.stderr);
    t.regex(unknown.stderr, /lonely\.yaml:3:9: needs\[0\]: no app is named "nosuch"/);
    t.false(existsSync(join(w.unitDir, 'appsd-lonely.socket')), 'none of the invalid app is written');
    t.is(await get(18842), 'fine');

    // A cycle: c1 was valid and applied; needing c2, which needs c1, makes
    // both invalid. c1 keeps its last applied units, c2 gets none, and a new
    // valid app in the same pass converges.
    w.remove('lonely.yaml');
    w.write('c1.yaml', execApp(18844, 18845, 'c1 as applied'));
    t.is((await w.appsd('apply')).code, 0);
    t.is(await get(18844), 'c1 as applied');
    w.write('c1.yaml', execApp(18844, 18845, 'c1 changed', 'needs: [c2]'));
    w.write('c2.yaml', execApp(18846, 18847, 'c2', 'needs: c1'));
    w.write('other.yaml', execApp(18848, 18849, 'other'));
    const cycle = await w.appsd('apply');
    t.is(cycle.code, 2, cycle.stdout + cycle.stderr);
    t.regex(cycle.stderr, /c1\.yaml:3:9: needs\[0\]: needs form a cycle, so none of them could start first: c1 -> c2 -> c1/);
    t.regex(cycle.stderr, /c2\.yaml:3:8: needs: needs form a cycle, so none of them could start first: c1 -> c2 -> c1/);
    t.regex(cycle.stderr, /kept: c1: its manifest is invalid/);
    t.false(existsSync(join(w.unitDir, 'appsd-c2.socket')));
    t.is(await get(18848), 'other');
    t.is(await get(18842), 'fine');
    t.is(await get(18844), 'c1 as applied', 'c1 keeps its last applied units, running');
    t.notRegex(await systemctl(m, 'show', '-p', 'Requires', '--value', 'appsd-c1-backend.service'), /appsd-c2/, 'and not the invalid need');

    for (const name of ['c1.yaml', 'c2.yaml', 'other.yaml', 'fine.yaml']) w.remove(name);
    t.is((await w.appsd('apply')).code, 0);
    t.false(existsSync(join(w.unitDir, 'appsd-c1.socket')));
  });
}
