// The main job as a newcomer runs it: `appsd watch --sandbox` starts a private
// systemd manager, the apps answer, `appsd status` reaches it through the
// printed environment file, and Ctrl-C stops everything it started.
import test from 'ava';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { privateManagerUnsupported } from '../../src/sandbox/private-manager.js';
import { appsDir, runCli } from '../helpers/cli.js';
import { get, waitFor } from '../helpers/systemd.js';
import { realTier } from '../helpers/tier.js';
import { answers, execApp } from '../helpers/apps.js';
import { WatchProcess } from '../helpers/watch.js';

realTier('sandbox', privateManagerUnsupported(), () => {
  test('watch --sandbox: a private manager for the session, reachable by status, gone after Ctrl-C', async (t) => {
    const apps = appsDir({
      'sand.yaml': execApp(18460, 18461, 'sandboxed'),
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
      writeFileSync(join(apps, 'more.yaml'), execApp(18462, 18463, 'more'));
      await waitFor(answers(18462, 'more'), 5000, 'the new app');
    } finally {
      watch.signal('SIGINT');
      t.is(await watch.exited, 0);
    }
    t.false(existsSync(root), 'the sandbox is removed');
    await t.throwsAsync(get(18460, '/', 1000));
  });

  test('however appsd ends (kill -9 included), the sandbox manager and its apps go with it', async (t) => {
    const apps = appsDir({ 'reap.yaml': execApp(18470, 18471, 'reaped') });
    const watch = new WatchProcess(['--sandbox', '--apps-dir', apps], { DBUS_SESSION_BUS_ADDRESS: '', XDG_RUNTIME_DIR: '' });
    const line = await watch.waitForLine(/started a private one for this session \((\/tmp\/appsd-[^)]+)\)/, 20_000);
    const root = /\((\/tmp\/appsd-[^)]+)\)/.exec(watch.lines[line]!)![1]!;
    await watch.waitForLine(/apps: reap on 127\.0\.0\.1:18470/);
    t.is(await get(18470), 'reaped');
    watch.signal('SIGKILL');
    await watch.exited;
    await waitFor(async () => !existsSync(root), 10_000, 'the reaper to remove the sandbox');
    await t.throwsAsync(get(18470, '/', 1000));
  });
});
