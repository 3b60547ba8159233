// Placement through the command line: --host and --host-labels, host.yaml,
// validate --hosts FILE for a whole fleet, diff --offline for any host.
import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appsDir, runCli } from '../helpers/cli.js';

const app = (port: number, placement: string) => `${placement}listen: 127.0.0.1:${port}\nbackend: 127.0.0.1:${port + 1}\nexec:\n  command: [/bin/true]\n`;
const FLEET = 'hosts:\n  web-1: {role: edge}\n  web-2: {role: edge}\n  db-1: {role: db}\n';

function fleetDir() {
  return appsDir({
    'web.yaml': app(8080, 'placement: {role: edge}\n'),
    'admin.yaml': app(8080, 'hosts: [db-1]\n'),
    'everywhere.yaml': app(9000, ''),
  });
}

test('validate --hosts: every host checked as it would check itself; two apps on one port on different hosts are fine', async (t) => {
  const dir = fleetDir();
  const fleet = join(mkdtempSync(join(tmpdir(), 'appsd-fleet-')), 'fleet.yaml');
  writeFileSync(fleet, FLEET);
  const ok = await runCli(['validate', '--apps-dir', dir, '--hosts', fleet]);
  t.is(ok.code, 0, ok.stdout + ok.stderr);
  t.is(ok.stdout, 'web-1 (role=edge): runs everywhere, web\nweb-2 (role=edge): runs everywhere, web\ndb-1 (role=db): runs admin, everywhere\nevery host valid (3 hosts)\n');
  // A conflict on one host only says which; an app no host runs is a warning.
  writeFileSync(join(dir, 'metrics.yaml'), app(8080, 'hosts: [web-2]\n'));
  writeFileSync(join(dir, 'lost.yaml'), app(7000, 'placement: {role: gpu}\n'));
  const bad = await runCli(['validate', '--apps-dir', dir, '--hosts', fleet]);
  t.is(bad.code, 2, bad.stdout);
  t.true(bad.stdout.includes(`${join(dir, 'metrics.yaml')}:2:9: listen: 127.0.0.1:8080 collides with the listen address 127.0.0.1:8080 of app "web" (web.yaml) (on host web-2)`), bad.stdout);
  t.true(bad.stdout.includes(`${join(dir, 'lost.yaml')}:1:12: warning: app "lost" is placed on none of the hosts in ${fleet}`), bad.stdout);
  t.regex(bad.stdout, /^web-2 \(role=edge\): runs everywhere; 2 invalid manifests$/m);
  t.notRegex(bad.stdout, /"metrics" is placed on none/);
  // A name in hosts: that no host of the file has: a typo, said at hosts: (the app still runs where the other names match).
  writeFileSync(join(dir, 'typo.yaml'), app(7100, 'hosts: [web-1, wbe-2]\n'));
  const typo = await runCli(['validate', '--apps-dir', dir, '--hosts', fleet]);
  t.true(typo.stdout.includes(`${join(dir, 'typo.yaml')}:1:8: warning: app "typo": "wbe-2" is not a host in ${fleet}`), typo.stdout);
  t.notRegex(typo.stdout, /"web-1" is not a host/);
  rmSync(join(dir, 'typo.yaml'));
  const json = JSON.parse((await runCli(['validate', '--json', '--apps-dir', dir, '--hosts', fleet])).stdout) as { valid: boolean; hosts: Array<{ name: string; apps: string[] }>; diagnostics: Array<{ code: string; hosts: string[] }> };
  t.false(json.valid);
  t.deepEqual(json.hosts.map((h) => [h.name, h.apps]), [['web-1', ['everywhere', 'web']], ['web-2', ['everywhere']], ['db-1', ['admin', 'everywhere']]]);
  t.deepEqual(json.diagnostics.find((d) => d.code === 'placed-nowhere')?.hosts, ['web-1', 'web-2', 'db-1']);
  t.deepEqual([...new Set(json.diagnostics.filter((d) => d.code === 'listen-conflict').map((d) => d.hosts.join()))], ['web-2']);
});

test('validate and diff --offline for any host, from anywhere: the host by flags, or host.yaml', async (t) => {
  const dir = fleetDir();
  const state = mkdtempSync(join(tmpdir(), 'appsd-state-'));
  const edge = await runCli(['validate', '--apps-dir', dir, '--host', 'web-1', '--host-labels', 'role=edge']);
  t.is(edge.code, 0, edge.stdout);
  t.is(edge.stdout, '3 manifests valid: everywhere, web; 1 placed on other hosts: admin\n');
  const diff = await runCli(['diff', '--offline', '--apps-dir', dir, '--state-dir', state, '--unit-dir', join(state, 'units'), '--host', 'db-1', '--host-labels', 'role=db']);
  t.is(diff.code, 1, diff.stdout + diff.stderr);
  t.regex(diff.stdout, /\+\+\+ .*appsd-admin\.socket/);
  t.notRegex(diff.stdout, /appsd-web/);
  t.regex(diff.stdout, /^host db-1 \(role=db\); not run here: web$/m);
  const diffJson = JSON.parse((await runCli(['diff', '--offline', '--json', '--apps-dir', dir, '--state-dir', state, '--unit-dir', join(state, 'units'), '--host', 'db-1', '--host-labels', 'role=db'])).stdout) as { host: unknown; skipped: Array<{ app: string }> };
  t.deepEqual(diffJson.host, { name: 'db-1', labels: { role: 'db' } });
  t.deepEqual(diffJson.skipped.map((s) => s.app), ['web']);
  // host.yaml, where a user's appsd looks for it ($XDG_CONFIG_HOME/appsd).
  const config = mkdtempSync(join(tmpdir(), 'appsd-config-'));
  mkdirSync(join(config, 'appsd'));
  writeFileSync(join(config, 'appsd', 'host.yaml'), 'name: db-1\nlabels: {role: db}\n');
  const fromFile = await runCli(['validate', '--apps-dir', dir], { env: { XDG_CONFIG_HOME: config } });
  t.is(fromFile.stdout, '3 manifests valid: admin, everywhere; 1 placed on other hosts: web\n');
  const json = JSON.parse((await runCli(['validate', '--json', '--apps-dir', dir], { env: { XDG_CONFIG_HOME: config } })).stdout) as { host: unknown; skipped: unknown };
  t.deepEqual(json.host, { name: 'db-1', labels: { role: 'db' } });
  t.deepEqual(json.skipped, [{ file: join(dir, 'web.yaml'), app: 'web', reason: 'placed where role=edge; this host has role=db' }]);
  writeFileSync(join(config, 'appsd', 'host.yaml'), 'labels: role=db\n');
  const badFile = await runCli(['validate', '--apps-dir', dir], { env: { XDG_CONFIG_HOME: config } });
  t.is(badFile.code, 2);
  t.is(badFile.stderr, `appsd: ${join(config, 'appsd', 'host.yaml')}:1:9: labels: must be a mapping of labels to values ({role: edge})\n`);
});

test('placement flags: bad values and misplaced flags are usage errors', async (t) => {
  const dir = fleetDir();
  for (const [args, message] of [
    [['validate', '--host-labels', 'role'], '--host-labels: "role" is not NAME=VALUE'],
    [['validate', '--host', 'a/b'], '--host: "a/b" is not a host name'],
    [['diff', '--hosts', 'f.yaml'], '--hosts goes with validate'],
    [['validate', '--hosts', 'f.yaml', '--host', 'x'], '--hosts checks every host of its file: it goes without --host and --host-labels'],
    [['validate', '--hosts', '/nonexistent/f.yaml'], '--hosts: /nonexistent/f.yaml: ENOENT'],
  ] as const) {
    const r = await runCli([...args, '--apps-dir', dir]);
    t.is(r.code, 2, args.join(' '));
    t.true(r.stderr.startsWith(`appsd: ${message}`), `${args.join(' ')}: ${r.stderr}`);
  }
});
