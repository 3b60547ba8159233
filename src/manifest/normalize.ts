// From schema-checked data to an App: defaults, parsed addresses, and the
// rules a JSON Schema cannot say (which fields make sense together).
import { basename, extname } from 'node:path';
import { parseBackendAddress, parseListenAddress, type InetAddress, type ListenAddress } from './address.js';
import {
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_READINESS_TIMEOUT_MS,
  type Activation,
  type App,
  type ContainerRuntime,
  type ExecRuntime,
  type Readiness,
  type Resources,
} from './app.js';
import { parseHostPath, parseVolume, type HostPath, type Volume } from './paths.js';
import type { Path } from './source.js';
import type { SchemaProblem as Problem } from './schema-errors.js';
import { parseTimespan } from './timespan.js';

export type { SchemaProblem as Problem } from './schema-errors.js';

type Data = Record<string, unknown>;

const NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
// Names systemd reads as prefixes on the executable (ignore failure, argv0, ...).
const EXEC_PREFIX = /^[-@:+!|]/;

/** The app name a manifest file gets when it does not set `name`. */
export function nameFromFile(file: string): string {
  return basename(file, extname(file));
}

/**
 * Normalizes a manifest that passed the schema. Problems found here are
 * reported with the path of the field at fault; when there are any, no App.
 */
export function normalizeManifest(file: string, data: Data): { app?: App; problems: Problem[] } {
  const problems: Problem[] = [];
  const problem = (path: Path, message: string, code = 'invalid-field', atKey = false, subject?: Path) =>
    problems.push({ path, atKey, code, message, ...(subject && { subject }) });
  const onlyWithProxy = (activation: Activation, field: string, why: string) => {
    if (activation === 'native' && data[field] !== undefined) {
      problem([field], `has no effect with activation: native (${why})`, 'native-conflict', true, [field]);
    }
  };

 const name = typeof data['name'] === 'string' ? data['name'] : nameFromFile(file);
  if (data['name'] === undefined && !(NAME.test(name) && name.length <= 48)) {
    problem([], `the file name gives the app name "${name}", which is not valid (lower-case letters, digits and '-', at most 48): rename the file or set name:`, 'bad-name');
  }
  if (name.endsWith('-backend')) {
    problem(data['name'] === undefined ? [] : ['name'], `app names may not end in "-backend": appsd-${name}.service would clash with the backend unit of app "${name.slice(0, -8)}"`, 'bad-name');
  }

  const activation: Activation = data['activation'] === 'native' ? 'native' : 'proxy';
  onlyWithProxy(activation, 'idleTimeout', 'the app must exit on its own when idle');
  onlyWithProxy(activation, 'readiness', 'the socket is already listening when the app starts');
  onlyWithProxy(activation, 'maxConnections', 'the app accepts connections itself');
  onlyWithProxy(activation, 'backend', 'the app gets the listening socket; there is no backend address');

  // The data may have failed the schema (all problems are reported in one
  // run), so every field is type-checked before use; wrong types were already
  // reported by the schema.
  const listenValue = data['listen'];
  const listen: ListenAddress[] = [];
  (Array.isArray(listenValue) ? listenValue : [listenValue]).forEach((value, i) => {
    if (typeof value !== 'string' && typeof value !== 'number') return;
    const parsed = parseListenAddress(value);
    if (parsed.ok) listen.push(parsed.value);
    else problem(Array.isArray(listenValue) ? ['listen', i] : ['listen'], parsed.reason, 'bad-address');
  });

  let idleTimeoutMs: number | null = DEFAULT_IDLE_TIMEOUT_MS;
  if (isTimespan(data['idleTimeout'])) {
    const parsed = parseTimespan(data['idleTimeout'], true);
    if (parsed.ok) idleTimeoutMs = parsed.value;
    else problem(['idleTimeout'], parsed.reason, 'bad-duration');
  }

  const readinessData = isRecord(data['readiness']) ? data['readiness'] : {};
  let readinessTimeout = DEFAULT_READINESS_TIMEOUT_MS;
  if (isTimespan(readinessData['timeout'])) {
    const parsed = parseTimespan(readinessData['timeout'], false);
    if (parsed.ok && parsed.value !== null && parsed.value > 0) readinessTimeout = parsed.value;
    else problem(['readiness', 'timeout'], parsed.ok ? 'must be longer than 0s' : parsed.reason, 'bad-duration');
  }
  const check = (['tcp', 'http', 'none'] as const).find((c) => c === readinessData['check']) ?? 'tcp';
  if (readinessData['path'] !== undefined && check !== 'http') {
    problem(['readiness', 'path'], `is only used with check: http (check is ${check})`, 'invalid-field', true, ['readiness', 'path']);
  }
  const readiness: Readiness = { check, path: typeof readinessData['path'] === 'string' ? readinessData['path'] : '/', timeoutMs: readinessTimeout };

  let backend: InetAddress | undefined;
  if (typeof data['backend'] === 'string') {
    const parsed = parseBackendAddress(data['backend']);
    if (parsed.ok) backend = parsed.value;
    else problem(['backend'], parsed.reason, 'bad-address');
  }

  let runtime: ContainerRuntime | ExecRuntime | undefined;
  if (isRecord(data['container'])) {
    const c = data['container'];
    if (activation === 'proxy' && c['port'] === undefined) {
      problem(['container'], 'missing required field "port": the port the app listens on inside the container (the proxy forwards to it)', 'missing-field', true, ['container']);
    }
    if (activation === 'native' && c['port'] !== undefined) {
      problem(['container', 'port'], 'has no effect with activation: native (the container gets the listening socket)', 'native-conflict', true, ['container', 'port']);
    }
    runtime = {
      kind: 'container',
      image: String(c['image']),
      ...(typeof c['port'] === 'number' && { port: c['port'] }),
      ...(Array.isArray(c['command']) && { command: c['command'].map(String) }),
      env: envEntries(c['env']),
      volumes: volumes(c['volumes'], problem),
      resources: resources(c['resources']),
    };
  } else if (isRecord(data['exec'])) {
    const e = data['exec'];
    const command = Array.isArray(e['command']) ? e['command'].map(String) : [];
    const program = command[0] ?? '';
    if (!Array.isArray(e['command']) || command.length === 0) {
      // Reported by the schema.
    } else if (program === '' || EXEC_PREFIX.test(program)) {
      problem(['exec', 'command', 0], `the program must be a path or a name, not "${program}" (systemd reads a leading - @ : + ! | as a prefix)`, 'bad-command');
    } else if (program.includes('/') && !program.startsWith('/')) {
      problem(['exec', 'command', 0], `the program "${program}" must be an absolute path or a plain name found in systemd's search path`, 'bad-command');
    }
    if (activation === 'proxy' && backend === undefined && data['backend'] === undefined) {
      problem([], 'missing required field "backend": an exec app must say where it listens (e.g. backend: 127.0.0.1:8081), for the proxy to connect to', 'missing-field');
    }
    let workingDirectory: HostPath | undefined;
    if (typeof e['workingDirectory'] === 'string') {
      const parsed = parseHostPath(e['workingDirectory'], 'workingDirectory');
      if (parsed.ok) workingDirectory = parsed.value;
      else problem(['exec', 'workingDirectory'], parsed.reason, 'bad-path');
    }
    runtime = {
      kind: 'exec',
      command,
      env: envEntries(e['env']),
      ...(workingDirectory && { workingDirectory }),
      resources: resources(e['resources']),
    };
  }

  if (problems.length || !runtime) return { problems };
  const app: App = {
    name,
    file,
    ...(typeof data['description'] === 'string' && data['description'] !== '' && { description: data['description'] }),
    listen,
    activation,
    idleTimeoutMs,
    readiness,
    ...(typeof data['maxConnections'] === 'number' && { maxConnections: data['maxConnections'] }),
    ...(backend && { backend }),
    runtime,
  };
  return { app, problems };
}

function isRecord(value: unknown): value is Data {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isTimespan(value: unknown): value is string | number {
  return typeof value === 'string' || typeof value === 'number';
}

function envEntries(value: unknown): Array<readonly [string, string]> {
  if (!isRecord(value)) return [];
  // Sorted, so reordering keys in the manifest does not change the unit's bytes.
  return Object.entries(value as Data)
    .map(([k, v]) => [k, String(v)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function volumes(value: unknown, problem: (path: Path, message: string, code?: string) => void): Volume[] {
  if (!Array.isArray(value)) return [];
  const out: Volume[] = [];
  value.forEach((v, i) => {
    if (typeof v !== 'string') return;
    const parsed = parseVolume(v);
    if (parsed.ok) out.push(parsed.value);
    else problem(['container', 'volumes', i], parsed.reason, 'bad-volume');
  });
  return out;
}

function resources(value: unknown): Resources {
  const r = isRecord(value) ? value : {};
  return {
    ...((typeof r['memory'] === 'string' || typeof r['memory'] === 'number') && { memory: String(r['memory']) }),
    ...(typeof r['cpu'] === 'number' && { cpu: r['cpu'] }),
  };
}
