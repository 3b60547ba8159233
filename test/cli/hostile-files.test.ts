// Files that are not what they seem, unreachable managers and closed pipes:
// every command stays bounded, and prints nothing it should not.
import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appsDir, CLI, runCli } from '../helpers/cli.js';

const GOOD = 'listen: 127.0.0.1:8080\nbackend: 127.0.0.1:8081\nexec:\n  command: [/bin/true]\n';

async function timed<T>(work: Promise<T>): Promise<{ result: T; ms: number }> {
  const started = Date.now();
  const result = await work;
  return { result, ms: Date.now() - started };
}

test('a symlink to a FIFO is refused without opening it: validate, render and diff return at once', async (t) => {
  const dir = appsDir({ 'ok.yaml': GOOD });
  const fifo = join(mkdtempSync(join(tmpdir(), 'appsd-fifo-')), 'pipe.yaml');
  execFileSync('mkfifo', [fifo]);
  symlinkSync(fifo, join(dir, 'pipe.yaml'));
  for (const args of [['validate'], ['render'], ['diff', '--offline']]) {
    const { result, ms } = await timed(runCli([...args, '--apps-dir', dir, '--state-dir', mkdtempSync(join(tmpdir(), 'appsd-state-'))]));
    // A blocking open would hang for ever: any finite bound tells. Loose, for a busy CI machine.
    t.true(ms < 30_000, `${args[0]} took ${ms} ms`);
    t.is(result.code, 2, args[0]);
    t.regex(result.stdout + result.stderr, /pipe\.yaml:1:1: not a regular file/, args[0]);
  }
});

test('a symlink to a file that is not a manifest is never read, so its content is never shown', async (t) => {
  const secret = join(mkdtempSync(join(tmpdir(), 'appsd-secret-')), 'shadow');
  writeFileSync(secret, 'root:$6$SECRETHASH:19000:0:99999:7:::\n');
  const dir = appsDir({ 'ok.yaml': GOOD });
  symlinkSync(secret, join(dir, 'evil.yaml'));
  const result = await runCli(['validate', '--apps-dir', dir]);
  t.is(result.code, 2);
  t.regex(result.stdout, new RegExp(`evil\\.yaml:1:1: a symlink to ${secret}, which is not a manifest \\(\\*\\.yaml, \\*\\.yml\\); appsd does not read it`));
  t.false(result.stdout.includes('SECRETHASH'));
  // A symlink to a manifest elsewhere is fine.
  const shared = join(mkdtempSync(join(tmpdir(), 'appsd-shared-')), 'web.yaml');
  writeFileSync(shared, GOOD.replace('8080', '8090').replace('8081', '8091'));
  const linked = appsDir({});
  symlinkSync(shared, join(linked, 'web.yaml'));
  t.is((await runCli(['validate', '--apps-dir', linked])).code, 0);
});

test('a FIFO where the inventory should be is an error, not a hang', async (t) => {
  const dir = appsDir({ 'ok.yaml': GOOD });
  const state = mkdtempSync(join(tmpdir(), 'appsd-state-'));
  execFileSync('mkfifo', [join(state, 'inventory.json')]);
  const { result, ms } = await timed(runCli(['diff', '--offline', '--apps-dir', dir, '--state-dir', state]));
  // A blocking open would hang for ever; the bound only has to be finite. It is loose because CI runs
  // every tier at once on two vCPUs, where even a plain diff has taken 5 s.
  t.true(ms < 30_000, `took ${ms} ms`);
  t.is(result.code, 2);
  t.regex(result.stderr, /inventory\.json: .*is not a regular file; move it aside/);
});

test('an unreachable bus: the error, then exit at once (no call timer left waiting)', async (t) => {
  const dir = appsDir({ 'ok.yaml': GOOD });
  const env = { DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(mkdtempSync(join(tmpdir(), 'appsd-nobus-')), 'bus')}` };
  // Against a command that needs no bus, run now: the machine may be busy (CI runs every tier at once).
  // A call timer left waiting held the process for 25 s.
  const baseline = (await timed(runCli(['validate', '--apps-dir', dir]))).ms;
  for (const command of ['apply', 'diff', 'status']) {
    const { result, ms } = await timed(runCli([command, '--apps-dir', dir, '--state-dir', mkdtempSync(join(tmpdir(), 'appsd-state-'))], { env }));
    t.is(result.code, 2, command);
    t.regex(result.stderr, /cannot reach the systemd user manager/, command);
    t.true(ms < baseline + 10_000, `${command} took ${ms} ms (validate: ${baseline} ms)`);
  }
});

test('a reader that goes away (appsd render | head -c 1) is not an error', async (t) => {
  const dir = appsDir(Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`a${i}.yaml`, GOOD.replace('8080', String(9000 + i * 2)).replace('8081', String(9001 + i * 2))])));
  const child = spawn('/bin/bash', ['-c', `node ${JSON.stringify(CLI)} render --apps-dir ${JSON.stringify(dir)} | head -c 1 >/dev/null; echo "\${PIPESTATUS[0]}"`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise((resolve) => child.on('close', resolve));
  t.is(out.trim(), '0', err);
  t.false(err.includes('EPIPE'), err);
});

test('manifests and directories others can write are refused, naming the path, owner and mode', async (t) => {
  const dir = appsDir({ 'ok.yaml': GOOD, 'open.yaml': GOOD.replace('8080', '8090').replace('8081', '8091'), 'theirs.yaml': GOOD.replace('8080', '8092').replace('8081', '8093') });
  chmodSync(join(dir, 'open.yaml'), 0o666);
  chownSync(join(dir, 'theirs.yaml'), 4321, 4321);
  const result = await runCli(['validate', '--apps-dir', dir]);
  t.is(result.code, 2);
  t.regex(result.stdout, /open\.yaml:1:1: .*open\.yaml can be written by anyone \(mode 0666\); appsd trusts only what its own user can write/);
  t.regex(result.stdout, /theirs\.yaml:1:1: .*theirs\.yaml is owned by user 4321/);
  t.regex(result.stdout, /valid: ok/);
  // A symlink is judged by its target.
  const target = join(mkdtempSync(join(tmpdir(), 'appsd-target-')), 'web.yaml');
  writeFileSync(target, GOOD);
  chmodSync(target, 0o664);
  const linked = appsDir({});
  symlinkSync(target, join(linked, 'web.yaml'));
  t.regex((await runCli(['validate', '--apps-dir', linked])).stdout, /web\.yaml can be written by its group \(mode 0664\)/);
  // The directory itself.
  chmodSync(dir, 0o777);
  const open = await runCli(['validate', '--apps-dir', dir]);
  t.is(open.code, 2);
  t.regex(open.stderr, /apps directory .* can be written by anyone \(mode 0777\)/);
  // The state directory.
  const state = mkdtempSync(join(tmpdir(), 'appsd-state-'));
  chmodSync(state, 0o777);
  const diff = await runCli(['diff', '--offline', '--apps-dir', linked, '--state-dir', state]);
  t.is(diff.code, 2);
  t.regex(diff.stderr, /state: .* can be written by anyone \(mode 0777\)/);
});
