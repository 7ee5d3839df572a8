import { describe, expect, it } from 'vitest';
import { emptyStats, LATENCY_BUCKETS_MS } from '../resolver/stats.js';
import { LoadWindow, percentileMs } from './load.js';

describe('load window', () => {
  it('interpolates percentiles inside buckets', () => {
    const b = [1, 2, 5];
    expect(percentileMs(b, [0, 0, 0, 0], 0.5)).toBeUndefined();
    expect(percentileMs(b, [10, 0, 0, 0], 0.5)).toBeCloseTo(0.5);
    expect(percentileMs(b, [0, 10, 0, 0], 0.9)).toBeCloseTo(1.9);
    expect(percentileMs(b, [50, 0, 50, 0], 0.99)).toBeCloseTo(2 + 0.98 * 3);
    // Beyond the last edge we report the edge, not an invented number.
    expect(percentileMs(b, [0, 0, 0, 4], 0.5)).toBe(5);
  });

  it('computes qps and latency over the window from counter deltas', () => {
    const w = new LoadWindow(10_000);
    const a = emptyStats();
    a.queriesByProtocol.udp = 1000;
    a.latency.counts[2] = 1000; a.latency.count = 1000; a.latency.sumMs = 800;
    w.add(0, a);
    const b = structuredClone(a);
    b.queriesByProtocol.udp += 500; b.queriesByProtocol.tcp += 500;
    const i10 = LATENCY_BUCKETS_MS.indexOf(10);
    b.latency.counts[i10] += 1000; b.latency.count += 1000; b.latency.sumMs += 8000;
    b.inflight = 7;
    w.add(5000, b);
    const f = w.figures();
    expect(f.windowS).toBe(5);
    expect(f.queriesPerSecond).toBe(200);
    expect(f.latencyMs.mean).toBe(8);
    expect(f.latencyMs.p50).toBeGreaterThan(5);
    expect(f.latencyMs.p50).toBeLessThanOrEqual(10);
    expect(f.inflight).toBe(7);
  });

  it('drops samples older than the window but keeps one at its start', () => {
    const w = new LoadWindow(2000);
    for (let t = 0; t <= 10_000; t += 1000) {
      const s = emptyStats();
      s.queriesByProtocol.udp = t; // 1 query per ms
      w.add(t, s);
    }
    const f = w.figures();
    expect(f.windowS).toBe(2);
    expect(f.queriesPerSecond).toBe(1000);
  });
});
