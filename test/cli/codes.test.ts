// Every diagnostic code docs/cli.md lists is the one `validate --json` emits
// for its problem: one file per code, all in one run.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { chmodSync, symlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DIAGNOSTIC_CODES } from '../../src/diagnostics.js';
import { appsDir, runCli } from '../helpers/cli.js';

const OK = (port: number) => `listen: 127.0.0.1:${port}\nbackend: 127.0.0.1:${port + 1}\nexec:\n  command: [/bin/true]\n`;

/** File name -> content, named after the code each must produce. */
const FILES: Record<string, string | Buffer> = {
  'binary.yaml': Buffer.from([0x7f, 0x45, 0x00]),
  'too-large.yaml': `# ${'x'.repeat(1024 * 1024)}\n`,
  'yaml-syntax.yaml': 'listen: [8080\n',
  'duplicate-key.yaml': 'listen: 1\nlisten: 2\n',
  'tab-indent.yaml': 'exec:\n\tcommand: [x]\n',
  'multiple-documents.yaml': `${OK(9000)}---\nlisten: 1\n`,
  'empty-manifest.yaml': '',
  'not-a-mapping.yaml': '- a\n- b\n',
  'alias-limit.yaml': `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n`,
  'unknown-field.yaml': `${OK(9010)}lisen: 1\n`,
  'missing-field.yaml': 'listen: 9020\ncontainer: {port: 80}\n',
  'wrong-type.yaml': `${OK(9030)}maxConnections: many\n`,
  'bad-value.yaml': `${OK(9040)}activation: lazy\n`,
  'out-of-range.yaml': `${OK(9050)}maxConnections: 0\n`,
  'schema.yaml': 'listen: 9060\ncontainer: {image: "bad image", port: 80}\n',
  'backend-kind.yaml': 'listen: 9070\n',
  'native-conflict.yaml': `${OK(9080)}activation: native\n`,
  'invalid-field.yaml': `${OK(9090)}readiness: {check: tcp, path: /x}\n`,
  'bad-name.yaml': `${OK(9100)}name: x-backend\n`,
  'bad-address.yaml': 'listen: 10.0.0.300:80\nbackend: 127.0.0.1:9111\nexec: {command: [/bin/true]}\n',
  'bad-duration.yaml': `${OK(9120)}idleTimeout: 5 fortnights\n`,
  'bad-volume.yaml': 'listen: 9130\ncontainer: {image: x, port: 80, volumes: ["/a:/b:bogus"]}\n',
  'bad-path.yaml': `${OK(9140)}  workingDirectory: relative/dir\n`,
  'bad-command.yaml': 'listen: 9150\nbackend: 127.0.0.1:9151\nexec: {command: ["-x"]}\n',
  'duplicate-name.yaml': `${OK(9160)}name: twin\n`,
  'duplicate-name-2.yaml': `${OK(9170)}name: twin\n`,
  'listen-conflict.yaml': OK(9180),
  'listen-conflict-2.yaml': 'listen: 127.0.0.1:9180\nbackend: 127.0.0.1:9191\nexec: {command: [/bin/true]}\n',
  'address-conflict.yaml': 'listen: 127.0.0.1:9200\nbackend: 127.0.0.1:9210\nexec: {command: [/bin/true]}\n',
  'address-conflict-2.yaml': 'listen: 127.0.0.1:9210\nbackend: 127.0.0.1:9221\nexec: {command: [/bin/true]}\n',
  'unrenderable.yaml': `${OK(9230)}  user: nobody\n`,
  'reserved-key.yaml': `${OK(9250)}unit: {Service: {Restart: always}}\n`,
  'system-mount.yaml': 'listen: 9240\ncontainer: {image: x, port: 80, volumes: ["/etc:/host-etc:ro"]}\n',
  'unsafe-permissions.yaml': OK(9250),
  'unknown-need.yaml': `${OK(9260)}needs: [nobody-here]\n`,
  'need-cycle.yaml': `${OK(9270)}name: cyc-a\nneeds: cyc-b\n`,
  'need-cycle-2.yaml': `${OK(9280)}name: cyc-b\nneeds: cyc-a\n`,
  'invalid-need.yaml': `${OK(9290)}needs: bad-duration\n`,
  'not-needed.yaml': 'exec: {command: [/bin/true]}\n',
};

test('each documented code is emitted for its problem', async (t) => {
  const dir = appsDir(FILES);
  symlinkSync('/nonexistent/gone.yaml', join(dir, 'unreadable.yaml'));
  const fifo = join(appsDir({}), 'pipe.yaml');
  execFileSync('mkfifo', [fifo]);
  symlinkSync(fifo, join(dir, 'not-a-file.yaml'));
  chmodSync(join(dir, 'unsafe-permissions.yaml'), 0o666);
  const result = await runCli(['validate', '--json', '--apps-dir', dir]);
  t.is(result.code, 2, result.stderr);
  const out = JSON.parse(result.stdout) as { diagnostics: Array<{ file: string; code: string }> };
  const byFile = new Map<string, Set<string>>();
  for (const d of out.diagnostics) {
    const code = basename(d.file).replace(/(-2)?\.yaml$/, '');
    byFile.set(code, new Set([...(byFile.get(code) ?? []), d.code]));
  }
  for (const code of DIAGNOSTIC_CODES) t.true(byFile.get(code)?.has(code), `${code}.yaml gives ${[...(byFile.get(code) ?? [])].join(', ') || 'nothing'}`);
});
