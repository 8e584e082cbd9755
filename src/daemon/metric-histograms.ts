/**
 * Prometheus histograms made from pspat's own (src/stats/histogram.ts): cumulative `le`
 * buckets, `_sum` and `_count` per series, which Prometheus can window (`rate()`) and add
 * across hosts — what since-start quantiles cannot. prom-client's Histogram only takes
 * observations, so a family renders what the arbiter already counted, through
 * prom-client's registry as any metric (`get()`).
 */
import type { Histogram } from '../stats/histogram.js';

/** Delay bounds, seconds: 1 µs to 10 s, 1–2.5–5 per decade. */
export const DELAY_BUCKETS_S = [
  1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
/** Release batch bounds, packets. */
export const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

type Labels = Record<string, string>;

export class HistogramFamily {
  readonly type = 'histogram';
  private readonly series: { labels: Labels; counts: number[]; sum: number; count: number }[] = [];

  /** `unit`: what one of the source histogram's values is in the exported unit (1e-9: ns to s). */
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
    private readonly unit = 1,
  ) {}

  reset(): void {
    this.series.length = 0;
  }

  /** The series of `labels`: `h`'s samples, since the daemon started. */
  set(labels: Labels, h: Histogram): void {
    this.series.push({ labels, counts: h.countsAtMost(this.bounds.map((b) => b / this.unit)), sum: h.sum * this.unit, count: h.count });
  }

  /** prom-client's collector interface. */
  get(): { name: string; help: string; type: string; values: { metricName: string; labels: Labels; value: number }[] } {
    const values = this.series.flatMap((s) => [
      ...this.bounds.map((le, i) => ({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le: String(le) }, value: s.counts[i] })),
      { metricName: `${this.name}_bucket`, labels: { ...s.labels, le: '+Inf' }, value: s.count },
      { metricName: `${this.name}_sum`, labels: s.labels, value: s.sum },
      { metricName: `${this.name}_count`, labels: s.labels, value: s.count },
    ]);
    return { name: this.name, help: this.help, type: this.type, values };
  }
}
