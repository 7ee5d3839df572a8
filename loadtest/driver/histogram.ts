// Latency histogram with bounded memory: log-linear buckets in the style of HdrHistogram.
// Values are whole microseconds. Below 256 µs every microsecond has its own bucket;
// above, each power of two is split into 128 equal buckets, so a bucket is never wider
// than 1/128 (0.8%) of the values it holds. 3,328 buckets cover 1 µs to 71 minutes in
// 13 KB, whatever the run length. min, max and the sum are kept exactly.

const SUB_BITS = 7;
const SUB_COUNT = 1 << SUB_BITS; // 128 buckets per power of two
const LINEAR_LIMIT = SUB_COUNT * 2; // values below this are stored exactly
const MAX_SHIFT = 32 - SUB_BITS - 1; // 24: values up to 2^32 - 1 µs
export const HISTOGRAM_BUCKETS = LINEAR_LIMIT + MAX_SHIFT * SUB_COUNT; // 3328
export const MAX_TRACKABLE_US = 0xffffffff;

/** Bucket index of a value in µs (clamped to [0, 2^32 - 1]). */
export function bucketOf(us: number): number {
  if (us < LINEAR_LIMIT) return us < 0 ? 0 : us;
  const v = us > MAX_TRACKABLE_US ? MAX_TRACKABLE_US : us >>> 0;
  const shift = 31 - Math.clz32(v) - SUB_BITS; // >= 1
  return LINEAR_LIMIT + (shift - 1) * SUB_COUNT + ((v >>> shift) - SUB_COUNT);
}

/** Smallest value (µs) that falls in bucket `i`. */
export function bucketLow(i: number): number {
  if (i < LINEAR_LIMIT) return i;
  const shift = ((i - LINEAR_LIMIT) >> SUB_BITS) + 1;
  const sub = ((i - LINEAR_LIMIT) & (SUB_COUNT - 1)) + SUB_COUNT;
  return sub * 2 ** shift;
}

/** Width of bucket `i` in µs. */
export function bucketWidth(i: number): number {
  if (i < LINEAR_LIMIT) return 1;
  return 2 ** (((i - LINEAR_LIMIT) >> SUB_BITS) + 1);
}

export class LatencyHistogram {
  readonly counts = new Float64Array(HISTOGRAM_BUCKETS);
  count = 0;
  sumUs = 0;
  minUs = Infinity;
  maxUs = -Infinity;

  /** Records one value in microseconds (fractions are rounded). */
  record(us: number): void {
    const v = Math.round(us);
    this.counts[bucketOf(v)]++;
    this.count++;
    this.sumUs += v;
    if (v < this.minUs) this.minUs = v;
    if (v > this.maxUs) this.maxUs = v;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sumUs = 0;
    this.minUs = Infinity;
    this.maxUs = -Infinity;
  }

  merge(other: LatencyHistogram): void {
    if (other.count === 0) return;
    const a = this.counts, b = other.counts;
    for (let i = 0; i < a.length; i++) a[i] += b[i];
    this.count += other.count;
    this.sumUs += other.sumUs;
    if (other.minUs < this.minUs) this.minUs = other.minUs;
    if (other.maxUs > this.maxUs) this.maxUs = other.maxUs;
  }

  /**
   * The value at quantile q (0..1) in µs: the middle of the bucket holding the
   * ceil(q * count)-th smallest value, clamped to the exact min and max.
   * Returns NaN when empty.
   */
  quantileUs(q: number): number {
    if (this.count === 0) return NaN;
    if (q <= 0) return this.minUs;
    if (q >= 1) return this.maxUs;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    const c = this.counts;
    for (let i = 0; i < c.length; i++) {
      seen += c[i];
      if (seen >= rank) {
        const mid = bucketLow(i) + (bucketWidth(i) - 1) / 2;
        return Math.min(this.maxUs, Math.max(this.minUs, mid));
      }
    }
    return this.maxUs;
  }

  meanUs(): number {
    return this.count === 0 ? NaN : this.sumUs / this.count;
  }
}

/** Latency summary in milliseconds, as reported in results (null when nothing completed). */
export interface LatencySummaryMs {
  min: number | null;
  mean: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  p999: number | null;
  max: number | null;
}

const ms = (us: number): number | null => (Number.isNaN(us) || !Number.isFinite(us) ? null : Math.round(us) / 1000);

export function summarize(h: LatencyHistogram): LatencySummaryMs {
  if (h.count === 0) return { min: null, mean: null, p50: null, p90: null, p99: null, p999: null, max: null };
  return {
    min: ms(h.minUs),
    mean: ms(h.meanUs()),
    p50: ms(h.quantileUs(0.5)),
    p90: ms(h.quantileUs(0.9)),
    p99: ms(h.quantileUs(0.99)),
    p999: ms(h.quantileUs(0.999)),
    max: ms(h.maxUs),
  };
}
