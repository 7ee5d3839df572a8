// The iterator's cache: RRsets and negative answers, each with its own expiry and a
// trust rank, bounded in bytes by lru-cache's maxSize. Delegations are not stored
// separately: a zone cut is an NS RRset here plus the A/AAAA RRsets of its names,
// so a referral, a priming answer and an authoritative NS answer all feed one place,
// and the most trusted copy wins (RFC 2181 section 5.4.1).
//
// Expiry is checked against an injected clock (milliseconds, monotonic), never with
// lru-cache's own TTL: that one treats 0 as "forever" and reads performance.now()
// behind a cache (see shared/NOTES.md), which tests cannot move.

import { LRUCache } from 'lru-cache';
import type { ResourceRecord } from '../../dns/message.js';
import { lowerName, parentName } from '../../dns/name.js';
import { TYPE } from '../../dns/constants.js';
import { bytesToIpv6, rdataName } from '../../dns/rdata.js';

/**
 * How far a cached RRset may be believed, lowest first. Data from a lower rank
 * never replaces unexpired data of a higher rank. Only ANSWER and above are given
 * to clients; GLUE and REFERRAL only steer the iterator.
 */
export const TRUST = {
  /** Address records from the additional section (glue). */
  GLUE: 1,
  /** NS sets from a referral's authority section (parent side). */
  REFERRAL: 2,
  /** Authority section of an authoritative answer (child side NS set). */
  AUTHORITY_AA: 3,
  /** Answer section without AA. */
  ANSWER: 4,
  /** Answer section with AA. */
  ANSWER_AA: 5,
} as const;
export type Trust = (typeof TRUST)[keyof typeof TRUST];

export interface CachedRRset {
  /** Records with TTLs counted down to what remains (seconds). */
  records: ResourceRecord[];
  trust: Trust;
  /** Seconds left. */
  ttl: number;
}

export interface NegativeEntry {
  /** NXDOMAIN (3) or NOERROR (0, NODATA). */
  rcode: number;
  /** The SOA that proves it, TTL already set to the negative TTL and counted down. */
  soa: ResourceRecord | undefined;
  ttl: number;
}

export interface Delegation {
  /** Zone the NS set is for (owner of the NS RRset as cached). */
  zone: string;
  /** NS target names, lower case. */
  nsNames: string[];
  /** Known addresses per NS name (lower case). Names missing here need a lookup. */
  addresses: Map<string, string[]>;
}

interface RRsetEntry {
  records: ResourceRecord[];
  trust: Trust;
  expiresAtMs: number;
  storedAtMs: number;
  bytes: number;
}

interface NegEntry {
  rcode: number;
  soa: ResourceRecord | undefined;
  expiresAtMs: number;
  storedAtMs: number;
  bytes: number;
}

type Entry = RRsetEntry | NegEntry;

export interface RRsetCacheOptions {
  maxBytes: number;
  /** Clamp for positive TTLs, seconds. */
  minTtl: number;
  maxTtl: number;
  maxNegativeTtl: number;
  /** Monotonic milliseconds. */
  now: () => number;
}

const ENTRY_OVERHEAD_BYTES = 96;
const RECORD_OVERHEAD_BYTES = 48;

function rrsetKey(name: string, type: number, cls: number): string {
  return `${lowerName(name)}\u0000${type}\u0000${cls}`;
}

function nxKey(name: string, cls: number): string {
  return `${lowerName(name)}\u0000nx\u0000${cls}`;
}

function nodataKey(name: string, type: number, cls: number): string {
  return `${lowerName(name)}\u0000nd${type}\u0000${cls}`;
}

function isNeg(e: Entry): e is NegEntry {
  return (e as NegEntry).rcode !== undefined;
}

export class RRsetCache {
  private readonly lru: LRUCache<string, Entry>;
  private readonly opts: RRsetCacheOptions;

  constructor(opts: RRsetCacheOptions) {
    this.opts = opts;
    this.lru = new LRUCache<string, Entry>({
      maxSize: Math.max(4096, opts.maxBytes),
      sizeCalculation: (e) => e.bytes,
    });
  }

  get size(): number { return this.lru.size; }
  get bytes(): number { return this.lru.calculatedSize ?? 0; }

  /** Clamps a positive TTL to [minTtl, maxTtl]. */
  clampTtl(ttl: number): number {
    return Math.max(this.opts.minTtl, Math.min(this.opts.maxTtl, ttl));
  }

  /**
   * Stores an RRset (all records share owner, type and class). TTLs are unified to
   * the smallest (RFC 2181 section 5.2) and clamped. Returns false when a more
   * trusted unexpired copy was kept instead.
   */
  putRRset(records: ResourceRecord[], trust: Trust): boolean {
    if (records.length === 0) return false;
    const { name, type, class: cls } = records[0];
    const key = rrsetKey(name, type, cls);
    const now = this.opts.now();
    const old = this.lru.peek(key);
    if (old && !isNeg(old) && old.expiresAtMs > now && old.trust > trust) return false;
    let ttl = Infinity;
    let bytes = ENTRY_OVERHEAD_BYTES + key.length;
    for (const r of records) {
      ttl = Math.min(ttl, r.ttl);
      bytes += RECORD_OVERHEAD_BYTES + r.name.length + r.rdata.length;
    }
    ttl = this.clampTtl(ttl);
    if (ttl <= 0) {
      // A TTL of 0 may be used for this resolution only (RFC 1035 section 3.2.1).
      if (old) this.lru.delete(key);
      return true;
    }
    const stored = records.map((r) => ({ name: r.name, type: r.type, class: r.class, ttl, rdata: r.rdata }));
    this.lru.set(key, { records: stored, trust, expiresAtMs: now + ttl * 1000, storedAtMs: now, bytes });
    // A positive answer supersedes a cached negative one for the same name.
    this.lru.delete(nxKey(name, cls));
    this.lru.delete(nodataKey(name, type, cls));
    return true;
  }

  /** An unexpired RRset of at least `minTrust`, with TTLs counted down. */
  getRRset(name: string, type: number, cls: number, minTrust: Trust = TRUST.GLUE): CachedRRset | undefined {
    const key = rrsetKey(name, type, cls);
    const e = this.lru.get(key);
    if (!e || isNeg(e)) return undefined;
    const left = this.remaining(e.expiresAtMs);
    if (left <= 0) { this.lru.delete(key); return undefined; }
    if (e.trust < minTrust) return undefined;
    return {
      trust: e.trust,
      ttl: left,
      records: e.records.map((r) => ({ name: r.name, type: r.type, class: r.class, ttl: left, rdata: r.rdata })),
    };
  }

  /**
   * Remembers NXDOMAIN for a name or NODATA for a name and type. `ttl` is the
   * negative TTL already computed (min of SOA TTL and MINIMUM) and is clamped here.
   */
  putNegative(name: string, type: number, cls: number, rcode: number, soa: ResourceRecord | undefined, ttl: number): void {
    const t = Math.min(ttl, this.opts.maxNegativeTtl);
    const key = rcode === 3 ? nxKey(name, cls) : nodataKey(name, type, cls);
    if (t <= 0) { this.lru.delete(key); return; }
    const now = this.opts.now();
    const bytes = ENTRY_OVERHEAD_BYTES + key.length + (soa ? RECORD_OVERHEAD_BYTES + soa.name.length + soa.rdata.length : 0);
    this.lru.set(key, { rcode, soa: soa ? { ...soa, ttl: t } : undefined, expiresAtMs: now + t * 1000, storedAtMs: now, bytes });
  }

  /** A cached NXDOMAIN for the name, or NODATA for the name and type. */
  getNegative(name: string, type: number, cls: number): NegativeEntry | undefined {
    for (const key of [nxKey(name, cls), nodataKey(name, type, cls)]) {
      const e = this.lru.get(key);
      if (!e || !isNeg(e)) continue;
      const left = this.remaining(e.expiresAtMs);
      if (left <= 0) { this.lru.delete(key); continue; }
      return { rcode: e.rcode, ttl: left, soa: e.soa ? { ...e.soa, ttl: left } : undefined };
    }
    return undefined;
  }

  /**
   * The deepest cached zone cut at or above `name`: its NS names and whatever
   * addresses are cached for them (any trust). `usable` lets the caller skip a cut
   * (e.g. one whose only NS names lie inside it and have no addresses left).
   */
  findDelegation(name: string, cls: number, usable: (d: Delegation) => boolean = () => true): Delegation | undefined {
    for (let n: string | null = name; n !== null; n = parentName(n)) {
      const ns = this.getRRset(n, TYPE.NS, cls);
      if (!ns) continue;
      const d = this.delegationFrom(ns.records, cls);
      if (usable(d)) return d;
    }
    return undefined;
  }

  /** Builds a delegation from an NS RRset, filling in cached addresses. */
  delegationFrom(nsRecords: ResourceRecord[], cls: number): Delegation {
    const zone = nsRecords.length ? nsRecords[0].name : '';
    const nsNames: string[] = [];
    const addresses = new Map<string, string[]>();
    for (const r of nsRecords) {
      let target: string;
      try { target = lowerName(rdataName(r.rdata)); } catch { continue; }
      if (nsNames.includes(target)) continue;
      nsNames.push(target);
      const ips = this.addressesOf(target, cls);
      if (ips.length) addresses.set(target, ips);
    }
    return { zone, nsNames, addresses };
  }

  /** Cached A then AAAA addresses of a name, any trust. */
  addressesOf(name: string, cls: number): string[] {
    const out: string[] = [];
    const a = this.getRRset(name, TYPE.A, cls);
    if (a) for (const r of a.records) if (r.rdata.length === 4) out.push(`${r.rdata[0]}.${r.rdata[1]}.${r.rdata[2]}.${r.rdata[3]}`);
    const aaaa = this.getRRset(name, TYPE.AAAA, cls);
    if (aaaa) for (const r of aaaa.records) if (r.rdata.length === 16) out.push(bytesToIpv6(r.rdata));
    return out;
  }

  clear(): void { this.lru.clear(); }

  /** Whole seconds left, rounded up so an entry reads TTL right after it is stored; <= 0 once expired. */
  private remaining(expiresAtMs: number): number {
    const ms = expiresAtMs - this.opts.now();
    return ms <= 0 ? 0 : Math.ceil(ms / 1000);
  }
}
