// An app as a Knative Service (serving.knative.dev/v1): pure, App in, the
// Service or every reason it cannot be one out. Knative is the established
// scale-to-zero engine for clusters: min-scale 0 and a pod kept for the idle
// timeout stand for appsd's socket and idle stop. What Knative cannot express
// (a host process, host paths, UDP, a socket handed to the app, several
// ports, start-up order) is refused at the manifest field that says it,
// rather than exported as something that behaves otherwise. docs/kubernetes.md
// gives the mapping field by field, and the differences.
import type { App, ContainerRuntime, HealthCheck, Listener } from '../manifest/app.js';
import type { Path } from '../manifest/source.js';
import { cpuQuantity, binaryQuantity, goDuration, isDns1035Label, isDns1123Subdomain } from './k8s-values.js';
import { knativeStorage, secretNameProblem } from './knative-storage.js';
import type { Container, EnvVar, KnativeService, Probe, SecurityContext } from './knative-types.js';
import type { ExportProblem, Report } from './problems.js';

export type KnativeExport = { readonly ok: true; readonly service: KnativeService } | { readonly ok: false; readonly problems: ExportProblem[] };

/** The name Knative gives the serving container when a Service names none. */
export const CONTAINER_NAME = 'user-container';

/** Knative refuses a longer pod retention (autoscaling's WindowMax). */
export const MAX_RETENTION_MS = 3_600_000;

/** Knative's container-concurrency-max-limit unless a cluster raises it (config-defaults). */
export const MAX_CONTAINER_CONCURRENCY = 1000;

/** Ports the queue-proxy beside every Knative container listens on (k8s_validation.go, reservedPorts). */
const RESERVED_PORTS = new Set([8008, 8012, 8013, 8022, 9090, 9091]);

/** Environment variables Knative sets itself (k8s_validation.go, reservedEnvVars). */
const RESERVED_ENV = new Set(['PORT', 'K_SERVICE', 'K_CONFIGURATION', 'K_REVISION']);

/** Kubernetes' largest user and group ID (Knative's webhook checks both). */
const MAX_ID = 2 ** 31 - 1;

export function knativeService(app: App): KnativeExport {
  const problems: ExportProblem[] = [];
  const problem: Report = (path, message, atKey = false) => void problems.push({ path, message, ...(atKey && { atKey }) });

  if (!isDns1035Label(app.name)) {
    problem(['name'], `Knative names a Kubernetes Service after the app, and a Service name starts with a letter: rename "${app.name}"`);
  }
  if (app.activation === 'native') {
    problem(['activation'], 'native activation hands the listening socket to the app, and Knative routes requests to a port the container listens on: use activation: proxy (the default) with container.port');
  }
  const listener = servingListener(app, problem);
  if (app.needs.length) {
    problem(['needs'], 'Knative starts each Service on its own and has no order between them: it cannot start what this app needs first, nor stop it with this app. Export each app alone, and reach what it needs as a Kubernetes Service of that name', true);
  }
  if (app.idleTimeoutMs !== null && app.idleTimeoutMs > MAX_RETENTION_MS) {
    problem(['idleTimeout'], `Knative keeps an idle pod at most 1h (scale-to-zero-pod-retention-period), not ${goDuration(app.idleTimeoutMs)}: use at most 1h, or infinity to never scale to zero`);
  }
  if (app.maxConnections !== undefined && app.maxConnections > MAX_CONTAINER_CONCURRENCY) {
    problem(['maxConnections'], `Knative's containerConcurrency is at most ${MAX_CONTAINER_CONCURRENCY} (container-concurrency-max-limit) unless the cluster raises it: use at most ${MAX_CONTAINER_CONCURRENCY}`);
  }
  if (app.unit.Unit.length || app.unit.Service.length) {
    problem(['unit'], 'systemd settings for the unit that runs the app: a cluster runs no systemd unit for it. Remove unit: to export the app', true);
  }
  if (app.runtime.kind === 'exec') {
    problem(['exec'], 'Knative runs containers, not processes of this host: give the app a container: (an image) to export it', true);
    return { ok: false, problems };
  }
  const runtime = app.runtime;
  const containerPort = listener?.to ?? runtime.port;
  if (containerPort !== undefined && RESERVED_PORTS.has(containerPort)) {
    const path: Path = listener?.to !== undefined ? listenPath(app, app.listen.indexOf(listener)) : ['container', 'port'];
    problem(path, `Knative's queue-proxy, beside the container, listens on port ${containerPort} (it reserves 8008, 8012, 8013, 8022, 9090 and 9091): make the app listen on another port`);
  }
  const env = environment(runtime, problem);
  const storage = knativeStorage(runtime);
  problems.push(...storage.problems);
  const securityContext = security(runtime, problem);
  if (runtime.podmanArgs.length) problem(['container', 'podmanArgs'], 'extra podman run arguments have no Kubernetes equivalent', true);
  // The schema asks for a port whenever the proxy runs, so without one there is a problem above already.
  if (containerPort === undefined && problems.length === 0) problem(['container'], 'no container port to send requests to: set container.port', true);
  if (problems.length || containerPort === undefined) return { ok: false, problems };

  const container: Container = {
    name: CONTAINER_NAME,
    image: runtime.image,
    // The entrypoint is the program (Kubernetes' command), command its arguments (args).
    ...(runtime.entrypoint && { command: runtime.entrypoint.map(literal) }),
    ...(runtime.command && { args: runtime.command.map(literal) }),
    ...(runtime.workingDirectory !== undefined && { workingDir: runtime.workingDirectory }),
    ports: [{ containerPort }],
    ...(env.env.length > 0 && { env: env.env }),
    ...(env.envFrom.length > 0 && { envFrom: env.envFrom }),
    ...resources(runtime),
    ...(storage.mounts.length > 0 && { volumeMounts: storage.mounts }),
    ...readinessProbe(app, runtime, containerPort),
    ...(securityContext && { securityContext }),
    ...(runtime.pull && { imagePullPolicy: PULL_POLICY[runtime.pull] }),
  };
  return {
    ok: true,
    service: {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: { name: app.name },
      spec: {
        template: {
          metadata: { annotations: scaling(app) },
          spec: {
            ...(app.maxConnections !== undefined && { containerConcurrency: app.maxConnections }),
            containers: [container],
            ...(storage.volumes.length > 0 && { volumes: storage.volumes }),
          },
        },
      },
    },
  };
}

/**
 * Scale to zero as appsd does it: no pod until a request comes, at most one
 * (an app on one host runs once; raise max-scale to let Knative scale out),
 * and the last pod kept for the idle timeout once Knative decides to scale
 * to zero. `infinity`: one pod always.
 */
function scaling(app: App): Record<string, string> {
  if (app.idleTimeoutMs === null) return { 'autoscaling.knative.dev/min-scale': '1', 'autoscaling.knative.dev/max-scale': '1' };
  return {
    'autoscaling.knative.dev/min-scale': '0',
    'autoscaling.knative.dev/max-scale': '1',
    'autoscaling.knative.dev/scale-to-zero-pod-retention-period': goDuration(app.idleTimeoutMs),
  };
}

/** The one TCP listener a Knative Service can stand for; each other one is a problem. */
function servingListener(app: App, problem: Report): Listener | undefined {
  if (app.listen.length === 0) {
    problem([], 'an internal app (no listen:) serves only the apps that need it, and Knative serves requests from outside: give it a listen: address, or run it in the cluster as a plain Deployment and Service');
    return undefined;
  }
  let serving: Listener | undefined;
  app.listen.forEach((listener, i) => {
    if (listener.udp) problem(listenPath(app, i), 'a UDP socket: Knative serves HTTP and gRPC, over TCP');
    else if (serving) problem(listenPath(app, i), `a second port: a Knative Service routes requests to one port of its container (this app listens on ${app.listen.length} addresses)`);
    else serving = listener;
  });
  return serving;
}

/**
 * A value as Kubernetes must see it to pass it on as written: in a
 * container's command, args and env values it expands $(VAR) and turns $$
 * into $, where podman passes every character as it is. Each $ doubled
 * reads back as itself (`$$` -> `$`, `$(A)` stays `$(A)`).
 */
export function literal(value: string): string {
  return value.replaceAll('$', '$$$$');
}

/** The path of a listen entry: a lone entry may be written without a list. */
function listenPath(app: App, i: number): Path {
  return app.listen.length === 1 ? ['listen'] : ['listen', i];
}

function environment(runtime: ContainerRuntime, problem: Report): { env: EnvVar[]; envFrom: Array<{ secretRef: { name: string } }> } {
  const reserved = (name: string) => `Knative sets ${name} itself${name === 'PORT' ? ' (to the container port)' : ''}: the app reads it from there`;
  const env: EnvVar[] = [];
  for (const [name, value] of runtime.env) {
    if (RESERVED_ENV.has(name)) problem(['container', 'env', name], reserved(name), true);
    else env.push({ name, value: literal(value) });
  }
  runtime.secrets.forEach((secret, i) => {
    if (secret.as !== 'env') return;
    const path: Path = ['container', 'secrets', i];
    if (RESERVED_ENV.has(secret.target)) problem([...path, 'env'], reserved(secret.target));
    else if (!isDns1123Subdomain(secret.name)) problem(path, secretNameProblem(secret.name));
    // A podman secret is one value: in Kubernetes the key of that name in the Secret of that name.
    else env.push({ name: secret.target, valueFrom: { secretKeyRef: { name: secret.name, key: secret.name } } });
  });
  // An env file is on this host: in the cluster, the Secret named as the file is (kubectl create secret generic NAME --from-env-file=FILE).
  const envFrom: Array<{ secretRef: { name: string } }> = [];
  runtime.envFiles.forEach((file, i) => {
    const name = file.path.slice(file.path.lastIndexOf('/') + 1);
    const path: Path = ['container', 'envFile', i];
    if (!isDns1123Subdomain(name)) {
      problem(path, `an env file becomes the Kubernetes Secret named as the file, and "${name}" is no Secret name (lower-case letters, digits, '-' and '.'): rename the file`);
    } else if (envFrom.some((e) => e.secretRef.name === name)) {
      problem(path, `a second env file named "${name}": each becomes the Kubernetes Secret named as the file`);
    } else envFrom.push({ secretRef: { name } });
  });
  return { env, envFrom };
}

function resources(runtime: ContainerRuntime): Pick<Container, 'resources'> {
  const memory = runtime.resources.memory === undefined ? undefined : binaryQuantity(runtime.resources.memory);
  const cpu = runtime.resources.cpu === undefined ? undefined : cpuQuantity(runtime.resources.cpu);
  if (memory === undefined && cpu === undefined) return {};
  return { resources: { limits: { ...(memory !== undefined && { memory }), ...(cpu !== undefined && { cpu }) } } };
}

/**
 * tcp and http as Knative's own probes (the queue-proxy polls them every few
 * milliseconds until the first success, as appsd's wait does); health as an
 * exec probe, which the kubelet runs every second; none as no probe (Knative
 * then checks TCP, which it always does).
 */
function readinessProbe(app: App, runtime: ContainerRuntime, port: number): Pick<Container, 'readinessProbe'> {
  const check = app.readiness.check;
  if (check === 'http') return { readinessProbe: { httpGet: { path: app.readiness.path, port } } };
  if (check === 'tcp') return { readinessProbe: { tcpSocket: { port } } };
  if (check === 'health' && runtime.healthCheck) return { readinessProbe: healthProbe(runtime.healthCheck) };
  return {};
}

/** podman's defaults where the health check does not say: a 30 s timeout, 3 retries (Kubernetes' default too). */
function healthProbe(check: HealthCheck): Probe {
  // A string runs in the container's shell, as podman's CMD-SHELL does.
  const command = typeof check.command === 'string' ? ['/bin/sh', '-c', check.command] : [...check.command];
  return {
    exec: { command },
    periodSeconds: 1,
    timeoutSeconds: Math.max(1, Math.ceil((check.timeoutMs ?? 30_000) / 1000)),
    ...(check.retries !== undefined && { failureThreshold: check.retries }),
  };
}

function security(runtime: ContainerRuntime, problem: Report): SecurityContext | undefined {
  const ids = identity(runtime, problem);
  if (runtime.userns === 'keep-id') {
    problem(['container', 'userns'], 'keep-id runs the app as your own user of this host, which a cluster does not have: set user: to a numeric UID[:GID] instead');
  }
  if (runtime.capabilities.add.length) {
    problem(['container', 'capabilities', 'add'], 'Knative lets a container add no capability unless the cluster turns on kubernetes.containerspec-addcapabilities', true);
  }
  const drop = runtime.capabilities.drop.map((cap) => cap.replace(/^CAP_/, ''));
  const context: SecurityContext = {
    ...ids,
    ...(runtime.readOnly && { readOnlyRootFilesystem: true }),
    ...(runtime.noNewPrivileges && { allowPrivilegeEscalation: false }),
    ...(drop.length > 0 && { capabilities: { drop } }),
  };
  return Object.keys(context).length ? context : undefined;
}

/** `user:` as numeric IDs; root (or 0) alone is the image's own user, as on the host. */
function identity(runtime: ContainerRuntime, problem: Report): Pick<SecurityContext, 'runAsUser' | 'runAsGroup'> {
  const user = runtime.user;
  if (user === undefined || user === 'root' || user === '0') return {};
  const [uid, gid] = user.split(':').map((part) => (part === 'root' ? 0 : /^[0-9]+$/.test(part) ? Number(part) : part));
  const bad = [uid, gid].find((id) => typeof id === 'string' || (id !== undefined && id > MAX_ID));
  if (bad !== undefined) {
    problem(['container', 'user'], typeof bad === 'string'
      ? `Kubernetes runs a container as numeric IDs (runAsUser, runAsGroup), not by name: write the UID[:GID] that "${bad}" has in the image`
      : `${bad} is beyond Kubernetes' largest user or group ID, ${MAX_ID}`);
    return {};
  }
  return { runAsUser: uid as number, ...(gid !== undefined && { runAsGroup: gid as number }) };
}

const PULL_POLICY = { missing: 'IfNotPresent', always: 'Always', never: 'Never', newer: 'Always' } as const;
