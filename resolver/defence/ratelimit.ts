// Per-client rate limiting over UDP: one token bucket per client prefix (/24 for
// IPv4, /56 for IPv6 by default, as BIND's RRL), refilled at `qps` tokens a second
// up to `burst`. A query over the limit is dropped, except every slip-th one, which
// gets an empty TC=1 reply so that a real client behind the prefix retries over
// TCP (RRL's "slip"; a forged source gets one small packet, no amplification).
// TCP is never limited here: a TCP client has proved its address.
//
// Memory is bounded: at most maxClients buckets, kept in a Map in least-recently-
// used order (a use moves the bucket to the end); a new prefix past the bound
// evicts the oldest. An evicted prefix that comes back starts with a full bucket,
// so an attacker who cycles through more prefixes than maxClients gets `burst`
// queries per prefix per cycle: size maxClients above the number of busy prefixes.

import { parseIpv4 } from '../../common/ip.js';
import { Acl, parseIpv6 } from '../acl.js';
import { effectiveBurst, type RateLimitSettings } from './settings.js';

/** What to do with one query. */
export const RL = { PASS: 0, DROP: 1, SLIP: 2 } as const;
export type RateVerdict = (typeof RL)[keyof typeof RL];

class Bucket {
  constructor(public tokens: number, public lastMs: number, public over: number) {}
}

const words = new Uint32Array(4);

/** The prefix key of a client address (text as Node gives it), or '' when it cannot be read. */
export function clientPrefix(address: string, v4Bits: number, v6Bits: number): string {
  let v4 = parseIpv4(address);
  if (v4 < 0) {
    if (!parseIpv6(address, words)) return '';
    if (words[0] === 0 && words[1] === 0 && words[2] === 0xffff) v4 = words[3];
    else {
      let key = '6:';
      for (let k = 0; k < 4; k++) {
        const b = v6Bits - 32 * k;
        if (b <= 0) break;
        const m = b >= 32 ? 0xffffffff : (0xffffffff << (32 - b)) >>> 0;
        key += ((words[k] & m) >>> 0).toString(16) + ':';
      }
      return key;
    }
  }
  const m = v4Bits >= 32 ? 0xffffffff : (0xffffffff << (32 - v4Bits)) >>> 0;
  return String((v4 & m) >>> 0);
}

export class ClientRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly exempt: Acl;
  private readonly rate: number;
  private readonly burst: number;
  private lastAddress = '';
  private lastKey = '';
  private lastExempt = false;
  /** Buckets evicted to keep within maxClients (for tests and logs). */
  evictions = 0;

  constructor(private readonly s: RateLimitSettings) {
    this.exempt = new Acl(s.exempt);
    this.rate = s.qps / 1000; // tokens per ms
    this.burst = effectiveBurst(s);
  }

  get size(): number {
    return this.buckets.size;
  }

  /** The verdict for one UDP query from `address` at `nowMs`. */
  check(address: string, nowMs: number): RateVerdict {
    let key: string;
    if (address === this.lastAddress) {
      if (this.lastExempt) return RL.PASS;
      key = this.lastKey;
    } else {
      this.lastAddress = address;
      this.lastExempt = this.exempt.allows(address);
      if (this.lastExempt) return RL.PASS;
      key = this.lastKey = clientPrefix(address, this.s.ipv4Prefix, this.s.ipv6Prefix);
    }
    const map = this.buckets;
    let b = map.get(key);
    if (b === undefined) {
      if (map.size >= this.s.maxClients) {
        const oldest = map.keys().next().value as string;
        map.delete(oldest);
        this.evictions++;
      }
      b = new Bucket(this.burst, nowMs, 0);
      map.set(key, b);
    } else {
      // Least recently used first: move to the end.
      map.delete(key);
      map.set(key, b);
      const t = b.tokens + (nowMs - b.lastMs) * this.rate;
      b.tokens = t > this.burst ? this.burst : t;
      b.lastMs = nowMs;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      b.over = 0;
      return RL.PASS;
    }
    const slip = this.s.slip;
    if (slip === 0) return RL.DROP;
    b.over++;
    if (b.over >= slip) { b.over = 0; return RL.SLIP; }
    return RL.DROP;
  }
}
