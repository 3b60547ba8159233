// The growth figure's plot, written by hand as SVG (no dependency): times
// against the number of apps on log-log axes, and the controller's memory
// below on a log x axis and a linear y axis.

export interface GrowthPoint {
  readonly apps: number;
  readonly reaction: number;
  readonly floor: number;
  readonly reload: number;
  readonly noop: number;
  readonly rssMiB: number;
}

const W = 860;
const LEFT = 70;
const RIGHT = 270;
const PLOT_W = W - LEFT - RIGHT;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(0) : v.toFixed(1));
const apps = (n: number) => n.toLocaleString('en-US');
/** A tick's label: ms below a second, then seconds. */
const tick = (t: number, unit: string) => (unit === 'ms' && t >= 1000 ? `${t / 1000} s` : `${t} ${unit}`);

interface Series {
  readonly label: string;
  readonly color: string;
  readonly dash?: string;
  readonly values: readonly number[];
}

export function growthSvg(points: readonly GrowthPoint[], caption: string): string {
  const xs = points.map((p) => p.apps);
  const xMin = Math.log10(Math.min(...xs));
  const xMax = Math.log10(Math.max(...xs));
  const x = (n: number) => LEFT + (xMax === xMin ? PLOT_W / 2 : ((Math.log10(n) - xMin) / (xMax - xMin)) * PLOT_W);
  const out: string[] = [];
  const text = (tx: number, ty: number, s: string, attrs = '') => out.push(`<text x="${tx.toFixed(1)}" y="${ty.toFixed(1)}"${attrs}>${esc(s)}</text>`);
  const line = (x1: number, y1: number, x2: number, y2: number, attrs: string) =>
    out.push(`<line x1="${x1.toFixed(1)}" y1="${y1.toFixed(1)}" x2="${x2.toFixed(1)}" y2="${y2.toFixed(1)}" ${attrs}/>`);

  const panel = (top: number, height: number, title: string, unit: string, series: readonly Series[], log: boolean) => {
    const all = series.flatMap((s) => s.values).filter((v) => Number.isFinite(v) && v > 0);
    let yLo: number;
    let yHi: number;
    let ticks: number[];
    if (log) {
      yLo = Math.floor(Math.log10(Math.min(...all)));
      yHi = Math.ceil(Math.log10(Math.max(...all)));
      if (yHi === yLo) yHi++;
      ticks = [];
      for (let e = yLo; e <= yHi; e++) ticks.push(10 ** e);
    } else {
      yLo = 0;
      const step = niceStep(Math.max(...all) / 4);
      yHi = Math.ceil(Math.max(...all) / step) * step;
      ticks = [];
      for (let v = 0; v <= yHi + 1e-9; v += step) ticks.push(v);
    }
    const y = (v: number) => top + height - (((log ? Math.log10(v) : v) - yLo) / (yHi - yLo)) * height;
    text(LEFT, top - 10, title, ' font-weight="bold"');
    // Grid and axes.
    for (const t of ticks) {
      line(LEFT, y(t), LEFT + PLOT_W, y(t), 'stroke="#ddd"');
      text(LEFT - 6, y(t) + 4, tick(t, unit), ' text-anchor="end"');
    }
    for (const n of xs) {
      line(x(n), top, x(n), top + height, 'stroke="#eee"');
      text(x(n), top + height + 16, apps(n), ' text-anchor="middle"');
    }
    line(LEFT, top + height, LEFT + PLOT_W, top + height, 'stroke="#333"');
    line(LEFT, top, LEFT, top + height, 'stroke="#333"');
    // Lines, points, the last value at the right end, and the legend.
    series.forEach((s, k) => {
      const pts = s.values.map((v, i) => [x(xs[i]!), y(v)] as const).filter(([, py]) => Number.isFinite(py));
      out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''} points="${pts.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(' ')}"/>`);
      for (const [px, py] of pts) out.push(`<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="3" fill="${s.color}"/>`);
      const ly = top + 14 + k * 18;
      line(LEFT + PLOT_W + 16, ly - 4, LEFT + PLOT_W + 40, ly - 4, `stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}`);
      const last = s.values[s.values.length - 1]!;
      text(LEFT + PLOT_W + 46, ly, `${s.label} (${unit === 'ms' && last >= 1000 ? `${(last / 1000).toFixed(1)} s` : `${fmt(last)} ${unit}`})`);
    });
    text(LEFT + PLOT_W / 2, top + height + 34, 'apps applied (log scale)', ' text-anchor="middle"');
  };

  const timesTop = 50;
  const timesH = 300;
  const memTop = timesTop + timesH + 80;
  const memH = 150;
  panel(timesTop, timesH, 'Median times (log scale)', 'ms', [
    { label: 'reaction, appsd watch', color: '#1f6feb', values: points.map((p) => p.reaction) },
    { label: 'floor', color: '#333', dash: '6 4', values: points.map((p) => p.floor) },
    { label: 'target: 2x floor', color: '#d1242f', dash: '2 4', values: points.map((p) => 2 * p.floor) },
    { label: 'daemon-reload alone', color: '#bf8700', values: points.map((p) => p.reload) },
    { label: 'no-op pass', color: '#1a7f37', values: points.map((p) => p.noop) },
  ], true);
  panel(memTop, memH, 'appsd watch resident memory', 'MiB', [{ label: 'RSS', color: '#8250df', values: points.map((p) => p.rssMiB) }], false);
  const height = memTop + memH + 70;
  text(LEFT, height - 12, caption, ' fill="#555"');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${height}" fill="#fff"/>`,
    `<text x="${LEFT}" y="24" font-size="16" font-weight="bold">appsd: growth to ${apps(Math.max(...xs))} apps</text>`,
    ...out,
    '</svg>',
    '',
  ].join('\n');
}

function niceStep(raw: number): number {
  const e = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * e >= raw) return m * e;
  return 10 * e;
}
