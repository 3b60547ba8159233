// appsd watch --metrics against a private systemd manager, scraped by a real
// Prometheus (Debian's 2.42): a cold request to an exec app shows up as one
// activation and one cold start in Prometheus's own query API, promtool
// finds nothing to say about the exposition, and a scrape while the bus is
// gone still answers. Ports 18900-18949.
import anyTest, { type TestFn } from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { queryController } from '../../src/controller/status-socket.js';
import type { PrivateManager } from '../../src/sandbox/private-manager.js';
import { answers, execApp } from '../helpers/apps.js';
import { appsDir, runCli } from '../helpers/cli.js';
import { get, systemctl, waitFor } from '../helpers/systemd.js';
import { needPrograms, privateManagerTier, realTier } from '../helpers/tier.js';
import { WatchProcess } from '../helpers/watch.js';
import { workspace as makeWorkspace } from '../helpers/workspace.js';

const test = anyTest as TestFn<{ manager: PrivateManager }>;

const APP = 18900;
const METRICS = 18910;
const PROMETHEUS = 18911;
const IN_USE = 18949;

const workspace = (t: { context: { manager: PrivateManager }; teardown: (fn: () => void) => void }) => makeWorkspace(t.context.manager, (fn) => t.teardown(fn));

// Flags that need no systemd: checked wherever the suite runs.
test('--metrics: an address that is not ADDR:PORT or :PORT is a usage error; so is --metrics without watch', async (t) => {
  const apps = appsDir({});
  const bad = await runCli(['watch', '--metrics', 'localhost:9105', '--apps-dir', apps]);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /^appsd: --metrics: "localhost" is not an IPv4 address; or :PORT for every address\nRun 'appsd --help' for usage\.\n$/);
  const elsewhere = await runCli(['apply', '--metrics', ':9105', '--apps-dir', apps]);
  t.is(elsewhere.code, 2);
  t.regex(elsewhere.stderr, /--metrics goes with watch/);
});

test('--metrics on an address in use: watch says so and exits, leaving nothing behind', async (t) => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(IN_USE, '127.0.0.1', () => resolve()));
  const state = mkdtempSync(join(tmpdir(), 'appsd-metrics-'));
  try {
    const started = Date.now();
    const result = await runCli(['watch', '--metrics', `127.0.0.1:${IN_USE}`, '--apps-dir', appsDir({}), '--state-dir', state]);
    t.is(result.code, 2);
    t.is(result.stderr, `appsd: --metrics 127.0.0.1:${IN_USE}: cannot listen: the address is in use\n`);
    t.true(Date.now() - started < 5000, 'the process ended: nothing kept it alive');
  } finally {
    taken.close();
    rmSync(state, { recursive: true, force: true });
  }
});

test('the example alert rules in docs/metrics.md pass promtool check rules', async (t) => {
  if (needPrograms(['promtool'])) return t.pass('promtool is not installed: the metrics tier below says so');
  const doc = readFileSync(fileURLToPath(new URL('../../docs/metrics.md', import.meta.url)), 'utf8');
  const rules = /## Example alert rules\n\n```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
  t.truthy(rules, 'the rules block');
  const dir = mkdtempSync(join(tmpdir(), 'appsd-rules-'));
  try {
    writeFileSync(join(dir, 'rules.yml'), rules!);
    const check = spawnSync('promtool', ['check', 'rules', join(dir, 'rules.yml')], { encoding: 'utf8' });
    t.log((check.stdout + check.stderr).trim());
    t.is(check.status, 0);
    t.regex(check.stdout, /SUCCESS: 4 rules found/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const missing = needPrograms(['prometheus', 'promtool']);
if (missing) realTier('metrics', missing, () => {});
else privateManagerTier(test, 'metrics', registerTests);

/** A Prometheus scraping appsd every second, with its own data directory. */
class Prometheus {
  readonly log: string[] = [];
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    private readonly exited: Promise<void>,
  ) {}

  static async start(target: string, port: number): Promise<Prometheus> {
    const dir = mkdtempSync(join(tmpdir(), 'appsd-prometheus-'));
    const config = join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      [
        'global: { scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s }',
        'scrape_configs:',
        '  - job_name: appsd',
        `    static_configs: [{ targets: ["${target}"] }]`,
        '',
      ].join('\n'),
    );
    const child = spawn('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const prometheus = new Prometheus(child, dir, exited);
    for (const stream of [child.stdout!, child.stderr!]) stream.on('data', (d: Buffer) => prometheus.log.push(...d.toString().split('\n').filter(Boolean)));
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/-/ready`).catch(() => undefined))?.ok === true, 30_000, 'Prometheus to be ready');
    } catch (error) {
      await prometheus.stop();
      throw new Error(`${(error as Error).message}; its log:\n${prometheus.log.join('\n')}`);
    }
    return prometheus;
  }

  /** The value of an instant query with one result, or undefined when it has none. */
  static async query(port: number, expr: string): Promise<number | undefined> {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as { status: string; data: { result: Array<{ value: [number, string] }> } };
    if (body.status !== 'success') throw new Error(`query ${expr}: ${JSON.stringify(body)}`);
    const [first] = body.data.result;
    return first ? Number(first.value[1]) : undefined;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
      await this.exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Waits until Prometheus's answer to `expr` satisfies `check`; returns it. */
async function until(expr: string, check: (value: number | undefined) => boolean, what: string, timeoutMs = 15_000): Promise<number | undefined> {
  let value: number | undefined;
  await waitFor(async () => check((value = await Prometheus.query(PROMETHEUS, expr))), timeoutMs, `${what} (${expr}; last answer ${value})`);
  return value;
}

function registerTests() {
  test.serial('Prometheus scrapes watch --metrics: a cold request is one activation and one cold start; promtool has nothing to say', async (t) => {
    const w = workspace(t);
    w.write('m.yaml', execApp(APP, APP + 1, 'measured'));
    // An invalid manifest whose name needs escaping in a label value.
    const hostile = 'bro\\ken "one"';
    w.write(`${hostile}.yaml`, 'listen: 99999\n');
    const watch = new WatchProcess(['--apps-dir', w.apps, '--state-dir', w.state, '--metrics', `127.0.0.1:${METRICS}`], t.context.manager.env);
    let prometheus: Prometheus | undefined;
    try {
      await watch.waitForLine(new RegExp(`metrics on http://127\\.0\\.0\\.1:${METRICS}/metrics`));
      await watch.waitForLine(/pass \(start\): \d+ actions/);
      const promStarted = Date.now();
      prometheus = await Prometheus.start(`127.0.0.1:${METRICS}`, PROMETHEUS);
      t.log(`Prometheus ready in ${Date.now() - promStarted} ms`);
      // Before the first request, Prometheus has the app's counter at zero:
      // what follows is an increase, not a series appearing.
      await until('appsd_app_activations_total{app="m"}', (v) => v === 0, 'the first scrape');
      t.is(await Prometheus.query(PROMETHEUS, 'appsd_app_state{app="m",state="listening"}'), 1);
      t.is(await Prometheus.query(PROMETHEUS, 'appsd_app_cold_start_seconds_count{app="m"}'), 0);

      const requested = performance.now();
      t.is(await get(APP), 'measured');
      const coldRequestMs = performance.now() - requested;

      await until('appsd_app_activations_total{app="m"}', (v) => v === 1, 'the activation to be scraped');
      t.is(await Prometheus.query(PROMETHEUS, 'appsd_app_cold_start_seconds_count{app="m"}'), 1);
      const coldStart = (await Prometheus.query(PROMETHEUS, 'appsd_app_cold_start_seconds_sum{app="m"}'))!;
      t.true(coldStart > 0 && coldStart * 1000 <= coldRequestMs, `cold start ${coldStart} s within the client's ${coldRequestMs} ms`);
      t.log(`cold request ${coldRequestMs.toFixed(0)} ms as the client saw it; systemd's cold start ${(coldStart * 1000).toFixed(0)} ms`);
      await until('appsd_app_state{app="m",state="running"}', (v) => v === 1, 'the running state');
      t.is(await Prometheus.query(PROMETHEUS, 'up{job="appsd"}'), 1);
      t.true((await Prometheus.query(PROMETHEUS, 'appsd_passes_total{outcome="invalid-manifests"}'))! >= 1);
      // Its three problems (no backend, the name, the port), each counted once.
      t.is(await Prometheus.query(PROMETHEUS, 'appsd_errors_total{kind="manifest"}'), 3);
      t.is(await Prometheus.query(PROMETHEUS, `appsd_app_state{app=${JSON.stringify(hostile)},state="missing"}`), 1);
      t.is(await Prometheus.query(PROMETHEUS, 'appsd_daemon_reloads_total'), 1);
      t.true((await Prometheus.query(PROMETHEUS, 'time() - appsd_last_success_timestamp_seconds'))! < 120);
      t.log(`Prometheus's scrape of appsd took ${((await Prometheus.query(PROMETHEUS, 'scrape_duration_seconds{job="appsd"}'))! * 1000).toFixed(1)} ms (its last scrape)`);

      // A scrape by hand: timed, and linted by promtool.
      const scrapes: number[] = [];
      let body = '';
      for (let i = 0; i < 10; i++) {
        const started = performance.now();
        body = await get(METRICS, '/metrics');
        scrapes.push(performance.now() - started);
      }
      scrapes.sort((a, b) => a - b);
      t.log(`GET /metrics: median ${scrapes[5]!.toFixed(1)} ms, max ${scrapes[9]!.toFixed(1)} ms (${body.length} bytes)`);
      t.true(body.includes('appsd_app_state{app="bro\\\\ken \\"one\\"",state="missing"} 1\n'), 'the label value escaped');
      // Where the manager does not account memory (cgroup v1 user managers, as here), the RSS of the unit's processes.
      const memory = /^appsd_app_memory_bytes\{app="m"\} (\d+)$/m.exec(body);
      t.truthy(memory, 'the running app\'s memory is exported');
      t.true(Number(memory?.[1]) > 1024 * 1024, `memory: ${memory?.[1]} bytes`);
      const lint = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
      t.log(`promtool check metrics: exit ${lint.status}, output ${JSON.stringify(lint.stdout + lint.stderr)}`);
      t.is(lint.status, 0);
      t.is(lint.stdout + lint.stderr, '');

      // The status socket has the same activity.
      const status = await queryController(w.state);
      t.is(status?.apps?.['m']?.activations, 1);
      t.is(status?.apps?.['m']?.lastColdStartMs, Math.round(coldStart * 1000));
      t.truthy(status?.apps?.['m']?.lastActivatedAt);

      w.remove('m.yaml');
      await watch.waitForLine(/- delete appsd-m\.socket/, 10_000);
      await until('count(appsd_app_activations_total{app="m"})', (v) => v === undefined, 'the removed app to leave the exposition');
      t.is(await Prometheus.query(PROMETHEUS, 'appsd_errors_total{kind="manifest"}'), 3, 'not counted again by the next pass');
    } finally {
      // appsd first, while Prometheus holds a keep-alive connection to it: SIGTERM must still end it at once.
      const stopping = Date.now();
      t.is(await watch.stop(), 0);
      const stopMs = Date.now() - stopping;
      t.log(`watch exited ${stopMs} ms after SIGTERM`);
      t.true(stopMs < 5000);
      await prometheus?.stop();
    }
  });

  test.serial('a scrape while the bus is gone answers at once with what the controller knows', async (t) => {
    const w = workspace(t);
    const m = t.context.manager;
    w.write('b.yaml', execApp(APP + 2, APP + 3, 'bus'));
    const watch = new WatchProcess(['--apps-dir', w.apps, '--state-dir', w.state, '--resync', '1h', '--metrics', `127.0.0.1:${METRICS + 1}`], m.env);
    try {
      await watch.waitForLine(/pass \(start\): \d+ actions/);
      t.regex(await get(METRICS + 1, '/metrics'), /^appsd_app_state\{app="b",state="listening"\} 1$/m);
      const busPid = Number(await systemctl(m, 'show', '-p', 'MainPID', '--value', 'dbus.service'));
      t.true(busPid > 0);
      process.kill(busPid, 'SIGKILL');
      await waitFor(async () => !existsSync(`/proc/${busPid}`), 5000, 'the bus to be gone');
      const started = performance.now();
      const body = await get(METRICS + 1, '/metrics');
      const ms = performance.now() - started;
      t.log(`scrape without the bus: ${ms.toFixed(1)} ms`);
      t.true(ms < 1000);
      t.notRegex(body, /appsd_app_state/, 'states are left out');
      t.regex(body, /^appsd_app_activations_total\{app="b"\} 0$/m, 'what the controller counted is there');
      t.regex(body, /^appsd_errors_total\{kind="scrape"\} [1-9]/m);
      // The next pass reconnects, and the scrape has the states again.
      watch.signal('SIGHUP');
      await waitFor(async () => /appsd_app_state\{app="b",state="listening"\} 1/.test(await get(METRICS + 1, '/metrics')), 15_000, 'the states after reconnecting');
      t.true(await answers(APP + 2, 'bus')());
      w.remove('b.yaml');
      watch.signal('SIGHUP');
      await watch.waitForLine(/- delete appsd-b\.socket/, 10_000);
    } finally {
      t.is(await watch.stop(), 0);
    }
  });
}
