// The random-subdomain (water-torture) defence, back side: a cap on the upstream
// queries outstanding at once for one zone (the servers of one delegation), in the
// spirit of unbound's `ratelimit` and PowerDNS Recursor's per-query limits. A flood
// of random names under one zone makes one resolution per name; each wants a query
// to that zone's servers. Past the cap, a query is not sent: the transport answers
// ZONE_LIMIT at once, the iterator gives that resolution SERVFAIL (EDE 0, "zone
// query limit") or waits for its own queries already out, and the slots the rest of
// the node needs (max_inflight, the transport's sockets) stay free for other zones.
//
// Outstanding rather than per second: a zone whose servers answer fast gets as many
// queries a second as it can answer, while a zone whose servers are dead (every
// query holds its slot until its timeout) is held to `max` queries at a time.

import type { ResolverStats } from '../stats.js';
import type { Upstream, UpstreamOutcome, UpstreamQuestion } from '../transport/upstream.js';

export class ZoneLimitedUpstream implements Upstream {
  private readonly outstanding = new Map<string, number>();

  constructor(
    private readonly inner: Upstream,
    /** Queries outstanding per zone at most; 0: no limit. A function, so a reload can change it. */
    private readonly max: () => number,
    private readonly stats: ResolverStats,
  ) {}

  /** Zones with queries outstanding now (the table never holds more: bounded by the queries in flight). */
  get zones(): number {
    return this.outstanding.size;
  }

  outstandingFor(zone: string): number {
    return this.outstanding.get(zone) ?? 0;
  }

  query(q: UpstreamQuestion): Promise<UpstreamOutcome> {
    const max = this.max();
    const zone = q.zone;
    if (max <= 0 || zone === undefined) return this.inner.query(q);
    const n = this.outstanding.get(zone) ?? 0;
    if (n >= max) {
      this.stats.defence.zoneLimited++;
      return Promise.resolve({ kind: 'error', code: 'ZONE_LIMIT', detail: `${n} queries outstanding for zone "${zone || '.'}" (flood.max_outstanding_per_zone)` });
    }
    this.outstanding.set(zone, n + 1);
    const release = (): void => {
      const m = (this.outstanding.get(zone) ?? 1) - 1;
      if (m <= 0) this.outstanding.delete(zone); else this.outstanding.set(zone, m);
    };
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
