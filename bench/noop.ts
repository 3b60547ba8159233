// Figures 3, 6 and 7: a pass with nothing to do, with 10, 100 and 1,000 apps.
// In watch mode (the controller's pass, from its own log) and as a CLI
// `appsd apply` (a whole process), with the files written and reloads made
// (both must be 0), and the controller's resident memory.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCli } from '../test/helpers/cli.js';
import { ReloadCounter } from '../test/helpers/systemd.js';
import { WatchProcess } from '../test/helpers/watch.js';
import { changedFiles, emptyDir, execManifest, snapshot, writeAll, type BenchContext } from './context.js';
import { median, percentile, type Figure } from './stats.js';

const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

export async function noopPasses(ctx: BenchContext, appsDir: string, stateDir: string): Promise<Figure[]> {
  const figures: Figure[] = [];
  const growth: Array<{ n: number; pass: number; apply: number }> = [];
  const reloads = await ReloadCounter.attach(ctx.manager);
  try {
    // The baseline for memory: the controller with no apps, after a few passes.
    emptyDir(appsDir);
    const empty = new WatchProcess(['--apps-dir', appsDir, '--state-dir', stateDir, '--resync', '1h'], ctx.manager.env);
    let emptyRssKb = 0;
    try {
      await empty.waitForLine(/pass \(start\)/, 60_000);
      for (let r = 0; r < 3; r++) {
        const mark = empty.lines.length;
        empty.signal('SIGHUP');
        await empty.waitForLine(/pass \(SIGHUP\)/, 30_000, mark);
      }
      await sleep(300);
      emptyRssKb = rssOf(empty.pid);
    } finally {
      await empty.stop();
    }
    for (const n of [10, 100, 1000]) {
      emptyDir(appsDir);
      writeAll(appsDir, Object.fromEntries(Array.from({ length: n }, (_, i) => [`app-${i}.yaml`, execManifest(ctx.server, i)])));
      const watch = new WatchProcess(['--apps-dir', appsDir, '--state-dir', stateDir, '--resync', '1h'], ctx.manager.env);
      let passMs: number[] = [];
      let firstPass = 0;
      let rssKb = 0;
      let firstRssKb = 0;
      try {
        const first = await watch.waitForLine(/pass \(start\): \d+ actions/, 120_000);
        firstPass = Number(/, (\d+) ms$/.exec(watch.lines[first]!)![1]);
        // Memory after the applying pass (the controller collects right after a pass).
        await sleep(300);
        firstRssKb = rssOf(watch.pid);
        // The first SIGHUP pass re-reads what the start pass wrote; measure after it.
        let mark = watch.lines.length;
        watch.signal('SIGHUP');
        await watch.waitForLine(/pass \(SIGHUP\)/, 30_000, mark);
        const before = snapshot([ctx.manager.unitDir, stateDir]);
        reloads.count = 0;
        for (let r = 0; r < ctx.runs; r++) {
          mark = watch.lines.length;
          watch.signal('SIGHUP');
          const line = await watch.waitForLine(/pass \(SIGHUP\): no changes, \d+ ms/, 30_000, mark);
          passMs.push(Number(/, (\d+) ms$/.exec(watch.lines[line]!)![1]));
        }
        await sleep(200);
        const written = changedFiles(before, snapshot([ctx.manager.unitDir, stateDir]));
        const passReloads = reloads.count;
        rssKb = rssOf(watch.pid);
        await watch.stop();
        // The CLI: a fresh process each time.
        const apply: number[] = [];
        reloads.count = 0;
        const beforeCli = snapshot([ctx.manager.unitDir, stateDir]);
        for (let r = 0; r < Math.max(3, Math.round(ctx.runs / 2)); r++) {
          const t0 = performance.now();
          const result = await runCli(['apply', '--apps-dir', appsDir, '--state-dir', stateDir], { env: ctx.manager.env });
          if (result.stdout !== 'no changes\n') throw new Error(`apply was not a no-op: ${result.stdout.slice(0, 300)}`);
          apply.push(performance.now() - t0);
        }
        await sleep(200);
        const cliWritten = changedFiles(beforeCli, snapshot([ctx.manager.unitDir, stateDir]));
        growth.push({ n, pass: median(passMs), apply: median(apply) });
        figures.push({
          figure: `no-op pass, ${n} apps`, variant: 'watch pass', unit: 'ms', median: median(passMs), p90: percentile(passMs, 90), runs: passMs.length,
          ...(n === 1000 && { target: '< 100 ms' }),
          note: `files written: ${written}, reloads: ${passReloads}; first (applying) pass ${firstPass} ms`,
        });
        figures.push({
          figure: `no-op pass, ${n} apps`, variant: 'appsd apply (CLI)', unit: 'ms', median: median(apply), p90: percentile(apply, 90), runs: apply.length,
          note: `files written: ${cliWritten}, reloads: ${reloads.count}; whole process`,
        });
        if (n === 1000) {
          figures.push(
            { figure: 'memory, 1000 apps', variant: 'RSS after the applying pass', unit: 'MiB', median: firstRssKb / 1024, runs: 1, target: '<= 100 MiB', vsBaseline: firstRssKb / emptyRssKb, baseline: 'no apps' },
            { figure: 'memory, 1000 apps', variant: `RSS after ${ctx.runs + 1} no-op passes`, unit: 'MiB', median: rssKb / 1024, runs: 1, target: '<= 100 MiB', vsBaseline: rssKb / emptyRssKb, baseline: 'no apps' },
            { figure: 'memory, 1000 apps', variant: 'appsd watch, no apps', unit: 'MiB', median: emptyRssKb / 1024, runs: 1, note: 'Node and appsd alone' },
          );
        }
      } finally {
        await watch.stop();
      }
      passMs = [];
    }
    // Remove everything (a watch pass over an empty directory).
    emptyDir(appsDir);
    await runCli(['apply', '--apps-dir', appsDir, '--state-dir', stateDir], { env: ctx.manager.env });
  } finally {
    reloads.close();
  }
  const base = growth[0]!;
  for (const g of growth) {
    figures.push({
      figure: 'growth', variant: `${g.n} apps`, unit: 'ms', median: g.pass, runs: ctx.runs, vsBaseline: g.pass / base.pass, baseline: '10 apps',
      note: `${(g.pass / g.n).toFixed(3)} ms per app per watch pass; CLI ${(g.apply / g.n).toFixed(2)} ms per app`,
    });
  }
  return figures;
}
