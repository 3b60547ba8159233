// Why appsd spreads apps over slices (BENCH_ONLY=slices): systemd's
// daemon-reload with N apps' units (socket listening, proxy and backend
// services loaded), first with every unit in the manager's app.slice (the
// units without their Slice= line, as appsd rendered them before), then as
// appsd renders them, over 64 slices under appsd.slice (docs/units.md).
// systemd 252 walks the other members of a unit's slice for each unit whose
// cgroup it realizes, so with all units in one slice a reload grows with the
// square of the units; with 64 slices each walk is short.
//   BENCH_SLICES=1000,2000  sizes (default); each size pays a few reloads of
//                           up to tens of seconds with the units in one slice
import dbus from 'dbus-next';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { forEachLimited } from '../src/fs/atomic.js';
import { SLICES } from '../src/unit/names.js';
import { addressOf, execManifest, renderUnits, untilListening, type BenchContext } from './context.js';
import { median, type Figure } from './stats.js';

/** Addresses of their own (127.200.x.x and up), away from growth's and the other figures'. */
const BASE = 45_000;
const BUCKETS = SLICES;

/** daemon-reload over a connection of its own, with no client-side timeout (a reload may take minutes). */
export async function rawReload(env: Readonly<Record<string, string>>): Promise<number> {
  const bus = dbus.sessionBus({ busAddress: env['DBUS_SESSION_BUS_ADDRESS']! });
  try {
    const t0 = performance.now();
    await bus.call(new dbus.Message({ destination: 'org.freedesktop.systemd1', path: '/org/freedesktop/systemd1', interface: 'org.freedesktop.systemd1.Manager', member: 'Reload' }));
    return performance.now() - t0;
  } finally {
    bus.disconnect();
  }
}

export async function slices(ctx: BenchContext): Promise<Figure[]> {
  const sizes = (process.env['BENCH_SLICES'] ?? '1000,2000').split(',').map(Number).filter((n) => n > 0);
  const reloads = Math.max(2, Math.min(3, ctx.runs));
  const figures: Figure[] = [];
  for (const n of sizes) {
    const result: Record<string, number[]> = {};
    for (const spread of [false, true]) {
      const tag = spread ? 'sliced' : 'flat';
      const units = renderUnits(Object.fromEntries(Array.from({ length: n }, (_, i) => [`${tag}-${i}.yaml`, execManifest(ctx.server, BASE + i)])));
      for (const u of units) {
        const text = spread ? u.text : u.text.replace(/^Slice=.*\n/m, '');
        writeFileSync(join(ctx.manager.unitDir, u.name), text);
      }
      const sockets = units.filter((u) => u.name.endsWith('.socket')).map((u) => u.name);
      await rawReload(ctx.manager.env);
      await ctx.bus.enable(sockets);
      await forEachLimited(sockets, 32, (s) => ctx.bus.start(s));
      await untilListening(addressOf(BASE + n - 1).listen);
      const times: number[] = [];
      for (let r = 0; r < reloads; r++) times.push(await rawReload(ctx.manager.env));
      result[tag] = times;
      // Gone again, so that the next set is measured alone.
      await forEachLimited(sockets, 32, (s) => ctx.bus.stop(s));
      await ctx.bus.disable(sockets);
      for (const u of units) rmSync(join(ctx.manager.unitDir, u.name), { force: true });
      await rawReload(ctx.manager.env);
      process.stderr.write(` ${n} ${tag}`);
    }
    const flat = median(result['flat']!);
    figures.push(
      { figure: `daemon-reload, ${n} apps`, variant: 'all in app.slice', unit: 'ms', median: flat, runs: result['flat']!.length, vsBaseline: 1, baseline: 'app.slice', note: `without Slice= (${3 * n} units), as before`, samples: result['flat'] },
      { figure: `daemon-reload, ${n} apps`, variant: `over ${BUCKETS} slices`, unit: 'ms', median: median(result['sliced']!), runs: result['sliced']!.length, vsBaseline: median(result['sliced']!) / flat, baseline: 'app.slice', note: 'as appsd renders them: Slice=appsd-shardNN.slice', samples: result['sliced'] },
    );
  }
  return figures;
}
