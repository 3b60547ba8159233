// Growth: how appsd's costs grow with the number of apps applied, at 10, 100,
// 1,000 and 5,000 apps (BENCH_GROWTH=10,100,500,2000 for others). At
// each size, with that many exec apps applied and their sockets listening:
//   reaction        one more manifest written into the watched apps
//                   directory, until its socket accepts (as bench/reaction.ts)
//   floor           the same units already on disk, then one daemon-reload,
//                   EnableUnitFiles and StartUnit over an open D-Bus
//                   connection, until the socket accepts: what any tool pays
//                   at that size (runs alternate with appsd's)
//   daemon-reload   systemd's own reload with nothing changed, at that size
//   no-op pass      a pass of the controller with nothing to do (SIGHUP)
//   RSS             appsd watch's resident memory after those passes
// Target: the reaction at the largest size within 2x the floor at that size.
// Writes the table's numbers as a plot to docs/growth.svg.
// The sizes are applied one after the other (each adds apps to the last).
// systemd 252's reload grows with the square of the units in a slice (see
// bench/slices.ts): about 1 s at 500 apps, 8 s at 1,000, 20 s at 2,000 and
// minutes at 5,000 on a 2-vCPU VM. So the runs at a size are cut to fit a
// budget of about two minutes (at least 2), and a size where appsd does not
// converge (its D-Bus calls give up after 25 s) ends the figure with a row
// that says so. With the default sizes the figure takes about 10 minutes.
//   BENCH_GROWTH=a,b,c   sizes (default 10,100,1000,5000: about 30 minutes)
//   BENCH_GROWTH_RUNS=N  at most this many reaction and floor runs per size (default BENCH_RUNS)
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ReloadCounter } from '../test/helpers/systemd.js';
import { WatchProcess } from '../test/helpers/watch.js';
import { addressOf, execManifest, renderUnits, untilClosed, untilListening, writeAll, type BenchContext } from './context.js';
import { growthSvg, type GrowthPoint } from './growth-svg.js';
import { rawReload } from './slices.js';
import { median, percentile, type Figure } from './stats.js';

/** App numbers of their own (addresses 127.100.x.x and up): other figures, or another bench run on this host, use the low ones. */
const BASE = 20_000;
const TARGET = 2;
/** About this much time per size for the reaction and floor runs. */
const BUDGET_MS = 120_000;

const sizes = () =>
  (process.env['BENCH_GROWTH'] ?? '10,100,1000,5000')
    .split(',')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0)
    .sort((a, b) => a - b);

const ms = (line: string) => Number(/, (\d+) ms$/.exec(line)![1]);

export async function growth(ctx: BenchContext, appsDir: string, stateDir: string): Promise<Figure[]> {
  const list = sizes();
  const maxRuns = Number(process.env['BENCH_GROWTH_RUNS'] ?? ctx.runs);
  const figures: Figure[] = [];
  const points: GrowthPoint[] = [];
  const reloads = await ReloadCounter.attach(ctx.manager);
  const watchArgs = ['--apps-dir', appsDir, '--state-dir', stateDir, '--resync', '1h'];
  let applied = 0;
  try {
    for (const [k, n] of list.entries()) {
      // Apps applied-1 .. n-1 join the ones already applied.
      writeAll(appsDir, Object.fromEntries(Array.from({ length: n - applied }, (_, j) => [`grow-${applied + j}.yaml`, execManifest(ctx.server, BASE + applied + j)])));
      const added = n - applied;
      applied = n;
      const watch = new WatchProcess(watchArgs, ctx.manager.env);
      try {
        const converged = await convergence(watch, 120_000 + n * 200);
        if (typeof converged === 'string') {
          figures.push({ figure: `growth, ${n} apps`, variant: 'reaction (appsd watch)', unit: 'ms', median: NaN, runs: 0, target: `<= ${TARGET}x floor`, note: `appsd did not converge: ${converged}` });
          // How long systemd's reload takes at this size: once the reloads appsd
          // asked for (and gave up waiting for) are done, one more by itself.
          await watch.stop();
          await rawReload(ctx.manager.env);
          const alone = await rawReload(ctx.manager.env);
          figures.push({ figure: `growth, ${n} apps`, variant: 'daemon-reload', unit: 'ms', median: alone, runs: 1, note: 'systemd reloading, nothing changed; appsd stopped' });
          process.stderr.write(` ${n} (not converged)`);
          break;
        }
        const applyMs = converged;
        // Every app's socket listens (one of them is probed: the last one added).
        await untilListening(addressOf(BASE + n - 1).listen);

        // No-op passes (the first SIGHUP pass re-reads what the start pass wrote).
        let mark = watch.lines.length;
        watch.signal('SIGHUP');
        await watch.waitForLine(/pass \(SIGHUP\)/, 60_000, mark);
        reloads.count = 0;
        const noop: number[] = [];
        for (let r = 0; r < ctx.runs; r++) {
          mark = watch.lines.length;
          watch.signal('SIGHUP');
          noop.push(ms(watch.lines[await watch.waitForLine(/pass \(SIGHUP\): no changes, \d+ ms/, 60_000, mark)]!));
        }
        const noopReloads = await reloads.settle();
        const rssMiB = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${watch.pid}/status`, 'utf8'))![1]) / 1024;

        // systemd's reload by itself, nothing changed (as many as fit in a sixth of the budget).
        const reload: number[] = [await rawReload(ctx.manager.env)];
        while (reload.length < ctx.runs && reload.reduce((a, b) => a + b, 0) < BUDGET_MS / 6) reload.push(await rawReload(ctx.manager.env));
        // A reaction pair pays about four reloads.
        const runs = Math.max(2, Math.min(maxRuns, Math.floor(BUDGET_MS / (4 * median(reload) + 1000))));

        // Reaction and floor, alternating which goes first.
        const reaction: number[] = [];
        const passes: number[] = [];
        const floor: number[] = [];
        // appsd gives up on a reload after 25 s and retries it: past this, its reaction is a failure.
        const deadlineMs = Math.max(120_000, 3 * median(reload));
        let failed: string | undefined;
        for (let r = 0; r < runs && !failed; r++) {
          const i = BASE + list[list.length - 1]! + k * 1000 + r;
          const address = addressOf(i).listen;
          const viaAppsd = async () => {
            let at = watch.lines.length;
            const file = join(appsDir, `react-${k}-${r}.yaml`);
            const t0 = performance.now();
            writeFileSync(file, execManifest(ctx.server, i));
            try {
              await untilListening(address, deadlineMs);
            } catch {
              const why = [...watch.lines].reverse().find((l) => /FAILED: /.test(l))?.replace(/^.*?FAILED: /, '') ?? 'no error logged';
              failed = `its socket did not listen within ${Math.round(deadlineMs / 1000)} s (${watch.lines.filter((l) => /FAILED: /.test(l)).length} failed actions; last: ${why.slice(0, 160)})`;
              rmSync(file);
              // Its retries would reload under the floor's feet: appsd stops, and systemd finishes what it was asked.
              await watch.stop();
              await rawReload(ctx.manager.env);
              return;
            }
            reaction.push(performance.now() - t0);
            passes.push(ms(watch.lines[await watch.waitForLine(/pass \(change\): \d+ actions/, 600_000, at)]!));
            at = watch.lines.length;
            rmSync(file);
            await watch.waitForLine(/pass \(change\): \d+ actions/, 600_000, at);
            await untilClosed(address);
          };
          const viaFloor = async () => {
            const units = renderUnits({ [`growfloor-${k}-${r}.yaml`]: execManifest(ctx.server, i) });
            for (const u of units) writeFileSync(join(ctx.manager.unitDir, u.name), u.text);
            const socket = units.find((u) => u.name.endsWith('.socket'))!.name;
            const t0 = performance.now();
            await rawReload(ctx.manager.env);
            await ctx.bus.enable([socket]);
            await ctx.bus.start(socket);
            await untilListening(address, 600_000);
            floor.push(performance.now() - t0);
            // The probe connection started the app: stop all of it.
            for (const u of units) await ctx.bus.stop(u.name);
            await ctx.bus.disable([socket]);
            for (const u of units) rmSync(join(ctx.manager.unitDir, u.name), { force: true });
            await rawReload(ctx.manager.env);
            await untilClosed(address);
          };
          for (const f of r % 2 ? [viaFloor, viaAppsd] : [viaAppsd, viaFloor]) await f();
        }
        if (failed) {
          figures.push(
            { figure: `growth, ${n} apps`, variant: 'reaction (appsd watch)', unit: 'ms', median: NaN, runs: 0, target: `<= ${TARGET}x floor`, note: `appsd did not react: ${failed}` },
            { figure: `growth, ${n} apps`, variant: 'floor', unit: 'ms', median: median(floor), runs: floor.length, note: 'units on disk; reload + enable + start, until it accepts', samples: floor },
            { figure: `growth, ${n} apps`, variant: 'daemon-reload', unit: 'ms', median: median(reload), runs: reload.length, note: 'systemd reloading, nothing changed', samples: reload },
            { figure: `growth, ${n} apps`, variant: 'no-op pass', unit: 'ms', median: median(noop), p90: percentile(noop, 90), runs: noop.length, note: `reloads: ${noopReloads}; the pass that applied +${added} apps: ${applyMs} ms`, samples: noop },
            { figure: `growth, ${n} apps`, variant: 'appsd watch RSS', unit: 'MiB', median: rssMiB, runs: 1, note: `after ${ctx.runs + 1} no-op passes` },
          );
          process.stderr.write(` ${n} (no reaction)`);
          break;
        }

        const fl = median(floor);
        const re = median(reaction);
        points.push({ apps: n, reaction: re, floor: fl, reload: median(reload), noop: median(noop), rssMiB });
        const fig = `growth, ${n} apps`;
        figures.push(
          {
            figure: fig, variant: 'reaction (appsd watch)', unit: 'ms', median: re, p90: percentile(reaction, 90), runs: reaction.length, vsBaseline: re / fl, baseline: 'floor',
            ...(k === list.length - 1 && { target: `<= ${TARGET}x floor` }),
            note: `manifest written -> socket accepts; ${(re - fl).toFixed(0)} ms over the floor; appsd's pass ${median(passes).toFixed(0)} ms (its log)`,
            samples: reaction,
          },
          { figure: fig, variant: 'floor', unit: 'ms', median: fl, p90: percentile(floor, 90), runs: floor.length, vsBaseline: 1, baseline: 'floor', note: 'units on disk; reload + enable + start, until it accepts', samples: floor },
          { figure: fig, variant: 'daemon-reload', unit: 'ms', median: median(reload), p90: percentile(reload, 90), runs: reload.length, vsBaseline: median(reload) / fl, baseline: 'floor', note: 'systemd reloading, nothing changed', samples: reload },
          { figure: fig, variant: 'no-op pass', unit: 'ms', median: median(noop), p90: percentile(noop, 90), runs: noop.length, note: `reloads: ${noopReloads}; the pass that applied +${added} apps: ${applyMs} ms`, samples: noop },
          { figure: fig, variant: 'appsd watch RSS', unit: 'MiB', median: rssMiB, runs: 1, note: `after ${ctx.runs + 1} no-op passes` },
        );
        process.stderr.write(` ${n}`);
      } finally {
        await watch.stop();
      }
    }
    // The apps stay: this figure runs last, and the manager is stopped after it
    // (removing 2,000 apps through appsd took 346 s in one run, most of it systemd's).
  } finally {
    reloads.close();
  }
  const caption = `npm run bench (BENCH_ONLY=growth), ${new Date().toISOString().slice(0, 10)}, ${cpus().length} vCPU ${cpus()[0]?.model ?? ''}, Node ${process.version}; medians`;
  // A plot needs two sizes that converged (BENCH_GROWTH=5000 alone writes none).
  if (points.length >= 2) writeFileSync(fileURLToPath(new URL('../docs/growth.svg', import.meta.url)), growthSvg(points, caption));
  return figures;
}

/**
 * Waits for the watch's start pass to apply everything: its duration in ms,
 * or why it did not (a pass that failed twice on the same error, or the deadline).
 */
async function convergence(watch: WatchProcess, timeoutMs: number): Promise<number | string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const done = watch.lines.find((l) => /pass \((start|retry)\): \d+ actions, 0 apps failed, \d+ ms$/.test(l));
    if (done) return ms(done);
    // A pass that threw, or one whose apps failed (a daemon-reload that timed out fails every changed app).
    const failures = watch.lines.filter((l) => /pass failed: |pass \((start|retry)\): \d+ actions, [1-9]\d* apps failed/.test(l));
    if (failures.length >= 2) {
      const why = [...watch.lines].reverse().find((l) => /FAILED: |pass failed: /.test(l)) ?? failures[failures.length - 1]!;
      return `${failures.length} passes failed, the last error: ${why.replace(/^.*?(FAILED: |pass failed: )/, '')}`.slice(0, 240);
    }
    const left = deadline - Date.now();
    if (left <= 0) return `no pass applied every app within ${Math.round(timeoutMs / 1000)} s`;
    await watch.waitForLine(/pass/, left, watch.lines.length).catch(() => undefined);
  }
}
