// The watch controller with a fake systemd: debounce, backoff after transient
// failures, and permanent failures reported once. Real files, no sleeps that
// assume something happened: each test waits for the log line it needs.
import test from 'ava';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Controller, type ControllerOptions } from '../../src/controller/controller.js';
import type { Logger } from '../../src/controller/log.js';
import { SystemdUnavailableError } from '../../src/plan/systemd-port.js';
import { DEFAULT_RENDER_OPTIONS } from '../../src/render/options.js';
import { echoApp, tempDirs } from '../helpers/dirs.js';
import { FakeSystemd } from '../helpers/fake-systemd.js';

class Lines implements Logger {
  readonly lines: string[] = [];
  private waiters: Array<() => void> = [];
  log(_priority: number, message: string): void {
    this.lines.push(message);
    for (const w of this.waiters.splice(0)) w();
  }
  count(pattern: RegExp): number {
    return this.lines.filter((l) => pattern.test(l)).length;
  }
  /** Waits until `count` lines match. */
  async until(pattern: RegExp, count = 1, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.count(pattern) < count) {
      if (Date.now() > deadline) throw new Error(`waited for ${count} × ${pattern}; log:\n${this.lines.join('\n')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

function controller(t: { teardown(fn: () => void | Promise<void>): void }, options: Partial<ControllerOptions> = {}) {
  const dirs = tempDirs();
  const log = new Lines();
  const systemd = new FakeSystemd();
  const c = new Controller({
    appsDir: dirs.appsDir,
    unitDir: dirs.unitDir,
    stateDir: dirs.stateDir,
    scope: 'user',
    renderOptions: DEFAULT_RENDER_OPTIONS,
    log,
    debounceMs: 30,
    burstDebounceMs: 100,
    maxDelayMs: 2000,
    resyncMs: 3_600_000,
    display: (f) => f,
    connect: async () => systemd,
    backoff: { firstMs: 20, maxMs: 80 },
    ...options,
  });
  t.teardown(async () => {
    await c.stop();
    dirs.cleanup();
  });
  return { c, dirs, log, systemd };
}

test('a stream of events is one pass', async (t) => {
  const { c, dirs, log, systemd } = controller(t);
  await c.start();
  t.is(log.count(/^pass \(start\)/), 1);
  for (let i = 0; i < 5; i++) {
    dirs.write(`a${i}.yaml`, echoApp(`a${i}`, 9000 + i * 2));
    c.poke(`add a${i}.yaml`);
  }
  await log.until(/^pass \(change\): 26 actions/);
  t.is(log.count(/^pass \(change\)/), 1, 'five pokes, one pass');
  t.is(systemd.calls.filter((call) => call === 'reload').length, 1);
});

test('transient failures retry with a doubling backoff, up to the maximum, then converge', async (t) => {
  let attempts = 0;
  const systemd = new FakeSystemd();
  const { c, dirs, log } = controller(t, {
    connect: async () => {
      if (++attempts <= 4) throw new SystemdUnavailableError('no answer from the bus');
      return systemd;
    },
  });
  dirs.write('a.yaml', echoApp('a', 9100));
  await c.start();
  await log.until(/^\+ start appsd-a\.socket/);
  t.deepEqual(
    log.lines.filter((l) => l.includes('retrying in')).map((l) => /retrying in (\S+)/.exec(l)![1]),
    ['0.02s', '0.04s', '0.08s', '0.08s'],
  );
  t.is(attempts, 5);
});

test('a permanent failure is reported once and not retried; fixing the input resolves it', async (t) => {
  const { c, dirs, log } = controller(t);
  dirs.write('a.yaml', echoApp('a', 9200));
  writeFileSync(join(dirs.stateDir, 'inventory.json'), 'not json');
  await c.start();
  t.is(log.count(/pass failed: .*inventory\.json.*waiting for a change/), 1);
  // Passes that hit the same failure (a resync, an event) say nothing new, and nothing schedules a retry.
  await c.passNow('resync');
  await c.passNow('resync');
  t.is(log.count(/pass failed/), 1);
  t.is(log.count(/retrying in/), 0);
  t.is(c.status().lastPass?.result, 'failed');
  rmSync(join(dirs.stateDir, 'inventory.json'));
  await c.passNow('change');
  t.is(log.count(/^resolved: .*inventory\.json/), 1);
  t.is(c.status().lastPass?.result, 'ok');
  t.deepEqual(c.status().lastPass?.changes, [{ app: 'a', outcome: 'created' }]);
});

test('during an outage, other triggers do not multiply the retries; stopping does not wait for a dead bus', async (t) => {
  let attempts = 0;
  let hang = false;
  const { c, log } = controller(t, {
    backoff: { firstMs: 20, maxMs: 40 },
    connect: () => {
      attempts++;
      // The last attempt never answers, as a connect to a dead bus can.
      if (hang) return new Promise<never>(() => {});
      return Promise.reject(new SystemdUnavailableError('the bus is gone'));
    },
  });
  await c.start();
  // Resyncs and events during the outage each run a pass too.
  for (let i = 0; i < 5; i++) await c.passNow('resync');
  await log.until(/retrying in/, 12);
  const before = attempts;
  await new Promise((resolve) => setTimeout(resolve, 200));
  // One retry chain: at most one attempt per 40 ms, not one per trigger.
  t.true(attempts - before <= 6, `${attempts - before} attempts in 200 ms`);
  hang = true;
  const stuck = attempts + 1;
  while (attempts < stuck) await new Promise((resolve) => setTimeout(resolve, 10)); // the next retry is now stuck connecting
  const started = Date.now();
  await c.stop();
  t.true(Date.now() - started < 1500, `stop took ${Date.now() - started} ms`);
});
