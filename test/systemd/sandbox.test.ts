// The main job as a newcomer runs it: `appsd watch --sandbox` starts a private
// systemd manager, the apps answer, `appsd status` reaches it through the
// printed environment file, and Ctrl-C stops everything it started.
import test from 'ava';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { privateManagerUnsupported } from '../../src/sandbox/private-manager.js';
import { appsDir, runCli } from '../helpers/cli.js';
import { get, waitFor } from '../helpers/systemd.js';
import { IN_CI } from '../helpers/tier.js';
import { WatchProcess } from '../helpers/watch.js';

const SERVER = fileURLToPath(new URL('../fixtures/hello-server.mjs', import.meta.url));
const unsupported = privateManagerUnsupported();

if (unsupported && !IN_CI) {
  test.skip(`sandbox tier skipped: ${unsupported}`, () => {});
} else {
  test('watch --sandbox: a private manager for the session, reachable by status, gone after Ctrl-C', async (t) => {
    if (unsupported) t.fail(`the sandbox tier must run under CI: ${unsupported}`);
    const apps = appsDir({
      'sand.yaml': `listen: 127.0.0.1:18460\nbackend: 127.0.0.1:18461\nexec:\n  command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(SERVER)}, "18461", "sandboxed"]\n`,
    });
    // No user manager reachable from here: no bus address, no runtime dir.
    const env = { DBUS_SESSION_BUS_ADDRESS: '', XDG_RUNTIME_DIR: '' };
    const watch = new WatchProcess(['--sandbox', '--apps-dir', apps], env);
    let root = '';
    try {
      const line = await watch.waitForLine(/started a private one for this session \((\/tmp\/appsd-[^)]+)\)/, 20_000);
      root = /\((\/tmp\/appsd-[^)]+)\)/.exec(watch.lines[line]!)![1]!;
      await watch.waitForLine(/apps: sand on 127\.0\.0\.1:18460/);
      t.is(await get(18460), 'sandboxed');
      const envFile = /env \$\(cat (\S+)\)/.exec(watch.lines.find((l) => l.includes('status:'))!)![1]!;
      const sandboxEnv = Object.fromEntries(readFileSync(envFile, 'utf8').trim().split('\n').map((l) => l.split(/=(.*)/s).slice(0, 2)));
      const status = await runCli(['status', '--json'], { env: sandboxEnv });
      t.is(status.code, 0, status.stderr);
      t.like(JSON.parse(status.stdout).apps[0], { name: 'sand', socket: 'listening', backend: 'running' });
      // A manifest dropped in later is picked up.
      writeFileSync(join(apps, 'more.yaml'), `listen: 127.0.0.1:18462\nbackend: 127.0.0.1:18463\nexec:\n  command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(SERVER)}, "18463", "more"]\n`);
      await waitFor(async () => (await get(18462, '/', 500).catch(() => '')) === 'more', 5000, 'the new app');
    } finally {
      watch.signal('SIGINT');
      t.is(await watch.exited, 0);
    }
    t.false(existsSync(root), 'the sandbox is removed');
    await t.throwsAsync(get(18460, '/', 1000));
  });
}
