// TTL policy: how long anything the resolver learnt may be kept and what TTL a
// client is shown. The one owner of these rules; the RRset cache (what the
// iterator keeps), the iterator's result (what it hands the front) and the front's
// answer cache (what clients see) all ask here, so a rule changes in one place.
//
//   positive      TTL clamped to [cache.min_ttl, cache.max_ttl]
//   negative      RFC 2308: min(SOA TTL, SOA MINIMUM), capped by cache.max_negative_ttl;
//                 5 s without an SOA (as unbound and Knot Resolver)
//   SERVFAIL      remembered cache.servfail_ttl seconds (RFC 2308 section 7.1)
//   top bit set   a TTL of 2^31 or more counts as 0 (RFC 2181 section 8)
//
// DNSSEC caps (RRSIG expiry, RFC 4035 section 5.3.3) belong here too when they
// come: as more inputs to positive()/negative(), not as clamps in the callers.
// Serve-stale (RFC 8767) works on whole stored answers after they expire, not on
// records as received: its window and reply TTL are in stale/serve-stale.ts.

import { RCODE } from '../dns/constants.js';
import type { ResourceRecord } from '../dns/message.js';
import { decodeSoa } from '../dns/rdata.js';

/** The limits the policy applies (the `resolver.cache` settings hold them). */
export interface TtlLimits {
  /** Clamp for positive TTLs, seconds. */
  minTtl: number;
  maxTtl: number;
  /** Upper bound on negative caching, seconds. */
  maxNegativeTtl: number;
  /** Seconds a SERVFAIL is remembered (0 = never). */
  servfailTtl: number;
}

/** How long an encoded answer is kept, and the TTL each of its records shows. */
export interface AnswerTtls {
  /** Seconds the whole answer may be kept (0: not stored). */
  ttl: number;
  /** Maps a record's TTL as received to the TTL stored and shown. */
  recordTtl: (ttl: number) => number;
}

/** RFC 2181 section 8: a TTL with the top bit set is treated as 0. */
function wire(ttl: number): number {
  return ttl > 0x7fffffff ? 0 : ttl;
}

export class TtlPolicy {
  private readonly positiveRecord: (ttl: number) => number;
  private readonly otherRecord: (ttl: number) => number;

  constructor(readonly limits: TtlLimits) {
    this.positiveRecord = (t) => this.positive(t);
    this.otherRecord = (t) => Math.min(wire(t), limits.maxTtl);
  }

  /** A positive TTL (an RRset, or a whole positive answer) as kept and shown. */
  positive(ttl: number): number {
    return Math.max(this.limits.minTtl, Math.min(this.limits.maxTtl, wire(ttl)));
  }

  /** A negative TTL (already min(SOA TTL, SOA MINIMUM)) as kept and shown. */
  negative(ttl: number): number {
    return Math.max(0, Math.min(wire(ttl), this.limits.maxNegativeTtl));
  }

  /** Seconds a SERVFAIL is remembered. */
  get servfail(): number {
    return this.limits.servfailTtl;
  }

  /**
   * Seconds a negative answer without an SOA is kept. RFC 2308 section 5 says such
   * an answer SHOULD NOT be cached; unbound (NORR_TTL) and Knot Resolver (its minimum
   * TTL) keep it 5 s all the same, which stops a storm of identical questions to a
   * server that answers that way. We do as they do.
   */
  static readonly NO_SOA_NEGATIVE_TTL = 5;

  /** RFC 2308 section 5: min(SOA TTL, SOA MINIMUM), before the cap; NO_SOA_NEGATIVE_TTL without a (readable) SOA. */
  static negativeFromSoa(soa: ResourceRecord | undefined): number {
    if (!soa) return TtlPolicy.NO_SOA_NEGATIVE_TTL;
    try {
      return wire(Math.min(soa.ttl, decodeSoa(soa.rdata).minimum));
    } catch {
      return TtlPolicy.NO_SOA_NEGATIVE_TTL;
    }
  }

  /**
   * The front's answer cache: how long a result with `rcode` and `cacheTtl` (the
   * back's smallest TTL) is kept, and how each record's TTL is shown. Positive
   * answers: clamped like RRsets. NXDOMAIN/NODATA: capped by the negative TTL, so the
   * SOA shows it. SERVFAIL: servfail_ttl. Anything else: not kept.
   */
  answer(rcode: number, hasAnswers: boolean, cacheTtl: number): AnswerTtls {
    const t = Math.max(0, Math.floor(cacheTtl));
    if (rcode === RCODE.NOERROR && hasAnswers) return { ttl: this.positive(t), recordTtl: this.positiveRecord };
    if (rcode === RCODE.NOERROR || rcode === RCODE.NXDOMAIN) {
      const cap = this.negative(t);
      return { ttl: cap, recordTtl: (r) => Math.min(wire(r), cap) };
    }
    return { ttl: rcode === RCODE.SERVFAIL ? this.servfail : 0, recordTtl: this.otherRecord };
  }
}
