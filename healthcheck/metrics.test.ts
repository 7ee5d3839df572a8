import { describe, expect, it } from 'vitest';
import { emptyStats, mergeStats } from '../resolver/stats.js';
import { escapeLabel, renderMetrics, type MetricsInput } from './metrics.js';
import { parseExposition } from '../test/healthcheck/exposition.js';

function input(): MetricsInput {
  const w1 = emptyStats(), w2 = emptyStats();
  w1.queriesByProtocol.udp = 10; w2.queriesByProtocol.udp = 5; w2.queriesByProtocol.tcp = 2;
  w1.answersByRcode.NOERROR = 9; w2.answersByRcode.SERVFAIL = 3;
  w1.queriesByQtype.A = 8; w2.queriesByQtype.other = 4;
  w1.latency.counts[0] = 4; w1.latency.counts[3] = 2; w2.latency.counts[14] = 1;
  w1.latency.count = 6; w2.latency.count = 1; w1.latency.sumMs = 3; w2.latency.sumMs = 9000;
  w1.cacheBytes = 1024; w2.cacheEntries = 3; w1.inflight = 2;
  w1.cacheStale = 4; w2.cacheStale = 1; w1.cachePrefetches = 6; w2.upstreamProbes = 2; w1.deadZoneServfails = 7; w2.deadZoneServfails = 1;
  w1.udpRepliesUnsent = 2; w2.udpRepliesUnsent = 1;
  return {
    stats: mergeStats([w1, w2]),
    health: { state: 'up', serving: true, degraded: false, draining: false, transitions: 1, probesOk: 12, probesFailed: 1, lastProbeRttMs: 0.4 },
    canaries: [{ name: 'example.com', ok: 3, failed: 1, lastOk: true }],
    load: { windowS: 10, queriesPerSecond: 1.7, latencyMs: { p50: 0.2, p90: 2, p99: undefined }, inflight: 2, workers: 2 },
    eventLoopDelayP99Ms: 12,
    startedAtMs: 1_700_000_000_000, nowMs: 1_700_000_001_000, identity: 'node-a "1"', version: '0.1.0',
  };
}

describe('Prometheus exposition', () => {
  it('renders well-formed text with every family the issue lists, summed over workers', () => {
    const { samples, types } = parseExposition(renderMetrics(input()));
    expect(samples.get('anycastkit_workers')).toBe(2);
    expect(samples.get('anycastkit_queries_total{protocol="udp"}')).toBe(15);
    expect(samples.get('anycastkit_queries_total{protocol="tcp"}')).toBe(2);
    expect(samples.get('anycastkit_responses_total{rcode="NOERROR"}')).toBe(9);
    expect(samples.get('anycastkit_responses_total{rcode="SERVFAIL"}')).toBe(3);
    expect(samples.get('anycastkit_queries_by_qtype_total{qtype="A"}')).toBe(8);
    expect(samples.get('anycastkit_queries_by_qtype_total{qtype="other"}')).toBe(4);
    for (const f of ['cache_hits_total', 'cache_misses_total', 'cache_stale_total', 'cache_prefetches_total', 'upstream_probes_total', 'dead_zone_servfails_total', 'upstream_queries_total', 'upstream_timeouts_total', 'upstream_errors_total', 'inflight_queries', 'cache_entries', 'cache_bytes']) {
      expect(samples.has(`anycastkit_${f}`), f).toBe(true);
    }
    expect(samples.get('anycastkit_cache_bytes')).toBe(1024);
    expect(samples.get('anycastkit_udp_replies_unsent_total')).toBe(3);
    expect(samples.get('anycastkit_cache_stale_total')).toBe(5);
    expect(samples.get('anycastkit_cache_prefetches_total')).toBe(6);
    expect(samples.get('anycastkit_upstream_probes_total')).toBe(2);
    expect(samples.get('anycastkit_dead_zone_servfails_total')).toBe(8);
    expect(types.get('anycastkit_response_duration_seconds')).toBe('histogram');
    expect(samples.get('anycastkit_health_state{state="up"}')).toBe(1);
    expect(samples.get('anycastkit_health_state{state="down"}')).toBe(0);
    expect(samples.get('anycastkit_health_probes_total{result="failed"}')).toBe(1);
    expect(samples.get('anycastkit_health_canary_checks_total{name="example.com",result="failed"}')).toBe(1);
    expect(samples.get('anycastkit_load_latency_seconds{quantile="0.99"}')).toBeNaN();
    expect(samples.get('anycastkit_info{identity="node-a \\"1\\"",version="0.1.0"}')).toBe(1);
  });

  it('emits a cumulative histogram in seconds whose +Inf bucket equals the count', () => {
    const { samples } = parseExposition(renderMetrics(input()));
    const buckets = [...samples.entries()].filter(([k]) => k.startsWith('anycastkit_response_duration_seconds_bucket'));
    expect(buckets[0][0]).toBe('anycastkit_response_duration_seconds_bucket{le="0.00025"}');
    let prev = 0;
    for (const [, v] of buckets) { expect(v).toBeGreaterThanOrEqual(prev); prev = v; }
    expect(samples.get('anycastkit_response_duration_seconds_bucket{le="+Inf"}')).toBe(7);
    expect(samples.get('anycastkit_response_duration_seconds_count')).toBe(7);
    expect(samples.get('anycastkit_response_duration_seconds_sum')).toBeCloseTo(9.003);
    expect(samples.get('anycastkit_response_duration_seconds_bucket{le="5"}')).toBe(6);
  });

  it('escapes label values', () => {
    expect(escapeLabel('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
  });
});
