// The per-zone cap's wait-queue counters (resolver/defence/zone-queue.ts) in
// Prometheus and SNMP, summed over workers.

import { describe, expect, it } from 'vitest';
import { emptyStats, mergeStats } from '../resolver/stats.js';
import { renderMetrics } from './metrics.js';
import { parseExposition } from '../test/healthcheck/exposition.js';
import { defenceSnmpValues } from './defence-metrics.js';

function stats() {
  const a = emptyStats(), b = emptyStats();
  a.defence.zoneQueued = 100; b.defence.zoneQueued = 23;
  a.defence.zoneQueueFull = 4; b.defence.zoneQueueExpired = 2;
  a.defence.zoneLimited = 4; b.defence.zoneLimited = 2;
  a.defence.zoneQueueWaiting = 5; b.defence.zoneQueueWaiting = 1;
  a.udpRepliesUnsent = 3;
  return mergeStats([a, b]);
}

describe('zone-queue metrics', () => {
  it('Prometheus: queued, refusals by reason summing to zone_limited_total, waiting gauge', () => {
    const text = renderMetrics({
      stats: stats(),
      health: { state: 'up', serving: true, degraded: false, draining: false, transitions: 0, probesOk: 0, probesFailed: 0, lastProbeRttMs: undefined },
      canaries: [], load: { windowS: 10, queriesPerSecond: 0, latencyMs: { p50: undefined, p90: undefined, p99: undefined }, inflight: 0, workers: 1 },
      startedAtMs: 0, nowMs: 0, identity: 'n', version: '0',
    } as unknown as Parameters<typeof renderMetrics>[0]);
    const { samples } = parseExposition(text);
    expect(samples.get('anycastkit_zone_queued_total')).toBe(123);
    expect(samples.get('anycastkit_zone_limited_by_reason_total{reason="queue_full"}')).toBe(4);
    expect(samples.get('anycastkit_zone_limited_by_reason_total{reason="wait_expired"}')).toBe(2);
    expect(samples.get('anycastkit_zone_limited_total')).toBe(6);
    expect(samples.get('anycastkit_zone_queue_waiting')).toBe(6);
    expect(text).toMatch(/# TYPE anycastkit_zone_queue_waiting gauge/);
    expect(samples.get('anycastkit_udp_replies_unsent_total')).toBe(3);
  });

  it('SNMP: the akDefenceZoneQueue* values', () => {
    const v = defenceSnmpValues(stats().defence);
    expect(v).toMatchObject({ akDefenceZoneQueued: 123, akDefenceZoneQueueFull: 4, akDefenceZoneQueueExpired: 2, akDefenceZoneQueueWaiting: 6, akDefenceZoneLimited: 6 });
  });
});
