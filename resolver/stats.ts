// Counters the resolver keeps and the healthcheck exposes (Prometheus, SNMP, /health/detail).
// Plain numbers in one object: cheap to bump on the hot path, cheap to post between
// workers (process.send) and to merge. All counters are monotonic except the gauges
// marked below.

import { addDefenceStats, emptyDefenceStats, type DefenceStats } from './defence/stats.js';

/** Upper bounds of the latency histogram buckets, in milliseconds (last bucket is +Inf). */
import { addOpsStats, emptyOpsStats, type OpsStats } from './control/types.js';

export const LATENCY_BUCKETS_MS = [0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000] as const;

export type Protocol = 'udp' | 'tcp';
/** Coarse qtype classes keep the metric cardinality fixed. */
export type QtypeClass = 'A' | 'AAAA' | 'PTR' | 'MX' | 'TXT' | 'NS' | 'SOA' | 'CNAME' | 'SRV' | 'HTTPS' | 'ANY' | 'other';
export const QTYPE_CLASSES: readonly QtypeClass[] = ['A', 'AAAA', 'PTR', 'MX', 'TXT', 'NS', 'SOA', 'CNAME', 'SRV', 'HTTPS', 'ANY', 'other'];
export const RCODE_LABELS = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'other'] as const;
export type RcodeLabel = (typeof RCODE_LABELS)[number];

export interface ResolverStats {
  /** Answers sent, by rcode. */
  answersByRcode: Record<RcodeLabel, number>;
  queriesByProtocol: Record<Protocol, number>;
  queriesByQtype: Record<QtypeClass, number>;
  cacheHits: number;
  cacheMisses: number;
  /** Answers served from expired entries (serve-stale, RFC 8767; resolver/stale/). */
  cacheStale: number;
  /** Background refreshes of answers asked for in the last 10% of their TTL (resolver/prefetch.ts). */
  cachePrefetches: number;
  upstreamQueries: number;
  upstreamTimeouts: number;
  /** Upstream answers that were malformed, mismatched, lame or otherwise unusable. */
  upstreamErrors: number;
  /** Background probes sent to dead servers (resolver/selection/prober.ts). */
  upstreamProbes: number;
  /** Questions answered SERVFAIL at once because every server of the zone was known dead. */
  deadZoneServfails: number;
  /** Queries given no answer at all: the sum of defence.dropped* (malformed, in-flight limits, rate limiting). */
  dropped: number;
  /** Queries refused because the client is outside --allow. */
  refusedAcl: number;
  /** UDP replies the node made but could not send (socket buffer full, send error): resolver/listener/udp.ts. */
  udpRepliesUnsent: number;
  /** Gauge: resolutions in flight now. */
  inflight: number;
  /** Gauge: entries in the answer cache. */
  cacheEntries: number;
  /** Gauge: bytes held by the answer cache. */
  cacheBytes: number;
  /** Client-observed latency (receipt to send), cumulative-free bucket counts. */
  latency: { bucketsMs: readonly number[]; counts: number[]; sumMs: number; count: number };
  /** Workers whose figures are included. */
  workers: number;
  /** Rate limiting, cookies, flood defence and drop reasons (resolver/defence/stats.ts). */
  defence: DefenceStats;
  /** Reloads, flushes and warm start (resolver/control/ops.ts). */
  ops: OpsStats;
}

function zeroRecord<K extends string>(keys: readonly K[]): Record<K, number> {
  const r = {} as Record<K, number>;
  for (const k of keys) r[k] = 0;
  return r;
}

export function emptyStats(): ResolverStats {
  return {
    answersByRcode: zeroRecord(RCODE_LABELS),
    queriesByProtocol: { udp: 0, tcp: 0 },
    queriesByQtype: zeroRecord(QTYPE_CLASSES),
    cacheHits: 0, cacheMisses: 0, cacheStale: 0, cachePrefetches: 0,
    upstreamQueries: 0, upstreamTimeouts: 0, upstreamErrors: 0, upstreamProbes: 0, deadZoneServfails: 0,
    dropped: 0, refusedAcl: 0, udpRepliesUnsent: 0,
    inflight: 0, cacheEntries: 0, cacheBytes: 0,
    latency: { bucketsMs: LATENCY_BUCKETS_MS, counts: new Array(LATENCY_BUCKETS_MS.length + 1).fill(0), sumMs: 0, count: 0 },
    workers: 1,
    defence: emptyDefenceStats(),
    ops: emptyOpsStats(),
  };
}

/** Sums several workers' snapshots (gauges add up too: each worker has its own cache). */
export function mergeStats(parts: ResolverStats[]): ResolverStats {
  const out = emptyStats();
  out.workers = 0;
  for (const s of parts) {
    for (const k of RCODE_LABELS) out.answersByRcode[k] += s.answersByRcode[k] ?? 0;
    for (const k of QTYPE_CLASSES) out.queriesByQtype[k] += s.queriesByQtype[k] ?? 0;
    out.queriesByProtocol.udp += s.queriesByProtocol.udp;
    out.queriesByProtocol.tcp += s.queriesByProtocol.tcp;
    out.cacheHits += s.cacheHits; out.cacheMisses += s.cacheMisses; out.cacheStale += s.cacheStale;
    out.upstreamQueries += s.upstreamQueries; out.upstreamTimeouts += s.upstreamTimeouts; out.upstreamErrors += s.upstreamErrors;
    // ?? 0: a worker built before these counters existed sends none.
    out.cachePrefetches += s.cachePrefetches ?? 0; out.upstreamProbes += s.upstreamProbes ?? 0; out.deadZoneServfails += s.deadZoneServfails ?? 0;
    out.dropped += s.dropped; out.refusedAcl += s.refusedAcl; out.udpRepliesUnsent += s.udpRepliesUnsent ?? 0;
    out.inflight += s.inflight; out.cacheEntries += s.cacheEntries; out.cacheBytes += s.cacheBytes;
    s.latency.counts.forEach((c, i) => { out.latency.counts[i] += c; });
    out.latency.sumMs += s.latency.sumMs;
    out.latency.count += s.latency.count;
    out.workers += s.workers;
    addDefenceStats(out.defence, s.defence);
    addOpsStats(out.ops, s.ops);
  }
  return out;
}

export function rcodeLabel(rcode: number): RcodeLabel {
  return RCODE_LABELS[rcode] ?? 'other';
}

const QTYPE_BY_NUMBER: Record<number, QtypeClass> = {
  1: 'A', 28: 'AAAA', 12: 'PTR', 15: 'MX', 16: 'TXT', 2: 'NS', 6: 'SOA', 5: 'CNAME', 33: 'SRV', 65: 'HTTPS', 255: 'ANY',
};

export function qtypeClass(qtype: number): QtypeClass {
  return QTYPE_BY_NUMBER[qtype] ?? 'other';
}

/** Index of the latency bucket for a duration. */
export function latencyBucket(ms: number): number {
  for (let i = 0; i < LATENCY_BUCKETS_MS.length; i++) if (ms <= LATENCY_BUCKETS_MS[i]) return i;
  return LATENCY_BUCKETS_MS.length;
}
