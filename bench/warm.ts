// Warm path: requests per second and latency with the app running, measured by
// a real load generator, ApacheBench (`ab`, Debian's apache2-utils, which
// test/setup/install-deps.sh installs), over keep-alive connections and with
// one connection per request. Three ways to the same server (bench/http-server.c,
// epoll, keep-alive when asked):
//   direct  the server listening on its own port, no systemd in the way
//   proxy   an appsd app with proxy activation: systemd's socket, then
//           systemd-socket-proxyd, then the server on its backend port
//   native  an appsd app with activation: native: the server accepts on
//           the socket systemd passes it (LISTEN_FDS), no proxy
// Rounds alternate the variants, so that drift in the machine hits all alike;
// each figure is the median round, with the spread of the rounds in the note.
//   BENCH_WARM_SECONDS=N  seconds per ab run (default 4)
//   BENCH_WARM_CLIENTS=N  concurrent clients (default 8)
import { execFile, execFileSync, spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCli } from '../test/helpers/cli.js';
import { get } from '../test/helpers/systemd.js';
import { untilListening, type BenchContext } from './context.js';
import { median, type Figure } from './stats.js';

const run = promisify(execFile);
const SECONDS = Number(process.env['BENCH_WARM_SECONDS'] ?? 4);
const CLIENTS = Number(process.env['BENCH_WARM_CLIENTS'] ?? 8);
const BODY = 'warm\n';
const PORTS = { direct: 18721, proxy: 18722, backend: 18723, native: 18724 } as const;
const VARIANTS = ['direct', 'proxy', 'native'] as const;
const MODES = [
  { name: 'keep-alive', figure: 'warm, keep-alive' },
  { name: 'close', figure: 'warm, 1 request per connection' },
] as const;

export interface AbResult {
  readonly rps: number;
  readonly complete: number;
  readonly failed: number;
  readonly non2xx: number;
  readonly keepAlive: number;
  /** Milliseconds, from ab's -e table: percentile -> time. */
  readonly percentiles: ReadonlyMap<number, number>;
}

/** One `ab` run of `seconds` against url; throws when ab is missing. */
export async function ab(url: string, options: { seconds: number; clients: number; keepAlive: boolean; csv: string }): Promise<AbResult> {
  // -t before -n: -t alone caps the run at 50,000 requests.
  const args = ['-q', '-r', '-s', '10', '-c', String(options.clients), '-t', String(options.seconds), '-n', '5000000', '-e', options.csv, ...(options.keepAlive ? ['-k'] : []), url];
  let stdout: string;
  try {
    stdout = (await run('ab', args, { maxBuffer: 16 << 20 })).stdout;
  } catch (error) {
    const e = error as { code?: string | number; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error('ab (ApacheBench) is missing: install apache2-utils (test/setup/install-deps.sh does, as root)');
    // ab exits non-zero after errors it was told to keep going on (-r): use its report when there is one.
    if (!e.stdout?.includes('Requests per second')) throw new Error(`ab ${args.join(' ')} failed: ${e.stderr ?? ''}${e.stdout ?? ''}`);
    stdout = e.stdout;
  }
  const field = (label: string) => {
    const m = new RegExp(`^${label}:\\s+([\\d.]+)`, 'm').exec(stdout);
    return m ? Number(m[1]) : 0;
  };
  const percentiles = new Map<number, number>();
  for (const line of readFileSync(options.csv, 'utf8').split('\n').slice(1)) {
    const [p, ms] = line.split(',');
    if (p && ms) percentiles.set(Number(p), Number(ms));
  }
  return {
    rps: field('Requests per second'),
    complete: field('Complete requests'),
    failed: field('Failed requests'),
    non2xx: field('Non-2xx responses'),
    keepAlive: field('Keep-Alive requests'),
    percentiles,
  };
}

export async function warm(ctx: BenchContext, appsDir: string, stateDir: string): Promise<Figure[]> {
  const server = join(ctx.scratch, 'http-server');
  execFileSync('cc', ['-static', '-O2', '-o', server, fileURLToPath(new URL('./http-server.c', import.meta.url))]);
  const direct = spawn(server, [BODY, String(PORTS.direct)], { stdio: 'ignore' });
  writeFileSync(join(appsDir, 'warm-proxy.yaml'), `listen: 127.0.0.1:${PORTS.proxy}\nbackend: 127.0.0.1:${PORTS.backend}\nidleTimeout: 1h\nexec:\n  command: [${JSON.stringify(server)}, ${JSON.stringify(BODY)}, "${PORTS.backend}"]\n`);
  writeFileSync(join(appsDir, 'warm-native.yaml'), `listen: 127.0.0.1:${PORTS.native}\nactivation: native\nexec:\n  command: [${JSON.stringify(server)}, ${JSON.stringify(BODY)}]\n`);
  const applied = await runCli(['apply', '--apps-dir', appsDir, '--state-dir', stateDir], { env: ctx.manager.env });
  if (applied.code !== 0) throw new Error(applied.stdout + applied.stderr);
  const rounds = Math.max(3, Math.round(ctx.runs / 3));
  const results = new Map<string, AbResult[]>();
  try {
    await untilListening(`127.0.0.1:${PORTS.direct}`);
    for (const variant of VARIANTS) {
      // The first request starts the app (proxy, native); the answer proves the way works.
      const body = await get(PORTS[variant], '/', 30_000);
      if (body !== BODY) throw new Error(`warm ${variant}: unexpected answer ${JSON.stringify(body)}`);
    }
    const csv = join(ctx.scratch, 'ab.csv');
    for (let r = 0; r < rounds; r++) {
      for (const mode of MODES) {
        for (const variant of VARIANTS) {
          await sleep(200);
          const result = await ab(`http://127.0.0.1:${PORTS[variant]}/`, { seconds: SECONDS, clients: CLIENTS, keepAlive: mode.name === 'keep-alive', csv });
          const key = `${mode.name}/${variant}`;
          results.set(key, [...(results.get(key) ?? []), result]);
        }
      }
    }
  } finally {
    direct.kill();
    rmSync(join(appsDir, 'warm-proxy.yaml'));
    rmSync(join(appsDir, 'warm-native.yaml'));
    await runCli(['apply', '--apps-dir', appsDir, '--state-dir', stateDir], { env: ctx.manager.env });
  }
  const figures: Figure[] = [];
  for (const mode of MODES) {
    const medianOf = (variant: string, pick: (r: AbResult) => number) => median((results.get(`${mode.name}/${variant}`) ?? []).map(pick));
    const base = medianOf('direct', (r) => r.rps);
    for (const variant of VARIANTS) {
      const rs = results.get(`${mode.name}/${variant}`) ?? [];
      const rps = rs.map((r) => r.rps);
      const p = (q: number) => medianOf(variant, (r) => r.percentiles.get(q) ?? NaN);
      const errors = rs.reduce((n, r) => n + r.failed + r.non2xx, 0);
      const kept = mode.name === 'keep-alive' ? `, kept alive ${rs.reduce((n, r) => n + r.keepAlive, 0)}/${rs.reduce((n, r) => n + r.complete, 0)}` : '';
      figures.push({
        figure: mode.figure,
        variant,
        unit: 'req/s',
        median: median(rps),
        runs: rs.length,
        vsBaseline: median(rps) / base,
        baseline: 'direct',
        note: `latency p50 ${p(50).toFixed(2)} ms, p90 ${p(90).toFixed(2)} ms, p99 ${p(99).toFixed(2)} ms; rounds ${Math.min(...rps).toFixed(0)}-${Math.max(...rps).toFixed(0)} req/s; errors ${errors}${kept}; ab -c ${CLIENTS} -t ${SECONDS}`,
        samples: rps,
      });
    }
  }
  return figures;
}
