// Load and latency over a recent window, from successive ResolverStats snapshots.
// These are what an operator looks at to see that a node is busy; they are reported,
// never used to withdraw the node.

import type { ResolverStats } from '../resolver/stats.js';

export interface LoadFigures {
  windowS: number;
  queriesPerSecond: number;
  /** Latency percentiles over the window, ms (bucket-interpolated); undefined with no traffic. */
  latencyMs: { p50?: number; p90?: number; p99?: number; mean?: number };
  inflight: number;
  workers: number;
}

interface Sample {
  atMs: number;
  stats: ResolverStats;
}

function totalQueries(s: ResolverStats): number {
  return s.queriesByProtocol.udp + s.queriesByProtocol.tcp;
}

/** Percentile from bucket counts, interpolating linearly inside the bucket. */
export function percentileMs(bucketsMs: readonly number[], counts: readonly number[], p: number): number | undefined {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total <= 0) return undefined;
  const rank = p * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i];
    if (c > 0 && seen + c >= rank) {
      const lo = i === 0 ? 0 : bucketsMs[i - 1];
      // The +Inf bucket has no upper edge; report its lower edge rather than invent one.
      if (i >= bucketsMs.length) return lo;
      const hi = bucketsMs[i];
      return lo + ((rank - seen) / c) * (hi - lo);
    }
    seen += c;
  }
  return bucketsMs[bucketsMs.length - 1];
}

export class LoadWindow {
  private samples: Sample[] = [];

  constructor(private readonly windowMs: number) {}

  add(atMs: number, stats: ResolverStats): void {
    this.samples.push({ atMs, stats });
    // Keep one sample at or before the window start so the window is always full-width.
    while (this.samples.length > 2 && this.samples[1].atMs <= atMs - this.windowMs) this.samples.shift();
  }

  latest(): ResolverStats | undefined {
    return this.samples[this.samples.length - 1]?.stats;
  }

  figures(): LoadFigures {
    const last = this.samples[this.samples.length - 1];
    const first = this.samples[0];
    if (!last) return { windowS: 0, queriesPerSecond: 0, latencyMs: {}, inflight: 0, workers: 0 };
    const dtS = (last.atMs - first.atMs) / 1000;
    const a = first.stats, b = last.stats;
    const qps = dtS > 0 ? Math.max(0, totalQueries(b) - totalQueries(a)) / dtS : 0;
    const counts = b.latency.counts.map((c, i) => Math.max(0, c - (a === b ? 0 : a.latency.counts[i] ?? 0)));
    const dCount = a === b ? b.latency.count : b.latency.count - a.latency.count;
    const dSum = a === b ? b.latency.sumMs : b.latency.sumMs - a.latency.sumMs;
    const buckets = b.latency.bucketsMs;
    return {
      windowS: Math.round(dtS * 10) / 10,
      queriesPerSecond: Math.round(qps * 10) / 10,
      latencyMs: {
        p50: round3(percentileMs(buckets, counts, 0.5)),
        p90: round3(percentileMs(buckets, counts, 0.9)),
        p99: round3(percentileMs(buckets, counts, 0.99)),
        mean: dCount > 0 ? round3(dSum / dCount) : undefined,
      },
      inflight: b.inflight,
      workers: b.workers,
    };
  }
}

function round3(v: number | undefined): number | undefined {
  return v === undefined ? undefined : Math.round(v * 1000) / 1000;
}
