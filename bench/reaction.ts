// Figure 1, reaction: a manifest written into a watched apps.d until its
// socket listens. Baseline, the floor any tool pays: unit files already on
// disk, then one daemon-reload, enable, start, over an open D-Bus connection.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WatchProcess } from '../test/helpers/watch.js';
import { addressOf, execManifest, renderUnits, untilClosed, untilListening, type BenchContext } from './context.js';
import { median, percentile, type Figure } from './stats.js';

export async function reaction(ctx: BenchContext, appsDir: string, stateDir: string): Promise<Figure[]> {
  const watch = new WatchProcess(['--apps-dir', appsDir, '--state-dir', stateDir, '--resync', '1h'], ctx.manager.env);
  const appsd: number[] = [];
  const floor: number[] = [];
  try {
    await watch.waitForLine(/pass \(start\)/);
    for (let r = 0; r < ctx.runs * 2; r++) {
      const i = 900 + r;
      const address = addressOf(i).listen;
      // appsd
      const started = performance.now();
      writeFileSync(join(appsDir, `react-${r}.yaml`), execManifest(ctx.server, i));
      await untilListening(address);
      appsd.push(performance.now() - started);
      rmSync(join(appsDir, `react-${r}.yaml`));
      await untilClosed(address);
      // floor: the same units under other names, written before the clock starts
      const units = renderUnits({ [`floor-${r}.yaml`]: execManifest(ctx.server, i) });
      for (const u of units) writeFileSync(join(ctx.manager.unitDir, u.name), u.text);
      const socket = units.find((u) => u.name.endsWith('.socket'))!.name;
      const t0 = performance.now();
      await ctx.bus.reload();
      await ctx.bus.enable([socket]);
      await ctx.bus.start(socket);
      await untilListening(address);
      floor.push(performance.now() - t0);
      // The probe connection started the app: stop all of it.
      for (const u of units) await ctx.bus.stop(u.name);
      await ctx.bus.disable([socket]);
      for (const u of units) rmSync(join(ctx.manager.unitDir, u.name), { force: true });
      await ctx.bus.reload();
    }
  } finally {
    await watch.stop();
  }
  const floorMedian = median(floor);
  return [
    { figure: 'reaction', variant: 'appsd watch', unit: 'ms', median: median(appsd), p90: percentile(appsd, 90), runs: appsd.length, vsBaseline: median(appsd) / floorMedian, baseline: 'floor', target: '<= 1.5x floor', note: 'manifest written -> socket listening' },
    { figure: 'reaction', variant: 'floor', unit: 'ms', median: floorMedian, p90: percentile(floor, 90), runs: floor.length, vsBaseline: 1, baseline: 'floor', note: 'units on disk; reload + enable + start' },
  ];
}
