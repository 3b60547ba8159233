// Apps that need each other, and an app with two ports, against real podman
// and systemd: examples/groups applied as a user would (after building its
// image), with short idle timeouts so scale-to-zero is seen in the test.
import type { ExecutionContext, TestFn } from 'ava';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { PrivateManager } from '../../src/sandbox/private-manager.js';
import { runningContainers } from '../helpers/podman.js';
import { activeState, get, systemctl, waitFor } from '../helpers/systemd.js';
import type { Workspace } from '../helpers/workspace.js';

const run = promisify(execFile);
const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

export interface GroupsContext {
  manager: PrivateManager;
  podmanEnv: NodeJS.ProcessEnv;
}

/** The example manifest, with a short idle timeout. */
const example = (file: string, idle: string) => readFileSync(join(EXAMPLES, 'groups', file), 'utf8').replace(/^idleTimeout: .*$/m, `idleTimeout: ${idle}`);

/** The first line a TCP server sends. */
function banner(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let data = '';
    socket.setTimeout(10_000, () => socket.destroy(new Error('timeout')));
    socket.on('data', (d) => (data += d.toString()));
    socket.on('error', reject);
    socket.on('close', () => resolve(data.trim()));
  });
}

export function registerGroupTests<C extends GroupsContext>(test: TestFn<C>, workspace: (t: ExecutionContext<C>) => Workspace): void {
  test.serial('examples/groups: a cold request starts db, then web, which reads from db by name; idle stops both; the socket stays', async (t) => {
    const w = workspace(t);
    const { manager, podmanEnv } = t.context;
    await run('bash', [join(EXAMPLES, 'images/build.sh')], { env: podmanEnv });
    // A network appsd left behind in an earlier run (another state directory) would be joined, not created.
    const dropNetwork = () => run('podman', ['network', 'rm', '-f', 'appsd'], { env: podmanEnv }).catch(() => undefined);
    await dropNetwork();
    t.teardown(dropNetwork);
    w.write('web.yaml', example('web.yaml', '3s'));
    w.write('db.yaml', readFileSync(join(EXAMPLES, 'groups/db.yaml'), 'utf8'));
    const apply = await w.appsd('apply');
    t.is(apply.code, 0, apply.stdout + apply.stderr);
    t.regex(apply.stdout, /\+ create-network network appsd/);
    t.deepEqual((await runningContainers(podmanEnv)).filter((n) => n === 'appsd-web' || n === 'appsd-db'), [], 'nothing runs before the first request');
    t.regex(await systemctl(manager, 'show', '-p', 'Requires', '--value', 'appsd-web-backend.service'), /appsd-db-backend\.service/);

    // The very first request already sees the database: db was started and ready before web.
    t.is(await get(8095), 'web read from db: value from db\n');
    const running = await runningContainers(podmanEnv);
    t.true(running.includes('appsd-web') && running.includes('appsd-db'), running.join(', '));
    const started = async (unit: string) => BigInt(await systemctl(manager, 'show', '-p', 'ActiveEnterTimestampMonotonic', '--value', unit));
    t.true((await started('appsd-db-backend.service')) <= (await started('appsd-web-backend.service')), 'db was ready before web started');
    // No host port for db: only web's loopback port is published.
    const ports = (await run('podman', ['port', 'appsd-db'], { env: podmanEnv })).stdout.trim();
    t.is(ports, '');

    // Idle: web's proxy exits, web stops, and db (needed by nothing now) stops with it.
    await waitFor(async () => (await activeState(manager, 'appsd-db-backend.service')) === 'inactive', 20_000, 'db to stop');
    t.is(await activeState(manager, 'appsd-web-backend.service'), 'inactive');
    await waitFor(async () => !(await runningContainers(podmanEnv)).some((n) => n === 'appsd-web' || n === 'appsd-db'), 15_000, 'both containers to be gone');
    t.is(await activeState(manager, 'appsd-web.socket'), 'active');
    t.is(await systemctl(manager, 'show', '-p', 'Result', '--value', 'appsd-db-backend.service'), 'success');

    // status says who needs whom.
    const status = await w.appsd('status');
    t.regex(status.stdout, /web needs db/);
    t.regex(status.stdout, /db\b.*stopped/);

    // Again, warm this time: both come back.
    t.is(await get(8095), 'web read from db: value from db\n');

    // Both gone: units, and the network appsd created for them.
    w.remove('web.yaml');
    w.remove('db.yaml');
    const removal = await w.appsd('apply');
    t.is(removal.code, 0, removal.stdout + removal.stderr);
    t.regex(removal.stdout, /- remove-network network appsd/);
    t.false((await runningContainers(podmanEnv)).some((n) => n === 'appsd-web' || n === 'appsd-db'));
  });

  test.serial('examples/groups forge: two ports answer; traffic on one keeps the backend while the other idles', async (t) => {
    const w = workspace(t);
    const { manager, podmanEnv } = t.context;
    await run('bash', [join(EXAMPLES, 'images/build.sh')], { env: podmanEnv });
    w.write('forge.yaml', example('forge.yaml', '3s'));
    const apply = await w.appsd('apply');
    t.is(apply.code, 0, apply.stdout + apply.stderr);
    t.is(await activeState(manager, 'appsd-forge_22.socket'), 'active');
    t.is(await banner(2222), 'SSH-2.0-appsd-example');
    t.regex(await get(8096), /appsd/i);
    // HTTP traffic every second for 7 s: the SSH proxy idles out after 3 s, the backend stays.
    let sshProxyStopped = false;
    for (let i = 0; i < 7; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      await get(8096);
      t.is(await activeState(manager, 'appsd-forge-backend.service'), 'active', `backend still running after ${i + 1} s`);
      if ((await activeState(manager, 'appsd-forge_22.service')) === 'inactive') sshProxyStopped = true;
    }
    t.true(sshProxyStopped, 'the idle port\'s proxy exited meanwhile');
    // And the SSH port still works, through a new proxy, to the same container.
    t.is(await banner(2222), 'SSH-2.0-appsd-example');
    // No traffic: the backend stops once both proxies have been idle.
    await waitFor(async () => (await activeState(manager, 'appsd-forge-backend.service')) === 'inactive', 20_000, 'the backend to stop');
    t.false((await runningContainers(podmanEnv)).includes('appsd-forge'));
    w.remove('forge.yaml');
    t.is((await w.appsd('apply')).code, 0);
  });
}
