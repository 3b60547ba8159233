// Counters, gauges and histograms keyed by their label values: plain numbers
// in maps, so recording one is a map lookup and an addition, and a scrape
// turns them into exposition families. Names are checked once, here, so a
// typo in a metric or label name fails the first test that builds it.
import { isLabelName, isMetricName, type Labels, type MetricFamily, type MetricType, type Sample } from './exposition.js';

abstract class Metric<Value> {
  protected readonly series = new Map<string, { readonly labels: Labels; value: Value }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    private readonly type: MetricType,
  ) {
    if (!isMetricName(name)) throw new Error(`invalid metric name ${JSON.stringify(name)}`);
    for (const label of labelNames) if (!isLabelName(label) || label === 'le') throw new Error(`${name}: invalid label name ${JSON.stringify(label)}`);
  }

  protected abstract initial(): Value;
  protected abstract samples(labels: Labels, value: Value): Sample[];

  private key(labels: Labels): { key: string; values: string[] } {
    const values = this.labelNames.map((l) => {
      const v = labels[l];
      if (v === undefined) throw new Error(`${this.name}: missing label ${l}`);
      return v;
    });
    return { key: JSON.stringify(values), values };
  }

  /** The series of these label values, if it exists: reading never creates one. */
  protected find(labels: Labels): { readonly labels: Labels; value: Value } | undefined {
    return this.series.get(this.key(labels).key);
  }

  /** The series of these label values, created (at zero) on first use. */
  protected entry(labels: Labels): { readonly labels: Labels; value: Value } {
    const { key, values } = this.key(labels);
    let entry = this.series.get(key);
    if (!entry) {
      // Labels in the declared order, whatever order the caller wrote them in.
      entry = { labels: Object.fromEntries(this.labelNames.map((l, i) => [l, values[i]!])), value: this.initial() };
      this.series.set(key, entry);
    }
    return entry;
  }

  /** Creates the series at zero, so that it is exported before anything happened (rate() needs the zero). */
  touch(labels: Labels = {}): void {
    this.entry(labels);
  }

  /** Drops the series for which `keep` is false (an app that was removed). */
  retain(keep: (labels: Labels) => boolean): void {
    for (const [key, entry] of this.series) if (!keep(entry.labels)) this.series.delete(key);
  }

  family(): MetricFamily {
    return { name: this.name, help: this.help, type: this.type, samples: [...this.series.values()].flatMap((e) => this.samples(e.labels, e.value)) };
  }
}

export class Counter extends Metric<number> {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, labelNames, 'counter');
  }
  protected initial(): number {
    return 0;
  }
  protected samples(labels: Labels, value: number): Sample[] {
    return [{ labels, value }];
  }
  inc(labels: Labels = {}, by = 1): void {
    if (!(by >= 0)) throw new Error(`${this.name}: a counter only goes up (by ${by})`);
    this.entry(labels).value += by;
  }
  get(labels: Labels = {}): number {
    return this.find(labels)?.value ?? 0;
  }
}

export class Gauge extends Metric<number> {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, labelNames, 'gauge');
  }
  protected initial(): number {
    return 0;
  }
  protected samples(labels: Labels, value: number): Sample[] {
    return [{ labels, value }];
  }
  set(labels: Labels, value: number): void {
    this.entry(labels).value = value;
  }
}

interface HistogramValue {
  /** Observations per bucket, not cumulative: bucket i counts values in (bounds[i-1], bounds[i]]. */
  readonly counts: number[];
  sum: number;
  count: number;
}

export class Histogram extends Metric<HistogramValue> {
  readonly bounds: readonly number[];

  /** @param bounds the buckets' upper bounds, ascending; +Inf is always added. */
  constructor(name: string, help: string, labelNames: readonly string[], bounds: readonly number[]) {
    super(name, help, labelNames, 'histogram');
    if (bounds.length === 0 || bounds.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= bounds[i - 1]!))) {
      throw new Error(`${name}: bucket bounds must be finite and ascending`);
    }
    this.bounds = [...bounds];
  }

  protected initial(): HistogramValue {
    return { counts: this.bounds.map(() => 0), sum: 0, count: 0 };
  }

  observe(labels: Labels, value: number): void {
    if (Number.isNaN(value)) return;
    const h = this.entry(labels).value;
    const bucket = this.bounds.findIndex((b) => value <= b);
    if (bucket >= 0) h.counts[bucket]!++;
    h.sum += value;
    h.count++;
  }

  /** Cumulative buckets (each counts every value at or below its bound), +Inf equal to _count, then _sum and _count. */
  protected samples(labels: Labels, h: HistogramValue): Sample[] {
    let cumulative = 0;
    const buckets: Sample[] = this.bounds.map((bound, i) => {
      cumulative += h.counts[i]!;
      return { suffix: '_bucket', labels: { ...labels, le: String(bound) }, value: cumulative };
    });
    return [
      ...buckets,
      { suffix: '_bucket', labels: { ...labels, le: '+Inf' }, value: h.count },
      { suffix: '_sum', labels, value: h.sum },
      { suffix: '_count', labels, value: h.count },
    ];
  }

  count(labels: Labels = {}): number {
    return this.find(labels)?.value.count ?? 0;
  }
}
