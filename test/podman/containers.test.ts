// Containers end to end: real podman under the private systemd manager the
// suite starts, with images built offline. Requests go over loopback.
import anyTest, { type TestFn } from 'ava';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { privateManagerUnsupported, startPrivateManager, type PrivateManager } from '../../src/sandbox/private-manager.js';
import { buildTestImages, IMAGES, podmanInspect, removeAppsdContainers, runningContainers, writeContainersConf } from '../helpers/podman.js';
import { activeState, get, systemctl, waitFor } from '../helpers/systemd.js';
import { needPrograms, realTier } from '../helpers/tier.js';
import { workspace as makeWorkspace } from '../helpers/workspace.js';
import { registerGroupTests } from './groups.js';
import { registerLogTests } from './logs.js';
import { registerRealAppTests } from './real-apps.js';

interface Context {
  manager: PrivateManager;
  /** Environment for the host's podman: the same containers.conf as the manager's services. */
  podmanEnv: NodeJS.ProcessEnv;
  confDir: string;
}
const test = anyTest as TestFn<Context>;
realTier('podman', privateManagerUnsupported() ?? needPrograms(['podman', 'runc', 'cc', 'busybox', 'tar']), () => {
  test.before(async (t) => {
    t.context.confDir = mkdtempSync(join(tmpdir(), 'appsd-podman-'));
    const conf = writeContainersConf(t.context.confDir);
    t.context.podmanEnv = { ...process.env, CONTAINERS_CONF: conf };
    await buildTestImages(t.context.podmanEnv);
    t.context.manager = await startPrivateManager({ serviceEnv: { CONTAINERS_CONF: conf }, shareNetns: true });
  });
  test.after.always(async (t) => {
    await t.context.manager?.stop();
    // Containers live in podman's own cgroups, not the manager's: remove what a failed test left.
    if (t.context.podmanEnv) await removeAppsdContainers(t.context.podmanEnv);
    if (t.context.confDir) rmSync(t.context.confDir, { recursive: true, force: true });
  });
  registerTests();
  registerRealAppTests(test, (t) => workspace(t));
  registerGroupTests(test, (t) => workspace(t));
  registerLogTests(test, (t) => workspace(t));
});

// appsd's own podman calls (networks, secrets for status) see what the units' podman sees.
const workspace = (t: { context: Context; teardown: (fn: () => void) => void }) =>
  makeWorkspace(t.context.manager, (fn) => t.teardown(fn), { CONTAINERS_CONF: t.context.podmanEnv['CONTAINERS_CONF'] });

function containerApp(listen: number, lines: string[], container: string[]): string {
  return [`listen: 127.0.0.1:${listen}`, ...lines, 'container:', ...container.map((l) => `  ${l}`)].join('\n') + '\n';
}

function registerTests() {
  test.serial('cold request starts the container, warm ones reuse it, idle scales it to zero, the next request brings it back', async (t) => {
    const w = workspace(t);
    const { manager, podmanEnv } = t.context;
    w.write('web.yaml', containerApp(19080, ['idleTimeout: 5s'], [`image: ${IMAGES.httpd}`, 'port: 8080', 'env: {BODY: "hello from a container"}']));
    const apply = await w.appsd('apply');
    t.is(apply.code, 0, apply.stdout + apply.stderr);
    t.false((await runningContainers(podmanEnv)).includes('appsd-web'), 'nothing runs before the first request');
    t.is(await get(19080), 'hello from a container\n');
    t.true((await runningContainers(podmanEnv)).includes('appsd-web'));
    for (let i = 0; i < 5; i++) t.is(await get(19080), 'hello from a container\n');
    await waitFor(async () => (await activeState(manager, 'appsd-web-backend.service')) === 'inactive', 15_000, 'the backend to stop');
    t.false((await runningContainers(podmanEnv)).includes('appsd-web'));
    t.is(await activeState(manager, 'appsd-web.socket'), 'active');
    t.is(await systemctl(manager, 'show', '-p', 'Result', '--value', 'appsd-web-backend.service'), 'success', 'a scale-down is not a failure');
    t.is(await get(19080), 'hello from a container\n');
    t.true((await runningContainers(podmanEnv)).includes('appsd-web'));
    w.remove('web.yaml');
    t.is((await w.appsd('apply')).code, 0);
    t.false((await runningContainers(podmanEnv)).includes('appsd-web'));
  });

  test.serial('ten concurrent cold requests all succeed', async (t) => {
    const w = workspace(t);
    w.write('burst.yaml', containerApp(19090, [], [`image: ${IMAGES.httpd}`, 'port: 8080', 'env: {BODY: burst}']));
    t.is((await w.appsd('apply')).code, 0);
    const bodies = await Promise.all(Array.from({ length: 10 }, () => get(19090)));
    t.deepEqual(bodies, Array(10).fill('burst\n'));
    w.remove('burst.yaml');
    await w.appsd('apply');
  });

  test.serial('ten cold starts in quick succession leave the socket listening (no start-limit death)', async (t) => {
    const w = workspace(t);
    const { manager } = t.context;
    w.write('quick.yaml', containerApp(19100, [], [`image: ${IMAGES.httpd}`, 'port: 8080', 'env: {BODY: quick}']));
    t.is((await w.appsd('apply')).code, 0);
    for (let i = 0; i < 10; i++) {
      t.is(await get(19100), 'quick\n', `cold start ${i + 1}`);
      // Scale to zero at once: stopping the proxy makes the backend unneeded.
      await systemctl(manager, 'stop', 'appsd-quick.service');
      await waitFor(async () => (await activeState(manager, 'appsd-quick-backend.service')) === 'inactive', 10_000, 'scale-down');
    }
    t.is(await activeState(manager, 'appsd-quick.socket'), 'active');
    t.is(await get(19100), 'quick\n');
    w.remove('quick.yaml');
    await w.appsd('apply');
  });

  test.serial('a changed image or env is used by the next activation', async (t) => {
    const w = workspace(t);
    w.write('ver.yaml', containerApp(19110, [], [`image: ${IMAGES.httpd}`, 'port: 8080']));
    t.is((await w.appsd('apply')).code, 0);
    t.is(await get(19110), 'image v1\n');
    w.write('ver.yaml', containerApp(19110, [], [`image: ${IMAGES.httpdV2}`, 'port: 8080']));
    const change = await w.appsd('apply');
    t.regex(change.stdout, /- stop appsd-ver-backend\.service/);
    t.is(await get(19110), 'image v2\n');
    w.write('ver.yaml', containerApp(19110, [], [`image: ${IMAGES.httpdV2}`, 'port: 8080', 'env: {BODY: "from env, with $dollar and 100%"}']));
    t.is((await w.appsd('apply')).code, 0);
    t.is(await get(19110), 'from env, with $dollar and 100%\n');
    w.remove('ver.yaml');
    await w.appsd('apply');
  });

  test.serial('command, volumes with ~ and resources reach podman and systemd', async (t) => {
    const w = workspace(t);
    const { manager, podmanEnv } = t.context;
    const www = join(manager.env['HOME']!, 'site');
    mkdirSync(www, { recursive: true });
    writeFileSync(join(www, 'index.html'), 'served from a volume\n');
    w.write(
      'full.yaml',
      containerApp(19120, ['idleTimeout: 1min'], [
        `image: ${IMAGES.httpd}`,
        'port: 9000',
        'command: [httpd, -f, -p, "9000", -h, /srv/site]',
        'volumes: ["~/site:/srv/site:ro"]',
        'resources: {memory: 64M, cpu: 0.5}',
      ]),
    );
    const apply = await w.appsd('apply');
    t.is(apply.code, 0, apply.stdout + apply.stderr);
    t.is(await get(19120), 'served from a volume\n');
    const info = await podmanInspect('appsd-full', podmanEnv);
    const host = info['HostConfig'] as { Memory: number; NanoCpus: number; Binds: string[] };
    t.is(host.Memory, 64 * 1024 * 1024);
    t.is(host.NanoCpus, 500_000_000);
    t.true(host.Binds.some((b) => b.startsWith(`${www}:/srv/site:ro`)), JSON.stringify(host.Binds));
    t.deepEqual((info['Config'] as { Cmd: string[] }).Cmd, ['httpd', '-f', '-p', '9000', '-h', '/srv/site']);
    t.is(await systemctl(manager, 'show', '-p', 'MemoryMax', '--value', 'appsd-full-backend.service'), String(64 * 1024 * 1024));
    t.is(await systemctl(manager, 'show', '-p', 'CPUQuotaPerSecUSec', '--value', 'appsd-full-backend.service'), '500ms');
    w.remove('full.yaml');
    await w.appsd('apply');
  });

  test.serial('a slow starter (2 s before it listens) still answers the first request, never a reset', async (t) => {
    const w = workspace(t);
    w.write('slow.yaml', containerApp(19130, [], [`image: ${IMAGES.httpd}`, 'port: 8080', 'env: {BODY: slow but fine, DELAY: "2"}']));
    t.is((await w.appsd('apply')).code, 0);
    const started = Date.now();
    t.is(await get(19130), 'slow but fine\n');
    t.true(Date.now() - started >= 2000);
    w.remove('slow.yaml');
    await w.appsd('apply');
  });

  test.serial('HTTP readiness waits for the path, and a backend that never gets ready fails fast with a message in its status', async (t) => {
    const w = workspace(t);
    const { manager } = t.context;
    w.write('http.yaml', containerApp(19140, ['readiness: {check: http, path: /index.html}'], [`image: ${IMAGES.httpd}`, 'port: 8080', 'env: {BODY: ready, DELAY: "1"}']));
    w.write('never.yaml', containerApp(19141, ['readiness: {timeout: 2s}'], [`image: ${IMAGES.httpd}`, 'port: 8080', 'command: [sleep, "1000"]']));
    t.is((await w.appsd('apply')).code, 0);
    t.is(await get(19140), 'ready\n');
    const started = Date.now();
    await t.throwsAsync(get(19141, '/', 20_000));
    t.true(Date.now() - started < 15_000, 'the start fails at the deadline, not the 90 s default');
    await waitFor(async () => (await activeState(manager, 'appsd-never-backend.service')) !== 'activating', 10_000, 'the failed start');
    const status = await systemctl(manager, 'status', 'appsd-never-backend.service');
    t.regex(status, /Status: "appsd: backend 127\.0\.0\.1:\d+ did not accept connections within 2000 ms"/);
    t.is(await activeState(manager, 'appsd-never.socket'), 'active', 'the socket survives a failed start');
    w.remove('http.yaml');
    w.remove('never.yaml');
    await w.appsd('apply');
  });

  test.serial('a container whose program exits at once: its client is reset at once, and status says how it ended and what it wrote', async (t) => {
    const w = workspace(t);
    const { manager } = t.context;
    w.write('crashbox.yaml', containerApp(19160, [], [`image: ${IMAGES.httpd}`, 'port: 8080', 'command: [/bin/sh, -c, "echo serve: bad option -- q >&2; exit 3"]']));
    t.is((await w.appsd('apply')).code, 0);
    const started = Date.now();
    await t.throwsAsync(get(19160, '/', 20_000));
    const ms = Date.now() - started;
    t.log(`the client was reset after ${ms} ms (podman run included)`);
    t.true(ms < 5000, `the client waited ${ms} ms: the wait ends with conmon, not at the 30 s deadline`);
    await waitFor(async () => (await activeState(manager, 'appsd-crashbox-backend.service')) === 'failed', 10_000, 'the failed start');
    const status = await w.appsd('status', 'crashbox');
    t.regex(status.stdout, /state:\s+failed/);
    t.regex(status.stdout, /exited before it was ready/);
    t.regex(status.stdout, /last lines:(\n {4}.*)*\n {4}serve: bad option -- q/);
    w.remove('crashbox.yaml');
    await w.appsd('apply');
  });

  test.serial('native activation: the container answers through the passed socket, no proxy, no published port', async (t) => {
    const w = workspace(t);
    const { manager, podmanEnv } = t.context;
    w.write('native.yaml', [
      'listen: 127.0.0.1:19150',
      'activation: native',
      'container:',
      `  image: ${IMAGES.sockact}`,
      '  command: [/bin/sockact-server, "native hello\\n", "2"]',
    ].join('\n') + '\n');
    const apply = await w.appsd('apply');
    t.is(apply.code, 0, apply.stdout + apply.stderr);
    t.is(await get(19150), 'native hello\n');
    t.true((await runningContainers(podmanEnv)).includes('appsd-native'));
    const info = await podmanInspect('appsd-native', podmanEnv);
    t.deepEqual(Object.keys((info['HostConfig'] as { PortBindings?: object }).PortBindings ?? {}), []);
    // The app exits after 2 s idle: scale to zero, the socket keeps listening.
    await waitFor(async () => !(await runningContainers(podmanEnv)).includes('appsd-native'), 15_000, 'the app to exit when idle');
    t.is(await activeState(manager, 'appsd-native.socket'), 'active');
    // A request while the service is still stopping waits for the next start.
    t.is(await get(19150), 'native hello\n');
    await waitFor(async () => (await activeState(manager, 'appsd-native.service')) === 'inactive', 15_000, 'the service to stop');
    t.is(await systemctl(manager, 'show', '-p', 'Result', '--value', 'appsd-native.service'), 'success');
    t.is(await get(19150), 'native hello\n');
    w.remove('native.yaml');
    await w.appsd('apply');
    await sleep(100);
    t.false((await runningContainers(podmanEnv)).includes('appsd-native'));
  });
}
