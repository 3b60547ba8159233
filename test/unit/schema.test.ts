// The schema is plain JSON Schema that editors apply as they are: no custom
// formats, and patterns that never refuse a value appsd accepts (the value
// parsers in normalize.ts have the last word, and a more precise message).
import test from 'ava';
import { readFileSync } from 'node:fs';
import { DIAGNOSTIC_CODES, EXPORT_DIAGNOSTIC_CODES, FLEET_DIAGNOSTIC_CODES, isDiagnosticCode } from '../../src/diagnostics.js';
import { manifestSchema } from '../../src/manifest/schema.js';
import { parseBackendAddress, parseListenAddress } from '../../src/manifest/address.js';
import { parseHostPath, parseVolume } from '../../src/manifest/paths.js';
import { parseCapability, parseDevice, parseMount, parseNetworkName, parseTmpfs } from '../../src/manifest/podman-values.js';
import { parseTimespan } from '../../src/manifest/timespan.js';
import { errorLines } from '../helpers/fixtures.js';

const schema = manifestSchema() as any;
const pattern = (p: string) => new RegExp(p, 'u');

test('no custom formats: every rule is one an editor understands', (t) => {
  t.false(JSON.stringify(schema).includes('"format"'));
});

const CASES: Array<[string, RegExp, (v: string) => boolean, string[]]> = [
  ['listen', pattern(schema.definitions.listenAddress.anyOf[1].pattern), (v) => parseListenAddress(v).ok,
    ['8080', '127.0.0.1:80', '0.0.0.0:1', '[::1]:8080', '[fe80::1:2]:443', '/run/app.sock', '/tmp/a_b-c.d+e', '1.2.3.4:99999', 'x', '[zz]:1', 'localhost:80', '/a b']],
  ['backend', pattern(schema.properties.backend.pattern), (v) => parseBackendAddress(v).ok,
    ['127.0.0.1:8081', '[::1]:1', '0.0.0.0:80', 'host:80', '8080', '1.2.3.4:0']],
  ['idleTimeout', pattern(schema.properties.idleTimeout.pattern), (v) => parseTimespan(v, true).ok,
    ['30s', '5min', '1h 30min', '1h30min', ' 2 min ', '1.5', '0', 'infinity', '500ms', '1 2', '10 years', 'forever', 'min', '']],
  ['readiness.timeout', pattern(schema.properties.readiness.properties.timeout.pattern), (v) => parseTimespan(v, false).ok,
    ['30s', '100ms', '2', 'infinity', '1x']],
  ['volumes', pattern(schema.properties.container.properties.volumes.items.pattern), (v) => parseVolume(v).ok,
    ['/srv:/data', '~:/home', '~/x:/y:ro,Z', '/a:/b:U', 'rel:/b', '/a:b', '/a:/b:bogus', '~x:/y', '/a b:/c']],
  ['workingDirectory', pattern(schema.definitions.hostPath.pattern), (v) => parseHostPath(v, 'd').ok,
    ['/srv', '~', '~/app', 'rel', '~x', '/a:b']],
  ['tmpfs', pattern(schema.properties.container.properties.tmpfs.items.pattern), (v) => parseTmpfs(v).ok,
    ['/tmp', '/run/x:size=16m,mode=0700', '/a:noexec', 'rel', '/a:b c', '/a/../b']],
  ['mounts', pattern(schema.properties.container.properties.mounts.items.pattern), (v) => parseMount(v).ok,
    ['type=bind,source=/a,target=/b,ro', 'type=tmpfs,target=/t,tmpfs-size=1m', 'type=volume,src=v,dst=/d', 'type=nfs,target=/a', 'type=bind,target=/b', 'a b']],
  ['devices', pattern(schema.properties.container.properties.devices.items.pattern), (v) => parseDevice(v).ok,
    ['/dev/dri', '/dev/fuse:rwm', '/dev/a:/dev/b', '/dev/a:/dev/b:rw', '/etc/passwd', '/dev/a:/dev/b:x', '/dev/a b']],
  ['network', pattern(schema.definitions.podmanName.pattern), (v) => parseNetworkName(v).ok,
    ['web', 'a.b_c-d', 'host', '-x', 'a b', 'a,b']],
  ['capabilities', pattern(schema.properties.container.properties.capabilities.properties.add.items.pattern), (v) => parseCapability(v).ok,
    ['NET_ADMIN', 'cap_chown', 'ALL', 'all', 'FLY', 'sys-admin']],
];

for (const [field, re, parses, values] of CASES) {
  test(`${field}: the pattern accepts everything the parser accepts`, (t) => {
    for (const v of values) if (parses(v)) t.true(re.test(v), `pattern refuses ${JSON.stringify(v)}, which appsd accepts`);
    t.true(values.some((v) => !parses(v) && !re.test(v)), 'and it refuses something');
  });
}

test('a value the pattern refuses is reported once, with the parser\'s message and code', (t) => {
  t.deepEqual(errorLines({ 'app.yaml': 'listen: localhost:80\nbackend: 127.0.0.1:99999\nexec: {command: [/bin/true]}\n' }), [
    'app.yaml:1:9: listen: "localhost" is not an IPv4 address',
    'app.yaml:2:10: backend: port 99999 is out of range (1-65535)',
  ]);
});

test('rules between fields are the schema\'s if/then, with the same messages as before', (t) => {
  t.deepEqual(errorLines({ 'app.yaml': 'listen: 8080\nactivation: native\nidleTimeout: 5s\nbackend: 127.0.0.1:1\nexec: {command: [/bin/true]}\n' }), [
    'app.yaml:3:1: idleTimeout: has no effect with activation: native (the app must exit on its own when idle)',
    'app.yaml:4:1: backend: has no effect with activation: native (the app gets the listening socket; there is no backend address)',
  ]);
  t.deepEqual(errorLines({ 'app.yaml': 'listen: 8080\ncontainer: {image: x}\n' }), [
    'app.yaml:2:1: container: missing required field "port": the port the app listens on inside the container (the proxy forwards to it)',
  ]);
});

test('diagnostic codes: the schema uses only known ones, and docs/cli.md lists exactly the codes appsd has', (t) => {
  const codes = [...JSON.stringify(schema).matchAll(/"x-code":"([^"]+)"/g)].map((m) => m[1]!);
  t.true(codes.length > 0);
  for (const code of codes) t.true(isDiagnosticCode(code), `x-code ${code} is not a DiagnosticCode`);
  const doc = readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8');
  const listed = /`code` is one of ([^.]*)/.exec(doc)![1]!.match(/`[a-z-]+`/g)!.map((c) => c.slice(1, -1));
  t.deepEqual([...listed].sort(), [...DIAGNOSTIC_CODES, ...EXPORT_DIAGNOSTIC_CODES, ...FLEET_DIAGNOSTIC_CODES].sort());
});
