// Figure 5, warm overhead: requests per second and latency with the app
// running, straight to the backend, through the proxy, and with native
// activation; the same server each time, a new connection per request (as
// the server closes after each answer), 8 clients for a bounded time.
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCli } from '../test/helpers/cli.js';
import { untilListening, type BenchContext } from './context.js';
import { percentile, type Figure } from './stats.js';

const CLIENTS = 8;
const SECONDS = 3;

function request(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    s.on('connect', () => s.write(`GET / HTTP/1.0\r\nHost: ${host}\r\n\r\n`));
    s.on('data', () => {});
    s.on('end', () => resolve());
    s.on('error', reject);
  });
}

async function load(host: string, port: number): Promise<{ rps: number; latencies: number[]; errors: number }> {
  const latencies: number[] = [];
  let errors = 0;
  const until = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (performance.now() < until) {
        const t0 = performance.now();
        try {
          await request(host, port);
          latencies.push(performance.now() - t0);
        } catch {
          errors++;
        }
      }
    }),
  );
  return { rps: latencies.length / SECONDS, latencies, errors };
}

export async function warm(ctx: BenchContext, appsDir: string, stateDir: string): Promise<Figure[]> {
  const direct = spawn(ctx.server, ['warm\n', '0', '18701'], { stdio: 'ignore' });
  writeFileSync(join(appsDir, 'warm-proxy.yaml'), `listen: 127.0.0.1:18702\nbackend: 127.0.0.1:18703\nidleTimeout: 1h\nexec:\n  command: [${JSON.stringify(ctx.server)}, "warm\\n", "0", "18703"]\n`);
  writeFileSync(join(appsDir, 'warm-native.yaml'), `listen: 127.0.0.1:18704\nactivation: native\nexec:\n  command: [${JSON.stringify(ctx.server)}, "warm\\n"]\n`);
  const applied = await runCli(['apply', '--apps-dir', appsDir, '--state-dir', stateDir], { env: ctx.manager.env });
  if (applied.code !== 0) throw new Error(applied.stdout + applied.stderr);
  const figures: Figure[] = [];
  try {
    await untilListening('127.0.0.1:18701');
    const results: Record<string, Awaited<ReturnType<typeof load>>> = {};
    for (const [variant, port] of [['direct', 18701], ['proxy', 18702], ['native', 18704]] as const) {
      await request('127.0.0.1', port); // warm up: the app is running
      await sleep(100);
      results[variant] = await load('127.0.0.1', port);
    }
    const base = results['direct']!.rps;
    for (const [variant, r] of Object.entries(results)) {
      figures.push({
        figure: 'warm requests', variant, unit: 'req/s', median: r.rps, runs: r.latencies.length, vsBaseline: r.rps / base, baseline: 'direct',
        note: `latency p50 ${percentile(r.latencies, 50).toFixed(2)} ms, p99 ${percentile(r.latencies, 99).toFixed(2)} ms, errors ${r.errors}`,
      });
    }
  } finally {
    direct.kill();
    rmSync(join(appsDir, 'warm-proxy.yaml'));
    rmSync(join(appsDir, 'warm-native.yaml'));
    await runCli(['apply', '--apps-dir', appsDir, '--state-dir', stateDir], { env: ctx.manager.env });
  }
  return figures;
}
