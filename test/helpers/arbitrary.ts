// Random manifests for property-based tests (fast-check): mostly the right
// shape, with hostile strings everywhere a string goes (specifiers, $, quotes,
// backslashes, newlines that would start a directive, NUL, control
// characters, long values) and wrong types now and then.
import fc from 'fast-check';
import { stringify } from 'yaml';

export const HOSTILE_PIECES = [
  '%n', '%h', '%%', '%', '$HOME', '${PATH}', '$$', '$', '"', "'", '\\', '\\n', ';', ' ; ', '&&', '|', '`id`', '$(id)',
  '\n[Service]\nExecStartPre=/bin/false\n', '\r', '\t', '\0', '\x01', '\x7f', '#', '[Unit]', '-', '@', '+', '!', ':', '~', '..', '/',
  'ünïcödé', '日本', '\u2028', ' ', '',
];

export const hostileString = fc.oneof(
  { weight: 3, arbitrary: fc.array(fc.constantFrom(...HOSTILE_PIECES), { maxLength: 6 }).map((parts) => parts.join('')) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 1, arbitrary: fc.constantFrom('01234', '1.10', '0x10', 'true', 'yes', 'null', '~') },
);

/** A value of any YAML type, for fields that expect something else. */
const anything = fc.oneof(hostileString, fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 }));

const port = fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 1024, max: 65535 }) }, { weight: 1, arbitrary: fc.integer({ min: -5, max: 70000 }) });
const listen = fc.oneof(
  port,
  port.map((p) => `127.0.0.1:${p}`),
  port.map((p) => `[::1]:${p}`),
  fc.constantFrom('/run/appsd/x.sock', '/run/a b.sock', 'localhost:80'),
  hostileString,
  // A port of its own, UDP, and shapes that are neither.
  fc.tuple(port, port).map(([p, to]) => `127.0.0.1:${p} -> ${to}`),
  port.map((p) => ({ udp: p })),
  fc.constantFrom('8080 ->', '-> 80', '8080 -> 80 -> 90', { tcp: 80 }),
);
const span = fc.oneof(fc.constantFrom('30s', '5min', '1h 30min', 'infinity', '0', '100ms'), fc.integer({ min: -1, max: 100000 }), hostileString);

/** Programs that exist on this machine, so that systemd-analyze verify can accept the units. */
export const PROGRAMS = ['/bin/true', 'true', process.execPath];

const command = fc.tuple(fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...PROGRAMS) }, { weight: 1, arbitrary: hostileString }), fc.array(fc.oneof(hostileString, fc.integer(), fc.boolean()), { maxLength: 6 }))
  .map(([program, args]) => [program, ...args]);
const envName = fc.oneof({ weight: 5, arbitrary: fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,8}$/) }, { weight: 1, arbitrary: hostileString });
const env = fc.dictionary(envName, fc.oneof(hostileString, fc.integer(), fc.boolean()), { maxKeys: 5 });
const hostPath = fc.oneof(fc.constantFrom('/srv/data', '~', '~/app', '/', '/etc', '/var/lib/x'), hostileString);

const exec = fc.record(
  { command, env, workingDirectory: hostPath, user: fc.oneof(fc.constantFrom('root', 'nobody', '1000'), hostileString), resources: fc.record({ memory: fc.constantFrom('512M', '1G'), cpu: fc.constantFrom(0.5, 2) }, { requiredKeys: [] }) },
  { requiredKeys: ['command'] },
);
const container = fc.record(
  {
    image: fc.oneof(fc.constantFrom('localhost/hello:latest', 'docker.io/library/nginx:1.27'), hostileString),
    port: port,
    command: fc.array(fc.oneof(hostileString, fc.integer()), { maxLength: 4 }),
    env,
    volumes: fc.array(fc.tuple(hostPath, fc.oneof(fc.constant('/data'), hostileString), fc.constantFrom('', ':ro', ':Z', ':bogus')).map(([h, c, o]) => `${h}:${c}${o}`), { maxLength: 3 }),
    user: fc.oneof(fc.constantFrom('root', '1000'), hostileString),
  },
  { requiredKeys: ['image'] },
);

export const manifestObject = fc
  .record(
    {
      name: fc.oneof(fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/), hostileString),
      description: hostileString,
      listen: fc.oneof(listen, fc.array(listen, { minLength: 1, maxLength: 3 })),
      backend: fc.oneof(port.map((p) => `127.0.0.1:${p}`), hostileString),
      activation: fc.constantFrom('proxy', 'native', 'lazy'),
      idleTimeout: span,
      readiness: fc.record({ check: fc.constantFrom('tcp', 'http', 'none'), path: fc.oneof(fc.constant('/healthz'), hostileString), timeout: span }, { requiredKeys: [] }),
      maxConnections: fc.oneof(fc.integer({ min: 1, max: 1000 }), anything),
      needs: fc.oneof(fc.constantFrom('db', 'x'), fc.array(fc.oneof(fc.constantFrom('db', 'web'), hostileString), { maxLength: 3 }), anything),
      exec,
      container,
      extra: anything,
    },
    { requiredKeys: [] },
  )
  // Most of the time exactly one backend kind, so that many manifests get far.
  .chain((m) =>
    fc.tuple(fc.constantFrom('exec', 'container', 'exec', 'container', 'both'), fc.boolean()).map(([keep, extra]) => {
      const copy: Record<string, unknown> = { ...m };
      if (keep === 'exec') delete copy['container'];
      if (keep === 'container') delete copy['exec'];
      if (!extra) delete copy['extra'];
      return copy;
    }),
  );

/** Anything a value may hold: hostile, but no NUL (which validation refuses). */
export const anyValue = hostileString.filter((s) => !s.includes('\0'));
const validEnv = fc.dictionary(fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,8}$/), fc.oneof(anyValue, fc.integer(), fc.boolean()), { maxKeys: 5 });

/** Manifests that validate (mostly), with hostile values wherever any value is allowed. */
export const validManifestObject = fc.record({
  name: fc.stringMatching(/^[a-z][a-z0-9]{0,10}$/),
  description: fc.string({ maxLength: 30 }).filter((s) => !/[\0-\x1f\x7f]|\\$/.test(s)),
  listen: fc.integer({ min: 10000, max: 19999 }).map((p) => `127.0.0.1:${p}`),
  backend: fc.integer({ min: 20000, max: 29999 }).map((p) => `127.0.0.1:${p}`),
  idleTimeout: fc.constantFrom('30s', '5min', 'infinity', 90),
  runtime: fc.oneof(
    fc.record({
      exec: fc.record(
        {
          command: fc.tuple(fc.constantFrom(...PROGRAMS), fc.array(fc.oneof(anyValue, fc.integer(), fc.boolean()), { maxLength: 6 })).map(([p, a]) => [p, ...a]),
          env: validEnv,
          workingDirectory: fc.constantFrom('/tmp', '~', '~/app', '/'),
        },
        { requiredKeys: ['command'] },
      ),
    }),
    fc.record({
      container: fc.record(
        {
          image: fc.constantFrom('localhost/hello:latest', 'docker.io/library/nginx:1.27'),
          port: fc.integer({ min: 1, max: 65535 }),
          command: fc.array(fc.oneof(anyValue, fc.integer()), { maxLength: 4 }),
          env: validEnv,
          volumes: fc.array(fc.constantFrom('/srv/data:/data', '~/x:/x:ro', '/var/lib/app:/app:Z'), { maxLength: 2 }),
        },
        { requiredKeys: ['image', 'port'] },
      ),
    }),
  ),
}).map(({ runtime, ...rest }) => ({ ...rest, ...runtime }));

/** Manifest text: YAML of a mostly valid or a chaotic object, or now and then random text. */
export const manifestText = fc.oneof(
  { weight: 5, arbitrary: validManifestObject.map((m) => stringify(m)) },
  { weight: 4, arbitrary: manifestObject.map((m) => stringify(m)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
);
