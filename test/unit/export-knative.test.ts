// `appsd export knative`, the pure part: manifest text in, Knative Services
// (or every reason an app cannot be one, at its line and column) out. Every
// exported object is checked three ways: by @kubernetes-models/knative
// (Knative's API types as a JSON Schema), by the rules Knative's webhook adds
// to them (knativeWebhookProblems, after knative.dev/serving
// pkg/apis/serving/k8s_validation.go and fieldmask.go), and by reading the
// YAML back as YAML 1.1 (what kubectl reads) and 1.2.
import { Service } from '@kubernetes-models/knative/serving.knative.dev/v1/Service';
import test, { type ExecutionContext } from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { knativeService } from '../../src/export/knative.js';
import type { KnativeService } from '../../src/export/knative-types.js';
import { exportDiagnostics } from '../../src/export/problems.js';
import { scalarStyle, toYaml } from '../../src/export/yaml.js';
import { readManifestSources } from '../../src/fs/manifest-dir.js';
import { loadManifests } from '../../src/manifest/load.js';
import { APPS_DIR, load } from '../helpers/fixtures.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The one app of a manifest (which must be valid), exported. */
function exported(text: string) {
  const result = load({ 'app.yaml': text });
  const app = result.apps[0];
  if (!app) throw new Error(result.diagnostics.map((d) => `${d.line}:${d.column}: ${d.message}`).join('\n'));
  return knativeService(app);
}

function service(text: string): KnativeService {
  const result = exported(text);
  if (!result.ok) throw new Error(`not exported: ${JSON.stringify(result.problems)}`);
  return result.service;
}

/** Why a valid manifest is not exportable, as `line:col: message`, as the CLI prints it. */
function problems(text: string): string[] {
  const result = exported(text);
  if (result.ok) return [];
  return exportDiagnostics(`${APPS_DIR}/app.yaml`, text, 'Knative', result.problems).map((d) => `${d.line}:${d.column}: ${d.message}`);
}

/** The YAML a cluster gets, read back; checked against Knative's schema and webhook rules. */
function checkValid(t: ExecutionContext, object: KnativeService, label = object.metadata.name): Record<string, any> {
  const text = toYaml(object, `from ${label}`);
  const read = parse(text, { version: '1.1' }) as Record<string, any>;
  t.deepEqual(read, JSON.parse(JSON.stringify(object)), `${label}: YAML 1.1 reads back the object`);
  t.deepEqual(parse(text), read, `${label}: YAML 1.2 reads the same`);
  t.notThrows(() => new Service(read as ConstructorParameters<typeof Service>[0]).validate(), `${label}: @kubernetes-models/knative accepts it`);
  t.deepEqual(knativeWebhookProblems(read), [], `${label}: Knative's webhook rules`);
  return read;
}

const HELLO = 'listen: 127.0.0.1:8090\nidleTimeout: 30s\ncontainer:\n  image: localhost/appsd-hello:latest\n  port: 8080\nreadiness:\n  check: http\n  path: /\n';

test('a container app becomes a Knative Service that scales to zero', (t) => {
  const object = service(HELLO);
  t.deepEqual(JSON.parse(JSON.stringify(object)), {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name: 'app' },
    spec: {
      template: {
        metadata: {
          annotations: {
            'autoscaling.knative.dev/min-scale': '0',
            'autoscaling.knative.dev/max-scale': '1',
            'autoscaling.knative.dev/scale-to-zero-pod-retention-period': '30s',
          },
        },
        spec: {
          containers: [{ name: 'user-container', image: 'localhost/appsd-hello:latest', ports: [{ containerPort: 8080 }], readinessProbe: { httpGet: { path: '/', port: 8080 } } }],
        },
      },
    },
  });
  checkValid(t, object);
});

test('the idle timeout is the last pod\'s retention period; infinity keeps one pod', (t) => {
  const annotations = (idle: string) => service(`${HELLO}idleTimeout: ${idle}\n`.replace('idleTimeout: 30s\n', '')).spec.template.metadata.annotations;
  t.is(annotations('90s')['autoscaling.knative.dev/scale-to-zero-pod-retention-period'], '1m30s');
  t.is(annotations('1h')['autoscaling.knative.dev/scale-to-zero-pod-retention-period'], '1h');
  t.is(annotations('1500ms')['autoscaling.knative.dev/scale-to-zero-pod-retention-period'], '1s500ms');
  t.is(annotations('0')['autoscaling.knative.dev/scale-to-zero-pod-retention-period'], '0s');
  t.deepEqual(annotations('infinity'), { 'autoscaling.knative.dev/min-scale': '1', 'autoscaling.knative.dev/max-scale': '1' });
  // The default, 60 s, when the manifest does not say.
  t.is(service(HELLO.replace('idleTimeout: 30s\n', '')).spec.template.metadata.annotations['autoscaling.knative.dev/scale-to-zero-pod-retention-period'], '1m');
  t.deepEqual(problems(HELLO.replace('30s', '2h')), [
    '2:14: idleTimeout: cannot export to Knative: Knative keeps an idle pod at most 1h (scale-to-zero-pod-retention-period), not 2h: use at most 1h, or infinity to never scale to zero',
  ]);
});

test('entrypoint, command, env, resources, working directory, pull policy and maxConnections', (t) => {
  const object = service(`listen: 8080
maxConnections: 64
container:
  image: docker.io/library/nginx:1.27
  port: 80
  entrypoint: [/docker-entrypoint.sh]
  command: [nginx, -g, "daemon off;"]
  env: {TZ: Europe/Rome, COUNT: 01234}
  workingDirectory: /srv
  pull: always
  resources: {memory: 512M, cpu: 0.29}
`);
  const spec = object.spec.template.spec;
  t.is(spec.containerConcurrency, 64);
  t.like(spec.containers[0], {
    command: ['/docker-entrypoint.sh'],
    args: ['nginx', '-g', 'daemon off;'],
    env: [{ name: 'COUNT', value: '01234' }, { name: 'TZ', value: 'Europe/Rome' }],
    workingDir: '/srv',
    imagePullPolicy: 'Always',
    resources: { limits: { memory: '512Mi', cpu: '290m' } },
    readinessProbe: { tcpSocket: { port: 80 } },
  });
  checkValid(t, object);
  const limits = (r: string) => service(`listen: 8080\ncontainer: {image: x, port: 80, resources: ${r}}\n`).spec.template.spec.containers[0].resources?.limits;
  t.deepEqual(limits('{memory: 1G, cpu: 2}'), { memory: '1Gi', cpu: '2' });
  t.deepEqual(limits('{memory: 1048576}'), { memory: '1048576' });
  t.deepEqual(limits('{cpu: 0.0125}'), { cpu: '13m' });
  // Only a command: the image's entrypoint stays, as with podman.
  t.like(service('listen: 8080\ncontainer: {image: x, port: 80, command: [serve]}\n').spec.template.spec.containers[0], { args: ['serve'], command: undefined });
});

test('readiness: http and tcp as Knative probes, health as an exec probe, none as none', (t) => {
  const probe = (readiness: string, extra = '') => service(`listen: 8080\nreadiness: ${readiness}\ncontainer: {image: x, port: 3000${extra}}\n`).spec.template.spec.containers[0].readinessProbe;
  t.deepEqual(probe('{check: http, path: /healthz}'), { httpGet: { path: '/healthz', port: 3000 } });
  t.deepEqual(probe('{check: tcp}'), { tcpSocket: { port: 3000 } });
  t.is(probe('{check: none}'), undefined);
  t.deepEqual(probe('{check: health}', ', healthCheck: {command: "test -f /ready"}'), { exec: { command: ['/bin/sh', '-c', 'test -f /ready'] }, periodSeconds: 1, timeoutSeconds: 30 });
  t.deepEqual(probe('{check: health}', ', healthCheck: {command: [/bin/check, --quick], timeout: 1500ms, retries: 5}'), {
    exec: { command: ['/bin/check', '--quick'] },
    periodSeconds: 1,
    timeoutSeconds: 2,
    failureThreshold: 5,
  });
});

test('secrets become Secret references: env from a key, files as read-only Secret volumes; env files as envFrom', (t) => {
  const object = service(`listen: 8080
container:
  image: x
  port: 80
  envFile: [~/.config/app/app.env, /etc/app/common.env]
  secrets:
    - db-password
    - {name: api-token, env: API_TOKEN}
    - {name: tls.key, file: /etc/tls/key.pem}
    - {name: other, file: other.txt}
`);
  const spec = object.spec.template.spec;
  t.like(spec.containers[0], {
    env: [{ name: 'API_TOKEN', valueFrom: { secretKeyRef: { name: 'api-token', key: 'api-token' } } }],
    envFrom: [{ secretRef: { name: 'app.env' } }, { secretRef: { name: 'common.env' } }],
    volumeMounts: [
      { name: 'secret-0', mountPath: '/run/secrets/db-password', subPath: 'db-password', readOnly: true },
      { name: 'secret-2', mountPath: '/etc/tls/key.pem', subPath: 'tls.key', readOnly: true },
      { name: 'secret-3', mountPath: '/run/secrets/other.txt', subPath: 'other', readOnly: true },
    ],
  });
  t.deepEqual(spec.volumes, [
    { name: 'secret-0', secret: { secretName: 'db-password' } },
    { name: 'secret-2', secret: { secretName: 'tls.key' } },
    { name: 'secret-3', secret: { secretName: 'other' } },
  ]);
  checkValid(t, object);
});

test('tmpfs, tmpfs mounts and shmSize become memory emptyDirs; the security settings carry over', (t) => {
  const object = service(`listen: 8080
container:
  image: x
  port: 80
  user: "1000:100"
  readOnly: true
  noNewPrivileges: true
  capabilities: {drop: [all, CAP_NET_RAW]}
  tmpfs: [/tmp, "/cache:size=64m,mode=1777,U", "/ro:ro"]
  mounts: ["type=tmpfs,target=/scratch,tmpfs-size=1048576"]
  shmSize: 256m
`);
  const spec = object.spec.template.spec;
  t.deepEqual(spec.volumes, [
    { name: 'tmpfs-0', emptyDir: { medium: 'Memory' } },
    { name: 'tmpfs-1', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
    { name: 'tmpfs-2', emptyDir: { medium: 'Memory' } },
    { name: 'mount-0', emptyDir: { medium: 'Memory', sizeLimit: '1048576' } },
    { name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '256Mi' } },
  ]);
  t.deepEqual(spec.containers[0].volumeMounts, [
    { name: 'tmpfs-0', mountPath: '/tmp' },
    { name: 'tmpfs-1', mountPath: '/cache' },
    { name: 'tmpfs-2', mountPath: '/ro', readOnly: true },
    { name: 'mount-0', mountPath: '/scratch' },
    { name: 'dshm', mountPath: '/dev/shm' },
  ]);
  t.deepEqual(spec.containers[0].securityContext, {
    runAsUser: 1000,
    runAsGroup: 100,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL', 'NET_RAW'] },
  });
  checkValid(t, object);
  // root alone is the image's own user, as appsd runs it.
  t.is(service('listen: 8080\ncontainer: {image: x, port: 80, user: root}\n').spec.template.spec.containers[0].securityContext, undefined);
});

test('what Knative cannot express is an error at its line, with the reason, every one at once', (t) => {
  t.deepEqual(problems('listen: 8080\nbackend: 127.0.0.1:8081\nexec:\n  command: [/bin/true]\n'), [
    '3:1: exec: cannot export to Knative: Knative runs containers, not processes of this host: give the app a container: (an image) to export it',
  ]);
  t.deepEqual(problems('listen: [8080, 127.0.0.1:8081, {udp: 5353}]\nactivation: native\ncontainer: {image: x}\n'), [
    '1:16: listen[1]: cannot export to Knative: a second port: a Knative Service routes requests to one port of its container (this app listens on 3 addresses)',
    '1:32: listen[2]: cannot export to Knative: a UDP socket: Knative serves HTTP and gRPC, over TCP',
    '2:13: activation: cannot export to Knative: native activation hands the listening socket to the app, and Knative routes requests to a port the container listens on: use activation: proxy (the default) with container.port',
  ]);
  const all = problems(`listen: 8080
maxConnections: 5000
container:
  image: x
  port: 9090
  user: www-data
  userns: keep-id
  env: {PORT: "80"}
  envFile: [/etc/App_Settings.env]
  secrets: [{name: Upper_Case, env: TOKEN}]
  volumes: [data:/data, "/srv/www:/www:ro"]
  tmpfs: ["/a:size=1.5m", "/b:nr_inodes=10", "/dev"]
  mounts: ["type=volume,source=v,target=/v"]
  devices: [/dev/dri]
  capabilities: {add: [NET_ADMIN]}
  podmanArgs: [--dns=1.1.1.1]
unit:
  Service: {Nice: 5}
`);
  t.deepEqual(all.map((line) => line.slice(0, line.indexOf(': cannot export'))), [
    '2:17: maxConnections',
    '5:9: container.port',
    '6:9: container.user',
    '7:11: container.userns',
    '8:9: container.env.PORT',
    '9:13: container.envFile[0]',
    '10:13: container.secrets[0]',
    '11:13: container.volumes[0]',
    '11:25: container.volumes[1]',
    '12:11: container.tmpfs[0]',
    '12:27: container.tmpfs[1]',
    '12:46: container.tmpfs[2]',
    '13:12: container.mounts[0]',
    '14:3: container.devices',
    '15:18: container.capabilities.add',
    '16:3: container.podmanArgs',
    '17:1: unit',
  ]);
  for (const line of all) t.regex(line, /cannot export to Knative: \S.{20,}/);
  t.true(all.some((l) => l.includes('Knative reserves the mount path /dev')), all.join('\n'));
  t.true(all.some((l) => l.includes('"1.5m" has no Kubernetes quantity')), all.join('\n'));
});

test('apps joined by needs, internal apps and names Kubernetes refuses', (t) => {
  const result = load({
    'web.yaml': 'listen: 8080\nneeds: [db]\ncontainer: {image: x, port: 80}\n',
    'db.yaml': 'container: {image: x, port: 6379}\n',
    '1st.yaml': 'listen: 8081\ncontainer: {image: x, port: 80}\n',
  });
  t.deepEqual(result.diagnostics.filter((d) => d.severity === 'error'), []);
  const lines = result.manifests.flatMap((m) => {
    const r = knativeService(m.app!);
    return r.ok ? [] : exportDiagnostics(m.file, m.text!, 'Knative', r.problems).map((d) => `${m.name}:${d.line}:${d.column}: ${d.message}`);
  });
  t.deepEqual(lines, [
    '1st:1:1: name: cannot export to Knative: Knative names a Kubernetes Service after the app, and a Service name starts with a letter: rename "1st"',
    'db:1:1: cannot export to Knative: an internal app (no listen:) serves only the apps that need it, and Knative serves requests from outside: give it a listen: address, or run it in the cluster as a plain Deployment and Service',
    'web:2:1: needs: cannot export to Knative: Knative starts each Service on its own and has no order between them: it cannot start what this app needs first, nor stop it with this app. Export each app alone, and reach what it needs as a Kubernetes Service of that name',
  ]);
});

test('a container port the queue-proxy uses is refused, also when a listen entry forwards to it', (t) => {
  const reserved = (port: number) => `cannot export to Knative: Knative's queue-proxy, beside the container, listens on port ${port} (it reserves 8008, 8012, 8013, 8022, 9090 and 9091): make the app listen on another port`;
  t.deepEqual(problems('listen: 8080\ncontainer: {image: x, port: 8012}\n'), [`2:29: container.port: ${reserved(8012)}`]);
  t.deepEqual(problems('listen: "8080 -> 9091"\ncontainer: {image: x, port: 80}\n'), [`1:9: listen: ${reserved(9091)}`]);
  t.is(service('listen: "8080 -> 81"\ncontainer: {image: x, port: 80}\n').spec.template.spec.containers[0].ports[0].containerPort, 81);
});

/** What Kubernetes makes of a container's command, args or env value: $(VAR) expanded from `vars`, $$ as $. */
function kubernetesExpands(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m: string, name?: string) => (m === '$$' ? '$' : name !== undefined && name in vars ? vars[name]! : m));
}

test('$ reaches the process as written: Kubernetes would expand $(VAR) and $$ in command, args and env values, so each $ is doubled', (t) => {
  const tricky = ['echo pid $$ and $(A)', '$(A)-suffix', 'cost $$5', '$HOME', 'end$', '$$$(A)'];
  const object = service(`listen: 8080\ncontainer:\n  image: x\n  port: 80\n  entrypoint: ${JSON.stringify(tricky)}\n  command: ${JSON.stringify(tricky)}\n  env: {A: secret-a, B: ${JSON.stringify(tricky[0])}}\n`);
  const c = checkValid(t, object)['spec'].template.spec.containers[0];
  const vars = { A: 'secret-a' };
  t.deepEqual(c.command.map((v: string) => kubernetesExpands(v, vars)), tricky);
  t.deepEqual(c.args.map((v: string) => kubernetesExpands(v, vars)), tricky);
  t.deepEqual(c.env.map((e: { name: string; value: string }) => [e.name, kubernetesExpands(e.value, vars)]), [['A', 'secret-a'], ['B', tricky[0]]]);
});

test('hostile values reach the YAML exactly: newlines, quotes, YAML 1.1 words, control and separator characters', (t) => {
  const values = ['a\nExecStart=/bin/sh', 'say "hi" and \'bye\'', 'yes', 'NO', 'on', '0o17', '012', '1:20', '~', 'null', '', ' lead', 'trail ', '- item', '# not a comment', 'a: b', 'key:', '---', '...', '\r\n', 'x\u2028y', 'x\u0085y', '\ufeffbom', 'del\u007f', 'c1\u0090', 'tab\there', '%x', '@x', '!tag', '&anchor', '*alias', '{a: 1}', '[1]', '  indented\nblock', 'block\n  text\n', '\\backslash'];
  const env = values.map((v, i) => `    V${i}: ${JSON.stringify(v)}`).join('\n');
  const object = service(`listen: 8080\ncontainer:\n  image: x\n  port: 80\n  env:\n${env}\n  command: ${JSON.stringify(values)}\n`);
  const read = checkValid(t, object);
  t.deepEqual(read['spec'].template.spec.containers[0].args.map((v: string) => kubernetesExpands(v, {})), values);
  t.deepEqual(Object.fromEntries(read['spec'].template.spec.containers[0].env.map((e: { name: string; value: string }) => [e.name, kubernetesExpands(e.value, {})])), Object.fromEntries(values.map((v, i) => [`V${i}`, v])));
  // An env var named NO is no boolean to a YAML 1.1 reader.
  t.is(scalarStyle('NO'), 'QUOTE_DOUBLE');
  // A file name with a newline cannot end the provenance comment.
  const text = toYaml({ a: 1 }, 'from apps.d/x\nkind: Evil.yaml');
  t.deepEqual(parse(text), { a: 1 });
  t.is(text.split('\n').length, 3);
});

/** Every example and golden apps directory, loaded as the CLI loads it, and which of its apps export. */
const CORPUS: Record<string, string[]> = {
  'apps.d': ['hello-container'],
  'examples/groups': [],
  'examples/real-apps': [],
  ...Object.fromEntries(readdirSync(`${ROOT}test/golden`).map((d) => [`test/golden/${d}/apps.d`, d === 'container-proxy' ? ['api'] : []])),
};

test('every example and golden case: each exportable app passes Knative\'s schema; the others say why, at a line', async (t) => {
  for (const [dir, expected] of Object.entries(CORPUS)) {
    const result = loadManifests(await readManifestSources(`${ROOT}${dir}`));
    const names: string[] = [];
    for (const m of result.manifests) {
      if (!m.app) continue;
      const r = knativeService(m.app);
      if (r.ok) {
        checkValid(t, r.service, `${dir}/${m.app.name}`);
        names.push(m.app.name);
      } else {
        for (const d of exportDiagnostics(m.file, m.text!, 'Knative', r.problems)) t.true(d.line >= 1 && d.message.includes('cannot export to Knative: '), `${m.file}:${d.line}: ${d.message}`);
      }
    }
    t.deepEqual(names, expected, dir);
  }
});

/** Realistic apps from the golden cases, with what Knative cannot take taken out, export whole. */
test('the golden real apps export once their host-bound parts are gone', (t) => {
  const golden = (path: string) => readFileSync(`${ROOT}test/golden/${path}`, 'utf8');
  const notes = golden('real-apps/apps.d/notes.yaml').replace(/ {2}volumes:\n.*\n/, '');
  const object = checkValid(t, service(notes), 'notes');
  t.like(object['spec'].template.spec.containers[0], {
    command: ['/bin/sh', '-c'],
    envFrom: [{ secretRef: { name: 'notes.env' } }],
    volumeMounts: [{ name: 'tmpfs-0', mountPath: '/www' }, { name: 'secret-0', mountPath: '/run/secrets/notes-admin-password', subPath: 'notes-admin-password', readOnly: true }],
    readinessProbe: { exec: { command: ['/bin/sh', '-c', 'test -f /www/ready'] }, periodSeconds: 1, timeoutSeconds: 30, failureThreshold: 3 },
    securityContext: { runAsUser: 1000, runAsGroup: 1000, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
  });
  const forge = golden('real-apps/apps.d/forge.yaml')
    .replace('  user: git\n', '  user: "1000"\n')
    .replace(/ {2}volumes:\n.*\n.*\n/, '')
    .replace(/ {2}(mounts|devices|podmanArgs): .*\n/g, '')
    .replace(/, add: \[.*\]/, '')
    .replace(/\nunit:[\s\S]*$/, '\n');
  const read = checkValid(t, service(forge), 'forge');
  t.like(read['spec'].template.spec.containers[0], {
    command: ['/usr/bin/entry', '--mode=a b'],
    args: ['serve', '100%', '$$HOME'],
    env: [{ name: 'GREETING', value: 'hi $$USER 50%' }, { name: 'FORGE_TOKEN', valueFrom: { secretKeyRef: { name: 'forge-token', key: 'forge-token' } } }],
    imagePullPolicy: 'Always',
    resources: { limits: { memory: '1Gi', cpu: '2' } },
  });
  const evil = golden('hostile/apps.d/evil-box.yaml').replace(/ {2}volumes:\n.*\n/, '');
  t.like(checkValid(t, service(evil), 'evil-box')['spec'].template.spec.containers[0], { env: [{ name: 'X', value: 'y\nExecStart=/bin/sh' }] });
});

/**
 * What Knative's admission webhook checks beyond the API types, for the
 * fields an export writes: allowed fields, reserved names, ports and paths,
 * volumes that are mounted and read-only where they must be, probes, and the
 * autoscaling annotations' values.
 */
function knativeWebhookProblems(service: Record<string, any>): string[] {
  const out: string[] = [];
  const check = (ok: boolean, what: string) => ok || out.push(what);
  const keysIn = (object: Record<string, unknown> | undefined, allowed: string[], what: string) =>
    Object.keys(object ?? {}).forEach((k) => check(allowed.includes(k), `${what}: field ${k} is not allowed`));
  check(/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(service['metadata'].name) && service['metadata'].name.length <= 63, 'metadata.name: not a DNS-1035 label');
  const template = service['spec'].template;
  const annotations: Record<string, string> = template.metadata?.annotations ?? {};
  const min = Number(annotations['autoscaling.knative.dev/min-scale'] ?? 0);
  const max = Number(annotations['autoscaling.knative.dev/max-scale'] ?? 0);
  check(Number.isInteger(min) && Number.isInteger(max) && min >= 0 && (max === 0 || min <= max), 'min-scale/max-scale');
  const retention = annotations['autoscaling.knative.dev/scale-to-zero-pod-retention-period'];
  if (retention !== undefined) {
    const m = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(retention);
    const ms = m ? Number(m[1] ?? 0) * 3_600_000 + Number(m[2] ?? 0) * 60_000 + Number(m[3] ?? 0) * 1000 + Number(m[4] ?? 0) : NaN;
    check(retention !== '' && ms >= 0 && ms <= 3_600_000, `retention period ${retention}`);
  }
  const spec = template.spec;
  keysIn(spec, ['containerConcurrency', 'containers', 'volumes'], 'spec');
  check(spec.containerConcurrency === undefined || (spec.containerConcurrency >= 0 && spec.containerConcurrency <= 1000), 'containerConcurrency');
  check(spec.containers.length === 1, 'one container');
  const [c] = spec.containers;
  keysIn(c, ['name', 'args', 'command', 'env', 'workingDir', 'envFrom', 'image', 'imagePullPolicy', 'livenessProbe', 'ports', 'readinessProbe', 'resources', 'securityContext', 'startupProbe', 'terminationMessagePath', 'terminationMessagePolicy', 'volumeMounts'], 'container');
  check(c.name !== 'queue-proxy', 'reserved container name');
  check(c.ports.length === 1 && ![8008, 8012, 8013, 8022, 9090, 9091].includes(c.ports[0].containerPort), 'ports');
  for (const e of c.env ?? []) check(!['PORT', 'K_SERVICE', 'K_CONFIGURATION', 'K_REVISION'].includes(e.name), `reserved env ${e.name}`);
  keysIn(c.securityContext, ['capabilities', 'readOnlyRootFilesystem', 'runAsUser', 'runAsGroup', 'runAsNonRoot', 'allowPrivilegeEscalation', 'seccompProfile'], 'securityContext');
  keysIn(c.securityContext?.capabilities, ['drop'], 'capabilities');
  const volumes = new Map<string, Record<string, any>>();
  for (const v of spec.volumes ?? []) {
    check(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(v.name) && v.name.length <= 63 && !volumes.has(v.name), `volume name ${v.name}`);
    keysIn(v, ['name', 'secret', 'configMap', 'projected', 'emptyDir'], `volume ${v.name}`);
    check(Object.keys(v).length === 2, `volume ${v.name}: one source`);
    if (v.emptyDir) check([undefined, '', 'Memory'].includes(v.emptyDir.medium), 'emptyDir medium');
    volumes.set(v.name, v);
  }
  const paths = new Set<string>();
  for (const m of c.volumeMounts ?? []) {
    keysIn(m, ['name', 'readOnly', 'mountPath', 'subPath'], 'volumeMount');
    const v = volumes.get(m.name);
    check(v !== undefined, `mount ${m.name}: no volume`);
    const path = m.mountPath.replace(/\/+$/, '') || '/';
    check(m.mountPath.startsWith('/') && !['/', '/dev', '/dev/log'].includes(path) && !paths.has(path), `mountPath ${m.mountPath}`);
    paths.add(path);
    check(Boolean(v?.emptyDir) || m.readOnly === true, `mount ${m.name}: must be readOnly`);
  }
  for (const name of volumes.keys()) check((c.volumeMounts ?? []).some((m: { name: string }) => m.name === name), `volume ${name} not mounted`);
  const probe = c.readinessProbe;
  if (probe) {
    const handlers = ['httpGet', 'tcpSocket', 'exec', 'grpc'].filter((h) => probe[h]);
    check(handlers.length === 1, 'one probe handler');
    if (!probe.periodSeconds) check(probe.failureThreshold === undefined && probe.timeoutSeconds === undefined, 'periodSeconds 0 takes no failureThreshold or timeoutSeconds');
    const port = probe.httpGet?.port ?? probe.tcpSocket?.port;
    check(port === undefined || port === c.ports[0].containerPort, 'probe port');
  }
  return out;
}
