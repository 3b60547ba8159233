// Hostile input that used to pass validation (issue "Hardening"): each is
// refused at its place, or taken exactly as written.
import test from 'ava';
import { parseInventory } from '../../src/plan/inventory.js';
import { UnitFile } from '../../src/unit/unitfile.js';
import { desiredUnits } from '../../src/render/desired.js';
import { DEFAULT_RENDER_OPTIONS } from '../../src/render/options.js';
import { parseEnvironmentLine, parseExecLine } from '../helpers/exec-line.js';
import { errorLines, load, unitsOf } from '../helpers/fixtures.js';

const errors = (text: string) => errorLines({ 'app.yaml': text });
const EXEC = (command: string, extra = '') => `listen: 8080\nbackend: 127.0.0.1:9000\nexec:\n  command: ${command}\n${extra}`;

test('a NUL byte in a command argument or an environment value is refused at its place', (t) => {
  t.deepEqual(errors(EXEC('[/bin/echo, "a\\0b"]')), ['app.yaml:4:24: exec.command[1]: must not contain a NUL byte: no command line can hold one']);
  t.deepEqual(errors(EXEC('[/bin/true]', '  env: {A: "x\\0"}\n')), ['app.yaml:5:12: exec.env.A: must not contain a NUL byte: no environment variable can hold one']);
  t.deepEqual(errorLines({ 'c.yaml': 'listen: 8080\ncontainer: {image: x, port: 80, command: ["\\0"]}\n' }), [
    'c.yaml:2:43: container.command[0]: must not contain a NUL byte: no command line can hold one',
  ]);
});

test('program paths systemd cannot run as written are refused: quotes, backslash, $, whitespace, control characters', (t) => {
  for (const program of ['/opt/a"b', "/opt/a'b", '/opt/a\\b', '/opt/$HOME/x', '/opt/my app', '/opt/a\tb']) {
    const [line] = errors(EXEC(`[${JSON.stringify(program)}]`));
    t.regex(line ?? '', /^app\.yaml:4:13: exec\.command\[0\]: the program path contains .*, which systemd cannot run as written/, program);
  }
  t.deepEqual(errors(EXEC('[/usr/bin/env, "$HOME", "a b"]')), [], 'arguments may contain anything');
});

test('".." is refused in volumes and working directories; mounting / or a system directory is a warning', (t) => {
  t.deepEqual(errorLines({ 'c.yaml': 'listen: 8080\ncontainer: {image: x, port: 80, volumes: ["~/../../etc:/x", "/srv:/a/../b"]}\n' }), [
    'c.yaml:2:43: container.volumes[0]: host path "~/../../etc" contains "..": write the directory it means',
    'c.yaml:2:61: container.volumes[1]: container path "/a/../b" contains "..": write the directory it means',
  ]);
  t.deepEqual(errors(EXEC('[/bin/true]', '  workingDirectory: ~/../../etc\n')), ['app.yaml:5:21: exec.workingDirectory: workingDirectory "~/../../etc" contains "..": write the directory it means']);
  const result = load({ 'c.yaml': 'listen: 8080\ncontainer: {image: x, port: 80, volumes: ["/:/host", "/etc/app:/conf:ro", "/srv/data:/data"]}\n' });
  t.is(result.apps.length, 1, 'still valid');
  t.deepEqual(result.diagnostics.map((d) => `${d.severity} ${d.code} ${d.line}:${d.column}`), ['warning system-mount 2:43', 'warning system-mount 2:54']);
  t.regex(result.diagnostics[0]!.message, /mounts the host's root directory \/ into the container/);
});

test('environment values and command arguments are taken as written, not as YAML reads numbers', (t) => {
  const units = unitsOf({ 'app.yaml': EXEC('[/bin/echo, 01234, 1.10, 0x10, true, 1e3]', '  env: {ZIP: 01234, VERSION: 1.10, MASK: 0x10, ON: yes, FLAG: true}\n') }, 'app');
  const service = UnitFile.parse(units['appsd-app-backend.service']!);
  t.deepEqual(parseExecLine(service.get('Service', 'ExecStart')[0]!, {}), ['/bin/echo', '01234', '1.10', '0x10', 'true', '1e3']);
  t.deepEqual(service.get('Service', 'Environment').map((l) => parseEnvironmentLine(l)), [{ FLAG: 'true' }, { MASK: '0x10' }, { ON: 'yes' }, { VERSION: '1.10' }, { ZIP: '01234' }]);
});

test('a unit-file line longer than systemd reads is refused when rendering, at the field', (t) => {
  const big = '%'.repeat(8000);
  const env = Array.from({ length: 100 }, (_, i) => `    V${i}: "${big}"`).join('\n');
  const text = `listen: 8080\ncontainer:\n  image: x\n  port: 80\n  env:\n${env}\n`;
  t.deepEqual(load({ 'c.yaml': text }).diagnostics, [], 'every value is within its own limit');
  const { apps, failures } = desiredUnits(load({ 'c.yaml': text }).apps, DEFAULT_RENDER_OPTIONS);
  t.deepEqual(apps, []);
  t.deepEqual(failures.map((f) => f.path), [['container']]);
  t.regex(failures[0]!.message, /ExecStart= line would be \d+ bytes, and systemd reads unit-file lines of at most 1048575/);
});

test('characters systemd does not accept in a unit file (noncharacters, lone surrogates) are refused at the field', (t) => {
  for (const bad of ['\\uFFFE', '\\uFDD0', '\\U0010FFFF', '\\uD800']) {
    const { apps, failures } = desiredUnits(load({ 'app.yaml': EXEC('[/bin/true]', `  env: {A: "x${bad}"}\n`) }).apps, DEFAULT_RENDER_OPTIONS);
    t.deepEqual(apps, [], bad);
    t.deepEqual(failures.map((f) => f.path), [['exec', 'env', 'A']], bad);
    t.regex(failures[0]!.message, /systemd ignores a unit-file line with it \(not UTF-8 clean\)/);
  }
});

test('the inventory is untrusted: names are checked before anything acts on them', (t) => {
  const entry = (units: unknown, extra: object = {}) => JSON.stringify({ version: 1, apps: { web: { manifest: '/srv/apps.d/web.yaml', units, ...extra } } });
  t.deepEqual(parseInventory(entry(['appsd-web.socket', 'appsd-web.service', 'appsd-web-backend.service'], { port: 20001 })).apps['web']?.port, 20001);
  t.throws(() => parseInventory(entry(['../../../tmp/x.service'])), { message: /app "web": lists unit "\.\.\/\.\.\/\.\.\/tmp\/x\.service", which is not one of its units/ });
  t.throws(() => parseInventory(entry(['appsd-other.socket'])), { message: /not one of its units/ });
  t.throws(() => parseInventory(entry(['appsd-web.socket'], { port: 'x' })), { message: /port/ });
  t.throws(() => parseInventory(JSON.stringify({ version: 1, apps: { '../x': { manifest: '/m', units: [] } } })), { message: /not an app name/ });
  t.throws(() => parseInventory(JSON.stringify({ version: 1, apps: { web: { manifest: 'rel.yaml', units: [] } } })), { message: /absolute/ });
  t.throws(() => parseInventory('{'), { message: /not JSON/ });
});
