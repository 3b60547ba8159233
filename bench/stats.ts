/** One line of the benchmark table. */
export interface Figure {
  readonly figure: string;
  readonly variant: string;
  readonly unit: string;
  readonly median: number;
  readonly p90?: number;
  readonly runs: number;
  /** median / baseline median, when the figure has a baseline. */
  readonly vsBaseline?: number;
  readonly baseline?: string;
  readonly target?: string;
  readonly note?: string;
  /** Every run's value, for the JSON (spread between runs). */
  readonly samples?: readonly number[];
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

export function formatTable(figures: readonly Figure[]): string {
  const rows = [['figure', 'variant', 'median', 'p90', 'runs', 'vs baseline', 'target', 'note']];
  for (const f of figures) {
    const num = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '' : `${n < 10 ? n.toFixed(2) : n.toFixed(0)} ${f.unit}`);
    rows.push([
      f.figure,
      f.variant,
      num(f.median),
      num(f.p90),
      String(f.runs),
      f.vsBaseline === undefined ? '' : `${f.vsBaseline.toFixed(2)}x ${f.baseline ?? ''}`.trim(),
      f.target ?? '',
      f.note ?? '',
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}
