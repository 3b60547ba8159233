import test from 'ava';
import { join } from 'node:path';
import { appsDir, runCli } from '../helpers/cli.js';

const GOOD = 'listen: 127.0.0.1:8080\nbackend: 127.0.0.1:8081\nexec:\n  command: [/bin/true]\n';

test('help and usage errors', async (t) => {
  const help = await runCli(['--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /validate/);
  t.regex(help.stdout, /render/);
  const unknown = await runCli(['frobnicate']);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /unknown command "frobnicate"/);
  const badFlag = await runCli(['validate', '--bogus']);
  t.is(badFlag.code, 2);
  t.regex(badFlag.stderr, /--bogus/);
  t.false(badFlag.stderr.includes('internal error'));
});

test('the example apps.d is valid', async (t) => {
  const result = await runCli(['validate'], { cwd: join(import.meta.dirname, '../..') });
  t.is(result.code, 0, result.stdout);
  t.regex(result.stdout, /valid: hello/);
});

test('a typo and an out-of-range port are both reported, at their lines, with a code frame', async (t) => {
  const dir = appsDir({ 'web.yaml': 'listen: 127.0.0.1:8080\ncontainer:\n  imgae: nginx\n  port: 99999\n' });
  const result = await runCli(['validate', '--apps-dir', dir]);
  t.is(result.code, 2);
  const file = join(dir, 'web.yaml');
  t.true(result.stdout.includes(`${file}:3:3: container: unknown field "imgae" (did you mean "image"?)`), result.stdout);
  t.true(result.stdout.includes(`${file}:4:9: container.port: port 99999 is out of range (1-65535)`), result.stdout);
  t.true(result.stdout.includes(' > 3 |   imgae: nginx\n     |   ^^^^^'), result.stdout);
  t.regex(result.stdout, /3 problems in 1 of 1 manifest/);
});

test('paths print relative to the working directory', async (t) => {
  const dir = appsDir({ 'bad.yaml': 'listen: x\n' });
  const result = await runCli(['validate', '--apps-dir', '.'], { cwd: dir });
  t.regex(result.stdout, /^bad\.yaml:1:9: /m);
});

test('--json gives the same problems as data', async (t) => {
  const dir = appsDir({ 'web.yaml': 'listen: 127.0.0.1:8080\ncontainer:\n  imgae: nginx\n  port: 80\n', 'ok.yaml': GOOD });
  const result = await runCli(['validate', '--json', '--apps-dir', dir]);
  t.is(result.code, 2);
  const out = JSON.parse(result.stdout) as { valid: boolean; manifests: unknown[]; diagnostics: Array<Record<string, unknown>> };
  t.false(out.valid);
  t.deepEqual(out.manifests, [
    { file: join(dir, 'ok.yaml'), app: 'ok', valid: true },
    { file: join(dir, 'web.yaml'), app: 'web', valid: false },
  ]);
  t.deepEqual(
    out.diagnostics.map((d) => [d['line'], d['column'], d['code']]),
    [
      [2, 1, 'missing-field'],
      [3, 3, 'unknown-field'],
    ],
  );
});

test('editor leftovers and other files never become apps', async (t) => {
  const dir = appsDir({
    'ok.yaml': GOOD,
    '.ok.yaml.swp': 'junk',
    'ok.yaml~': 'junk',
    '#ok.yaml#': 'junk',
    '.#ok.yaml': 'junk',
    'README.md': 'junk',
    '4913': '',
    'ok.yaml.bak': 'junk',
  });
  const result = await runCli(['validate', '--apps-dir', dir]);
  t.is(result.code, 0, result.stdout);
  t.is(result.stdout, '1 manifest valid: ok\n');
});

test('empty, binary and oversized files are clear errors, and the others still validate', async (t) => {
  const dir = appsDir({
    'empty.yaml': '',
    'binary.yml': Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x00, 0x01]),
    'latin1.yaml': Buffer.from('name: caf\xe9\n', 'latin1'),
    'huge.yaml': `# ${'x'.repeat(1024 * 1024)}\nlisten: 1\n`,
    'ok.yaml': GOOD,
  });
  const result = await runCli(['validate', '--apps-dir', dir]);
  t.is(result.code, 2);
  t.regex(result.stdout, /binary\.yml:1:1: this is a binary file/);
  t.regex(result.stdout, /latin1\.yaml:1:1: the file is not valid UTF-8 text/);
  t.regex(result.stdout, /huge\.yaml:1:1: the file is \d+ bytes; manifests are limited to 1048576 bytes/);
  t.regex(result.stdout, /empty\.yaml:1:1: the manifest is empty/);
  t.regex(result.stdout, /valid: ok/);
});

test('a missing apps directory is an error message, not a crash', async (t) => {
  const result = await runCli(['validate', '--apps-dir', '/nonexistent/apps.d']);
  t.is(result.code, 2);
  t.regex(result.stderr, /apps directory \/nonexistent\/apps\.d does not exist/);
  t.false(result.stderr.includes('internal error'));
});

test('render prints --- PATH --- blocks into the unit directory', async (t) => {
  const dir = appsDir({ 'ok.yaml': GOOD, 'other.yaml': GOOD.replace('8080', '8090').replace('8081', '8091') });
  const result = await runCli(['render', '--apps-dir', dir, '--unit-dir', '/etc/units', 'ok']);
  t.is(result.code, 0, result.stderr);
  const headers = result.stdout.split('\n').filter((l) => l.startsWith('--- '));
  t.deepEqual(headers, [
    '--- /etc/units/appsd-ok.socket ---',
    '--- /etc/units/appsd-ok.service ---',
    '--- /etc/units/appsd-ok-backend.service ---',
  ]);
  t.regex(result.stdout, new RegExp(`SourcePath=${join(dir, 'ok.yaml')}`));
});

test('render uses the user unit directory by default', async (t) => {
  const dir = appsDir({ 'ok.yaml': GOOD });
  const result = await runCli(['render', '--apps-dir', dir], { env: { XDG_CONFIG_HOME: '/home/u/.config' } });
  t.regex(result.stdout, /^--- \/home\/u\/\.config\/systemd\/user\/appsd-ok\.socket ---$/m);
  const system = await runCli(['render', '--system', '--apps-dir', dir]);
  t.regex(system.stdout, /^--- \/etc\/systemd\/system\/appsd-ok\.socket ---$/m);
});

test('render with an invalid manifest: problems on stderr, the valid apps still rendered, exit 2', async (t) => {
  const dir = appsDir({ 'ok.yaml': GOOD, 'bad.yaml': 'listen: nope\n' });
  const result = await runCli(['render', '--apps-dir', dir]);
  t.is(result.code, 2);
  t.regex(result.stderr, /bad\.yaml:1:9: listen: "nope" is not ADDR:PORT/);
  t.regex(result.stdout, /appsd-ok\.socket/);
  const unknown = await runCli(['render', '--apps-dir', dir, 'nosuch']);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /no app named "nosuch"/);
});
