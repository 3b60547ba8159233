// `appsd logs` and lastLines for container apps, against real podman under
// the private manager: the container's output reaches the sandbox's journal
// (podman --log-driver=journald, which appsd adds under the sandbox), and so
// do podman's own errors (the unit's stderr). Ports 18980-18989.
import type { ExecutionContext, TestFn } from 'ava';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { lastLines } from '../../src/logs/last-lines.js';
import type { PrivateManager } from '../../src/sandbox/private-manager.js';
import { CLI } from '../helpers/cli.js';
import { IMAGES } from '../helpers/podman.js';
import { get, waitFor } from '../helpers/systemd.js';
import type { Workspace } from '../helpers/workspace.js';

export interface LogsContext {
  manager: PrivateManager;
  podmanEnv: NodeJS.ProcessEnv;
}

export function registerLogTests<C extends LogsContext>(test: TestFn<C>, workspace: (t: ExecutionContext<C>) => Workspace): void {
  test.serial('logs -f shows a container app\'s output as its first request starts it; lastLines has podman\'s error for a missing image', async (t) => {
    const w = workspace(t);
    const env = { ...process.env, ...t.context.manager.env, CONTAINERS_CONF: t.context.podmanEnv['CONTAINERS_CONF'], NO_COLOR: '1' };
    w.write('shout.yaml', [
      'listen: 127.0.0.1:18980',
      'idleTimeout: 30s',
      'container:',
      `  image: ${IMAGES.httpd}`,
      '  port: 8080',
      `  command: [/bin/sh, -c, "echo shout is up; echo shouted > /www/index.html; exec httpd -f -p 8080 -h /www"]`,
    ].join('\n') + '\n');
    const apply = await w.appsd('apply');
    t.is(apply.code, 0, apply.stdout + apply.stderr);

    const follower = spawn(process.execPath, [CLI, 'logs', 'shout', '-f', '--apps-dir', w.apps, '--state-dir', w.state], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    t.teardown(() => follower.kill('SIGKILL'));
    let out = '';
    follower.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => follower.on('exit', (code) => resolve(code)));
    await new Promise((r) => setTimeout(r, 700));
    t.is(await get(18980), 'shouted\n');
    await waitFor(async () => out.includes('shout is up'), 10_000, `the container's line in: ${out}`);
    t.regex(out, /^\S+Z appsd-shout-backend\.service: shout is up$/m);
    follower.kill('SIGTERM');
    t.is(await exited, 0);

    // podman cannot start it: its own message is the reason status can show.
    w.write('ghost.yaml', 'listen: 127.0.0.1:18982\ncontainer:\n  image: localhost/appsd-test-missing:v1\n  port: 8080\n  pull: never\n');
    t.is((await w.appsd('apply')).code, 0);
    await new Promise<void>((resolve) => {
      const req = request({ host: '127.0.0.1', port: 18982, agent: false, timeout: 60_000 }, (res) => res.resume().on('end', resolve));
      req.on('error', () => resolve());
      req.end();
    });
    let lines: string[] = [];
    const missing = /image not known|no such image/i;
    await waitFor(async () => (lines = await lastLines('ghost', 5, { scope: 'user', env })).some((l) => missing.test(l)), 10_000, "podman's error in the last lines");
    t.true(lines.some((l) => missing.test(l)), JSON.stringify(lines));
  });
}
