// The system manager, for real: systemd booted as PID 1 in a podman
// container over a copy-on-write overlay of this host's root (the host is not
// changed; ../shared/ENVIRONMENT.md), with journald and the system bus. appsd
// runs inside it with --system: backends run as an unprivileged user unless
// the manifest says root, and the converge cases hold in system scope too.
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { HELLO_SERVER } from '../helpers/apps.js';
import { writeContainersConf } from '../helpers/podman.js';
import { needPrograms, realTier } from '../helpers/tier.js';

const run = promisify(execFile);
const CHECKOUT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(CHECKOUT, 'dist/cli/main.js');
// Not appsd-*: the podman tier removes every container of that name (the apps' containers) when it ends, and the tiers run at the same time.
const NAME = `pid1-test-${process.pid}`;
const APPS = '/srv/appsd-system-test/apps.d';

let env: NodeJS.ProcessEnv;

async function podman(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run('podman', args, { env, maxBuffer: 16 * 1024 * 1024 });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; code?: number };
    return { stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: typeof e.code === 'number' ? e.code : 1 };
  }
}

/** A shell command inside the booted system. */
const inside = (script: string) => podman('exec', NAME, '/bin/sh', '-c', script);
const appsd = (...args: string[]) => podman('exec', NAME, process.execPath, CLI, ...args, '--system', '--apps-dir', APPS);
const write = (name: string, text: string) => inside(`mkdir -p ${APPS} && cat > ${APPS}/${name} <<'APPSD_EOF'\n${text}APPSD_EOF`);
const curl = async (port: number, path = '/') => (await inside(`curl -s --max-time 10 http://127.0.0.1:${port}${path}`)).stdout;

// The fixture server, copied inside: a DynamicUser= service has its own /tmp
// (PrivateTmp=), so a checkout under /tmp would be out of its sight.
const SERVER = '/srv/appsd-system-test/hello-server.mjs';
const exec = (listen: number, body: string, extra = '') =>
  `listen: 127.0.0.1:${listen}\nbackend: 127.0.0.1:${listen + 1}\nidleTimeout: 2s\n${extra}exec:\n  command: ${JSON.stringify([process.execPath, SERVER, String(listen + 1), body])}\n`;

realTier('system manager (systemd as PID 1 in podman)', needPrograms(['podman', 'runc']), () => {
  test.before(async () => {
    env = { ...process.env, CONTAINERS_CONF: writeContainersConf(mkdtempSync(join(tmpdir(), 'appsd-pid1-'))) };
    await podman('rm', '-f', NAME);
    const started = await podman(
      // CAP_SYS_ADMIN: systemd sets up the sandboxing DynamicUser= implies
      // (mount namespaces), as PID 1 on a real host can; without it the
      // backend fails with status 226/NAMESPACE.
      'run', '-d', '--name', NAME, '--systemd=always', '--cap-add', 'SYS_ADMIN',
      '--tmpfs', '/tmp:rw,notmpcopyup',
      // shared, as /run is on a host: systemd builds a service's credentials
      // in a child mount namespace and moves them to /run/credentials/UNIT,
      // which reaches PID 1 only through a shared mount.
      '--tmpfs', '/run:rw,notmpcopyup,shared',
      // The checkout (and node) must be visible even if they live under /tmp.
      '--volume', `${CHECKOUT}:${CHECKOUT}:ro`, '--volume', `${dirname(process.execPath)}:${dirname(process.execPath)}:ro`,
      '--rootfs', '/:O', '/lib/systemd/systemd', '--unit=basic.target',
    );
    if (started.code !== 0) throw new Error(`podman run: ${started.stderr}`);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const state = (await inside('systemctl is-system-running 2>/dev/null || true')).stdout.trim();
      if (state === 'running' || state === 'degraded') break;
      if (Date.now() > deadline) throw new Error(`the system manager did not start: ${state}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    await inside(`mkdir -p ${dirname(SERVER)} && cp ${HELLO_SERVER} ${SERVER} && chmod 644 ${SERVER}`);
  });

  test.after.always(async () => {
    await podman('rm', '-f', '-t', '0', NAME);
  });

  test.serial('exec backends run as a dynamic unprivileged user by default, as root only when the manifest says so', async (t) => {
    await write('dyn.yaml', exec(18700, 'dynamic'));
    await write('named.yaml', exec(18710, 'named', '').replace('exec:\n', 'exec:\n  user: nobody\n'));
    await write('root.yaml', exec(18720, 'root').replace('exec:\n', 'exec:\n  user: root\n'));
    const apply = await appsd('apply');
    t.is(apply.code, 0, apply.stdout + apply.stderr);
    t.is(await curl(18700), 'dynamic');
    const dynamicUid = Number(await curl(18700, '/whoami'));
    t.true(dynamicUid >= 61184 && dynamicUid <= 65519, `DynamicUser= range, got ${dynamicUid}`);
    t.is(await curl(18710, '/whoami'), (await inside('id -u nobody')).stdout.trim());
    t.is(await curl(18720, '/whoami'), '0');
    t.is((await inside('systemctl show -p DynamicUser --value appsd-dyn-backend.service')).stdout.trim(), 'yes');
  });

  test.serial('hardening: strict rates "OK" in systemd-analyze security, with a dynamic user and with a named one, and the app still answers', async (t) => {
    await inside('umask 077; echo s3cret-token-value > /srv/appsd-system-test/token');
    // A long idle timeout: the credential exists only while the backend runs, and these checks take
    // longer than 2 s on a busy CI machine.
    await write('strict.yaml', exec(18730, 'strict').replace('idleTimeout: 2s', 'idleTimeout: 5min').replace('exec:\n', 'exec:\n  hardening: strict\n  umask: "0077"\n  credentials: {token: /srv/appsd-system-test/token}\n'));
    await write('strict-nobody.yaml', exec(18740, 'strict nobody').replace('exec:\n', 'exec:\n  hardening: strict\n  user: nobody\n'));
    await write('bare.yaml', exec(18750, 'bare').replace('exec:\n', 'exec:\n  hardening: none\n'));
    const apply = await appsd('apply');
    t.is(apply.code, 0, apply.stdout + apply.stderr);
    t.is(await curl(18730), 'strict');
    t.is(await curl(18740), 'strict nobody');
    t.is(await curl(18750), 'bare');
    t.is((await inside('systemctl show -p UMask --value appsd-strict-backend.service')).stdout.trim(), '0077');
    // The credential is handed to the running app under $CREDENTIALS_DIRECTORY, and is in no file appsd wrote.
    const pid = (await inside('systemctl show -p MainPID --value appsd-strict-backend.service')).stdout.trim();
    t.is((await inside(`tr '\\0' '\\n' < /proc/${pid}/environ | grep ^CREDENTIALS_DIRECTORY=`)).stdout.trim(), 'CREDENTIALS_DIRECTORY=/run/credentials/appsd-strict-backend.service');
    t.is((await inside('cat /run/credentials/appsd-strict-backend.service/token')).stdout.trim(), 's3cret-token-value');
    t.is((await inside('grep -rl s3cret-token-value /etc/systemd/system /var/lib/appsd || true')).stdout.trim(), '');
    const exposure = async (app: string) => {
      const line = (await inside(`systemd-analyze security --no-pager appsd-${app}-backend.service | tail -1`)).stdout;
      const m = /Overall exposure level for \S+: (\d+\.\d) (\S+)/.exec(line);
      if (!m) throw new Error(`no exposure level in: ${line}`);
      return { score: Number(m[1]), verdict: m[2]!.replace(/\x1b\[[0-9;]*m/g, '') };
    };
    const [strict, nobody, bare, dynamicDefault] = await Promise.all([exposure('strict'), exposure('strict-nobody'), exposure('bare'), exposure('dyn')]);
    t.log(`exposure: none ${bare.score} ${bare.verdict}, default ${dynamicDefault.score} ${dynamicDefault.verdict}, strict ${strict.score} ${strict.verdict}, strict + user nobody ${nobody.score} ${nobody.verdict}`);
    for (const r of [strict, nobody]) {
      t.true(['OK', 'SAFE', 'PERFECT'].includes(r.verdict), `strict rates ${r.score} ${r.verdict}`);
      t.true(r.score < 2, `strict rates ${r.score}`);
    }
    t.true(bare.score > dynamicDefault.score && dynamicDefault.score > strict.score, 'none > default > strict');
  });

  test.serial('converging in system scope: a no-op pass, drift repair, removal', async (t) => {
    t.is((await appsd('diff')).code, 0);
    const again = await appsd('apply');
    t.is(again.code, 0);
    t.regex(again.stdout, /no changes/);
    await inside('systemctl stop appsd-dyn.socket');
    const repair = await appsd('apply');
    t.regex(repair.stdout, /\+ start appsd-dyn\.socket \(dyn: socket is not listening\)/);
    t.is(await curl(18700), 'dynamic');
    await inside(`rm -f ${APPS}/*.yaml`);
    t.is((await appsd('apply')).code, 0);
    t.is((await inside('ls /etc/systemd/system | grep -c appsd- || true')).stdout.trim(), '0');
    t.is((await inside('test -e /var/lib/appsd/inventory.json && echo yes || echo no')).stdout.trim(), 'no');
    t.is((await appsd('diff')).code, 0);
  });

  // An app that says something when it starts, then serves `name`.
  const talking = (listen: number, name: string) =>
    `listen: 127.0.0.1:${listen}\nbackend: 127.0.0.1:${listen + 1}\nidleTimeout: 5min\nexec:\n  command: ${JSON.stringify(['/bin/sh', '-c', `echo "${name} says hello"; echo "${name} warns" >&2; exec "$0" "$1" ${listen + 1} ${name}`, process.execPath, SERVER])}\n`;
  const waitForOutput = async (read: () => Promise<{ stdout: string }>, text: string) => {
    const deadline = Date.now() + 10_000;
    for (let out = ''; ; await new Promise((r) => setTimeout(r, 200))) {
      out = (await read()).stdout;
      if (out.includes(text)) return out;
      if (Date.now() > deadline) throw new Error(`no "${text}" in:\n${out}`);
    }
  };

  test.serial('logs --system reads the journal: the app\'s lines and the manager\'s about its units; lastLines the last run\'s', async (t) => {
    await write('talk.yaml', talking(18990, 'talk'));
    t.is((await appsd('apply')).code, 0);
    t.is(await curl(18990), 'talk');
    const out = await waitForOutput(() => appsd('logs', 'talk'), 'talk warns');
    t.regex(out, /^\S+Z appsd-talk-backend\.service: talk says hello$/m);
    t.regex(out, /^\S+Z appsd-talk-backend\.service: talk warns$/m);
    // A real journal has the system manager's messages about the units too.
    t.regex(out, /^\S+Z appsd-talk\.service: Started /m);
    const last = await inside(`cd ${CHECKOUT} && ${process.execPath} --input-type=module -e "const { lastLines } = await import('./dist/logs/last-lines.js'); console.log(JSON.stringify(await lastLines('talk', 5, { scope: 'system' })))"`);
    t.deepEqual(JSON.parse(last.stdout), ['talk says hello', 'talk warns'], last.stderr);
    await inside(`rm -f ${APPS}/talk.yaml`);
    t.is((await appsd('apply')).code, 0);
  });

  test.serial('logs --user with root\'s user manager: its units\' lines are in the system journal', async (t) => {
    const started = await inside('systemctl start user@0.service && test -S /run/user/0/bus && echo bus');
    t.regex(started.stdout, /bus/, started.stderr);
    const userApps = '/srv/appsd-user-test/apps.d';
    const userAppsd = (...args: string[]) =>
      podman('exec', '-e', 'XDG_RUNTIME_DIR=/run/user/0', NAME, process.execPath, CLI, ...args, '--user', '--apps-dir', userApps, '--state-dir', '/srv/appsd-user-test/state');
    await inside(`mkdir -p ${userApps} && cat > ${userApps}/chat.yaml <<'APPSD_EOF'\n${talking(18995, 'chat')}APPSD_EOF`);
    const apply = await userAppsd('apply');
    t.is(apply.code, 0, apply.stdout + apply.stderr);
    t.is(await curl(18995), 'chat');
    const out = await waitForOutput(() => userAppsd('logs', 'chat', '-n', '5'), 'chat warns');
    t.regex(out, /^\S+Z appsd-chat-backend\.service: chat says hello$/m);
    t.regex(out, /^\S+Z appsd-chat-backend\.service: chat warns$/m);
  });
});
