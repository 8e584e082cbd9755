/**
 * Log-linear histogram of non-negative values (nanoseconds), in a Float64Array.
 *
 * Values below 2^SUB_BITS get one exact bucket each; above, every power-of-two range
 * [2^e, 2^(e+1)) is cut into 2^SUB_BITS equal buckets, so a bucket's width is at most
 * 1/64 of its lower bound and the midpoint reported for a percentile is within 0.8% of
 * any value in it (the ≤ 1% the reports promise). 1924 words (15 KB) cover 0 to 34 s.
 * Recording is an index computation and one increment: no allocation, no Math.log (the
 * exponent comes from Math.clz32). Histograms with the same layout merge by adding their
 * arrays.
 *
 * Array layout: [0] count, [1] min, [2] max, [3] sum, [HEADER..] bucket counts.
 */

const SUB_BITS = 6;
const SUB = 1 << SUB_BITS;
/** Largest exponent kept: values ≥ 2^(MAX_EXP+1) ns (≈ 34 s) land in the last bucket. */
const MAX_EXP = 34;
const HEADER = 4;
export const HISTOGRAM_BUCKETS = SUB + (MAX_EXP - SUB_BITS + 1) * SUB;
/** Float64 words one histogram occupies. */
export const HISTOGRAM_WORDS = HEADER + HISTOGRAM_BUCKETS;

const TWO32 = 2 ** 32;

/** 2^−(e − SUB_BITS) for every exponent e kept: a multiply instead of Math.pow per sample. */
const SCALE = Float64Array.from({ length: MAX_EXP + 1 }, (_, e) => 2 ** -(e - SUB_BITS));

function bucketOf(v: number): number {
  if (v < SUB) return Math.floor(v);
  if (v < TWO32) {
    // Integer shifts on the 32-bit value: the hot case (delays under 4.3 s).
    const iv = v >>> 0;
    const exp = 31 - Math.clz32(iv);
    return SUB + (exp - SUB_BITS) * SUB + ((iv >>> (exp - SUB_BITS)) - SUB);
  }
  const exp = 63 - Math.clz32(Math.floor(v / TWO32));
  if (exp > MAX_EXP) return HISTOGRAM_BUCKETS - 1;
  return SUB + (exp - SUB_BITS) * SUB + (Math.floor(v * SCALE[exp]) - SUB);
}

/** Lower bound and width of bucket `b`. */
function bucketRange(b: number): [number, number] {
  if (b < SUB) return [b, 1];
  const exp = Math.floor((b - SUB) / SUB) + SUB_BITS;
  const width = 2 ** (exp - SUB_BITS);
  return [2 ** exp + ((b - SUB) % SUB) * width, width];
}

/**
 * Records `values[i]` in the histogram whose words start at `d[at]`: what `Histogram.record`
 * does, for a caller that keeps many histograms in one array and would otherwise hold an
 * object per histogram (the arbiter: one load less per packet and stage). The value is read
 * from memory rather than passed: a double passed to a function V8 leaves out of line is
 * a new heap number per call, and in the daemon's arbiter, whose pass is too large for V8
 * to inline every call, that was one per packet (BENCHMARKS.md).
 */
export function recordAt(d: Float64Array, at: number, values: Float64Array, i: number): void {
  let v = values[i];
  if (!(v > 0)) v = 0;
  if (d[at] === 0 || v < d[at + 1]) d[at + 1] = v;
  if (v > d[at + 2]) d[at + 2] = v;
  d[at]++;
  d[at + 3] += v;
  d[at + HEADER + bucketOf(v)]++;
}

/** Where `Histogram.record` puts its value for recordAt: one per thread, not one per histogram. */
const recordCell = new Float64Array(1);

export class Histogram {
  /** A histogram over fresh private memory, or over `words` of an existing (shared) array. */
  constructor(readonly data: Float64Array = new Float64Array(HISTOGRAM_WORDS)) {
    if (data.length !== HISTOGRAM_WORDS) {
      throw new RangeError(`histogram: needs ${HISTOGRAM_WORDS} words, got ${data.length}`);
    }
  }

  /** Records `v`; a negative value (two threads' clocks a few ns apart) counts as 0. */
  record(v: number): void {
    recordCell[0] = v;
    recordAt(this.data, 0, recordCell, 0);
  }

  /** Records `values[i]`: for a caller on a hot path, which keeps the value in memory rather than pass it (recordAt). */
  recordFrom(values: Float64Array, i: number): void {
    recordAt(this.data, 0, values, i);
  }

  get count(): number {
    return this.data[0];
  }
  get min(): number {
    return this.data[0] === 0 ? 0 : this.data[1];
  }
  get max(): number {
    return this.data[2];
  }
  /** The samples' sum (exact, not from the buckets). */
  get sum(): number {
    return this.data[3];
  }
  get mean(): number {
    return this.data[0] === 0 ? 0 : this.data[3] / this.data[0];
  }

  /** Adds `other`'s samples into this one. */
  merge(other: Histogram): void {
    const a = this.data;
    const b = other.data;
    if (b[0] === 0) return;
    if (a[0] === 0 || b[1] < a[1]) a[1] = b[1];
    if (b[2] > a[2]) a[2] = b[2];
    a[0] += b[0];
    a[3] += b[3];
    for (let i = HEADER; i < HISTOGRAM_WORDS; i++) a[i] += b[i];
  }

  /**
   * Value at quantile `q` ∈ [0, 1]: the midpoint of the bucket holding the sample of rank
   * ceil(q·count), clamped to the exact min and max. 0 for an empty histogram.
   */
  quantile(q: number): number {
    const d = this.data;
    const n = d[0];
    if (n === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * n));
    let seen = 0;
    for (let b = 0; b < HISTOGRAM_BUCKETS; b++) {
      seen += d[HEADER + b];
      if (seen >= rank) {
        const [lo, width] = bucketRange(b);
        const mid = width === 1 ? lo : lo + width / 2;
        return Math.min(Math.max(mid, d[1]), d[2]);
      }
    }
    return d[2];
  }

  /**
   * Samples at or below each of `bounds` (ascending), to the buckets' resolution: a
   * bucket counts toward a bound its lower edge does not exceed (within 1/64 of the
   * bound). What Prometheus's cumulative `le` buckets are made of.
   */
  countsAtMost(bounds: readonly number[]): number[] {
    const d = this.data;
    const out = new Array<number>(bounds.length);
    let seen = 0;
    let k = 0;
    for (let b = 0; b < HISTOGRAM_BUCKETS && k < bounds.length; b++) {
      const lo = bucketRange(b)[0];
      while (k < bounds.length && bounds[k] < lo) out[k++] = seen;
      seen += d[HEADER + b];
    }
    while (k < bounds.length) out[k++] = seen;
    return out;
  }

  /**
   * The empirical CDF: [min, 0], then at the upper edge of every non-empty bucket
   * [ns, fraction ≤ ns], x clamped to the exact max (what a CDF plot draws). Empty: [].
   */
  cdf(): [number, number][] {
    const d = this.data;
    const out: [number, number][] = d[0] === 0 ? [] : [[d[1], 0]];
    let seen = 0;
    for (let b = 0; b < HISTOGRAM_BUCKETS; b++) {
      if (d[HEADER + b] === 0) continue;
      seen += d[HEADER + b];
      const [lo, width] = bucketRange(b);
      out.push([Math.min(Math.max(lo + width, d[1]), d[2]), seen / d[0]]);
    }
    return out;
  }

  /** The figures every report prints: count, min, p10 … p99.99, max (ns). */
  summary(): StageSummary {
    return {
      count: this.count,
      min: this.min,
      p10: this.quantile(0.1),
      p50: this.quantile(0.5),
      p90: this.quantile(0.9),
      p99: this.quantile(0.99),
      p999: this.quantile(0.999),
      p9999: this.quantile(0.9999),
      max: this.max,
    };
  }

  /** The standard deviation of the samples, from the buckets' midpoints (within their 0.8%). */
  stdDev(): number {
    const d = this.data;
    if (d[0] === 0) return 0;
    const mean = d[3] / d[0];
    let sq = 0;
    for (let b = 0; b < HISTOGRAM_BUCKETS; b++) {
      if (d[HEADER + b] === 0) continue;
      const [lo, width] = bucketRange(b);
      const mid = Math.min(Math.max(width === 1 ? lo : lo + width / 2, d[1]), d[2]);
      sq += d[HEADER + b] * (mid - mean) ** 2;
    }
    return Math.sqrt(sq / d[0]);
  }

  /** Sparse form for RUN.json: the header and the non-empty buckets as [index, count] pairs. */
  toJSON(): HistogramJson {
    const d = this.data;
    const buckets: [number, number][] = [];
    for (let b = 0; b < HISTOGRAM_BUCKETS; b++) if (d[HEADER + b] !== 0) buckets.push([b, d[HEADER + b]]);
    return { count: d[0], min: this.min, max: d[2], sum: d[3], buckets };
  }

  /** The inverse of toJSON; throws a RangeError naming what is wrong (the caller adds where). */
  static fromJSON(j: HistogramJson): Histogram {
    const h = new Histogram();
    const d = h.data;
    let count = 0;
    for (const pair of j.buckets) {
      const [b, n] = pair;
      if (!Number.isInteger(b) || b < 0 || b >= HISTOGRAM_BUCKETS) throw new RangeError(`bucket index ${b} out of range [0, ${HISTOGRAM_BUCKETS})`);
      if (!(Number.isInteger(n) && n > 0)) throw new RangeError(`bucket ${b}: count must be a positive integer, got ${n}`);
      d[HEADER + b] += n;
      count += n;
    }
    if (count !== j.count) throw new RangeError(`count ${j.count} is not the sum of the bucket counts (${count})`);
    if (!(j.min >= 0 && j.max >= j.min && j.sum >= 0)) throw new RangeError('min, max and sum must satisfy 0 <= min <= max, sum >= 0');
    d[0] = j.count;
    d[1] = j.min;
    d[2] = j.max;
    d[3] = j.sum;
    return h;
  }

  reset(): void {
    this.data.fill(0);
  }

  /**
   * Takes away `earlier`, a copy of this same histogram made before: what is left is what
   * was recorded between the two. The interval's exact min and max are not known, so they
   * become the edges of its lowest and highest non-empty buckets (to the buckets'
   * resolution, as the quantiles are). Copies read while the arbiter records may be a
   * sample apart between the count and its bucket: the count is taken from the buckets,
   * so the result is always a well-formed histogram. Returns this histogram.
   */
  subtract(earlier: Histogram): this {
    const d = this.data;
    const e = earlier.data;
    let count = 0;
    let lowest = -1;
    let highest = -1;
    for (let b = 0; b < HISTOGRAM_BUCKETS; b++) {
      const n = Math.max(0, d[HEADER + b] - e[HEADER + b]);
      d[HEADER + b] = n;
      if (n === 0) continue;
      count += n;
      if (lowest < 0) lowest = b;
      highest = b;
    }
    d[0] = count;
    d[3] = count === 0 ? 0 : Math.max(0, d[3] - e[3]);
    if (count === 0) {
      d[1] = 0;
      d[2] = 0;
      return this;
    }
    d[1] = bucketRange(lowest)[0];
    const [lo, width] = bucketRange(highest);
    d[2] = width === 1 ? lo : lo + width;
    return this;
  }
}

export interface StageSummary {
  count: number;
  min: number;
  p10: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  p9999: number;
  max: number;
}

export interface HistogramJson {
  count: number;
  min: number;
  max: number;
  sum: number;
  buckets: [number, number][];
}
