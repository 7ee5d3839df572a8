import { describe, expect, it } from 'vitest';
import { emptyStats, mergeStats } from '../resolver/stats.js';
import { renderMetrics } from './metrics.js';
import { parseExposition } from '../test/healthcheck/exposition.js';
import { DEFENCE_SCALARS, defenceSnmpValues } from './defence-metrics.js';
import { SCALARS } from './snmp/oids.js';

function stats() {
  const a = emptyStats(), b = emptyStats();
  a.defence.droppedRateLimit = 7; b.defence.droppedRateLimit = 3;
  a.defence.droppedMalformed = 2; b.defence.droppedInflight = 1;
  a.dropped = 9; b.dropped = 4;
  a.defence.rateLimitSlipped = 5;
  a.defence.cookieQueries = 10; a.defence.cookieValid = 6; a.defence.cookieInvalid = 1; a.defence.cookieMalformed = 1;
  b.defence.cookieBadcookie = 2; b.defence.zoneLimited = 40; a.defence.upstreamBadcookie = 1;
  a.defence.negativeCacheBytes = 4096; b.defence.negativeCacheEntries = 12;
  a.defence.negativeQuotaRecycled = 30; b.defence.negativeQuotaRecycled = 12; b.defence.negativeQuotaRecycledRRset = 9;
  a.defence.negativeQuotaZones = 1; b.defence.negativeQuotaZones = 1;
  return mergeStats([a, b]);
}

describe('defence metrics', () => {
  it('Prometheus: drops by reason (summing to dropped_total), slips, cookies, zone limit, negative cache', () => {
    const s = stats();
    const text = renderMetrics({
      stats: s,
      health: { state: 'up', serving: true, degraded: false, draining: false, transitions: 0, probesOk: 0, probesFailed: 0, lastProbeRttMs: undefined },
      canaries: [], load: { windowS: 10, queriesPerSecond: 0, latencyMs: { p50: undefined, p90: undefined, p99: undefined }, inflight: 0, workers: 1 },
      startedAtMs: 0, nowMs: 0, identity: 'n', version: '0',
    } as unknown as Parameters<typeof renderMetrics>[0]);
    const { samples } = parseExposition(text);
    const reasons = ['malformed', 'inflight', 'rate_limit'].map((r) => samples.get(`anycastkit_dropped_by_reason_total{reason="${r}"}`));
    expect(reasons).toEqual([2, 1, 10]);
    expect(samples.get('anycastkit_dropped_total')).toBe(13);
    expect(text).toMatch(/# HELP anycastkit_dropped_total Queries given no answer at all/);
    expect(samples.get('anycastkit_rate_limit_slipped_total')).toBe(5);
    expect(samples.get('anycastkit_cookie_queries_total{server_cookie="none"}')).toBe(2);
    expect(samples.get('anycastkit_cookie_queries_total{server_cookie="valid"}')).toBe(6);
    expect(samples.get('anycastkit_cookie_enforced_total{reply="badcookie"}')).toBe(2);
    expect(samples.get('anycastkit_zone_limited_total')).toBe(40);
    expect(samples.get('anycastkit_upstream_badcookie_total')).toBe(1);
    expect(samples.get('anycastkit_negative_cache_entries')).toBe(12);
    expect(samples.get('anycastkit_negative_cache_bytes')).toBe(4096);
    expect(samples.get('anycastkit_negative_quota_recycled_total{cache="answer"}')).toBe(42);
    expect(samples.get('anycastkit_negative_quota_recycled_total{cache="rrset"}')).toBe(9);
    expect(samples.get('anycastkit_negative_quota_zones')).toBe(2);
  });

  it('SNMP: every akDefence object is served and gets its value', () => {
    for (const d of DEFENCE_SCALARS) expect(SCALARS).toContainEqual(d);
    const v = defenceSnmpValues(stats().defence);
    expect(Object.keys(v).sort()).toEqual(DEFENCE_SCALARS.map((d) => d.name).sort());
    expect(v.akDefenceDroppedRateLimit).toBe(10);
    expect(v.akDefenceNegCacheKibibytes).toBe(4);
    expect(v.akDefenceNegQuotaRecycled).toBe(42);
    expect(v.akDefenceNegQuotaZones).toBe(2);
  });
});
