// From manifest data to an App: defaults, and every value that needs real
// parsing (addresses, time spans, paths) parsed exactly once, here, where both
// its message and its normalized value come from. The schema checks shape and
// the rules between fields; a value parser owns the message for its field, so
// the schema's coarser pattern error at the same place is dropped (see
// `parsedPaths` and load.ts).
import type { Placement } from './placement.js';
import { basename, extname } from 'node:path';
import { parseBackendAddress, parseListenAddress, parseStreamListener, type InetAddress, type Parsed } from './address.js';
import {
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_READINESS_TIMEOUT_MS,
  type Activation,
  type App,
  type Listener,
  type Readiness,
  type Runtime,
} from './app.js';
import { containerRuntime, execRuntime } from './runtime-fields.js';
import { unitExtras } from './unit-extras.js';
import type { DiagnosticCode } from '../diagnostics.js';
import type { Path } from './source.js';
import { APP_NAME, APP_NAME_MAX, appUnitNames } from '../unit/names.js';
import type { SchemaProblem as Problem } from './schema-errors.js';
import { parseTimespan, positiveSpan } from './timespan.js';

export type { SchemaProblem as Problem } from './schema-errors.js';

type Data = Record<string, unknown>;


/** The app name a manifest file gets when it does not set `name`. */
export function nameFromFile(file: string): string {
  return basename(file, extname(file));
}

/** What the field normalizers need: the one parse-once helper, and where problems go. */
export interface Context {
  parse<T>(path: Path, value: unknown, parser: (v: string | number) => Parsed<T>, code: DiagnosticCode, numbers?: boolean): T | undefined;
  problem(path: Path, message: string, code: DiagnosticCode): void;
  warn(path: Path, message: string, code: DiagnosticCode): void;
}

export interface Normalized {
  /** Set when the values parsed; the caller still requires the schema to pass. */
  readonly app?: App;
  readonly problems: Problem[];
  readonly warnings: Problem[];
  /** Paths (joined with NUL) whose value a parser judged: the parser's word is final there. */
  readonly parsedPaths: ReadonlySet<string>;
}

export function pathKey(path: Path): string {
  return path.join('\0');
}

/**
 * Normalizes manifest data, which may have failed the schema (every problem
 * is reported in one run): each field is type-checked before use, and values
 * of the wrong type are left to the schema's message.
 */
export function normalizeManifest(file: string, data: Data): Normalized {
  const problems: Problem[] = [];
  /** Worth saying, but the app is still valid. */
  const warnings: Problem[] = [];
  const parsedPaths = new Set<string>();
  const problem = (path: Path, message: string, code: DiagnosticCode) => problems.push({ path, atKey: false, code, message });
  /** Parses the value at `path` if it is a string (or number, with `numbers`), once. */
  const parse = <T>(path: Path, value: unknown, parser: (v: string | number) => Parsed<T>, code: DiagnosticCode, numbers = false): T | undefined => {
    if (typeof value !== 'string' && !(numbers && typeof value === 'number')) return undefined;
    parsedPaths.add(pathKey(path));
    const parsed = parser(value);
    if (parsed.ok) return parsed.value;
    problem(path, parsed.reason, code);
    return undefined;
  };

  const name = typeof data['name'] === 'string' ? data['name'] : nameFromFile(file);
  if (data['name'] === undefined && !(APP_NAME.test(name) && name.length <= APP_NAME_MAX)) {
    problem([], `the file name gives the app name "${name}", which is not valid (lower-case letters, digits and '-', at most 48): rename the file or set name:`, 'bad-name');
  }
  if (name.endsWith('-backend')) {
    problem(data['name'] === undefined ? [] : ['name'], `app names may not end in "-backend": ${appUnitNames(name).service} would clash with the backend unit of app "${name.slice(0, -8)}"`, 'bad-name');
  }

  const activation: Activation = data['activation'] === 'native' ? 'native' : 'proxy';

  const listenValue = data['listen'];
  const listen: Listener[] = [];
  (Array.isArray(listenValue) ? listenValue : listenValue === undefined ? [] : [listenValue]).forEach((value, i) => {
    const path: Path = Array.isArray(listenValue) ? ['listen', i] : ['listen'];
    if (isRecord(value)) {
      // {udp: ADDRESS}: a datagram socket. The schema reports other keys.
      const address = parse([...path, 'udp'], value['udp'], parseListenAddress, 'bad-address', true);
      if (address) listen.push({ address, udp: true });
      if (address && activation === 'proxy') {
        problem([...path, 'udp'], 'UDP needs activation: native (the socket is handed to the app): systemd-socket-proxyd forwards streams only', 'native-conflict');
      }
      return;
    }
    const parsed = parse(path, value, parseStreamListener, 'bad-address', true);
    if (!parsed) return;
    listen.push({ address: parsed.address, udp: false, ...(parsed.to !== undefined && { to: parsed.to }) });
    if (parsed.to !== undefined && activation === 'native') {
      problem(path, `"-> ${parsed.to}" forwards to a backend port, which only the proxy does: with activation: native the app gets the socket itself`, 'native-conflict');
    }
  });
  if (listen.length === 0 && listenValue === undefined && activation === 'native') {
    problem(['activation'], 'native activation hands the app its listening sockets: add listen:, or leave activation out for an internal app', 'native-conflict');
  }

  const needsValue = data['needs'];
  const needs: string[] = [];
  for (const value of Array.isArray(needsValue) ? needsValue : needsValue === undefined ? [] : [needsValue]) {
    if (typeof value === 'string' && !needs.includes(value)) needs.push(value);
  }

  const placement = placementOf(data);

  const idle = parse(['idleTimeout'], data['idleTimeout'], (v) => parseTimespan(v, true), 'bad-duration', true);
  const idleTimeoutMs = idle === undefined ? DEFAULT_IDLE_TIMEOUT_MS : idle;

  const readinessData = isRecord(data['readiness']) ? data['readiness'] : {};
  // Internal means no listen: at all, not a listen: whose entries are all invalid (those are reported).
  const internal = listenValue === undefined;
  // An internal app may listen nowhere (a worker): an exec app without
  // backend:, a container without port:. There is nothing to probe then.
  const listensSomewhere = !internal || data['backend'] !== undefined || (isRecord(data['container']) && data['container']['port'] !== undefined);
  const readiness: Readiness = {
    check: (['tcp', 'http', 'health', 'none'] as const).find((c) => c === readinessData['check']) ?? (listensSomewhere ? 'tcp' : 'none'),
    path: typeof readinessData['path'] === 'string' ? readinessData['path'] : '/',
    timeoutMs: parse(['readiness', 'timeout'], readinessData['timeout'], positiveSpan, 'bad-duration', true) ?? DEFAULT_READINESS_TIMEOUT_MS,
  };

  const backend: InetAddress | undefined = parse(['backend'], data['backend'], (v) => parseBackendAddress(String(v)), 'bad-address');

  const ctx: Context = { parse, problem, warn: (path, message, code) => warnings.push({ path, atKey: false, code, message }) };
  let runtime: Runtime | undefined;
  if (isRecord(data['container'])) runtime = containerRuntime(ctx, data['container']);
  else if (isRecord(data['exec'])) runtime = execRuntime(ctx, data['exec']);
  if (readiness.check === 'health' && !(runtime?.kind === 'container' && runtime.healthCheck)) {
    problem(['readiness', 'check'], 'check: health needs a container with a healthCheck (it waits for the first healthy result)', 'invalid-field');
  }
  if (internal) {
    for (const key of ['idleTimeout', 'maxConnections']) {
      if (data[key] !== undefined) problem([key], 'has no effect on an internal app (no listen:): it stops when no app that needs it runs', 'invalid-field');
    }
  }
  if (internal && runtime?.kind === 'container' && backend && runtime.port === undefined) {
    problem(['backend'], "an internal container's backend: is where its container.port is published: set port:", 'missing-field');
  }
  if (internal && runtime?.kind === 'container' && !backend && readiness.check === 'http') {
    problem(['readiness', 'check'], 'check: http needs an address on the host to send the request to: give the internal container a backend:, or use check: tcp (a socket listening in the container)', 'invalid-field');
  } else if (!listensSomewhere && (readiness.check === 'tcp' || readiness.check === 'http')) {
    const where = runtime?.kind === 'container' ? 'container.port' : 'backend:';
    problem(['readiness', 'check'], `check: ${readiness.check} probes where the app listens: an internal app needs ${where} for it`, 'invalid-field');
  }
  const unit = unitExtras(ctx, data['unit']);

  if (problems.length || !runtime) return { problems, warnings, parsedPaths };
  const app: App = {
    name,
    file,
    ...(typeof data['description'] === 'string' && data['description'] !== '' && { description: data['description'] }),
    listen,
    needs,
    activation,
    idleTimeoutMs,
    readiness,
    ...(typeof data['maxConnections'] === 'number' && { maxConnections: data['maxConnections'] }),
    ...(backend && { backend }),
    runtime,
    unit,
    ...(placement && { placement }),
  };
  return { app, problems, warnings, parsedPaths };
}

/** `hosts:` and `placement:` as the schema checked them (strings only; anything else is already an error). */
function placementOf(data: Data): Placement | undefined {
  const hosts = Array.isArray(data['hosts']) ? data['hosts'].filter((h): h is string => typeof h === 'string') : undefined;
  const labels = isRecord(data['placement']) ? new Map(Object.entries(data['placement']).flatMap(([k, v]) => (typeof v === 'string' ? [[k, v] as const] : []))) : undefined;
  if (!hosts?.length && !labels?.size) return undefined;
  return { ...(hosts?.length && { hosts }), ...(labels?.size && { labels }) };
}

export function isRecord(value: unknown): value is Data {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

