// `appsd export knative` through the built command line: YAML on stdout (or
// files with -o), problems on stderr at their line, exit codes, names.
import { Service } from '@kubernetes-models/knative/serving.knative.dev/v1/Service';
import test from 'ava';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { appsDir, runCli } from '../helpers/cli.js';

const WEB = 'listen: 127.0.0.1:8080\nidleTimeout: 45s\ncontainer:\n  image: docker.io/library/nginx:1.27\n  port: 80\n';
const API = 'listen: 127.0.0.1:8081\nmaxConnections: 10\ncontainer:\n  image: localhost/api\n  port: 3000\n  env: {MODE: "yes"}\nreadiness: {check: http, path: /health}\n';
const PROC = 'listen: 127.0.0.1:8082\nbackend: 127.0.0.1:8083\nexec:\n  command: [/bin/true]\n';
const BAD = 'listen: 127.0.0.1:8084\ncontainer:\n  imgae: x\n  port: 80\n';

/** The YAML documents of stdout, each checked against Knative's schema. */
function services(stdout: string): Array<Record<string, any>> {
  return parseAllDocuments(stdout).map((doc) => {
    const object = doc.toJS({ maxAliasCount: 0 }) as Record<string, any>;
    new Service(object as ConstructorParameters<typeof Service>[0]).validate();
    return object;
  });
}

test('prints the apps that export, reports the others at their line, exit 2', async (t) => {
  const dir = appsDir({ 'web.yaml': WEB, 'api.yaml': API, 'proc.yaml': PROC, 'bad.yaml': BAD });
  const result = await runCli(['export', 'knative', '--apps-dir', dir]);
  t.is(result.code, 2, result.stderr);
  const exported = services(result.stdout);
  t.deepEqual(exported.map((s) => s['metadata'].name), ['api', 'web']);
  t.deepEqual(exported[0]!['spec'].template.spec.containers[0].env, [{ name: 'MODE', value: 'yes' }]);
  t.is(exported[1]!['spec'].template.metadata.annotations['autoscaling.knative.dev/scale-to-zero-pod-retention-period'], '45s');
  t.regex(result.stdout, /^# appsd export knative: .*api\.yaml\napiVersion: serving\.knative\.dev\/v1\n/);
  t.regex(result.stdout, /\n---\n# appsd export knative: .*web\.yaml\n/);
  t.true(result.stderr.includes(`${join(dir, 'proc.yaml')}:3:1: exec: cannot export to Knative: Knative runs containers`), result.stderr);
  t.true(result.stderr.includes(' > 3 | exec:\n     | ^^^^'), result.stderr);
  t.true(result.stderr.includes(`${join(dir, 'bad.yaml')}:3:3: container: unknown field "imgae" (did you mean "image"?)`), result.stderr);
  t.true(result.stderr.endsWith('2 of 4 apps exported; not exported: bad, proc\n'), result.stderr);
});

test('exit 0 when every app exports, and only the named ones', async (t) => {
  const dir = appsDir({ 'web.yaml': WEB, 'api.yaml': API, 'proc.yaml': PROC });
  const named = await runCli(['export', 'knative', 'web', '--apps-dir', dir]);
  t.is(named.code, 0, named.stderr);
  t.is(named.stderr, '');
  t.deepEqual(services(named.stdout).map((s) => s['metadata'].name), ['web']);
  const all = await runCli(['export', 'knative', '--apps-dir', appsDir({ 'web.yaml': WEB, 'api.yaml': API })]);
  t.is(all.code, 0, all.stderr);
  t.is(services(all.stdout).length, 2);
  // The same output with the apps given in the other order.
  const both = await runCli(['export', 'knative', 'web', 'api', '--apps-dir', appsDir({ 'web.yaml': WEB, 'api.yaml': API })]);
  t.is(both.stdout.replace(/^# .*\n/gm, ''), all.stdout.replace(/^# .*\n/gm, ''));
});

test('an unknown app name is an error with a suggestion', async (t) => {
  const result = await runCli(['export', 'knative', 'wbe', '--apps-dir', appsDir({ 'web.yaml': WEB })]);
  t.is(result.code, 2);
  t.is(result.stdout, '');
  t.regex(result.stderr, /no app is named "wbe" \(did you mean "web"\?\)/);
});

test('-o DIR writes NAME.yaml for each app, whole, and says so', async (t) => {
  const dir = appsDir({ 'web.yaml': WEB, 'api.yaml': API, 'proc.yaml': PROC });
  const out = join(mkdtempSync(join(tmpdir(), 'appsd-export-')), 'knative', 'services');
  const printed = await runCli(['export', 'knative', '--apps-dir', dir]);
  const result = await runCli(['export', 'knative', '-o', out, '--apps-dir', dir]);
  t.is(result.code, 2, result.stderr);
  t.deepEqual(readdirSync(out).sort(), ['api.yaml', 'web.yaml']);
  t.deepEqual(result.stdout.split('\n').filter(Boolean), [`wrote ${join(out, 'api.yaml')}`, `wrote ${join(out, 'web.yaml')}`]);
  t.is([readFileSync(join(out, 'api.yaml'), 'utf8'), readFileSync(join(out, 'web.yaml'), 'utf8')].join('---\n'), printed.stdout);
  t.regex(result.stderr, /proc\.yaml:3:1: exec: cannot export to Knative/);
  // Again, over the files: replaced, and nothing else left behind.
  const again = await runCli(['export', 'knative', '--output', out, 'web', '--apps-dir', dir]);
  t.is(again.code, 0, again.stderr);
  t.deepEqual(readdirSync(out).sort(), ['api.yaml', 'web.yaml']);
});

test('-o refuses the apps directory itself', async (t) => {
  const dir = appsDir({ 'web.yaml': WEB });
  const result = await runCli(['export', 'knative', '-o', dir, '--apps-dir', dir]);
  t.is(result.code, 2);
  t.regex(result.stderr, /is the apps directory/);
  t.deepEqual(readdirSync(dir), ['web.yaml']);
  t.is(readFileSync(join(dir, 'web.yaml'), 'utf8'), WEB);
});

test('usage errors: no target, an unknown target, -o with another command', async (t) => {
  const none = await runCli(['export', '--apps-dir', appsDir({})]);
  t.is(none.code, 2);
  t.regex(none.stderr, /export takes a target: appsd export knative/);
  const helm = await runCli(['export', 'helm', '--apps-dir', appsDir({})]);
  t.is(helm.code, 2);
  t.regex(helm.stderr, /unknown export target "helm"/);
  const misplaced = await runCli(['render', '-o', 'x', '--apps-dir', appsDir({})]);
  t.is(misplaced.code, 2);
  t.regex(misplaced.stderr, /--output goes with export/);
  const help = await runCli(['--help']);
  t.regex(help.stdout, /export knative \[NAME\.\.\.\]/);
  t.regex(help.stdout, /-o, --output DIR/);
});

test('hostile values and file names cannot break the YAML', async (t) => {
  const values = ['a\nkind: Secret', 'x" y \'z', 'yes', 'off', '0o17', '- item', '# hash', 'a: b', '---', '\u2028', 'tab\t'];
  const env = values.map((v, i) => `    V${i}: ${JSON.stringify(v)}`).join('\n');
  // appsd ignores file names with control characters; these line separators are not ones.
  const dir = appsDir({ 'evil\u2028---\u0085kind: "Secret" #.yaml': `name: evil\nlisten: 8080\ncontainer:\n  image: x\n  port: 80\n  env:\n${env}\n  command: ${JSON.stringify(values)}\n` });
  const result = await runCli(['export', 'knative', '--apps-dir', dir]);
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /^# appsd export knative: .*evil\\L---\\Nkind: "Secret" #\.yaml\napiVersion: /);
  const [only, ...rest] = services(result.stdout);
  t.deepEqual(rest, []);
  t.deepEqual(only!['spec'].template.spec.containers[0].args, values);
  t.deepEqual(
    Object.fromEntries(only!['spec'].template.spec.containers[0].env.map((e: { name: string; value: string }) => [e.name, e.value])),
    Object.fromEntries(values.map((v, i) => [`V${i}`, v])),
  );
  // Read as YAML 1.1, as kubectl does: the same strings.
  t.deepEqual(parse(result.stdout, { version: '1.1' })['spec'].template.spec.containers[0].args, values);
});
