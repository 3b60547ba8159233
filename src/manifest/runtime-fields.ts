// The `container:` and `exec:` sections, normalized: defaults applied, every
// value that needs parsing parsed once (see normalize.ts for the contract).
// Values of the wrong type are skipped here; the schema reports them.
import type { Parsed } from './address.js';
import {
  HARDENING_PRESETS,
  type AutoUpdate,
  type ContainerRuntime,
  type ExecRuntime,
  type Hardening,
  type HealthCheck,
  type PullPolicy,
  type Resources,
  type Secret,
  type UserNamespace,
} from './app.js';
import { isRecord, type Context } from './normalize.js';
import { parseContainerPath, parseHostPath, parseVolume, systemMountWarning, type HostPath, type Volume } from './paths.js';
import { parseCapability, parseDevice, parseMount, parseNetworkName, parsePodmanName, parseTmpfs } from './podman-values.js';
import { EXEC_PREFIX } from '../unit/escape.js';
import { parseTimespan, positiveSpan } from './timespan.js';

type Data = Record<string, unknown>;
type Path = Array<string | number>;

export function containerRuntime(ctx: Context, c: Data): ContainerRuntime {
  const at = (...rest: Path): Path => ['container', ...rest];
  const volumes: Volume[] = [];
  list(c['volumes']).forEach((v, i) => {
    const volume = ctx.parse(at('volumes', i), v, (t) => parseVolume(String(t)), 'bad-volume');
    if (!volume) return;
    volumes.push(volume);
    const warning = volume.kind === 'bind' ? systemMountWarning(volume.host) : undefined;
    if (warning) ctx.warn(at('volumes', i), warning, 'system-mount');
  });
  const mounts: string[] = [];
  list(c['mounts']).forEach((v, i) => {
    const mount = ctx.parse(at('mounts', i), v, (t) => parseMount(String(t)), 'bad-volume');
    if (!mount) return;
    mounts.push(mount.text);
    const warning = mount.bindSource && systemMountWarning(mount.bindSource);
    if (warning) ctx.warn(at('mounts', i), warning, 'system-mount');
  });
  const strings = (key: string, parser: (t: string) => Parsed<string>, code: Parameters<Context['parse']>[3]): string[] =>
    list(c[key]).flatMap((v, i) => {
      const value = ctx.parse(at(key, i), v, (t) => parser(String(t)), code);
      return value === undefined ? [] : [value];
    });
  const networkValue = c['network'];
  const networks = (Array.isArray(networkValue) ? networkValue : networkValue === undefined ? [] : [networkValue]).flatMap((v, i) => {
    const name = ctx.parse(Array.isArray(networkValue) ? at('network', i) : at('network'), v, (t) => parseNetworkName(String(t)), 'bad-value');
    return name === undefined ? [] : [name];
  });
  const capabilities = isRecord(c['capabilities']) ? c['capabilities'] : {};
  const caps = (key: 'add' | 'drop') =>
    list(capabilities[key]).flatMap((v, i) => {
      const cap = ctx.parse(at('capabilities', key, i), v, (t) => parseCapability(String(t)), 'bad-value');
      return cap === undefined ? [] : [cap];
    });
  const image = String(c['image']);
  const autoUpdate = oneOf<AutoUpdate>(c['autoUpdate'], ['registry', 'local']);
  if (autoUpdate === 'registry' && !fullyQualified(image)) {
    ctx.problem(at('autoUpdate'), `autoUpdate: registry needs a fully qualified image (registry/name:tag, e.g. docker.io/library/nginx:1.27), not "${image}": podman auto-update cannot tell where else to look`, 'invalid-field');
  }
  const stopTimeout = ctx.parse(at('stopTimeout'), c['stopTimeout'], (v) => parseSeconds(v, 3600), 'bad-duration', true);
  const workingDirectory = ctx.parse(at('workingDirectory'), c['workingDirectory'], (v) => parseContainerPath(String(v), 'workingDirectory'), 'bad-path');
  const labels = entries(c['labels']);
  labels.forEach(([key]) => {
    if (key.startsWith('io.containers.autoupdate') || key === 'PODMAN_SYSTEMD_UNIT') {
      ctx.problem(at('labels', key), `the label ${key} is appsd's to set${key.startsWith('io.containers.autoupdate') ? ' (use autoUpdate:)' : ''}`, 'reserved-key');
    }
  });
  const podmanArgs = list(c['podmanArgs']).map(String);
  podmanArgs.forEach((arg, i) => {
    const flag = arg.split('=')[0]!;
    if (OWNED_PODMAN_FLAGS.has(flag)) ctx.problem(at('podmanArgs', i), `appsd sets ${flag} itself (it runs and tracks the container with it); ${OWNED_PODMAN_FLAGS.get(flag)}`, 'reserved-key');
  });
  const healthCheck = health(ctx, c['healthCheck']);
  return {
    kind: 'container',
    image,
    ...(typeof c['port'] === 'number' && { port: c['port'] }),
    ...(Array.isArray(c['command']) && { command: c['command'].map(String) }),
    ...(Array.isArray(c['entrypoint']) && c['entrypoint'].length > 0 && { entrypoint: c['entrypoint'].map(String) }),
    env: entries(c['env']),
    envFiles: hostPaths(ctx, c['envFile'], at('envFile'), 'envFile'),
    secrets: secrets(ctx, c['secrets']),
    volumes,
    tmpfs: strings('tmpfs', parseTmpfs, 'bad-volume'),
    mounts,
    devices: strings('devices', parseDevice, 'bad-path'),
    resources: resources(c['resources']),
    ...(typeof c['user'] === 'string' && { user: c['user'] }),
    ...withValue('userns', oneOf<UserNamespace>(c['userns'], ['keep-id', 'auto', 'host'])),
    networks: [...new Set(networks)],
    ...(healthCheck && { healthCheck }),
    ...withValue('pull', oneOf<PullPolicy>(c['pull'], ['missing', 'always', 'newer', 'never'])),
    ...withValue('autoUpdate', autoUpdate),
    readOnly: c['readOnly'] === true,
    noNewPrivileges: c['noNewPrivileges'] === true,
    capabilities: { add: caps('add'), drop: caps('drop') },
    ...withValue('workingDirectory', workingDirectory),
    labels,
    ...withValue('stopTimeoutS', stopTimeout),
    ...((typeof c['shmSize'] === 'string' || typeof c['shmSize'] === 'number') && { shmSize: String(c['shmSize']) }),
    podmanArgs,
  };
}

/** podman flags appsd's unit depends on, and what to use instead. */
const OWNED_PODMAN_FLAGS = new Map([
  ['--name', 'the container is named appsd-NAME'],
  ['--cidfile', 'the unit stops the container by it'],
  ['--rm', 'the container is removed when it stops'],
  ['-d', 'the unit needs podman to detach'],
  ['--detach', 'the unit needs podman to detach'],
  ['--replace', 'a leftover container is replaced'],
  ['--sdnotify', 'the unit is Type=notify through conmon'],
  ['--cgroups', 'the unit\'s cgroup holds the container'],
  ['-p', 'the proxy reaches the app on its backend address; use listen: for public ports'],
  ['--publish', 'the proxy reaches the app on its backend address; use listen: for public ports'],
  ['-P', 'use listen: for public ports'],
  ['--publish-all', 'use listen: for public ports'],
  ['--pod', 'each app is its own container'],
]);

export function execRuntime(ctx: Context, e: Data): ExecRuntime {
  const command = Array.isArray(e['command']) ? e['command'].map(String) : [];
  if (command.length) ctx.parse(['exec', 'command', 0], command[0], (v) => parseProgram(String(v)), 'bad-command');
  const workingDirectory = ctx.parse(['exec', 'workingDirectory'], e['workingDirectory'], (v) => parseHostPath(String(v), 'workingDirectory'), 'bad-path');
  const credentials = entries(e['credentials']).flatMap(([name, value]) => {
    const path = ctx.parse(['exec', 'credentials', name], value, (v) => parseHostPath(String(v), 'credential file'), 'bad-path');
    return path ? [[name, path] as const] : [];
  });
  return {
    kind: 'exec',
    command,
    env: entries(e['env']),
    envFiles: hostPaths(ctx, e['envFile'], ['exec', 'envFile'], 'envFile'),
    credentials,
    ...(workingDirectory && { workingDirectory }),
    resources: resources(e['resources']),
    ...(typeof e['user'] === 'string' && { user: e['user'] }),
    ...(typeof e['group'] === 'string' && { group: e['group'] }),
    ...(typeof e['umask'] === 'string' && { umask: e['umask'].padStart(4, '0') }),
    hardening: oneOf<Hardening>(e['hardening'], HARDENING_PRESETS) ?? 'default',
  };
}

function health(ctx: Context, value: unknown): HealthCheck | undefined {
  if (!isRecord(value)) return undefined;
  const command = typeof value['command'] === 'string' ? value['command'] : Array.isArray(value['command']) ? value['command'].map(String) : undefined;
  if (command === undefined) return undefined;
  if (Array.isArray(command) && ['CMD', 'CMD-SHELL', 'NONE'].includes(String(command[0]).toUpperCase())) {
    ctx.problem(['container', 'healthCheck', 'command', 0], `"${command[0]}" is podman's own marker: write the command itself (a string runs in the shell, a list as written)`, 'bad-command');
  }
  const span = (key: string) => ctx.parse(['container', 'healthCheck', key], value[key], positiveSpan, 'bad-duration', true);
  const intervalMs = span('interval');
  const timeoutMs = span('timeout');
  const startPeriodMs = span('startPeriod');
  return {
    command,
    ...withValue('intervalMs', intervalMs),
    ...withValue('timeoutMs', timeoutMs),
    ...(typeof value['retries'] === 'number' && { retries: value['retries'] }),
    ...withValue('startPeriodMs', startPeriodMs),
  };
}

function secrets(ctx: Context, value: unknown): Secret[] {
  const name = parsePodmanName('secret name');
  return list(value).flatMap((item, i): Secret[] => {
    const path: Path = ['container', 'secrets', i];
    if (typeof item === 'string') {
      const n = ctx.parse(path, item, (v) => name(String(v)), 'bad-value');
      return n === undefined ? [] : [{ name: n, as: 'file', target: n }];
    }
    if (!isRecord(item) || typeof item['name'] !== 'string') return [];
    const n = ctx.parse([...path, 'name'], item['name'], (v) => name(String(v)), 'bad-value');
    if (n === undefined) return [];
    if (typeof item['env'] === 'string') return [{ name: n, as: 'env', target: item['env'] }];
    const file = typeof item['file'] === 'string' ? ctx.parse([...path, 'file'], item['file'], (v) => parseSecretFile(String(v)), 'bad-path') : n;
    return file === undefined ? [] : [{ name: n, as: 'file', target: file }];
  });
}

/** A file name under /run/secrets, or an absolute path in the container. */
function parseSecretFile(text: string): Parsed<string> {
  if (text.startsWith('/')) return parseContainerPath(text, 'secret file');
  return /^[A-Za-z0-9_.-]+$/.test(text) && text !== '.' && text !== '..'
    ? { ok: true, value: text }
    : { ok: false, reason: `secret file "${text}" must be a file name (put under /run/secrets/) or an absolute path in the container` };
}

function hostPaths(ctx: Context, value: unknown, path: Path, what: string): HostPath[] {
  return list(value).flatMap((v, i) => {
    const p = ctx.parse([...path, i], v, (t) => parseHostPath(String(t), what), 'bad-path');
    return p ? [p] : [];
  });
}

/** The program of an exec command: a path or a name systemd can run as written. */
function parseProgram(program: string): Parsed<string> {
  if (program === '' || EXEC_PREFIX.test(program)) {
    return { ok: false, reason: `the program must be a path or a name, not "${program}" (systemd reads a leading - @ : + ! | as a prefix)` };
  }
  if (program.includes('/') && !program.startsWith('/')) {
    return { ok: false, reason: `the program "${program}" must be an absolute path or a plain name found in systemd's search path` };
  }
  // systemd reads the executable with its own rules: quotes and backslashes
  // are not taken literally there, and `$` is not expanded (so escaping it
  // would change the path). Refuse what it cannot run as written.
  const bad = /[\s"'\\$\0-\x1f\x7f]/.exec(program);
  if (bad) {
    const what = /\s/.test(bad[0]) ? 'whitespace' : /[\0-\x1f\x7f]/.test(bad[0]) ? 'a control character' : `"${bad[0]}"`;
    return { ok: false, reason: `the program path contains ${what}, which systemd cannot run as written; use a path without it (or a wrapper script)` };
  }
  return { ok: true, value: program };
}

/** A time span in whole seconds (rounded up), at most `max`. */
function parseSeconds(v: string | number, max: number): Parsed<number> {
  const parsed = parseTimespan(v, false);
  if (!parsed.ok) return parsed;
  const seconds = Math.ceil((parsed.value ?? 0) / 1000);
  return seconds <= max ? { ok: true, value: seconds } : { ok: false, reason: `must be at most ${max}s` };
}

/** registry.example/name: the first component names a registry (has a dot or a port, or is localhost). */
function fullyQualified(image: string): boolean {
  const slash = image.indexOf('/');
  if (slash < 0) return false;
  const first = image.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost';
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[]): T | undefined {
  return allowed.find((a) => a === value);
}

function withValue<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** NAME: value maps (env, labels, credentials), sorted so reordering keys changes no bytes. */
export function entries(value: unknown): Array<readonly [string, string]> {
  if (!isRecord(value)) return [];
  return Object.entries(value)
    .map(([k, v]) => [k, String(v)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function resources(value: unknown): Resources {
  const r = isRecord(value) ? value : {};
  return {
    ...((typeof r['memory'] === 'string' || typeof r['memory'] === 'number') && { memory: String(r['memory']) }),
    ...(typeof r['cpu'] === 'number' && { cpu: r['cpu'] }),
  };
}
