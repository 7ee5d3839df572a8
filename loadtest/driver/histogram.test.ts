import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketLow, bucketOf, bucketWidth, HISTOGRAM_BUCKETS, LatencyHistogram, summarize } from './histogram.js';

function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
}

describe('bucket layout', () => {
  it('maps every value into a bucket whose range holds it, within 1% width', () => {
    for (const v of [0, 1, 255, 256, 257, 511, 512, 1000, 65_535, 1e6, 2 ** 31, 2 ** 32 - 1]) {
      const b = bucketOf(v);
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThan(HISTOGRAM_BUCKETS);
      expect(bucketLow(b)).toBeLessThanOrEqual(v);
      expect(bucketLow(b) + bucketWidth(b)).toBeGreaterThan(v);
      if (v >= 256) expect(bucketWidth(b) / v).toBeLessThanOrEqual(1 / 128);
    }
    expect(bucketOf(2 ** 40)).toBe(HISTOGRAM_BUCKETS - 1);
  });
  it('is monotonic and contiguous', () => {
    for (let b = 1; b < HISTOGRAM_BUCKETS; b++) expect(bucketLow(b)).toBe(bucketLow(b - 1) + bucketWidth(b - 1));
  });
});

describe('LatencyHistogram', () => {
  it('reports quantiles within 1% of the exact ones, and exact min/max', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 5_000_000 }), { minLength: 1, maxLength: 2000 }), (values) => {
        const h = new LatencyHistogram();
        for (const v of values) h.record(v);
        const sorted = [...values].sort((a, b) => a - b);
        expect(h.minUs).toBe(sorted[0]);
        expect(h.maxUs).toBe(sorted[sorted.length - 1]);
        for (const q of [0.5, 0.9, 0.99, 0.999]) {
          const exact = exactQuantile(sorted, q);
          expect(Math.abs(h.quantileUs(q) - exact)).toBeLessThanOrEqual(Math.max(1, exact * 0.01));
        }
      }),
      { numRuns: 200 },
    );
  });
  it('merges like recording everything into one', () => {
    const a = new LatencyHistogram(), b = new LatencyHistogram(), all = new LatencyHistogram();
    for (let i = 1; i < 5000; i++) {
      const v = (i * 7919) % 100_000;
      (i % 2 ? a : b).record(v);
      all.record(v);
    }
    a.merge(b);
    expect(a.count).toBe(all.count);
    expect(a.quantileUs(0.99)).toBe(all.quantileUs(0.99));
    expect(a.minUs).toBe(all.minUs);
    expect(a.maxUs).toBe(all.maxUs);
  });
  it('summarizes in milliseconds and says null when empty', () => {
    const h = new LatencyHistogram();
    expect(summarize(h).p99).toBeNull();
    h.record(1500);
    h.record(2500);
    const s = summarize(h);
    expect(s.min).toBe(1.5);
    expect(s.max).toBe(2.5);
    expect(s.mean).toBe(2);
  });
  it('keeps memory fixed however many values it records', () => {
    const h = new LatencyHistogram();
    for (let i = 0; i < 200_000; i++) h.record(i);
    expect(h.counts.length).toBe(HISTOGRAM_BUCKETS);
    expect(h.count).toBe(200_000);
  });
});
