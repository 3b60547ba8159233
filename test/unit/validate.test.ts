import test from 'ava';
import { errorLines, load } from '../helpers/fixtures.js';

const EXEC = 'exec:\n  command: [/bin/true]\nbackend: 127.0.0.1:9000\n';

/** Asserts the exact diagnostics of one manifest named app.yaml. */
function errors(text: string): string[] {
  return errorLines({ 'app.yaml': text });
}

test('a valid manifest has no diagnostics', (t) => {
  t.deepEqual(errors(`listen: 8080\n${EXEC}`), []);
});

test('YAML syntax errors point at the text', (t) => {
  const [first] = errors('listen: [8080\nexec: {}\n');
  t.regex(first!, /^app\.yaml:\d+:\d+: YAML: /);
});

test('duplicate keys are reported at the second key', (t) => {
  t.deepEqual(errors(`listen: 8080\nlisten: 8081\n${EXEC}`), ['app.yaml:2:1: duplicate key: a field may appear only once in a mapping']);
});

test('tabs used for indentation', (t) => {
  t.deepEqual(errors('listen: 8080\nexec:\n\tcommand: [x]\n'), ['app.yaml:3:1: tabs are not allowed for indentation in YAML; use spaces']);
});

test('a second YAML document is an error, and the first is still checked', (t) => {
  t.deepEqual(errors(`listen: 99999\n${EXEC}---\nlisten: 1\n`), [
    'app.yaml:1:9: listen: port 99999 is out of range (1-65535)',
    'app.yaml:5:1: a manifest holds one app: a second YAML document ("---") is not allowed; put each app in its own file',
  ]);
});

test('wrong types name what was expected and what was found', (t) => {
  t.deepEqual(errors(`listen: 8080\nmaxConnections: lots\n${EXEC}`), [
    'app.yaml:2:17: maxConnections: must be an integer, not the string "lots"',
  ]);
  t.deepEqual(errors(`listen: 8080\nexec: [a]\nbackend: 127.0.0.1:9000\n`), ['app.yaml:2:7: exec: must be a mapping, not a list']);
});

test('a missing required field points at the mapping that lacks it', (t) => {
  t.deepEqual(errors('listen: 8080\ncontainer:\n  port: 80\n'), ['app.yaml:2:1: container: missing required field "image"']);
  t.deepEqual(errors('listen: 8080\ncontainer:\n  image: nginx\n'), [
    'app.yaml:2:1: container: missing required field "port": the port the app listens on inside the container (the proxy forwards to it)',
  ]);
});

test('unknown fields point at the key, with a suggestion', (t) => {
  t.deepEqual(errors('listen: 8080\ncontainer:\n  imgae: nginx\n  port: 80\n'), [
    'app.yaml:2:1: container: missing required field "image"',
    'app.yaml:3:3: container: unknown field "imgae" (did you mean "image"?)',
  ]);
  t.deepEqual(errors(`listen: 8080\nidle_timeout: 5s\n${EXEC}`), ['app.yaml:2:1: unknown field "idle_timeout" (did you mean "idleTimeout"?)']);
});

test('bad enum values', (t) => {
  t.deepEqual(errors(`listen: 8080\nactivation: natve\n${EXEC}`), ['app.yaml:2:13: activation: "natve" is not one of "proxy", "native" (did you mean "native"?)']);
  t.deepEqual(errors(`apiVersion: appsd/v2\nlisten: 8080\n${EXEC}`), ['app.yaml:1:13: apiVersion: must be "appsd/v1"']);
});

test('bad addresses and ports out of range, each at its list item', (t) => {
  t.deepEqual(errors(`listen:\n  - 8080\n  - 127.0.0.1:70000\n  - localhost:80\n  - "[::1]:0"\n  - 0\n  - relative.sock\n${EXEC}`), [
    'app.yaml:3:5: listen[1]: port 70000 is out of range (1-65535)',
    'app.yaml:4:5: listen[2]: "localhost" is not an IPv4 address',
    'app.yaml:5:5: listen[3]: port 0 is out of range (1-65535)',
    'app.yaml:6:5: listen[4]: port 0 is out of range (1-65535)',
    'app.yaml:7:5: listen[5]: "relative.sock" is not ADDR:PORT (IPv6 addresses go in brackets: [::1]:8080)',
  ]);
  t.deepEqual(errors('listen: 8080\nexec: {command: [x]}\nbackend: 0.0.0.0:9000\n'), [
    'app.yaml:3:10: backend: backend must be an address to connect to, not the wildcard 0.0.0.0',
  ]);
  t.deepEqual(errors('listen: true\nexec: {command: [x]}\nbackend: 127.0.0.1:9000\n'), [
    'app.yaml:1:9: listen: must be a port (8080), an address with a port (127.0.0.1:8080, [::1]:8080), an absolute unix socket path, ADDRESS -> PORT, {udp: ADDRESS}, or a list of these',
  ]);
});

test('bad durations', (t) => {
  t.deepEqual(errors(`listen: 8080\nidleTimeout: 5 parsecs\n${EXEC}`), ['app.yaml:2:14: idleTimeout: unknown time unit "parsecs" in "5 parsecs" (use ms, s, min, h, d)']);
  t.deepEqual(errors(`listen: 8080\nreadiness: {timeout: infinity}\n${EXEC}`), ['app.yaml:2:22: readiness.timeout: "infinity" is not allowed here']);
  t.deepEqual(errors(`listen: 8080\nidleTimeout: infinity\n${EXEC}`), []);
});

test('exactly one backend kind', (t) => {
  t.deepEqual(errors('listen: 8080\n'), ['app.yaml:1:1: needs exactly one backend: container or exec']);
  t.deepEqual(errors('listen: 8080\ncontainer: {image: x, port: 80}\nexec: {command: [x]}\n'), [
    'app.yaml:3:1: container and exec exclude each other: an app has exactly one backend',
  ]);
});

test('fields that make no sense with native activation', (t) => {
  t.deepEqual(errors('listen: 8080\nactivation: native\nidleTimeout: 10s\ncontainer: {image: x, port: 80}\n'), [
    'app.yaml:3:1: idleTimeout: has no effect with activation: native (the app must exit on its own when idle)',
    'app.yaml:4:23: container.port: has no effect with activation: native (the container gets the listening socket)',
  ]);
});

test('names: from the file, explicit, invalid, reserved', (t) => {
  t.is(load({ 'my-app.yaml': `listen: 8080\n${EXEC}` }).apps[0]!.name, 'my-app');
  t.deepEqual(errorLines({ 'My App.yaml': `listen: 8080\n${EXEC}` }), [
    'My App.yaml:1:1: the file name gives the app name "My App", which is not valid (lower-case letters, digits and \'-\', at most 48): rename the file or set name:',
  ]);
  t.deepEqual(errors(`name: Web_1\nlisten: 8080\n${EXEC}`).length, 1);
  t.deepEqual(errors(`name: web-backend\nlisten: 8080\n${EXEC}`), [
    'app.yaml:1:7: name: app names may not end in "-backend": appsd-web-backend.service would clash with the backend unit of app "web"',
  ]);
  t.deepEqual(errors(`name: ${'a'.repeat(49)}\nlisten: 8080\n${EXEC}`), ['app.yaml:1:7: name: is longer than 48 characters']);
});

test('exec programs that systemd would misread', (t) => {
  t.deepEqual(errors('listen: 8080\nexec: {command: ["-rf", x]}\nbackend: 127.0.0.1:9000\n'), [
    'app.yaml:2:18: exec.command[0]: the program must be a path or a name, not "-rf" (systemd reads a leading - @ : + ! | as a prefix)',
  ]);
  t.deepEqual(errors('listen: 8080\nexec: {command: [bin/server]}\nbackend: 127.0.0.1:9000\n'), [
    'app.yaml:2:18: exec.command[0]: the program "bin/server" must be an absolute path or a plain name found in systemd\'s search path',
  ]);
  t.deepEqual(errors('listen: 8080\nexec: {command: [x]}\n'), [
    'app.yaml:1:1: missing required field "backend": an exec app must say where it listens (e.g. backend: 127.0.0.1:8081), for the proxy to connect to',
  ]);
});

test('volumes: named volumes, relative host paths, bad options, home', (t) => {
  const base = 'listen: 8080\ncontainer:\n  image: x\n  port: 80\n  volumes:\n';
  t.deepEqual(errors(`${base}    - ./data:/data\n    - ~/data:/data:ro,Z\n    - /srv:/srv:rw,bogus\n    - /a b:/c\n    - data:/data\n`), [
    'app.yaml:6:7: container.volumes[0]: "./data" is neither a host path (absolute, or ~/...) nor a volume name (letters, digits, \'_\', \'.\', \'-\', starting with a letter or digit)',
    'app.yaml:8:7: container.volumes[2]: unknown volume option "bogus" (e.g. ro, rw, z, Z, U)',
    'app.yaml:9:7: container.volumes[3]: host path "/a b" contains whitespace, \':\', \'\\\' or control characters',
  ]);
});

test('values that cannot be one line in a unit file are refused at their place', (t) => {
  t.deepEqual(errors(`description: "two\\nlines"\nlisten: 8080\n${EXEC}`), [
    'app.yaml:1:14: description: "two\\nlines" must be one line without control characters, not ending in a backslash',
  ]);
  t.deepEqual(errors(`description: 'ends in \\'\nlisten: 8080\n${EXEC}`).length, 1);
  t.deepEqual(errors(`listen: 8080\nexec: {command: [x], env: {"A=B": x}}\nbackend: 127.0.0.1:9000\n`), [
    'app.yaml:2:28: exec.env: invalid variable name "A=B": use letters, digits and _, not starting with a digit',
  ]);
});

test('empty files, non-mappings and alias bombs give a clear error', (t) => {
  t.deepEqual(errors(''), ['app.yaml:1:1: the manifest is empty: an app needs at least `listen` and a `container` or `exec` backend']);
  t.deepEqual(errors('# only a comment\n'), ['app.yaml:1:1: the manifest is empty: an app needs at least `listen` and a `container` or `exec` backend']);
  t.deepEqual(errors('- a\n- b\n'), ['app.yaml:1:1: a manifest must be a mapping of fields (listen:, container: ...)']);
  const levels = ['a: &a [x,x,x,x,x,x,x,x,x,x]'];
  for (let i = 1; i < 10; i++) levels.push(`l${i}: &l${i} [${Array(10).fill(i === 1 ? '*a' : `*l${i - 1}`).join(',')}]`);
  const started = Date.now();
  const [bomb] = errors(levels.join('\n') + '\n');
  t.true(Date.now() - started < 2000, 'no hang');
  t.regex(bomb!, /^app\.yaml:1:1: the YAML expands too many aliases/);
  // An alias with no anchor is a mistake at its place, not an alias bomb.
  t.deepEqual(errors('listen: 8080\nexec: {command: [*cmd]}\n'), ['app.yaml:2:18: *cmd refers to no anchor: an alias needs &cmd before it']);
});

test('problems across files: names, listen addresses, backends, listen against backend', (t) => {
  const exec = (backend: string) => `exec: {command: [x]}\nbackend: ${backend}\n`;
  t.deepEqual(
    errorLines({
      'a.yaml': `listen: 8080\n${exec('127.0.0.1:9001')}`,
      'b.yaml': `listen: 0.0.0.0:8080\n${exec('127.0.0.1:9002')}`,
      'c.yaml': `listen: 8090\n${exec('127.0.0.1:9003')}`,
      'd.yaml': `name: c\nlisten: 8091\n${exec('127.0.0.1:9003')}`,
      'e.yaml': `listen: 7000\ncontainer: {image: httpd, port: 8080}\nbackend: 127.0.0.1:7000\n`,
      'f.yaml': `listen: "[::1]:8080"\n${exec('"[::1]:9010"')}`,
      'g.yaml': `listen: 127.0.0.2:8092\n${exec('127.0.0.1:9011')}`,
      'h.yaml': `listen: 0.0.0.0:8093\n${exec('127.0.0.1:8093')}`,
    }),
    [
      'a.yaml:1:9: listen: 8080 collides with the listen address 0.0.0.0:8080 of app "b" (b.yaml)',
      'a.yaml:1:9: listen: 8080 collides with the listen address [::1]:8080 of app "f" (f.yaml)',
      'b.yaml:1:9: listen: 0.0.0.0:8080 collides with the listen address 8080 of app "a" (a.yaml)',
      'c.yaml:1:1: app name "c" is also used by d.yaml',
      'c.yaml:3:10: backend: 127.0.0.1:9003 collides with the backend address 127.0.0.1:9003 of app "c" (d.yaml)',
      'd.yaml:1:7: name: app name "c" is also used by c.yaml',
      'd.yaml:4:10: backend: 127.0.0.1:9003 collides with the backend address 127.0.0.1:9003 of app "c" (c.yaml)',
      'e.yaml:3:10: backend: 127.0.0.1:7000 collides with the listen address 7000 of this app: the socket would take the backend\'s port, so the backend cannot bind it (or the proxy would connect to itself)',
      'f.yaml:1:9: listen: [::1]:8080 collides with the listen address 8080 of app "a" (a.yaml)',
      'h.yaml:3:10: backend: 127.0.0.1:8093 collides with the listen address 0.0.0.0:8093 of this app: the socket would take the backend\'s port, so the backend cannot bind it (or the proxy would connect to itself)',
    ],
  );
});

test('one bad manifest does not stop the others', (t) => {
  const result = load({ 'bad.yaml': 'listen: [\n', 'good.yaml': `listen: 8080\n${EXEC}`, 'also.yaml': `listen: 8081\nexec: {command: [x]}\nbackend: 127.0.0.1:9100\n` });
  t.deepEqual(result.apps.map((a) => a.name), ['also', 'good']);
  t.true(result.manifests.find((m) => m.file.endsWith('bad.yaml'))!.diagnostics.length > 0);
});

test('addresses that do not overlap are fine', (t) => {
  const exec = (port: number) => `exec: {command: [x]}\nbackend: 127.0.0.1:${port}\n`;
  t.deepEqual(
    errorLines({
      'a.yaml': `listen: 127.0.0.1:8080\n${exec(9001)}`,
      'b.yaml': `listen: 127.0.0.2:8080\n${exec(9002)}`,
      'c.yaml': `listen: /run/c.sock\n${exec(9003)}`,
      'd.yaml': `listen: /run/d.sock\n${exec(9004)}`,
      'e.yaml': `listen: 0.0.0.0:8070\n${exec(9005)}`,
      'f.yaml': `listen: "[::1]:8070"\n${exec(9006)}`,
    }),
    [],
  );
});
