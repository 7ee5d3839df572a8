// The contract between the resolver's front (listener, fastpath cache, inflight)
// and its back (iterator, selection, transport, scrub, RRset cache).
// The front merges identical client questions and caches the encoded answer;
// the back resolves one question from the root and says how long it may be cached.

import type { ResourceRecord } from '../../dns/message.js';

export interface ResolveRequest {
  /** Presentation name without trailing dot, case as the client sent it. */
  name: string;
  type: number;
  class: number;
  /** The client's DO bit, CD bit and AD bit (what the validator shapes the answer for). */
  dnssecOk?: boolean;
  cd?: boolean;
  ad?: boolean;
  /**
   * Validation retry (unbound's restart after bogus data): resolve afresh, not from
   * the cache and not merged with a resolution in flight, and never ask these
   * server addresses (they sent the data that failed).
   */
  refetch?: { avoid: readonly string[] };
}

export interface ResolveResult {
  /** NOERROR (answer or NODATA), NXDOMAIN, SERVFAIL, REFUSED. */
  rcode: number;
  /** Full chain in order: CNAMEs (and DNAME/synthesised CNAME) first, then the final RRset. */
  answers: ResourceRecord[];
  /** SOA for NXDOMAIN and NODATA (RFC 2308); otherwise empty (minimal responses). */
  authority: ResourceRecord[];
  additional: ResourceRecord[];
  /**
   * Seconds the whole answer may be cached: the smallest TTL in it, or for negative
   * answers min(SOA TTL, SOA MINIMUM). 0 means do not cache (e.g. SERVFAIL is cached
   * by the front for a short fixed time instead).
   */
  cacheTtl: number;
  /** Extended DNS Error (RFC 8914) for SERVFAIL and friends. */
  ede?: { code: number; text: string };
  /** DNSSEC (validation on): RRSIGs of the answer RRsets as received, with their TTLs. */
  sigs?: ResourceRecord[];
  /** DNSSEC: NSEC/NSEC3 records and their RRSIGs (denials and wildcard proofs), the SOA's RRSIG. */
  proof?: ResourceRecord[];
  /** Authentic Data: set on a secure answer for a client that asked with DO or AD. */
  ad?: boolean;
  /** DNSSEC: addresses of the servers whose responses make up the answer (for a validation retry). */
  servers?: string[];
  /**
   * For a negative answer or a failure: the zone whose servers gave it (or failed),
   * so the front can hold that zone to flood.max_negative_per_zone (defence/negative-quota.ts).
   */
  zone?: string;
}

export interface Resolution {
  resolve(req: ResolveRequest): Promise<ResolveResult>;
}
