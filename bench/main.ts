// `npm run bench`: what users feel, measured side by side with baselines in
// the same run, on a private systemd manager the benchmark starts itself.
// Prints a table and writes bench/results.json. Not part of `npm test`.
//   BENCH_RUNS=N   repetitions per figure (default 10; reaction uses 2N)
//   BENCH_ONLY=a,b only these figures: cli, reaction, bulk, noop, cold, crowd, group, warm, growth,
//                  and slices (only when named)
//   (growth: BENCH_GROWTH=10,100,1000,5000 sizes; warm: BENCH_WARM_SECONDS, BENCH_WARM_CLIENTS; crowd: BENCH_CROWD)
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPrivateManager } from '../src/sandbox/private-manager.js';
import { SystemdManager } from '../src/systemd/manager.js';
import { buildTestImages, removeAppsdContainers, writeContainersConf } from '../test/helpers/podman.js';
import { workspace } from '../test/helpers/workspace.js';
import { bulk } from './bulk.js';
import { cliStartup } from './cli.js';
import { coldStart } from './cold-start.js';
import { crowd } from './crowd.js';
import { buildGroupImage, groupColdStart, groupManifests } from './group.js';
import type { BenchContext } from './context.js';
import { growth } from './growth.js';
import { noopPasses } from './noop.js';
import { reaction } from './reaction.js';
import { slices } from './slices.js';
import { formatTable, type Figure } from './stats.js';
import { warm } from './warm.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 10);
const ONLY = process.env['BENCH_ONLY']?.split(',');
const wanted = (name: string) => !ONLY || ONLY.includes(name);

async function main(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'appsd-bench-'));
  const conf = writeContainersConf(scratch);
  const podmanEnv = { ...process.env, CONTAINERS_CONF: conf };
  const server = join(scratch, 'sockact-server');
  execFileSync('cc', ['-static', '-O2', '-o', server, fileURLToPath(new URL('../test/fixtures/sockact-server.c', import.meta.url))]);
  if (wanted('cold') || wanted('crowd')) await buildTestImages(podmanEnv);
  if (wanted('group')) await buildGroupImage(podmanEnv);
  const manager = await startPrivateManager({ serviceEnv: { CONTAINERS_CONF: conf }, shareNetns: true });
  const bus = await SystemdManager.connect({ scope: 'user', env: manager.env });
  const cleanups: Array<() => void> = [];
  const figures: Figure[] = [];
  const ctx: BenchContext = { manager, bus, podmanEnv, server, runs: RUNS, scratch };
  const dirs = (name: string) => {
    const apps = join(scratch, name, 'apps.d');
    mkdirSync(apps, { recursive: true });
    return [apps, join(scratch, name, 'state')] as const;
  };
  const step = async (name: string, fn: () => Promise<Figure[]>) => {
    if (!wanted(name)) return;
    const t0 = performance.now();
    process.stderr.write(`bench: ${name}...`);
    figures.push(...(await fn()));
    process.stderr.write(` ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  };
  try {
    // CLI start-up first, on a quiet manager with only the two example apps.
    await step('cli', () => cliStartup(ctx, ...dirs('cli')));
    // Few units loaded first: reload time grows with the number of units.
    await step('reaction', () => reaction(ctx, ...dirs('reaction')));
    await step('cold', async () => {
      const w = workspace(manager, (fn) => cleanups.push(fn));
      const result = await coldStart({ manager, podmanEnv, appsd: w.appsd, writeManifest: w.write, runs: RUNS });
      for (const name of ['cold.yaml', 'coldnative.yaml']) w.remove(name);
      await w.appsd('apply');
      return result;
    });
    await step('crowd', () => crowd(ctx, ...dirs('crowd')));
    await step('group', async () => {
      // appsd's own podman calls (creating the network) need the same containers.conf as its units.
      const w = workspace(manager, (fn) => cleanups.push(fn), { CONTAINERS_CONF: conf });
      try {
        return await groupColdStart({ manager, podmanEnv, appsd: w.appsd, writeManifest: w.write, runs: RUNS });
      } finally {
        // Both apps gone, and with them the network appsd created for them.
        for (const name of Object.keys(groupManifests())) w.remove(name);
        await w.appsd('apply');
      }
    });
    await step('warm', () => warm(ctx, ...dirs('warm')));
    await step('bulk', () => bulk(ctx, ...dirs('bulk')));
    await step('noop', () => noopPasses(ctx, ...dirs('noop')));
    // Only when asked for (BENCH_ONLY=slices): reloads of tens of seconds each.
    if (ONLY?.includes('slices')) await step('slices', () => slices(ctx));
    // Last: it leaves thousands of apps applied, which slow every later reload.
    await step('growth', () => growth(ctx, ...dirs('growth')));
  } finally {
    bus.close();
    await manager.stop();
    if (wanted('cold') || wanted('crowd')) await removeAppsdContainers(podmanEnv);
    for (const fn of cleanups) fn();
    rmSync(scratch, { recursive: true, force: true });
  }
  process.stdout.write(`${formatTable(figures)}\n`);
  const machine = {
    cpus: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    date: new Date().toISOString(),
  };
  const out = fileURLToPath(new URL('./results.json', import.meta.url));
  writeFileSync(out, JSON.stringify({ machine, runs: RUNS, figures }, null, 2) + '\n');
  process.stdout.write(`\nwritten to bench/results.json (${machine.cpus} x ${machine.cpu}, ${machine.memoryGiB} GiB, Node ${machine.node})\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`\nbench: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
