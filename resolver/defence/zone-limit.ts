// The random-subdomain (water-torture) defence, back side: a cap on the upstream
// queries outstanding at once for one zone (the servers of one delegation), in the
// spirit of unbound's `ratelimit`, BIND's `fetches-per-zone` and PowerDNS
// Recursor's per-query limits. A flood of random names under one zone makes one
// resolution per name; each wants a query to that zone's servers. Past the cap, a
// query waits for one of the zone's slots in a bounded queue (zone-queue.ts): up
// to flood.zone_queue_wait_ms, never beyond its own budget. When the queue is full
// or the wait bound passes, the query is not sent: the transport answers ZONE_LIMIT,
// the iterator gives that resolution SERVFAIL (EDE 0, "zone query limit") or waits
// for its own queries already out, and the slots the rest of the node needs
// (max_inflight, the transport's sockets) stay free for other zones.
//
// Outstanding rather than per second: a zone whose servers answer fast gets as many
// queries a second as it can answer (a burst past the cap waits a millisecond or
// two), while a zone whose servers are dead (every query holds its slot until its
// timeout) is held to `max` queries at a time plus a queue that sheds the excess.

import { performance } from 'node:perf_hooks';
import type { ResolverStats } from '../stats.js';
import type { Upstream, UpstreamOutcome, UpstreamQuestion } from '../transport/upstream.js';
import { DEFAULT_MAX_INFLIGHT } from '../config.js';
import { defaultFloodSettings, type FloodSettings } from './settings.js';
import { ZoneSlots } from './zone-queue.js';

export interface ZoneLimits {
  /** Queries outstanding per zone at most; 0: no limit. */
  max: number;
  /** Queries that may wait for a slot per zone; 0: none (SERVFAIL at once past the cap). */
  queueLength: number;
  /** Longest wait for a slot, ms (also bounded by the query's own budget). */
  waitMs: number;
}

/** The limits in force for `cfg` (read at each query, so a reload takes effect at once). */
export function zoneLimitsOf(cfg: { flood?: FloodSettings; maxInflight?: number }): ZoneLimits {
  const f = cfg.flood ?? defaultFloodSettings();
  // Unset: a tenth of max_inflight, so one zone's cap and queue together hold at most a fifth of it at the defaults.
  const queueLength = f.zoneQueueLength ?? Math.max(1, Math.floor((cfg.maxInflight ?? DEFAULT_MAX_INFLIGHT) / 10));
  return { max: f.maxOutstandingPerZone, queueLength, waitMs: f.zoneQueueWaitMs };
}

export class ZoneLimitedUpstream implements Upstream {
  private readonly slots: ZoneSlots;

  constructor(
    private readonly inner: Upstream,
    /** The limits now. A function, so a reload can change them. */
    private readonly limits: () => ZoneLimits,
    private readonly stats: ResolverStats,
  ) {
    this.slots = new ZoneSlots(() => this.limits().max, stats.defence);
  }

  /** Zones with queries outstanding or waiting now (bounded by the queries in flight). */
  get zones(): number {
    return this.slots.size;
  }

  outstandingFor(zone: string): number {
    return this.slots.outstanding(zone);
  }

  waitingFor(zone: string): number {
    return this.slots.waiting(zone);
  }

  query(q: UpstreamQuestion): Promise<UpstreamOutcome> {
    const lim = this.limits();
    const zone = q.zone;
    if (lim.max <= 0 || zone === undefined) return this.inner.query(q);
    if (this.slots.tryTake(zone)) return this.send(q, zone);
    const d = this.stats.defence;
    // The wait comes out of the linger (what the budget holds beyond this try's timeout),
    // so a query handed a slot still gets its whole timeout, and a timeout the iterator
    // counts against the server is never one our own wait cut short. A query with no
    // linger left (the last try of a budget) waits at most its timeout.
    const spareMs = Math.max(0, q.lingerMs ?? 0);
    const boundMs = Math.min(lim.waitMs, spareMs > 0 ? spareMs : Math.max(1, q.timeoutMs));
    const waiting = this.slots.waiting(zone);
    if (waiting >= lim.queueLength) {
      d.zoneQueueFull++;
      d.zoneLimited++;
      return Promise.resolve(limited(`${this.slots.outstanding(zone)} queries outstanding and ${waiting} waiting for zone "${zone || '.'}" (flood.max_outstanding_per_zone, flood.zone_queue_length)`));
    }
    d.zoneQueued++;
    const t0 = performance.now();
    return this.slots.wait(zone, boundMs, q.signal).then((r) => {
      if (r === 'cancelled') return { kind: 'error', code: 'CLOSED', detail: 'query cancelled' } as const;
      if (r === 'expired') {
        d.zoneQueueExpired++;
        d.zoneLimited++;
        return limited(`no slot of zone "${zone || '.'}" free within ${Math.round(boundMs)} ms (flood.max_outstanding_per_zone, flood.zone_queue_wait_ms)`);
      }
      if (q.signal?.aborted) {
        this.slots.release(zone);
        return { kind: 'error', code: 'CLOSED', detail: 'query cancelled' } as const;
      }
      return this.send(afterWaiting(q, performance.now() - t0), zone);
    });
  }

  private send(q: UpstreamQuestion, zone: string): Promise<UpstreamOutcome> {
    const release = (): void => this.slots.release(zone);
    // A timeout that lingers for a late answer keeps its slot until the late answer settles.
    return this.inner.query(q).then((out) => {
      if (out.kind === 'timeout' && out.late) out.late.then(release, release);
      else release();
      return out;
    }, (err: unknown) => { release(); throw err; });
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

function limited(detail: string): UpstreamOutcome {
  return { kind: 'error', code: 'ZONE_LIMIT', detail };
}

/**
 * The question as sent after waiting `waitedMs` for a slot: the time waited comes
 * out of the query's budget (timeout plus linger, which the iterator sets to what
 * is left of the resolution's), so the wait never stretches the resolution.
 */
function afterWaiting(q: UpstreamQuestion, waitedMs: number): UpstreamQuestion {
  const leftMs = Math.max(1, Math.floor(q.timeoutMs + (q.lingerMs ?? 0) - waitedMs));
  const timeoutMs = Math.max(1, Math.min(q.timeoutMs, leftMs));
  return {
    ...q,
    timeoutMs,
    lingerMs: q.lingerMs === undefined ? undefined : Math.max(0, leftMs - timeoutMs),
    tcpTimeoutMs: Math.max(1, Math.min(q.tcpTimeoutMs, leftMs)),
  };
}
