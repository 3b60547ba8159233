// Metrics: the exposition format by hand-checked text (escaping, histograms),
// the activity tracker against a fake systemd's job signals, and the
// controller's /metrics endpoint and status socket end to end with that fake.
import test from 'ava';
import { request } from 'node:http';
import { connect } from 'node:net';
import { Controller } from '../../src/controller/controller.js';
import type { Logger } from '../../src/controller/log.js';
import { ActivityTracker, type TrackedApp } from '../../src/metrics/activity.js';
import { ControllerMetrics } from '../../src/metrics/controller-metrics.js';
import { escapeHelp, escapeLabelValue, formatExposition, formatFamily, formatValue } from '../../src/metrics/exposition.js';
import { Counter, Gauge, Histogram } from '../../src/metrics/registry.js';
import { parseMetricsAddress, serveMetrics } from '../../src/metrics/server.js';
import { SystemdUnavailableError, type ServiceDetails } from '../../src/plan/systemd-port.js';
import { DEFAULT_RENDER_OPTIONS } from '../../src/render/options.js';
import { echoApp, tempDirs } from '../helpers/dirs.js';
import { FakeSystemd } from '../helpers/fake-systemd.js';

test('label values escape backslash, double quote and line feed; HELP escapes backslash and line feed only', (t) => {
  t.is(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  t.is(escapeLabelValue('plain-value_1.2'), 'plain-value_1.2');
  t.is(escapeHelp('say "hi"\\\nnext'), 'say "hi"\\\\\\nnext');
  const c = new Counter('x_total', 'Help with "quotes" and a \\ backslash\nand a second line.', ['app']);
  c.inc({ app: 'we"ird\\name\n' }, 2);
  t.is(
    formatFamily(c.family()),
    [
      '# HELP x_total Help with "quotes" and a \\\\ backslash\\nand a second line.',
      '# TYPE x_total counter',
      'x_total{app="we\\"ird\\\\name\\n"} 2',
      '',
    ].join('\n'),
  );
});

test('values: integers and floats as Go reads them, +Inf, -Inf and NaN spelled out', (t) => {
  t.deepEqual([0, 3, 0.25, 1e21, 1.5e-7, Infinity, -Infinity, NaN].map(formatValue), ['0', '3', '0.25', '1e+21', '1.5e-7', '+Inf', '-Inf', 'NaN']);
});

test('a histogram: cumulative buckets in order, +Inf equal to _count, then _sum and _count; a value on a bound counts in that bucket', (t) => {
  const h = new Histogram('cold_seconds', 'Cold starts.', ['app'], [0.1, 0.5, 1]);
  for (const v of [0.05, 0.1, 0.3, 0.5, 0.7, 3]) h.observe({ app: 'a' }, v);
  h.observe({ app: 'b' }, 0.2);
  t.is(
    formatFamily(h.family()),
    [
      '# HELP cold_seconds Cold starts.',
      '# TYPE cold_seconds histogram',
      'cold_seconds_bucket{app="a",le="0.1"} 2',
      'cold_seconds_bucket{app="a",le="0.5"} 4',
      'cold_seconds_bucket{app="a",le="1"} 5',
      'cold_seconds_bucket{app="a",le="+Inf"} 6',
      'cold_seconds_sum{app="a"} 4.65',
      'cold_seconds_count{app="a"} 6',
      'cold_seconds_bucket{app="b",le="0.1"} 0',
      'cold_seconds_bucket{app="b",le="0.5"} 1',
      'cold_seconds_bucket{app="b",le="1"} 1',
      'cold_seconds_bucket{app="b",le="+Inf"} 1',
      'cold_seconds_sum{app="b"} 0.2',
      'cold_seconds_count{app="b"} 1',
      '',
    ].join('\n'),
  );
  t.is(h.count({ app: 'a' }), 6);
  t.is(h.count({ app: 'nobody' }), 0);
});

test('labels come out in their declared order; an empty family is left out; touch exports a zero; retain drops series', (t) => {
  const g = new Gauge('g', 'A gauge.', ['app', 'state']);
  g.set({ state: 'running', app: 'a' }, 1);
  t.is(formatFamily(g.family()).split('\n')[2], 'g{app="a",state="running"} 1');
  t.is(formatFamily(new Counter('none_total', 'Nothing yet.').family()), '');
  const c = new Counter('c_total', 'Per app.', ['app']);
  c.touch({ app: 'a' });
  c.inc({ app: 'b' });
  t.regex(formatFamily(c.family()), /c_total\{app="a"\} 0\n/);
  c.retain((l) => l['app'] !== 'a');
  t.notRegex(formatExposition([c.family()]), /app="a"/);
});

test('bad metric names, label names and buckets are refused where they are declared', (t) => {
  t.throws(() => new Counter('1bad', 'x'));
  t.throws(() => new Counter('ok_total', 'x', ['__reserved']));
  t.throws(() => new Histogram('h', 'x', ['le'], [1]));
  t.throws(() => new Histogram('h', 'x', [], [1, 1]));
  t.throws(() => new Histogram('h', 'x', [], []));
  t.throws(() => new Counter('c_total', 'x', ['app']).inc({}));
  t.throws(() => new Counter('c_total', 'x').inc({}, -1));
});

test('--metrics addresses: IPv4 and bracketed IPv6 literals, :PORT for every address; anything else says why', (t) => {
  t.deepEqual(parseMetricsAddress('127.0.0.1:9105'), { ok: true, value: { host: '127.0.0.1', port: 9105 } });
  t.deepEqual(parseMetricsAddress(':9105'), { ok: true, value: { host: undefined, port: 9105 } });
  t.deepEqual(parseMetricsAddress('[::1]:9105'), { ok: true, value: { host: '::1', port: 9105 } });
  for (const bad of ['9105x', '127.0.0.1', '127.0.0.1:99999', ':', 'localhost:9105', '::1:9105', '']) {
    const parsed = parseMetricsAddress(bad);
    t.false(parsed.ok, bad);
    if (!parsed.ok) t.true(parsed.reason.length > 0);
  }
});

// --- activity, from the fake's job signals ---

const T0 = Date.parse('2026-11-28T18:00:00Z');

function details(activeEnteredAt: number | undefined, lastStartMs?: number): ServiceDetails {
  return { activeEnteredAt, statusText: '', result: 'success', ...(lastStartMs !== undefined && { lastStartMs }) };
}

async function tracker(apps: TrackedApp[]) {
  const systemd = new FakeSystemd();
  const errors: unknown[] = [];
  const list = apps;
  const activity = new ActivityTracker(() => list, T0, (e) => errors.push(e));
  await activity.attach(systemd);
  const unit = (name: string, enteredAt: number | undefined, lastStartMs?: number) => {
    systemd.units.set(name, { activeState: 'active', subState: 'running' });
    systemd.details.set(name, details(enteredAt, lastStartMs));
  };
  return { systemd, activity, errors, unit };
}

test('a start of the backend counts one activation and one cold start; the stop that follows does not count again', async (t) => {
  const { systemd, activity, unit } = await tracker([{ name: 'web', activation: 'proxy' }]);
  unit('appsd-web-backend.service', T0 + 5000, 180.4);
  systemd.finishJob('appsd-web-backend.service');
  await activity.settled();
  t.is(activity.activations.get({ app: 'web' }), 1);
  t.is(activity.coldStarts.count({ app: 'web' }), 1);
  t.deepEqual(activity.snapshot(), { web: { activations: 1, lastColdStartMs: 180, lastActivatedAt: new Date(T0 + 5000).toISOString() } });
  // The stop job: the unit's ActiveEnterTimestamp is the one already counted.
  systemd.finishJob('appsd-web-backend.service');
  await activity.settled();
  t.is(activity.activations.get({ app: 'web' }), 1);
  // The next start.
  unit('appsd-web-backend.service', T0 + 9000, 95);
  systemd.finishJob('appsd-web-backend.service');
  await activity.settled();
  t.is(activity.activations.get({ app: 'web' }), 2);
  t.regex(formatFamily(activity.coldStarts.family()), /appsd_app_cold_start_seconds_bucket\{app="web",le="0.1"\} 1\n.*le="0.2"\} 2\n/s);
});

test('not counted: failed jobs, starts from before the controller, other units of the app, other apps; a native app counts its service', async (t) => {
  const { systemd, activity, unit } = await tracker([{ name: 'web', activation: 'proxy' }, { name: 'nat', activation: 'native' }, { name: 'broken' }]);
  unit('appsd-web-backend.service', T0 + 1000, 100);
  systemd.finishJob('appsd-web-backend.service', 'failed');
  unit('appsd-web.service', T0 + 1000, 1);
  systemd.finishJob('appsd-web.service');
  systemd.finishJob('appsd-web.socket');
  unit('appsd-other-backend.service', T0 + 1000, 100);
  systemd.finishJob('appsd-other-backend.service');
  unit('appsd-nat.service', T0 - 1, 3);
  systemd.finishJob('appsd-nat.service');
  await activity.settled();
  t.deepEqual(activity.snapshot(), { web: { activations: 0 }, nat: { activations: 0 }, broken: { activations: 0 } });
  unit('appsd-nat.service', T0 + 2000, 3);
  systemd.finishJob('appsd-nat.service');
  // An app whose manifest is invalid is counted by its backend.
  unit('appsd-broken-backend.service', T0 + 2000, 40);
  systemd.finishJob('appsd-broken-backend.service');
  await activity.settled();
  t.is(activity.activations.get({ app: 'nat' }), 1);
  t.is(activity.activations.get({ app: 'broken' }), 1);
});

test('a unit that cannot be read is an error, not a count; a removed app loses its series', async (t) => {
  const apps: TrackedApp[] = [{ name: 'web', activation: 'proxy' }];
  let current = apps;
  const systemd = new FakeSystemd();
  const errors: unknown[] = [];
  const activity = new ActivityTracker(() => current, T0, (e) => errors.push(e));
  await activity.attach(systemd);
  await activity.attach(systemd); // once per connection
  systemd.failWhen = (method) => (method === 'listUnits' ? new SystemdUnavailableError('bus gone') : undefined);
  systemd.finishJob('appsd-web-backend.service');
  await activity.settled();
  t.is(errors.length, 1, 'one listener, one error');
  t.is(activity.activations.get({ app: 'web' }), 0);
  systemd.failWhen = () => undefined;
  systemd.units.set('appsd-web-backend.service', { activeState: 'active', subState: 'running' });
  systemd.details.set('appsd-web-backend.service', details(T0 + 10, 50));
  systemd.finishJob('appsd-web-backend.service');
  await activity.settled();
  t.is(activity.activations.get({ app: 'web' }), 1);
  current = [];
  t.deepEqual(activity.snapshot(), {});
  t.is(formatFamily(activity.activations.family()), '');
});

test('a scrape without systemd answers with the counters it has, and counts the scrape error', async (t) => {
  const metrics = new ControllerMetrics();
  metrics.passFinished('ok', 12);
  metrics.passFinished('failed', 3);
  metrics.reloaded();
  metrics.error('systemd');
  const load = { manifests: [{ file: '/apps/a.yaml', name: 'a', diagnostics: [] }], apps: [], diagnostics: [], skipped: [] };
  metrics.passFinished('invalid-manifests', 5, { load, desired: [] });
  const text = await metrics.scrape(undefined);
  t.regex(text, /^appsd_passes_total\{outcome="ok"\} 1$/m);
  t.regex(text, /^appsd_passes_total\{outcome="failed"\} 1$/m);
  t.regex(text, /^appsd_passes_total\{outcome="invalid-manifests"\} 1$/m);
  t.regex(text, /^appsd_pass_duration_seconds_count 3$/m);
  t.regex(text, /^appsd_pass_duration_seconds_bucket\{le="0.005"\} 2$/m);
  t.regex(text, /^appsd_pass_duration_seconds_bucket\{le="0.025"\} 3$/m);
  t.regex(text, /^appsd_pass_duration_seconds_sum 0.02$/m);
  t.regex(text, /^appsd_daemon_reloads_total 1$/m);
  t.regex(text, /^appsd_errors_total\{kind="systemd"\} 1$/m);
  t.regex(text, /^appsd_errors_total\{kind="scrape"\} 1$/m);
  t.regex(text, /^appsd_errors_total\{kind="permanent"\} 0$/m);
  t.regex(text, /^appsd_app_activations_total\{app="a"\} 0$/m);
  t.regex(text, /^appsd_last_success_timestamp_seconds \d+(\.\d+)?$/m);
  t.notRegex(text, /appsd_app_state/, 'no states without systemd');
  // Every family once, HELP then TYPE, before its samples.
  const types = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]);
  t.is(new Set(types).size, types.length);
});

// --- the controller's endpoint and status socket, against the fake ---

/** The lines logged as warnings (priority 4): each problem the controller reports. */
function warnings(): Logger & { readonly lines: string[] } {
  const lines: string[] = [];
  return { lines, log: (priority, message) => void (priority === 4 && lines.push(message)) };
}

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('watch --metrics: /metrics has every app, its state and activity; the status socket has the same activity', async (t) => {
  const dirs = tempDirs();
  const systemd = new FakeSystemd();
  const log = warnings();
  dirs.write('web.yaml', echoApp('web', 9300));
  dirs.write('bad.yaml', 'listen: 99999\n');
  const c = new Controller({
    appsDir: dirs.appsDir, unitDir: dirs.unitDir, stateDir: dirs.stateDir, scope: 'user', renderOptions: DEFAULT_RENDER_OPTIONS, log,
    debounceMs: 30, burstDebounceMs: 100, maxDelayMs: 2000, resyncMs: 3_600_000, display: (f) => f,
    connect: async () => systemd, metrics: { host: '127.0.0.1', port: 0 },
  });
  t.teardown(() => dirs.cleanup());
  try {
    await c.start();
    const port = (c as unknown as { metricsServer: { address: { port: number } } }).metricsServer.address.port;
    // A connection starts the backend: systemd finishes its start job.
    systemd.units.set('appsd-web-backend.service', { activeState: 'active', subState: 'running' });
    systemd.details.set('appsd-web-backend.service', { activeEnteredAt: Date.now(), statusText: '', result: 'success', lastStartMs: 230, memoryBytes: 12_345_678 });
    systemd.finishJob('appsd-web-backend.service');
    const metrics = (c as unknown as { metrics: ControllerMetrics }).metrics;
    await metrics.activity.settled();
    const res = await get(port, '/metrics');
    t.is(res.status, 200);
    t.is(res.type, 'text/plain; version=0.0.4; charset=utf-8');
    t.regex(res.body, /^appsd_app_state\{app="web",state="running"\} 1$/m);
    t.regex(res.body, /^appsd_app_state\{app="web",state="failed"\} 0$/m);
    t.regex(res.body, /^appsd_app_state\{app="bad",state="missing"\} 1$/m, 'an invalid manifest never applied has no units');
    t.regex(res.body, /^appsd_app_memory_bytes\{app="web"\} 12345678$/m);
    t.regex(res.body, /^appsd_app_activations_total\{app="web"\} 1$/m);
    t.regex(res.body, /^appsd_app_cold_start_seconds_bucket\{app="web",le="0.3"\} 1$/m);
    t.regex(res.body, /^appsd_app_cold_start_seconds_sum\{app="web"\} 0.23$/m);
    t.regex(res.body, /^appsd_passes_total\{outcome="invalid-manifests"\} 1$/m);
    t.regex(res.body, /^appsd_daemon_reloads_total 1$/m);
    t.true(log.lines.length > 0);
    t.regex(res.body, new RegExp(`^appsd_errors_total\\{kind="manifest"\\} ${log.lines.length}$`, 'm'), 'each problem reported counts once');
    t.true(res.body.endsWith('\n'));
    const apps = c.status().apps!;
    t.is(apps['web']!.activations, 1);
    t.is(apps['web']!.lastColdStartMs, 230);
    t.truthy(apps['web']!.lastActivatedAt);
    t.deepEqual(apps['bad'], { activations: 0 });
    t.is((await get(port, '/other')).status, 404);
    t.is((await get(port, '/metrics', 'POST')).status, 405);
    t.is((await get(port, '/metrics', 'HEAD')).status, 200);
  } finally {
    await c.stop();
  }
});

test('closing the metrics server ends an idle keep-alive connection at once', async (t) => {
  const server = await serveMetrics({ host: '127.0.0.1', port: 0 }, async () => 'x 1\n');
  const socket = connect(server.address.port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
  await new Promise<void>((resolve) => socket.once('data', () => resolve()));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const started = Date.now();
  await server.close();
  await closed;
  t.true(Date.now() - started < 1000);
});

test('an address in use is a clear error', async (t) => {
  const first = await serveMetrics({ host: '127.0.0.1', port: 0 }, async () => '');
  try {
    const error = await t.throwsAsync(serveMetrics({ host: '127.0.0.1', port: first.address.port }, async () => ''));
    t.regex(error!.message, /^--metrics 127\.0\.0\.1:\d+: cannot listen: the address is in use$/);
  } finally {
    await first.close();
  }
});
