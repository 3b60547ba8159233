// The fields real apps need, against real podman and systemd: the example in
// examples/real-apps applied as a user would (after its setup.sh), each field
// read back from podman inspect and from inside the container, and the
// secrets found in no file appsd wrote.
import type { ExecutionContext, TestFn } from 'ava';
import { execFile } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { PrivateManager } from '../../src/sandbox/private-manager.js';
import { podmanInspect } from '../helpers/podman.js';
import { activeState, get, systemctl, waitFor } from '../helpers/systemd.js';
import type { Workspace } from '../helpers/workspace.js';

const run = promisify(execFile);
const EXAMPLE = fileURLToPath(new URL('../../examples/real-apps/', import.meta.url));

export interface RealAppsContext {
  manager: PrivateManager;
  podmanEnv: NodeJS.ProcessEnv;
}

/** Every file under `dir`, recursively (unit files, drop-ins, the state directory). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return filesUnder(path);
    return e.isFile() ? [path] : [];
  });
}

export function registerRealAppTests<C extends RealAppsContext>(test: TestFn<C>, workspace: (t: ExecutionContext<C>) => Workspace): void {
  test.serial('examples/real-apps: every field reaches podman and the process; secrets are in no file appsd writes', async (t) => {
    const w = workspace(t);
    const { manager, podmanEnv } = t.context;
    const podman = (...args: string[]) => run('podman', args, { env: podmanEnv });
    const home = manager.env['HOME']!;
    const env = { ...podmanEnv, HOME: home };
    // As a user would: the setup script, then apply the directory.
    await podman('secret', 'rm', 'notes-admin-password').catch(() => undefined);
    await podman('volume', 'rm', '-f', 'notes-data').catch(() => undefined);
    await run('bash', [join(EXAMPLE, 'setup.sh')], { env });
    t.teardown(() => podman('secret', 'rm', 'notes-admin-password').catch(() => undefined));
    const secret = (await podman('secret', 'inspect', '--format', '{{.ID}}', 'notes-admin-password')).stdout.trim();
    t.truthy(secret);
    const token = readFileSync(join(home, '.config/appsd-example/api-token'), 'utf8').trim();
    for (const file of ['notes.yaml', 'api.yaml']) cpSync(join(EXAMPLE, file), join(w.apps, file));

    const apply = await w.appsd('apply');
    t.is(apply.code, 0, apply.stdout + apply.stderr);

    // The container app: the first request waits for the health check.
    const page = await get(8092);
    t.regex(page, /^starts before this one: 0$/m);
    t.regex(page, /^admin password: set$/m, 'the secret arrives as a file');
    t.regex(page, /^title: My notes$/m, 'the env file is read at start');
    const info = (await podmanInspect('appsd-notes', podmanEnv)) as {
      Config: { User: string; Labels: Record<string, string>; StopTimeout: number; Healthcheck?: { Test: string[] }; Entrypoint: string | string[] };
      HostConfig: { ReadonlyRootfs: boolean; SecurityOpt: string[]; CapDrop: string[]; Tmpfs: Record<string, string> };
      Mounts: Array<{ Type: string; Name?: string; Destination: string }>;
    };
    t.is(info.Config.User, '1000:1000');
    t.true(info.HostConfig.ReadonlyRootfs);
    t.true(info.HostConfig.SecurityOpt.includes('no-new-privileges'));
    t.true(info.HostConfig.CapDrop.length > 10, `capabilities dropped: ${info.HostConfig.CapDrop.join(',')}`);
    t.truthy(info.HostConfig.Tmpfs['/www']);
    t.deepEqual(info.Config.Healthcheck?.Test, ['CMD-SHELL', 'test -f /www/ready']);
    t.is(info.Config.Labels['org.example.app'], 'notes');
    t.is(info.Config.Labels['io.containers.autoupdate'], 'local');
    t.is(info.Config.Labels['PODMAN_SYSTEMD_UNIT'], 'appsd-notes-backend.service', 'podman auto-update finds the unit to restart');
    t.is(info.Config.StopTimeout, 5);
    t.true(info.Mounts.some((m) => m.Type === 'volume' && m.Name === 'notes-data' && m.Destination === '/data'));
    // From inside: who the process is, and what it may do.
    const inside = async (script: string) => (await podman('exec', 'appsd-notes', 'sh', '-c', script)).stdout.trim();
    t.is(await inside('id -u; id -g'), '1000\n1000');
    t.is(await inside('grep NoNewPrivs /proc/self/status'), 'NoNewPrivs:\t1');
    t.is(await inside('touch /rootfs-probe 2>/dev/null && echo writable || echo read-only'), 'read-only');
    t.is(await inside('touch /www/probe && echo writable'), 'writable');
    t.is(await inside('ls /data | grep -c start-'), '1', 'the app user writes to the named volume');
    // The named volume outlives the container: the next start sees the first.
    await systemctl(manager, 'stop', 'appsd-notes.service', 'appsd-notes-backend.service');
    t.regex(await get(8092), /^starts before this one: 1$/m);

    // The exec app: the credential arrives, under the strict preset.
    t.is(await get(8093), `api: token of ${token.length} characters\n`);
    const api = await systemctl(manager, 'show', '-p', 'ProtectSystem,UMask', 'appsd-api-backend.service');
    t.regex(api, /ProtectSystem=strict/);
    t.regex(api, /UMask=0077/);

    // The secret's value and the token are in no file under the unit and state directories.
    const password = (await podman('run', '--rm', '--secret', 'notes-admin-password', 'localhost/appsd-hello:latest', 'cat', '/run/secrets/notes-admin-password')).stdout.trim();
    t.true(password.length > 10);
    const files = [...filesUnder(w.unitDir), ...filesUnder(w.state)].filter((f) => statSync(f).size < 1 << 20);
    t.true(files.length >= 4, files.join(' '));
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      t.false(text.includes(password), `${file} holds the secret`);
      t.false(text.includes(token), `${file} holds the credential`);
    }

    // A missing secret or env file fails that app's start, and status names it.
    await systemctl(manager, 'stop', 'appsd-notes.service', 'appsd-notes-backend.service');
    await podman('secret', 'rm', 'notes-admin-password');
    await get(8092).catch(() => '');
    await waitFor(async () => (await activeState(manager, 'appsd-notes-backend.service')) === 'failed', 20_000, 'the start to fail');
    const status = await w.appsd('status');
    t.regex(status.stdout, /notes: the last start failed: the podman secret notes-admin-password does not exist/);
    // The same for a credential file of the exec app.
    await systemctl(manager, 'stop', 'appsd-api.service', 'appsd-api-backend.service');
    rmSync(join(home, '.config/appsd-example/api-token'));
    await get(8093).catch(() => '');
    await waitFor(async () => (await activeState(manager, 'appsd-api-backend.service')) === 'failed', 20_000, 'the start to fail');
    t.regex((await w.appsd('status')).stdout, /api: the last start failed: the credential api-token \(.*api-token\) does not exist/);
    w.remove('api.yaml');
    w.remove('notes.yaml');
    t.is((await w.appsd('apply')).code, 0);
  });

  test.serial('networks: appsd creates what apps join (app name as alias), and removes only the networks it created', async (t) => {
    const w = workspace(t);
    const { podmanEnv } = t.context;
    const podman = (...args: string[]) => run('podman', args, { env: podmanEnv });
    const net = `appsd-t-${process.pid}`;
    const theirs = `theirs-${process.pid}`;
    await podman('network', 'create', theirs);
    t.teardown(() => podman('network', 'rm', '-f', net, theirs).catch(() => undefined));
    const app = (name: string, port: number, networks: string[]) =>
      `listen: 127.0.0.1:${port}\nidleTimeout: 30s\ncontainer:\n  image: localhost/appsd-test-httpd:v1\n  port: 8080\n  env: {BODY: ${name}}\n  network: ${JSON.stringify(networks)}\n`;
    // front's only network is appsd's, so its resolver is that network's aardvark-dns.
    w.write('front.yaml', app('front', 19310, [net]));
    w.write('back.yaml', app('back', 19311, [net, theirs]));
    const apply = await w.appsd('apply');
    t.is(apply.code, 0, apply.stdout + apply.stderr);
    t.regex(apply.stdout, new RegExp(`\\+ create-network network ${net} \\(back: a network the app joins does not exist\\)`), 'created once, for the first app that joins it');
    t.notRegex(apply.stdout, new RegExp(`create-network network ${theirs}`));
    const labels = JSON.parse((await podman('network', 'inspect', net)).stdout)[0].labels as Record<string, string>;
    t.truthy(labels['io.appsd.instance']);
    t.is(await get(19310), 'front\n');
    t.is(await get(19311), 'back\n');
    // back joins both networks, with its app name as an alias, and front
    // reaches it by that name through the network's DNS server (aardvark-dns).
    const fromFront = await podman('exec', 'appsd-front', 'wget', '-qO-', 'http://back:8080/');
    t.is(fromFront.stdout, 'back\n');
    const networks = ((await podmanInspect('appsd-back', podmanEnv)) as { NetworkSettings: { Networks: Record<string, { Aliases?: string[] | null }> } }).NetworkSettings.Networks;
    t.deepEqual(Object.keys(networks).sort(), [net, theirs].sort());
    t.true(networks[net]!.Aliases?.includes('back'), JSON.stringify(networks));
    // A no-op pass asks podman but changes nothing.
    t.is((await w.appsd('diff')).code, 0);
    // Nobody joins the network any more: appsd removes it, and never the one it did not create.
    w.remove('front.yaml');
    w.remove('back.yaml');
    const removal = await w.appsd('apply');
    t.is(removal.code, 0, removal.stdout + removal.stderr);
    t.regex(removal.stdout, new RegExp(`- remove-network network ${net}`));
    const names = (await podman('network', 'ls', '--format', '{{.Name}}')).stdout.split('\n');
    t.false(names.includes(net));
    t.true(names.includes(theirs));
  });
}
