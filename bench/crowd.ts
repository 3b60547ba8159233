// Cold starts under a crowd: 50 clients connect to one scaled-to-zero
// container app at the same instant. Every one must get its answer, and the
// time to first byte of the slowest (p99) stays within 1.5x of a single cold
// start's. Side by side in one run: rounds alternate a single client and the
// crowd (which goes first alternates too), and before each the app has
// scaled to zero the way it does in use: its proxy idled out (idleTimeout 1s),
// the backend unit stopped with it, and the container gone from `podman ps`.
// Each client's time is from the common instant all connect calls are issued
// (one tick) to the first byte of its answer. Two apps:
//   httpd    the test image's busybox httpd, which listens with a backlog of 9
//   epoll    bench/http-server.c in an image of its own (localhost/appsd-bench-http,
//            built here), listening with a backlog of 4096 (proxy activation, like httpd)
// and, without appsd, the same crowd sent to busybox httpd right after
// `podman run` and the first answer: the app's own limit. A connection the
// app's full accept queue drops is retried by the client's kernel after 1 s.
//   BENCH_CROWD=N  clients in the crowd (default 50)
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCli } from '../test/helpers/cli.js';
import { IMAGES, runningContainers } from '../test/helpers/podman.js';
import { activeState, get, waitFor } from '../test/helpers/systemd.js';
import type { BenchContext } from './context.js';
import { median, percentile, type Figure } from './stats.js';

const CLIENTS = Number(process.env['BENCH_CROWD'] ?? 50);
const BODY = 'crowd\n';
const TARGET = 1.5;
const HTTP_IMAGE = 'localhost/appsd-bench-http:latest';
const DIRECT = { port: 19542, container: 'appsd-bench-crowd-direct' } as const;
const APPS = [
  { name: 'crowd', label: 'busybox httpd', port: 19540, container: `image: ${IMAGES.httpd}\n  port: 8080\n  env: {BODY: crowd}` },
  { name: 'crowdep', label: 'epoll server', port: 19541, container: `image: ${HTTP_IMAGE}\n  port: 8080\n  command: [/bin/http-server, "crowd\\n", "0.0.0.0:8080"]` },
] as const;

export interface Hit {
  /** ms from the common start to the first byte, per client that got its answer. */
  readonly ttfb: number[];
  /** ms to the end of each answer. */
  readonly total: number[];
  readonly failures: string[];
}

/** n clients connect at once and each sends one request; resolves when all have their answer or failed. */
export async function hit(port: number, n: number, expect: string, timeoutMs = 30_000): Promise<Hit> {
  const ttfb: number[] = [];
  const total: number[] = [];
  const failures: string[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<void>((resolve) => {
          let first = 0;
          let answer = '';
          const s = connect({ host: '127.0.0.1', port });
          s.setTimeout(timeoutMs, () => s.destroy(new Error('timeout')));
          s.on('connect', () => s.write(`GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n`));
          s.on('data', (d: Buffer) => {
            if (!first) first = performance.now();
            answer += d.toString();
          });
          s.on('end', () => {
            const end = performance.now();
            if (/^HTTP\/1\.[01] 200 /.test(answer) && answer.endsWith(`\r\n\r\n${expect}`)) {
              ttfb.push(first - started);
              total.push(end - started);
            } else failures.push(`answer ${JSON.stringify(answer.slice(0, 80))}`);
            s.destroy();
            resolve();
          });
          s.on('error', (e) => {
            failures.push(e.message);
            resolve();
          });
        }),
    ),
  );
  return { ttfb, total, failures };
}

export async function crowd(ctx: BenchContext, appsDir: string, stateDir: string): Promise<Figure[]> {
  await buildHttpImage(ctx);
  const env = { ...ctx.manager.env, CONTAINERS_CONF: ctx.podmanEnv['CONTAINERS_CONF'] };
  const appsd = (...args: string[]) => runCli([...args, '--apps-dir', appsDir, '--state-dir', stateDir], { env });
  for (const app of APPS) writeFileSync(join(appsDir, `${app.name}.yaml`), `listen: 127.0.0.1:${app.port}\nidleTimeout: 1s\ncontainer:\n  ${app.container}\n`);
  const applied = await appsd('apply');
  if (applied.code !== 0) throw new Error(`apply failed: ${applied.stdout}${applied.stderr}`);
  const gone = (state: string) => state !== 'active' && state !== 'activating' && state !== 'deactivating' && state !== 'reloading';
  const scaledToZero = async (name: string) => {
    await waitFor(
      async () =>
        gone(await activeState(ctx.manager, `appsd-${name}.service`)) &&
        gone(await activeState(ctx.manager, `appsd-${name}-backend.service`)) &&
        !(await runningContainers(ctx.podmanEnv)).includes(`appsd-${name}`),
      60_000,
      `${name} to scale to zero`,
    );
    await sleep(100);
  };
  const single: Record<string, number[]> = {};
  const crowds: Record<string, Hit[]> = {};
  const direct: Hit[] = [];
  const failures: string[] = [];
  const record = (key: string, n: number, h: Hit, r: number) => {
    failures.push(...h.failures.map((f) => `${key}, round ${r}, ${n} clients: ${f}`));
    if (n === 1) (single[key] ??= []).push(...h.ttfb);
    else (crowds[key] ??= []).push(h);
  };
  try {
    for (let r = 0; r < ctx.runs; r++) {
      for (const app of APPS) {
        for (const n of r % 2 ? [CLIENTS, 1] : [1, CLIENTS]) {
          await scaledToZero(app.name);
          record(app.name, n, await hit(app.port, n, BODY), r);
        }
      }
      direct.push(await directCrowd(ctx.podmanEnv));
      failures.push(...direct[direct.length - 1]!.failures.map((f) => `direct, round ${r}: ${f}`));
    }
    for (const app of APPS) await scaledToZero(app.name);
  } finally {
    for (const app of APPS) rmSync(join(appsDir, `${app.name}.yaml`));
    await appsd('apply');
  }
  if (failures.length) process.stderr.write(`\nbench crowd: ${failures.length} failed requests, e.g. ${failures.slice(0, 3).join('; ')}\n`);
  const figure = `cold start, ${CLIENTS} at once`;
  const crowdRow = (variant: string, hits: Hit[], base?: number): Figure => {
    const pooled = hits.flatMap((h) => h.ttfb);
    const p99 = percentile(pooled, 99);
    const perRun = hits.map((h) => percentile(h.ttfb, 99));
    const late = hits.filter((h) => h.ttfb.some((t) => t > 1000)).length;
    return {
      figure, variant, unit: 'ms', median: p99, runs: hits.length,
      ...(base !== undefined && { vsBaseline: p99 / base, baseline: 'single', target: `<= ${TARGET}x single, all ok` }),
      note: `p99 of the time to first byte (all clients of all rounds); ${pooled.length}/${hits.length * CLIENTS} answered; p50 ${percentile(pooled, 50).toFixed(0)} ms, p90 ${percentile(pooled, 90).toFixed(0)} ms, max ${Math.max(...pooled).toFixed(0)} ms; rounds with a client over 1 s: ${late}/${hits.length}`,
      samples: perRun,
    };
  };
  const figures: Figure[] = [];
  for (const app of APPS) {
    const s = single[app.name] ?? [];
    const base = median(s);
    figures.push(crowdRow(`${app.label}: crowd p99`, crowds[app.name] ?? [], base));
    figures.push({
      figure, variant: `${app.label}: single`, unit: 'ms', median: base, p90: percentile(s, 90), runs: s.length, vsBaseline: 1, baseline: 'single',
      note: `time to first byte; ${s.length}/${ctx.runs} answered; rounds ${Math.min(...s).toFixed(0)}-${Math.max(...s).toFixed(0)} ms`,
      samples: s,
    });
  }
  figures.push({ ...crowdRow('busybox httpd: crowd, no appsd', direct), note: `${crowdRow('', direct).note}; podman run, first answer, then the crowd` });
  return figures;
}

const run = promisify(execFile);

/** Without appsd: podman run, poll until it answers, then the crowd, straight to the container's published port. */
async function directCrowd(env: NodeJS.ProcessEnv): Promise<Hit> {
  await run('podman', ['run', '-d', '--rm', '--init', '--name', DIRECT.container, '-p', `127.0.0.1:${DIRECT.port}:8080`, '--env', 'BODY=crowd', IMAGES.httpd], { env });
  try {
    for (;;) {
      try {
        if ((await get(DIRECT.port, '/', 2000)) === BODY) break;
      } catch {
        await sleep(5);
      }
    }
    return await hit(DIRECT.port, CLIENTS, BODY);
  } finally {
    await run('podman', ['rm', '-f', '-t', '0', DIRECT.container], { env });
  }
}

/** An image holding only bench/http-server.c, built offline (as test/helpers/podman.ts builds the test images). */
async function buildHttpImage(ctx: BenchContext): Promise<void> {
  const rootfs = join(ctx.scratch, 'http-image');
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  await run('cc', ['-static', '-O2', '-o', join(rootfs, 'bin', 'http-server'), fileURLToPath(new URL('./http-server.c', import.meta.url))]);
  await new Promise<void>((resolve, reject) => {
    const tar = execFile('tar', ['-C', rootfs, '-c', '.'], { encoding: 'buffer', maxBuffer: 64 << 20 });
    const podman = execFile('podman', ['import', '--change', 'CMD ["/bin/http-server"]', '-', HTTP_IMAGE], { env: ctx.podmanEnv }, (error) => (error ? reject(error) : resolve()));
    tar.stdout!.pipe(podman.stdin!);
  });
}
