// Placement: which host runs which app (hosts:, placement:), host identity
// from flags and files, and what a host does with manifests placed elsewhere.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadManifests, type ManifestSource } from '../../src/manifest/load.js';
import { placedOn, whyNotPlaced, type HostIdentity } from '../../src/manifest/placement.js';
import { parseFleetFile, parseHostFile, parseLabels, resolveHost } from '../../src/host/identity.js';
import { Reconciler } from '../../src/reconcile/reconciler.js';
import { DEFAULT_RENDER_OPTIONS } from '../../src/render/options.js';
import { describeAction } from '../../src/plan/format.js';
import { APPS_DIR } from '../helpers/fixtures.js';
import { echoApp, tempDirs } from '../helpers/dirs.js';
import { FakeSystemd } from '../helpers/fake-systemd.js';

const host = (name: string, labels: Record<string, string> = {}): HostIdentity => ({ name, labels: new Map(Object.entries(labels)) });
const sources = (files: Record<string, string>): ManifestSource[] => Object.entries(files).map(([n, text]) => ({ file: `${APPS_DIR}/${n}`, text }));
const lines = (r: ReturnType<typeof loadManifests>) => r.diagnostics.map((d) => `${d.file.slice(APPS_DIR.length + 1)}:${d.line}:${d.column}: ${d.message}`);

test('a host runs an app placed on its name (any case) and with every label the app asks for', (t) => {
  const edge = host('Web-1', { role: 'edge', region: 'eu' });
  t.true(placedOn(undefined, edge));
  t.true(placedOn({ hosts: ['web-1', 'web-2'] }, edge));
  t.true(placedOn({ labels: new Map([['role', 'edge']]) }, edge));
  t.true(placedOn({ hosts: ['web-1'], labels: new Map([['role', 'edge'], ['region', 'eu']]) }, edge));
  t.is(whyNotPlaced({ hosts: ['web-2', 'web-3'] }, edge), 'placed on web-2, web-3; this host is Web-1');
  t.is(whyNotPlaced({ labels: new Map([['role', 'db']]) }, edge), 'placed where role=db; this host has role=edge');
  t.is(whyNotPlaced({ labels: new Map([['disk', 'ssd']]) }, edge), 'placed where disk=ssd; this host has no disk label');
  t.is(whyNotPlaced({ hosts: ['a', 'b', 'c', 'd', 'e'] }, edge), 'placed on a, b, c and 2 more; this host is Web-1');
  // A machine that reports its fully qualified name is still web-1; the other way round it is not.
  t.true(placedOn({ hosts: ['web-1'] }, host('web-1.example.com')));
  t.true(placedOn({ hosts: ['web-1.example.com'] }, host('WEB-1.example.com')));
  t.false(placedOn({ hosts: ['web-1.example.com'] }, host('web-1')));
  t.false(placedOn({ hosts: ['web'] }, host('web-1.example.com')));
});

const web = (port: number, placement = '') => `listen: 127.0.0.1:${port}\nbackend: 127.0.0.1:${port + 1}\n${placement}exec:\n  command: [/bin/app]\n`;

test('manifests placed elsewhere are skipped, with the reason, and take no part in the rules across files', (t) => {
  const files = {
    'a.yaml': web(8080, 'hosts: [web-1]\n'),
    'b.yaml': web(8080, 'hosts: [web-2]\n'),
    'c.yaml': web(9090, 'placement: {role: edge}\n'),
    'd.yaml': web(9100),
  };
  // Without a host (unit tests, tools): every manifest counts, and a and b collide.
  t.true(lines(loadManifests(sources(files))).some((l) => /^a\.yaml:1:9: listen: 127\.0\.0\.1:8080 collides/.test(l)));
  const one = loadManifests(sources(files), undefined, host('web-1'));
  t.deepEqual(one.diagnostics, []);
  t.deepEqual(one.apps.map((a) => a.name), ['a', 'd']);
  t.deepEqual(one.skipped.map((s) => [s.name, s.reason]), [
    ['b', 'placed on web-2; this host is web-1'],
    ['c', 'placed where role=edge; this host has no role label'],
  ]);
  const two = loadManifests(sources(files), undefined, host('web-2', { role: 'edge' }));
  t.deepEqual(two.apps.map((a) => a.name), ['b', 'c', 'd']);
});

test('a need placed on another host is an error at the list item, saying where the need runs', (t) => {
  const files = {
    'web.yaml': web(8080, 'needs: [db]\nhosts: [web-1]\n'),
    'db.yaml': `hosts: [db-1]\nexec:\n  command: [/bin/db]\n`,
  };
  const result = loadManifests(sources(files), undefined, host('web-1'));
  t.deepEqual(lines(result), ['web.yaml:3:9: needs[0]: "db" does not run on this host (placed on db-1; this host is web-1): an app and what it needs run on the same host']);
  t.deepEqual(result.diagnostics.map((d) => d.code), ['unknown-need']);
  t.deepEqual(result.apps, []);
});

test('a need is found on this host first: another host having an app of that name does not hide it', (t) => {
  const files = {
    'db.yaml': `hosts: [h1]\nexec:\n  command: [/bin/db]\n`,
    'db-b.yaml': `name: db\nhosts: [h2]\nexec:\n  command: [/bin/db]\n`,
    'api.yaml': web(8080, 'needs: [db]\n'),
  };
  for (const h of ['h1', 'h2']) {
    const result = loadManifests(sources(files), undefined, host(h));
    t.deepEqual(result.diagnostics, [], h);
    t.deepEqual(result.apps.map((a) => a.name), ['api', 'db'], h);
  }
});

test('an invalid manifest is invalid on every host, whatever it says about placement (it keeps its units where it has some)', (t) => {
  const files = { 'x.yaml': `hosts: [web-2]\nlisten: 8080\nexec: {command: [/bin/x]}\nbogus: 1\n` };
  const result = loadManifests(sources(files), undefined, host('web-1'));
  t.deepEqual(result.skipped, []);
  t.deepEqual(result.manifests.map((m) => [m.name, Boolean(m.app)]), [['x', false]]);
});

test('placement fields are checked by the schema, at their place', (t) => {
  const bad = {
    'a.yaml': web(8080, 'hosts: [web_1!]\n'),
    'b.yaml': web(8090, 'hosts: []\n'),
    'c.yaml': web(8100, 'placement: {zone: 1}\n'),
    'd.yaml': web(8110, 'placement: {"bad key": x}\n'),
    'e.yaml': web(8120, 'placement: [role]\n'),
  };
  const out = lines(loadManifests(sources(bad), undefined, host('web-1')));
  t.deepEqual(out, [
    "a.yaml:3:9: hosts[0]: must be a host name: letters, digits, '.', '_' and '-'",
    'b.yaml:3:8: hosts: needs at least 1 item',
    'c.yaml:3:19: placement.zone: must be a label value: letters, digits, \'.\', \'_\' and \'-\' (quote numbers: "1")',
    "d.yaml:3:13: placement: \"bad key\" must be a label name: letters, digits, '.', '_', '/' and '-'",
    'e.yaml:3:12: placement: must be a mapping of labels to values: {role: edge}',
  ]);
});

test('host identity: flags win over host.yaml, field by field; the host name by default; a bad or unsafe file is an error, not a default', async (t) => {
  const config = mkdtempSync(join(tmpdir(), 'appsd-host-'));
  const env = { XDG_CONFIG_HOME: config };
  const none = await resolveHost({}, 'user', env);
  t.true(none.name.length > 0);
  t.is(none.labels.size, 0);
  mkdirSync(join(config, 'appsd'), { mode: 0o755 });
  const file = join(config, 'appsd', 'host.yaml');
  writeFileSync(file, 'name: web-1\nlabels: {role: edge, region: eu}\n');
  t.deepEqual(await resolveHost({}, 'user', env), { name: 'web-1', labels: new Map([['role', 'edge'], ['region', 'eu']]) });
  t.deepEqual(await resolveHost({ host: 'web-9' }, 'user', env), { name: 'web-9', labels: new Map([['role', 'edge'], ['region', 'eu']]) });
  t.deepEqual(await resolveHost({ 'host-labels': 'role=db' }, 'user', env), { name: 'web-1', labels: new Map([['role', 'db']]) });
  const bad = async (text: string, message: RegExp) => {
    writeFileSync(file, text);
    await t.throwsAsync(resolveHost({}, 'user', env), { message }, JSON.stringify(text));
  };
  await bad('labels: {role: [edge]}\n', /host\.yaml:1:16: labels\.role: label role: a list is not a label value/);
  await bad('name: web-1\nname: web-2\n', /host\.yaml:2:1: duplicate key: a field may appear only once in a mapping/);
  await bad('labels: {role: *x}\n', /host\.yaml:1:16: \*x refers to no anchor: an alias needs &x before it/);
  await bad(`a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n`, /host\.yaml:\d+:\d+: .*alias/);
  await bad('labels: {"a\\u001b[31m": x}\n', /"a\\u001b\[31m" is not a label name/);
  await bad('\u0000\u0001', /a binary file/);
  // Who may write it decides what runs here: as a manifest, not by anyone.
  writeFileSync(file, 'name: web-1\n');
  chmodSync(file, 0o666);
  await t.throwsAsync(resolveHost({}, 'user', env), { message: /host\.yaml can be written by anyone \(mode 0666\)/ });
  rmSync(file);
  execFileSync('mkfifo', [file]);
  await t.throwsAsync(resolveHost({}, 'user', env), { message: /host\.yaml is not a regular file/ });
  await t.throwsAsync(resolveHost({ host: 'a b' }, 'user', {}), { message: /--host: "a b" is not a host name/ });
  await t.throwsAsync(resolveHost({ host: 'a\nb' }, 'user', {}), { message: '--host: "a\\nb" is not a host name (letters, digits, \'.\', \'_\' and \'-\')' });
});

test('labels from the command line and from files', (t) => {
  t.deepEqual(parseLabels('role=edge, region=eu', 'x'), new Map([['role', 'edge'], ['region', 'eu']]));
  t.deepEqual(parseLabels('', 'x'), new Map());
  t.deepEqual(parseLabels('tier=', 'x'), new Map([['tier', '']]));
  t.throws(() => parseLabels('role', '--host-labels'), { message: '--host-labels: "role" is not NAME=VALUE' });
  t.throws(() => parseLabels(Array.from({ length: 65 }, (_, i) => `l${i}=x`).join(','), '--host-labels'), { message: '--host-labels: more than 64 labels' });
  t.throws(() => parseLabels('role=a,role=b', '--host-labels'), { message: '--host-labels: label "role" is given twice' });
  t.throws(() => parseLabels('role=a b', '--host-labels'), { message: /label role: "a b" is not a label value/ });
  t.throws(() => parseLabels('ro le=a', '--host-labels'), { message: /"ro le" is not a label name/ });
  t.throws(() => parseHostFile('nmae: x\n', 'h.yaml'), { message: 'h.yaml:1:1: unknown key "nmae" (host.yaml has name and labels)' });
  t.throws(() => parseFleetFile('hosts:\n  h1: {}\n  H1: {}\n', 'f.yaml'), { message: 'f.yaml:3:3: hosts: "H1" is "h1" again (host names do not differ by case)' });
  t.deepEqual(parseFleetFile('hosts:\n  web-1: {role: edge}\n  db-1:\n', 'f.yaml'), [
    { name: 'web-1', labels: new Map([['role', 'edge']]) },
    { name: 'db-1', labels: new Map() },
  ]);
  t.throws(() => parseFleetFile('web-1: {}\n', 'f.yaml'), { message: /unknown key "web-1" \(a fleet file has hosts:\)/ });
  t.throws(() => parseFleetFile('hosts: []\n', 'f.yaml'), { message: /hosts: must map each host name/ });
});

test('an app that stops being placed here is removed like a deleted manifest, and the plan says why; placed again, it comes back', async (t) => {
  const dirs = tempDirs();
  t.teardown(() => dirs.cleanup());
  const systemd = new FakeSystemd();
  const here = host('web-1');
  const reconciler = Reconciler.forDirectories(dirs, DEFAULT_RENDER_OPTIONS, { host: here });
  dirs.write('a.yaml', echoApp('a', 8000).replace('name: a\n', 'name: a\nhosts: [web-1, web-2]\n'));
  t.deepEqual((await reconciler.apply(systemd)).executed?.apps, [{ app: 'a', outcome: 'created' }]);
  dirs.write('a.yaml', echoApp('a', 8000).replace('name: a\n', 'name: a\nhosts: [web-2]\n'));
  const moved = await reconciler.apply(systemd);
  t.deepEqual(moved.executed?.apps, [{ app: 'a', outcome: 'removed' }]);
  t.true(moved.plan.actions.map(describeAction).includes('- delete appsd-a.socket (a: not placed on this host any more)'), moved.plan.actions.map(describeAction).join('\n'));
  t.deepEqual(dirs.unitFiles(), []);
  // An invalid placement keeps what is applied.
  dirs.write('a.yaml', echoApp('a', 8000).replace('name: a\n', 'name: a\nhosts: [web-1]\n'));
  await reconciler.apply(systemd);
  dirs.write('a.yaml', echoApp('a', 8000).replace('name: a\n', 'name: a\nhosts: web-1\n'));
  const invalid = await reconciler.apply(systemd);
  t.deepEqual(invalid.plan.apps, [{ app: 'a', outcome: 'kept', error: 'its manifest is invalid, its units stay as last applied' }]);
  t.deepEqual(dirs.unitFiles(), ['appsd-a-backend.service', 'appsd-a.service', 'appsd-a.socket']);
});

test('an app whose need moved to another host keeps its units, and so does the need: the kept units require it', async (t) => {
  const dirs = tempDirs();
  t.teardown(() => dirs.cleanup());
  const systemd = new FakeSystemd();
  const reconciler = Reconciler.forDirectories(dirs, DEFAULT_RENDER_OPTIONS, { host: host('h1') });
  dirs.write('api.yaml', echoApp('api', 8000).replace('name: api\n', 'name: api\nneeds: [db]\n'));
  dirs.write('db.yaml', 'hosts: [h1]\nexec:\n  command: [/bin/db]\n');
  t.deepEqual((await reconciler.apply(systemd)).executed?.apps.map((a) => a.outcome), ['created', 'created']);
  dirs.write('db.yaml', 'hosts: [h2]\nexec:\n  command: [/bin/db]\n');
  const moved = await reconciler.apply(systemd);
  t.deepEqual(moved.plan.apps, [
    { app: 'api', outcome: 'kept', error: 'its manifest is invalid, its units stay as last applied' },
    { app: 'db', outcome: 'kept', error: 'api keeps its last applied units and needs it: it stays as last applied too' },
  ]);
  t.true(dirs.unitFiles().includes('appsd-db-backend.service'));
  // Once api no longer needs it, db goes from here.
  dirs.write('api.yaml', echoApp('api', 8000));
  const fixed = await reconciler.apply(systemd);
  t.deepEqual(fixed.executed?.apps.map((a) => [a.app, a.outcome]), [['api', 'configured'], ['db', 'removed']]);
  t.false(dirs.unitFiles().includes('appsd-db-backend.service'));
});

test('a container app moved away gives up its allocated port: the inventory forgets it', async (t) => {
  const dirs = tempDirs();
  t.teardown(() => dirs.cleanup());
  const systemd = new FakeSystemd();
  const reconciler = Reconciler.forDirectories(dirs, DEFAULT_RENDER_OPTIONS, { host: host('h1') });
  dirs.write('c.yaml', 'hosts: [h1]\nlisten: 127.0.0.1:8300\ncontainer: {image: localhost/x, port: 80}\n');
  await reconciler.apply(systemd);
  const inventory = () => JSON.parse(readFileSync(join(dirs.stateDir, 'inventory.json'), 'utf8')) as { apps: Record<string, { port?: number }> };
  t.true(typeof inventory().apps['c']?.port === 'number');
  dirs.write('c.yaml', 'hosts: [h2]\nlisten: 127.0.0.1:8300\ncontainer: {image: localhost/x, port: 80}\n');
  t.deepEqual((await reconciler.apply(systemd)).executed?.apps, [{ app: 'c', outcome: 'removed' }]);
  t.false(existsSync(join(dirs.stateDir, 'inventory.json')) && 'c' in inventory().apps);
});
