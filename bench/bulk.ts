// Figure 2, bulk: 500 manifests appearing at once (a git pull) until every
// socket listens, with the number of daemon-reloads; against the floor for the
// same 500 apps (units on disk, one reload, one enable call, starts 32 at a time).
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { forEachLimited } from '../src/fs/atomic.js';
import { ReloadCounter } from '../test/helpers/systemd.js';
import { WatchProcess } from '../test/helpers/watch.js';
import { emptyDir, execManifest, renderUnits, writeAll, type BenchContext } from './context.js';
import { median, type Figure } from './stats.js';

const COUNT = 500;

export async function bulk(ctx: BenchContext, appsDir: string, stateDir: string): Promise<Figure[]> {
  const files = Object.fromEntries(Array.from({ length: COUNT }, (_, i) => [`bulk-${i}.yaml`, execManifest(ctx.server, i)]));
  const sockets = Array.from({ length: COUNT }, (_, i) => `appsd-bulk-${i}.socket`);
  const allActive = async (names: string[]) => {
    for (;;) {
      const statuses = await ctx.bus.listUnits(names);
      if (names.every((n) => statuses.get(n)?.activeState === 'active')) return;
      await sleep(20);
    }
  };
  const reloads = await ReloadCounter.attach(ctx.manager);
  const appsd: number[] = [];
  const appsdReloads: number[] = [];
  const floor: number[] = [];
  const runs = Math.max(1, Math.round(ctx.runs / 5));
  try {
    for (let r = 0; r < runs; r++) {
      const watch = new WatchProcess(['--apps-dir', appsDir, '--state-dir', stateDir, '--resync', '1h'], ctx.manager.env);
      await watch.waitForLine(/pass \(start\)/);
      reloads.count = 0;
      const started = performance.now();
      writeAll(appsDir, files);
      await allActive(sockets);
      appsd.push(performance.now() - started);
      await sleep(300);
      appsdReloads.push(reloads.count);
      const mark = watch.lines.length;
      emptyDir(appsDir);
      await watch.waitForLine(/pass \(change\): \d+ actions/, 60_000, mark);
      await watch.stop();

      const units = renderUnits(Object.fromEntries(Object.entries(files).map(([f, t]) => [f.replace('bulk-', 'floor-'), t])));
      for (const u of units) writeFileSync(join(ctx.manager.unitDir, u.name), u.text);
      const floorSockets = units.filter((u) => u.name.endsWith('.socket')).map((u) => u.name);
      const t0 = performance.now();
      await ctx.bus.reload();
      await ctx.bus.enable(floorSockets);
      await forEachLimited(floorSockets, 32, (s) => ctx.bus.start(s));
      await allActive(floorSockets);
      floor.push(performance.now() - t0);
      await forEachLimited(floorSockets, 32, (s) => ctx.bus.stop(s));
      await ctx.bus.disable(floorSockets);
      for (const u of units) rmSync(join(ctx.manager.unitDir, u.name), { force: true });
      await ctx.bus.reload();
    }
  } finally {
    reloads.close();
  }
  const floorMedian = median(floor);
  return [
    { figure: 'bulk 500', variant: 'appsd watch', unit: 'ms', median: median(appsd), runs: appsd.length, vsBaseline: median(appsd) / floorMedian, baseline: 'floor', target: '<= 2x floor, 1 reload', note: `daemon-reloads: ${appsdReloads.join(', ')}` },
    { figure: 'bulk 500', variant: 'floor', unit: 'ms', median: floorMedian, runs: floor.length, vsBaseline: 1, baseline: 'floor', note: 'units on disk; 1 reload, 1 enable call, starts' },
  ];
}
