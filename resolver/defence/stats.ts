// Counters of the defences (rate limiting, cookies, the flood defence) and of the
// reasons a query is dropped. Part of ResolverStats as `defence`; plain numbers,
// summed over workers by mergeDefenceStats. Exposed by the healthcheck as
// Prometheus metrics and in the MIB's akDefence group.

export interface DefenceStats {
  /** Dropped: shorter than a header, QR=1, or malformed from a client outside --allow. */
  droppedMalformed: number;
  /** Dropped: max_inflight distinct questions in flight, or 512 clients already waiting on one question. */
  droppedInflight: number;
  /** Dropped: the client's prefix was over rate_limit.qps (and this query did not slip). */
  droppedRateLimit: number;
  /** Empty TC=1 replies sent to clients over the rate limit (rate_limit.slip). */
  rateLimitSlipped: number;
  /** Queries that carried a COOKIE option. */
  cookieQueries: number;
  /** ... with a valid server cookie (made by this service's secret, current or previous). */
  cookieValid: number;
  /** ... with a server cookie that was not valid (another secret, expired, forged, or another client address). */
  cookieInvalid: number;
  /** ... with a COOKIE option of a bad length (answered FORMERR). */
  cookieMalformed: number;
  /** BADCOOKIE replies sent (cookies.enforce, UDP, no valid server cookie). */
  cookieBadcookie: number;
  /** Empty TC=1 replies sent because cookies.enforce is on and a UDP query had no cookie. */
  cookieEnforceTc: number;
  /**
   * Upstream queries not sent because their zone had flood.max_outstanding_per_zone
   * queries outstanding and no wait was possible: zoneQueueFull + zoneQueueExpired.
   */
  zoneLimited: number;
  /** Upstream queries that found their zone at its cap and waited for a slot (resolver/defence/zone-queue.ts). */
  zoneQueued: number;
  /** ... not sent: the zone's wait queue already held flood.zone_queue_length queries. */
  zoneQueueFull: number;
  /** ... not sent: no slot within flood.zone_queue_wait_ms (or the query's own budget). */
  zoneQueueExpired: number;
  /** Gauge: queries waiting for a zone slot now. */
  zoneQueueWaiting: number;
  /** BADCOOKIE answers from authoritative servers (the query is repeated once with the new cookie). */
  upstreamBadcookie: number;
  /** Gauge: negative answers (NXDOMAIN, NODATA) held in their own share of the answer cache. */
  negativeCacheEntries: number;
  /** Gauge: bytes those hold. */
  negativeCacheBytes: number;
  /** Gauge: client prefixes the rate limiter holds a bucket for. */
  rateLimitClients: number;
  /** Negative answers dropped from the answer cache to keep their zone within flood.max_negative_per_zone. */
  negativeQuotaRecycled: number;
  /** ... from the RRset cache (the iterator's negative entries). */
  negativeQuotaRecycledRRset: number;
  /** Gauge: zones holding their full flood.max_negative_per_zone in the answer cache now. */
  negativeQuotaZones: number;
}

export function emptyDefenceStats(): DefenceStats {
  return {
    droppedMalformed: 0, droppedInflight: 0, droppedRateLimit: 0, rateLimitSlipped: 0,
    cookieQueries: 0, cookieValid: 0, cookieInvalid: 0, cookieMalformed: 0, cookieBadcookie: 0, cookieEnforceTc: 0,
    zoneLimited: 0, zoneQueued: 0, zoneQueueFull: 0, zoneQueueExpired: 0, zoneQueueWaiting: 0, upstreamBadcookie: 0,
    negativeCacheEntries: 0, negativeCacheBytes: 0, rateLimitClients: 0,
    negativeQuotaRecycled: 0, negativeQuotaRecycledRRset: 0, negativeQuotaZones: 0,
  };
}

/** Adds `b` into `a` (every field is a sum over workers, gauges included). */
export function addDefenceStats(a: DefenceStats, b: DefenceStats | undefined): void {
  if (!b) return;
  for (const k of Object.keys(a) as Array<keyof DefenceStats>) a[k] += b[k] ?? 0;
}

/** Copies the zone-queue counters (kept by the back's ZoneLimitedUpstream) into the front's stats. */
export function copyZoneQueueStats(to: DefenceStats, from: DefenceStats | undefined): void {
  to.zoneQueued = from?.zoneQueued ?? 0;
  to.zoneQueueFull = from?.zoneQueueFull ?? 0;
  to.zoneQueueExpired = from?.zoneQueueExpired ?? 0;
  to.zoneQueueWaiting = from?.zoneQueueWaiting ?? 0;
}
