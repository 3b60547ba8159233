import test from 'ava';
import { UnitFile } from '../../src/unit/unitfile.js';
import type { InetAddress } from '../../src/manifest/address.js';
import type { App } from '../../src/manifest/app.js';
import { mainPort, resolveBackends, PORT_RANGE } from '../../src/render/ports.js';
import { desiredUnits } from '../../src/render/desired.js';
import { DEFAULT_RENDER_OPTIONS, type RenderOptions } from '../../src/render/options.js';
import { NO_LINKS, renderApp } from '../../src/render/units.js';
import { sliceOf } from '../../src/unit/names.js';
import { parseEnvironmentLine, parseExecLine } from '../helpers/exec-line.js';
import { load, unitsOf } from '../helpers/fixtures.js';

/** Renders an app with its main backend port at the given address, linked to nothing. */
const renderAt = (app: App, address: InetAddress, options: RenderOptions) => renderApp(app, new Map([[mainPort(app)!, address]]), NO_LINKS, options);

const SPECIFIERS = { t: '/run/user/1000', n: 'unit.service', h: '/home/u' };
const parse = (text: string) => UnitFile.parse(text);

const EXEC_APP = `listen: 8080\nbackend: 127.0.0.1:8081\nexec:\n  command: [/usr/bin/python3, -m, http.server, "8081"]\n`;
const CONTAINER_APP = `listen: 0.0.0.0:8080\ncontainer:\n  image: docker.io/library/httpd:2.4\n  port: 80\n`;

test('proxy mode: socket, proxy and backend, with only the socket installed', (t) => {
  const units = unitsOf({ 'web.yaml': EXEC_APP });
  t.deepEqual(Object.keys(units).sort(), ['appsd-web-backend.service', 'appsd-web.service', 'appsd-web.socket']);
  const socket = parse(units['appsd-web.socket']!);
  t.deepEqual(socket.get('Socket', 'ListenStream'), ['8080']);
  t.deepEqual(socket.get('Install', 'WantedBy'), ['sockets.target']);
  t.deepEqual(parse(units['appsd-web.service']!).get('Install', 'WantedBy'), []);
  t.deepEqual(parse(units['appsd-web-backend.service']!).get('Install', 'WantedBy'), []);
});

test('the proxy is bound to the backend and exits after the idle timeout', (t) => {
  const proxy = parse(unitsOf({ 'web.yaml': `idleTimeout: 90s\nmaxConnections: 10\n${EXEC_APP}` })['appsd-web.service']!);
  t.deepEqual(proxy.get('Unit', 'BindsTo'), ['appsd-web-backend.service']);
  t.deepEqual(proxy.get('Unit', 'After'), ['appsd-web-backend.service', 'appsd-web.socket']);
  t.deepEqual(proxy.get('Unit', 'StartLimitIntervalSec'), ['0']);
  t.deepEqual(parseExecLine(proxy.get('Service', 'ExecStart')[0]!), [
    '/usr/lib/systemd/systemd-socket-proxyd', '--exit-idle-time=90s', '--connections-max=10', '127.0.0.1:8081',
  ]);
  const forever = parse(unitsOf({ 'web.yaml': `idleTimeout: infinity\n${EXEC_APP}` })['appsd-web.service']!);
  t.false(forever.get('Service', 'ExecStart')[0]!.includes('--exit-idle-time'));
});

test('the backend fixes the seed flaws: no sleep, scale-down is success, no start limit', (t) => {
  for (const manifest of [EXEC_APP, CONTAINER_APP]) {
    const text = unitsOf({ 'web.yaml': manifest })['appsd-web-backend.service']!;
    const backend = parse(text);
    t.false(/sleep 1\b/.test(text));
    t.deepEqual(backend.get('Unit', 'StopWhenUnneeded'), ['yes']);
    t.deepEqual(backend.get('Unit', 'StartLimitIntervalSec'), ['0']);
    t.deepEqual(backend.get('Service', 'SuccessExitStatus'), ['143']);
    const [post] = backend.get('Service', 'ExecStartPost');
    const argv = parseExecLine(post!, SPECIFIERS);
    t.is(argv[0], '/bin/bash');
    t.true(argv[2]!.includes('/dev/tcp/'), 'waits for the port');
    t.true(backend.get('Service', 'TimeoutStartSec').length === 1, 'with a deadline');
  }
});

test('containers run as podman generate systemd --new would, plus --init', (t) => {
  const backend = parse(unitsOf({ 'web.yaml': CONTAINER_APP })['appsd-web-backend.service']!);
  t.deepEqual(backend.get('Service', 'Type'), ['notify']);
  t.deepEqual(backend.get('Service', 'NotifyAccess'), ['all']);
  const argv = parseExecLine(backend.get('Service', 'ExecStart')[0]!, SPECIFIERS);
  for (const flag of ['--cidfile=/run/user/1000/unit.service.ctr-id', '--cgroups=no-conmon', '--rm', '--sdnotify=conmon', '-d', '--replace', '--init', '--name=appsd-web']) {
    t.true(argv.includes(flag), flag);
  }
  t.is(argv[argv.length - 1], 'docker.io/library/httpd:2.4');
  t.regex(argv.find((a) => a.startsWith('--publish='))!, /^--publish=127\.0\.0\.1:\d+:80$/);
  t.deepEqual(parseExecLine(backend.get('Service', 'ExecStop')[0]!, SPECIFIERS), [
    '/usr/bin/podman', 'stop', '--ignore', '-t', '10', '--cidfile=/run/user/1000/unit.service.ctr-id',
  ]);
});

test('readiness: http probes the path, none waits for nothing', (t) => {
  const http = parse(unitsOf({ 'web.yaml': `readiness: {check: http, path: /healthz, timeout: 2s}\n${EXEC_APP}` })['appsd-web-backend.service']!);
  const argv = parseExecLine(http.get('Service', 'ExecStartPost')[0]!);
  t.deepEqual(argv.slice(3), ['appsd-ready', '127.0.0.1', '8081', '2000', '127.0.0.1:8081', '/healthz']);
  t.true(argv[2]!.includes('GET %s HTTP/1.0'));
  t.deepEqual(http.get('Service', 'TimeoutStartSec'), ['62s']);
  const none = parse(unitsOf({ 'web.yaml': `readiness: {check: none}\n${EXEC_APP}` })['appsd-web-backend.service']!);
  t.deepEqual(none.get('Service', 'ExecStartPost'), []);
});

test('native mode: the socket starts the app itself, no proxy and no published port', (t) => {
  const units = unitsOf({ 'n.yaml': 'listen: 7000\nactivation: native\ncontainer: {image: localhost/app}\n' });
  t.deepEqual(Object.keys(units).sort(), ['appsd-n.service', 'appsd-n.socket']);
  const argv = parseExecLine(parse(units['appsd-n.service']!).get('Service', 'ExecStart')[0]!, SPECIFIERS);
  t.false(argv.includes('--init'), 'LISTEN_PID must name the app');
  t.false(argv.some((a) => a.startsWith('--publish')));
});

test('hostile values reach the process exactly and inject nothing', (t) => {
  const args = ['line\nExecStartPre=/bin/rm -rf /', '%n %h %%', '$HOME ${PATH} $$', ';', 'back\\slash\\', '\'single\' "double"', ''];
  const env = { NEWLINE: 'a\nb', SPECIFIER: '%t', DOLLAR: '$USER', QUOTES: '" \' \\' };
  const manifest = [
    `description: ${JSON.stringify('100% "quoted" $HOME; rm -rf /')}`,
    'listen: 8080',
    'backend: 127.0.0.1:8081',
    'exec:',
    `  command: ${JSON.stringify(['/bin/echo', ...args])}`,
    `  env: ${JSON.stringify(env)}`,
  ].join('\n');
  const units = unitsOf({ 'evil.yaml': manifest });
  for (const text of Object.values(units)) {
    // Every line is a comment, a section header or a directive we wrote.
    for (const line of text.split('\n')) t.regex(line, /^(#.*|\[(Unit|Service|Socket|Install)\]|[A-Za-z-]+=.*|)$/);
  }
  const backend = parse(units['appsd-evil-backend.service']!);
  t.deepEqual(backend.sections.flatMap((s) => s.entries.map(([k]) => k)).filter((k) => k === 'ExecStartPre'), []);
  t.deepEqual(parseExecLine(backend.get('Service', 'ExecStart')[0]!), ['/bin/echo', ...args]);
  t.deepEqual(Object.assign({}, ...backend.get('Service', 'Environment').map(parseEnvironmentLine)), env);
  t.is(backend.get('Unit', 'Description')[0], '100%% "quoted" $HOME; rm -rf /: backend on 127.0.0.1:8081, started on demand');
});

test('hostile container values reach podman exactly', (t) => {
  const manifest = `listen: 8080\ncontainer:\n  image: localhost/x\n  port: 80\n  command: ${JSON.stringify(['sh', '-c', 'echo $HOME; echo %n\nid'])}\n  env: {X: "y\\nExecStart=/bin/sh"}\n  volumes: ["~/100%:/data"]\n`;
  const argv = parseExecLine(parse(unitsOf({ 'b.yaml': manifest })['appsd-b-backend.service']!).get('Service', 'ExecStart')[0]!, SPECIFIERS);
  t.deepEqual(argv.slice(-4), ['localhost/x', 'sh', '-c', 'echo $HOME; echo %n\nid']);
  t.true(argv.includes('--env=X=y\nExecStart=/bin/sh'));
  t.true(argv.includes('--volume=/home/u/100%:/data'));
});

test('rendering is byte-stable: same input, same bytes; env order does not matter', (t) => {
  const a = unitsOf({ 'web.yaml': `${CONTAINER_APP}  env: {A: 1, B: 2}\n` });
  const b = unitsOf({ 'web.yaml': `${CONTAINER_APP}  env: {B: 2, A: 1}\n` });
  t.deepEqual(a, b);
  t.deepEqual(unitsOf({ 'web.yaml': CONTAINER_APP }), unitsOf({ 'web.yaml': CONTAINER_APP }));
});

test('allocated backend ports: stable, unique, never a port another app uses, kept across passes', (t) => {
  const apps = load({
    'a.yaml': 'listen: 8080\ncontainer: {image: x, port: 80}\n',
    'b.yaml': 'listen: 8081\ncontainer: {image: x, port: 80}\n',
    'c.yaml': 'listen: 8082\nexec: {command: [x]}\nbackend: 127.0.0.1:9000\n',
  }).apps;
  const main = (r: Map<string, Map<number, InetAddress>>, name: string) => [...r.get(name)!.values()][0]!;
  const first = resolveBackends(apps);
  t.deepEqual(resolveBackends(apps), first);
  const ports = ['a', 'b', 'c'].map((n) => main(first, n).port);
  t.is(new Set(ports).size, 3);
  for (const name of ['a', 'b']) {
    const { port, host } = main(first, name);
    t.is(host, '127.0.0.1');
    t.true(port >= PORT_RANGE.first && port <= PORT_RANGE.last);
  }
  // A kept port wins over the hash, and busy ports are skipped.
  const kept = resolveBackends(apps, new Map([['a', 25000]]), new Set([main(first, 'b').port]));
  t.is(main(kept, 'a').port, 25000);
  t.not(main(kept, 'b').port, main(first, 'b').port);
});

test('a value no unit file can hold fails that app alone, at the field it came from', (t) => {
  const [app] = load({ 'web.yaml': CONTAINER_APP }).apps;
  const runtime = app!.runtime;
  if (runtime.kind !== 'container') return t.fail();
  const poisoned = { ...app!, runtime: { ...runtime, env: [['GOOD', 'x'], ['BAD', 'a\0b']] as const, command: ['ok', 'nul\0'] } };
  const result = renderAt(poisoned, { kind: 'inet', host: '127.0.0.1', family: 4, port: 20000 }, DEFAULT_RENDER_OPTIONS);
  t.false(result.ok);
  if (result.ok) return;
  t.deepEqual(result.path, ['container', 'env', 'BAD']);
  t.regex(result.message, /NUL/);
  const withoutEnv = renderAt({ ...poisoned, runtime: { ...poisoned.runtime, env: [] } }, { kind: 'inet', host: '127.0.0.1', family: 4, port: 20000 }, DEFAULT_RENDER_OPTIONS);
  t.like(withoutEnv, { ok: false, path: ['container', 'command', 1] });
  const others = desiredUnits([poisoned, load({ 'ok.yaml': EXEC_APP }).apps[0]!], DEFAULT_RENDER_OPTIONS);
  t.deepEqual(others.apps.map((a) => a.name), ['ok']);
  t.deepEqual(others.failures.map((f) => f.path), [['container', 'env', 'BAD']]);
});

test('system scope: backends are not root unless the manifest says so', (t) => {
  const system: RenderOptions = { ...DEFAULT_RENDER_OPTIONS, scope: 'system' };
  const backendOf = (text: string, options: RenderOptions = system) => {
    const [app] = load({ 'web.yaml': text }).apps;
    const result = renderAt(app!, { kind: 'inet', host: '127.0.0.1', family: 4, port: 20000 }, options);
    if (!result.ok) throw new Error(result.message);
    return parse(result.units.find((u) => u.name.endsWith('-backend.service'))!.text);
  };
  const exec = backendOf(EXEC_APP);
  t.deepEqual(exec.get('Service', 'DynamicUser'), ['yes']);
  t.deepEqual(exec.get('Service', 'User'), []);
  const named = backendOf(EXEC_APP.replace('exec:\n', 'exec:\n  user: www-data\n'));
  t.deepEqual([named.get('Service', 'DynamicUser'), named.get('Service', 'User')], [[], ['www-data']]);
  const root = backendOf(EXEC_APP.replace('exec:\n', 'exec:\n  user: root\n'));
  t.deepEqual([root.get('Service', 'DynamicUser'), root.get('Service', 'User')], [[], []]);
  const podmanArgs = (text: string, options: RenderOptions = system) => parseExecLine(backendOf(text, options).get('Service', 'ExecStart')[0]!, SPECIFIERS);
  t.true(podmanArgs(CONTAINER_APP).includes('--user=65534:65534'));
  t.true(podmanArgs(CONTAINER_APP.replace('  port: 80\n', '  port: 80\n  user: "1000"\n')).includes('--user=1000'));
  t.false(podmanArgs(CONTAINER_APP.replace('  port: 80\n', '  port: 80\n  user: root\n')).some((a) => a.startsWith('--user')));
  t.false(podmanArgs(CONTAINER_APP, DEFAULT_RENDER_OPTIONS).some((a) => a.startsWith('--user')), 'user manager: the image\'s user, mapped to yours');
  // A user manager cannot switch users: refused at the field.
  const [app] = load({ 'web.yaml': EXEC_APP.replace('exec:\n', 'exec:\n  user: nobody\n') }).apps;
  t.like(renderAt(app!, { kind: 'inet', host: '127.0.0.1', family: 4, port: 20000 }, DEFAULT_RENDER_OPTIONS), { ok: false, path: ['exec', 'user'] });
});

test('userns: keep-id is refused at its field when podman runs rootful (as podman 4.3 would refuse it at start)', (t) => {
  const loaded = load({ 'k.yaml': 'listen: 8080\ncontainer:\n  image: x\n  port: 80\n  userns: keep-id\n' });
  const app = loaded.apps[0]!;
  const rootless = renderAt(app, { kind: 'inet', family: 4, host: '127.0.0.1', port: 20001 }, { ...DEFAULT_RENDER_OPTIONS, rootless: true });
  t.true(rootless.ok);
  const rootful = renderAt(app, { kind: 'inet', family: 4, host: '127.0.0.1', port: 20001 }, { ...DEFAULT_RENDER_OPTIONS, rootless: false });
  t.false(rootful.ok);
  if (!rootful.ok) {
    t.deepEqual(rootful.path, ['container', 'userns']);
    t.regex(rootful.message, /only rootless podman/);
  }
});

test('every container field reaches podman as exact words, through the escaper', (t) => {
  const manifest = `listen: 8080
container:
  image: localhost/x
  port: 80
  entrypoint: [/bin/sh, "-c"]
  command: ["echo $HOME 100% \\"q\\""]
  podmanArgs: [--hostname, "a host; rm -rf /", "--dns=10.0.0.1"]
  labels: {org.example.note: "50% of $PATH"}
  secrets: [{name: db, env: DB_PASSWORD}, {name: key, file: /etc/key}]
  healthCheck: {command: "test -f /ready && echo '$x'"}
`;
  const exec = parse(unitsOf({ 'x.yaml': manifest })['appsd-x-backend.service']!).get('Service', 'ExecStart')[0]!;
  const words = parseExecLine(exec, SPECIFIERS);
  const tail = words.slice(words.indexOf('localhost/x'));
  t.deepEqual(tail, ['localhost/x', 'echo $HOME 100% "q"']);
  for (const word of ['--hostname', 'a host; rm -rf /', '--dns=10.0.0.1', '--label=org.example.note=50% of $PATH', '--secret=db,type=env,target=DB_PASSWORD', '--secret=key,type=mount,target=/etc/key', '--entrypoint=["/bin/sh","-c"]', '--health-cmd=["CMD-SHELL","test -f /ready && echo \'$x\'"]']) {
    t.true(words.includes(word), `${word} in ${JSON.stringify(words)}`);
  }
  // podmanArgs come right before the image, in order.
  t.deepEqual(words.slice(words.indexOf('localhost/x') - 3, words.indexOf('localhost/x')), ['--hostname', 'a host; rm -rf /', '--dns=10.0.0.1']);
});

test('every unit of an app runs in its slice: one of 64 under appsd.slice, the same for the same name', (t) => {
  const native = `listen: 8090\nactivation: native\nexec:\n  command: [/bin/app]\n`;
  const forge = `listen: ["127.0.0.1:8096 -> 3000", "127.0.0.1:2222 -> 22"]\ncontainer:\n  image: localhost/forge\n  port: 3000\n`;
  const units = unitsOf({ 'web.yaml': EXEC_APP, 'n.yaml': native, 'forge.yaml': forge });
  t.is(Object.keys(units).length, 3 + 2 + 5);
  for (const [name, text] of Object.entries(units)) {
    const app = /^appsd-([a-z0-9-]+?)(_\d+)?(-backend)?\.(socket|service)$/.exec(name)![1]!;
    const section = name.endsWith('.socket') ? 'Socket' : 'Service';
    t.deepEqual(parse(text).get(section, 'Slice'), [sliceOf(app)], name);
  }
  t.is(sliceOf('web'), sliceOf('web'));
  t.regex(sliceOf('web'), /^appsd-shard\d\d\.slice$/);
  // Spread: 5,000 names land in every one of the 64 slices, none with more than twice its share.
  const counts = new Map<string, number>();
  for (let i = 0; i < 5000; i++) counts.set(sliceOf(`app-${i}`), (counts.get(sliceOf(`app-${i}`)) ?? 0) + 1);
  t.is(counts.size, 64);
  t.true(Math.max(...counts.values()) < (2 * 5000) / 64, String(Math.max(...counts.values())));
});
