// Prefetch: an answer asked for in the last 10% of its TTL is resolved again in
// the background while the client is answered from the cache, so a popular name
// is refreshed before it expires and no client waits for its resolution (unbound's
// `prefetch: yes`, which uses the same 10%).
//
// Once per entry, not once per query: the entry that triggered it is remembered
// (a WeakSet, so nothing is kept for entries the cache dropped), and every later
// hit on it in the window is a plain hit. The fresh answer replaces the entry in
// the cache; a failed refresh (SERVFAIL) leaves it in place to expire as usual
// (and to be served stale after that, resolver/stale/). Stale copies are never
// prefetched: their recheck interval is what paces new attempts. At most
// `maxInflight` refreshes run at once (a tenth of max_inflight); past that, a due
// entry is simply not refreshed early. The front checks the 10% window on the hit
// path with two subtractions; this module is reached only inside the window.

import { RCODE } from '../dns/constants.js';
import type { AnswerEntry } from './fastpath/entry.js';
import type { Resolution, ResolveRequest, ResolveResult } from './iterator/types.js';
import { StaleAnswers } from './stale/serve-stale.js';

export class Prefetcher {
  /** Refreshes started (the cachePrefetches metric). */
  started = 0;
  private inflight = 0;

  constructor(
    readonly enabled: boolean,
    private readonly maxInflight: number,
  ) {}

  /** Refreshes running now. */
  get pending(): number {
    return this.inflight;
  }

  /**
   * True once for an entry inside its prefetch window (the caller checked the
   * window): on, positive or negative answer, not stale, not refreshed yet, and a
   * refresh slot free.
   */
  due(e: AnswerEntry): boolean {
    if (!this.enabled || this.inflight >= this.maxInflight) return false;
    if (e.rcode !== RCODE.NOERROR && e.rcode !== RCODE.NXDOMAIN) return false;
    if (StaleAnswers.isStale(e) || e.prefetched) return false;
    e.markPrefetched();
    return true;
  }

  /** Resolves `req` in the background; `store` gets the result unless it is SERVFAIL or the resolution threw. */
  start(req: ResolveRequest, resolution: Resolution, store: (res: ResolveResult) => void, onError: (err: unknown) => void): void {
    this.started++;
    this.inflight++;
    let p: Promise<ResolveResult>;
    try {
      p = resolution.resolve(req);
    } catch (err) {
      p = Promise.reject(err);
    }
    p.then(
      (res) => { if (res.rcode !== RCODE.SERVFAIL) store(res); },
      onError,
    ).finally(() => { this.inflight--; });
  }
}
