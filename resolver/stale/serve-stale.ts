// Serve-stale (RFC 8767): when the authoritative servers of a name fail or do not
// answer in time, a client gets the expired answer the node still holds instead
// of SERVFAIL, with TTL 30 and Extended DNS Error 3 ("Stale Answer", RFC 8914).
// An anycast node exists to keep answering; an authority outage should not take
// every name it served with it the moment their TTLs run out. On by default.
//
// How it runs (the front calls in at three points, resolver/front.ts):
//   - The answer cache keeps an expired entry for `max_stale` seconds
//     (AnswerCache keepExpiredMs); hits never see it.
//   - A miss that finds such an entry (peekExpired) resolves as usual, and this
//     module arms the client-response timer (`client_timeout_ms`, 1.8 s as
//     RFC 8767 section 5 suggests and unbound's serve-expired-client-timeout):
//     when it fires before the resolution settles, the clients waiting get the
//     stale answer. The resolution carries on and its answer, if it comes, replaces
//     the stale one in the cache.
//   - A resolution that ends in SERVFAIL (timeouts, lame or dead servers: a dead
//     zone ends in a few ms, see selection/prober.ts) is answered from the stale
//     entry at once, and the SERVFAIL is not cached over it.
// Whenever a stale answer goes out, a copy with every TTL set to `reply_ttl` and
// EDE 3 is stored for `recheck_interval` seconds (RFC 8767's "failure recheck
// timer"): further questions are answered from it by the fast path without a new
// attempt, so a dead authority is not asked for the same name on every query.
// When it runs out the next question tries the authorities again (and gets the
// stale answer again, after the timer, if they still fail). Stale data is never
// served more than `max_stale` seconds past its original expiry, and SERVFAIL
// answers are never served stale.

import { ChurnMap } from '../../common/churn-map.js';
import { RCODE } from '../../dns/constants.js';
import { AnswerEntry } from '../fastpath/entry.js';

export interface ServeStaleSettings {
  /** Serve expired answers when the authorities fail (RFC 8767). */
  enabled: boolean;
  /** Wait this long for a fresh answer before answering stale (0: answer stale only once resolution fails). */
  clientTimeoutMs: number;
  /** Seconds past its expiry an answer may still be served stale. */
  maxStaleS: number;
  /** TTL shown on every record of a stale answer. */
  replyTtl: number;
  /** Seconds a stale answer is served without a new attempt after one failed. */
  recheckS: number;
}

export function defaultServeStaleSettings(): ServeStaleSettings {
  return { enabled: true, clientTimeoutMs: 1800, maxStaleS: 86_400, replyTtl: 30, recheckS: 30 };
}

/** EDE info code 3, "Stale Answer" (RFC 8914 section 4.4). */
export const EDE_STALE_ANSWER = 3;

/**
 * The EDE option (code 15, length 2, info code 3, no text) carried by every stale
 * answer. Whether an entry is a stale copy is its `stale` flag (kept in the answer
 * cache's record header), not this buffer's identity: the cache hands out views of
 * its own copy.
 */
export const STALE_EDE: Buffer = Buffer.from([0, 15, 0, 2, 0, EDE_STALE_ANSWER]);

/** What identifies a resolution here: the front's wait group (its id is unique in the process). */
export interface GroupKey {
  readonly id: number;
}

/** A resolution that started with a stale answer in hand. */
interface Pending {
  entry: AnswerEntry;
  hash: number;
  timer: NodeJS.Timeout | undefined;
}

export class StaleAnswers {
  readonly s: ServeStaleSettings;
  /** Stale answers sent (the cacheStale metric). */
  served = 0;
  /** By wait-group id; a ChurnMap, so an answered group's objects die young (common/churn-map.ts). */
  private readonly pending = new ChurnMap<number, Pending>();

  constructor(s: ServeStaleSettings) {
    this.s = s;
  }

  /** How long the answer cache keeps expired entries (ms). */
  get keepExpiredMs(): number {
    return this.s.enabled ? this.s.maxStaleS * 1000 : 0;
  }

  /** `e` if it may be served stale at `nowMs`: on, an answer or a negative answer, within max_stale. */
  usable(e: AnswerEntry | undefined, nowMs: number): AnswerEntry | undefined {
    if (e === undefined || !this.s.enabled) return undefined;
    if (e.rcode !== RCODE.NOERROR && e.rcode !== RCODE.NXDOMAIN) return undefined;
    // A re-armed copy counts max_stale from the real data's expiry.
    const expired = e.stale ? e.originMs : e.expiresMs;
    return nowMs < expired + this.s.maxStaleS * 1000 ? e : undefined;
  }

  /** True for the re-armed stale copies (the fast path counts their hits as stale answers). */
  static isStale(e: AnswerEntry): boolean {
    return e.stale;
  }

  /**
   * Remembers that the resolution of `key` (the front's wait group) started with
   * `entry` in hand, and arms the client-response timer: `onTimeout` runs if the
   * resolution has not settled by then. With client_timeout_ms 0 there is no timer.
   */
  watch(key: GroupKey, hash: number, entry: AnswerEntry, onTimeout: () => void): void {
    const p: Pending = { entry, hash, timer: undefined };
    if (this.s.clientTimeoutMs > 0) {
      p.timer = setTimeout(() => { p.timer = undefined; onTimeout(); }, this.s.clientTimeoutMs);
      p.timer.unref();
    }
    this.pending.set(key.id, p);
  }

  /** The stale answer in hand for the resolution of `key`, if any (the timer stays armed). */
  peek(key: GroupKey): Pending | undefined {
    return this.pending.get(key.id);
  }

  /** The resolution of `key` settled: disarms the timer and hands back what was in hand. */
  settle(key: GroupKey): Pending | undefined {
    const p = this.pending.get(key.id);
    if (p === undefined) return undefined;
    this.pending.delete(key.id);
    if (p.timer !== undefined) clearTimeout(p.timer);
    return p;
  }

  /**
   * A copy of `e` to serve and cache: every TTL `reply_ttl`, EDE 3, kept for
   * `recheck_interval` seconds from `nowMs`, in a buffer of its own (the cache
   * stores a copy).
   */
  rearm(e: AnswerEntry, nowMs: number): AnswerEntry {
    const n = e.storedBytes;
    const buf = Buffer.allocUnsafe(n);
    e.slab.copy(buf, 0, e.start, e.start + n);
    const ttl = this.s.replyTtl;
    for (let i = 0; i < e.ttlCount; i++) buf.writeUInt32BE(ttl, e.ttlOffset(i));
    const insertedMs = Math.floor(nowMs);
    const copy = new AnswerEntry(
      buf, 0, e.len, e.qEnd, e.addStart, e.arCount, e.ttlCount, e.rcode,
      insertedMs, insertedMs + this.s.recheckS * 1000, STALE_EDE,
    );
    copy.variant = e.variant;
    copy.stale = true;
    copy.originMs = e.stale ? e.originMs : e.expiresMs;
    return copy;
  }

  /** Disarms every timer (shutdown). */
  close(): void {
    for (const p of this.pending.values()) if (p.timer !== undefined) clearTimeout(p.timer);
    this.pending.clear();
  }
}
