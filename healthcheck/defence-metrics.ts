// The resolver's defence counters (resolver/defence/stats.ts) as the healthcheck
// exposes them: Prometheus families, and the MIB's akDefence group (akObjects 9).
// One table of definitions feeds the SNMP object list (healthcheck/snmp/oids.ts)
// and the values the node pushes into the agent, so the two cannot drift apart.

import type { DefenceStats } from '../resolver/defence/stats.js';

/** The shape of a scalar in healthcheck/snmp/oids.ts (restated here: oids.ts imports this file). */
export interface DefenceScalarDef {
  name: string;
  suffix: string;
  kind: 'Counter64' | 'Gauge32';
}

interface Def {
  snmp: string;
  field: keyof DefenceStats;
  kind: 'Counter64' | 'Gauge32';
  /** Gauge32 values are divided by this (bytes to KiB). */
  divide?: number;
}

const DEFS: readonly Def[] = [
  { snmp: 'akDefenceDroppedMalformed', field: 'droppedMalformed', kind: 'Counter64' },
  { snmp: 'akDefenceDroppedInflight', field: 'droppedInflight', kind: 'Counter64' },
  { snmp: 'akDefenceDroppedRateLimit', field: 'droppedRateLimit', kind: 'Counter64' },
  { snmp: 'akDefenceRateLimitSlipped', field: 'rateLimitSlipped', kind: 'Counter64' },
  { snmp: 'akDefenceRateLimitClients', field: 'rateLimitClients', kind: 'Gauge32' },
  { snmp: 'akDefenceCookieQueries', field: 'cookieQueries', kind: 'Counter64' },
  { snmp: 'akDefenceCookieValid', field: 'cookieValid', kind: 'Counter64' },
  { snmp: 'akDefenceCookieInvalid', field: 'cookieInvalid', kind: 'Counter64' },
  { snmp: 'akDefenceCookieMalformed', field: 'cookieMalformed', kind: 'Counter64' },
  { snmp: 'akDefenceCookieBadcookie', field: 'cookieBadcookie', kind: 'Counter64' },
  { snmp: 'akDefenceCookieEnforceTc', field: 'cookieEnforceTc', kind: 'Counter64' },
  { snmp: 'akDefenceZoneLimited', field: 'zoneLimited', kind: 'Counter64' },
  { snmp: 'akDefenceUpstreamBadcookie', field: 'upstreamBadcookie', kind: 'Counter64' },
  { snmp: 'akDefenceNegCacheEntries', field: 'negativeCacheEntries', kind: 'Gauge32' },
  { snmp: 'akDefenceNegCacheKibibytes', field: 'negativeCacheBytes', kind: 'Gauge32', divide: 1024 },
  // The per-zone cap's wait queue (resolver/defence/zone-queue.ts).
  { snmp: 'akDefenceZoneQueued', field: 'zoneQueued', kind: 'Counter64' },
  { snmp: 'akDefenceZoneQueueFull', field: 'zoneQueueFull', kind: 'Counter64' },
  { snmp: 'akDefenceZoneQueueExpired', field: 'zoneQueueExpired', kind: 'Counter64' },
  { snmp: 'akDefenceZoneQueueWaiting', field: 'zoneQueueWaiting', kind: 'Gauge32' },
  { snmp: 'akDefenceNegQuotaRecycled', field: 'negativeQuotaRecycled', kind: 'Counter64' },
  { snmp: 'akDefenceNegQuotaRecycledRRset', field: 'negativeQuotaRecycledRRset', kind: 'Counter64' },
  { snmp: 'akDefenceNegQuotaZones', field: 'negativeQuotaZones', kind: 'Gauge32' },
];

/** The akDefence scalars, below the base OID at 1.9.N. */
export const DEFENCE_SCALARS: readonly DefenceScalarDef[] = DEFS.map((d, i) => ({ name: d.snmp, suffix: `1.9.${i + 1}`, kind: d.kind }));

/** Values for the akDefence scalars. */
export function defenceSnmpValues(d: DefenceStats | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const def of DEFS) out[def.snmp] = (d?.[def.field] ?? 0) / (def.divide ?? 1);
  return out;
}

interface PromOut {
  family(name: string, type: 'counter' | 'gauge', help: string): void;
  sample(name: string, value: number, labels?: Record<string, string>): void;
  one(name: string, type: 'counter' | 'gauge', help: string, value: number): void;
}

/** The Prometheus families of the defences. */
export function renderDefenceMetrics(o: PromOut, P: string, d: DefenceStats | undefined): void {
  const v = (k: keyof DefenceStats) => d?.[k] ?? 0;
  o.family(`${P}dropped_by_reason_total`, 'counter', 'Queries given no answer, by reason: malformed (short, QR=1, or malformed from outside --allow), inflight (max_inflight questions or 512 waiters on one), rate_limit (client prefix over rate_limit.qps).');
  o.sample(`${P}dropped_by_reason_total`, v('droppedMalformed'), { reason: 'malformed' });
  o.sample(`${P}dropped_by_reason_total`, v('droppedInflight'), { reason: 'inflight' });
  o.sample(`${P}dropped_by_reason_total`, v('droppedRateLimit'), { reason: 'rate_limit' });
  o.one(`${P}rate_limit_slipped_total`, 'counter', 'Empty TC=1 replies sent to clients over the rate limit (rate_limit.slip).', v('rateLimitSlipped'));
  o.one(`${P}rate_limit_clients`, 'gauge', 'Client prefixes the rate limiter holds a bucket for (at most rate_limit.max_clients).', v('rateLimitClients'));
  o.family(`${P}cookie_queries_total`, 'counter', 'Queries with a DNS COOKIE option, by what their server cookie was: none (client cookie only), valid, invalid, malformed (bad length, answered FORMERR).');
  const valid = v('cookieValid'), invalid = v('cookieInvalid'), malformed = v('cookieMalformed');
  o.sample(`${P}cookie_queries_total`, Math.max(0, v('cookieQueries') - valid - invalid - malformed), { server_cookie: 'none' });
  o.sample(`${P}cookie_queries_total`, valid, { server_cookie: 'valid' });
  o.sample(`${P}cookie_queries_total`, invalid, { server_cookie: 'invalid' });
  o.sample(`${P}cookie_queries_total`, malformed, { server_cookie: 'malformed' });
  o.family(`${P}cookie_enforced_total`, 'counter', 'Replies sent because cookies.enforce is on: badcookie (BADCOOKIE, no valid server cookie), truncated (TC=1, no cookie at all).');
  o.sample(`${P}cookie_enforced_total`, v('cookieBadcookie'), { reply: 'badcookie' });
  o.sample(`${P}cookie_enforced_total`, v('cookieEnforceTc'), { reply: 'truncated' });
  o.one(`${P}zone_limited_total`, 'counter', 'Upstream queries not sent because their zone was at flood.max_outstanding_per_zone and no wait was possible (the resolution got SERVFAIL); the sum of zone_limited_by_reason_total.', v('zoneLimited'));
  o.family(`${P}zone_limited_by_reason_total`, 'counter', 'Upstream queries not sent by the per-zone cap, by reason: queue_full (flood.zone_queue_length already waiting), wait_expired (no slot within flood.zone_queue_wait_ms or the query budget).');
  o.sample(`${P}zone_limited_by_reason_total`, v('zoneQueueFull'), { reason: 'queue_full' });
  o.sample(`${P}zone_limited_by_reason_total`, v('zoneQueueExpired'), { reason: 'wait_expired' });
  o.one(`${P}zone_queued_total`, 'counter', 'Upstream queries that found their zone at flood.max_outstanding_per_zone and waited for a slot.', v('zoneQueued'));
  o.one(`${P}zone_queue_waiting`, 'gauge', 'Upstream queries waiting for a slot of their zone now.', v('zoneQueueWaiting'));
  o.one(`${P}upstream_badcookie_total`, 'counter', 'BADCOOKIE answers from authoritative servers (the query was repeated with the new cookie).', v('upstreamBadcookie'));
  o.one(`${P}negative_cache_entries`, 'gauge', 'Negative answers and SERVFAILs in their own share of the answer cache (flood.negative_cache_share).', v('negativeCacheEntries'));
  o.one(`${P}negative_cache_bytes`, 'gauge', 'Bytes held by the negative share of the answer cache.', v('negativeCacheBytes'));
  o.family(`${P}negative_quota_recycled_total`, 'counter', 'Negative answers (NXDOMAIN, NODATA, SERVFAIL) dropped from a cache to keep their zone within flood.max_negative_per_zone (the zone\'s oldest made room for its newest), by cache: answer (the answer cache) or rrset (the iterator\'s RRset cache).');
  o.sample(`${P}negative_quota_recycled_total`, v('negativeQuotaRecycled'), { cache: 'answer' });
  o.sample(`${P}negative_quota_recycled_total`, v('negativeQuotaRecycledRRset'), { cache: 'rrset' });
  o.one(`${P}negative_quota_zones`, 'gauge', 'Zones holding their full flood.max_negative_per_zone of negative answers in the answer cache now (a random-subdomain flood in progress, or a zone with that many distinct negative names).', v('negativeQuotaZones'));
}
