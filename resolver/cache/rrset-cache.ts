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
import { lowerName } from '../../dns/name.js';
import { fastLower, fastParent } from './names.js';
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
  bytes: number;
}

interface NegEntry {
  rcode: number;
  soa: ResourceRecord | undefined;
  expiresAtMs: number;
  bytes: number;
}

/**
 * Everything cached for one owner name: one LRU entry per name, so a lookup for a
 * name (positive type, CNAME, NXDOMAIN, NODATA) costs one LRU operation.
 */
interface NameNode {
  rrsets: Map<number, RRsetEntry>;
  nx: NegEntry | undefined;
  nodata: Map<number, NegEntry> | undefined;
  bytes: number;
}

export interface RRsetCacheOptions {
  maxBytes: number;
  /** Clamp for positive TTLs, seconds. */
  minTtl: number;
  maxTtl: number;
  maxNegativeTtl: number;
  /** Monotonic milliseconds. */
  now: () => number;
}

const NODE_OVERHEAD_BYTES = 160;
const ENTRY_OVERHEAD_BYTES = 64;
const RECORD_OVERHEAD_BYTES = 48;

function nodeKey(name: string, cls: number): string {
  return cls === 1 ? fastLower(name) : `${fastLower(name)}\u0000${cls}`;
}

export interface NameLookup {
  /** RRset of the asked type, at the asked trust or above. */
  rrset?: CachedRRset;
  /** CNAME at the name (answer trust), when the type itself is not cached. */
  cname?: CachedRRset;
  negative?: NegativeEntry;
}

export class RRsetCache {
  private readonly lru: LRUCache<string, NameNode>;
  private readonly opts: RRsetCacheOptions;

  constructor(opts: RRsetCacheOptions) {
    this.opts = opts;
    this.lru = new LRUCache<string, NameNode>({
      maxSize: Math.max(4096, opts.maxBytes),
      sizeCalculation: (n) => n.bytes,
    });
  }

  /** Owner names held. */
  get size(): number { return this.lru.size; }
  get bytes(): number { return this.lru.calculatedSize ?? 0; }

  /** Clamps a positive TTL to [minTtl, maxTtl]; a TTL with the top bit set counts as 0 (RFC 2181 section 8). */
  clampTtl(ttl: number): number {
    const t = ttl > 0x7fffffff ? 0 : ttl;
    return Math.max(this.opts.minTtl, Math.min(this.opts.maxTtl, t));
  }

  private node(key: string, create: true): NameNode;
  private node(key: string, create: false): NameNode | undefined;
  private node(key: string, create: boolean): NameNode | undefined {
    const n = this.lru.get(key);
    if (n || !create) return n;
    return { rrsets: new Map(), nx: undefined, nodata: undefined, bytes: NODE_OVERHEAD_BYTES + key.length };
  }

  /** Re-inserts a changed node so lru-cache recounts its size; drops it when empty. */
  private commit(key: string, n: NameNode): void {
    if (n.rrsets.size === 0 && !n.nx && (!n.nodata || n.nodata.size === 0)) { this.lru.delete(key); return; }
    this.lru.set(key, n);
  }

  /**
   * Stores an RRset (all records share owner, type and class). TTLs are unified to
   * the smallest (RFC 2181 section 5.2) and clamped. Returns false when a more
   * trusted unexpired copy was kept instead.
   */
  putRRset(records: ResourceRecord[], trust: Trust): boolean {
    if (records.length === 0) return false;
    const { name, type, class: cls } = records[0];
    const key = nodeKey(name, cls);
    const now = this.opts.now();
    const existing = this.lru.peek(key);
    const old = existing?.rrsets.get(type);
    if (old && old.expiresAtMs > now && old.trust > trust) return false;
    let ttl = Infinity;
    let bytes = ENTRY_OVERHEAD_BYTES;
    for (const r of records) {
      ttl = Math.min(ttl, r.ttl);
      bytes += RECORD_OVERHEAD_BYTES + r.name.length + r.rdata.length;
    }
    ttl = this.clampTtl(ttl);
    const n = existing ?? this.node(key, true);
    if (old) { n.rrsets.delete(type); n.bytes -= old.bytes; }
    if (ttl > 0) {
      // A TTL of 0 may be used for this resolution only (RFC 1035 section 3.2.1): not stored.
      const stored = records.map((r) => ({ name: r.name, type: r.type, class: r.class, ttl, rdata: r.rdata }));
      n.rrsets.set(type, { records: stored, trust, expiresAtMs: now + ttl * 1000, bytes });
      n.bytes += bytes;
      // A positive answer supersedes a cached negative one for the same name.
      if (n.nx) { n.bytes -= n.nx.bytes; n.nx = undefined; }
      const nd = n.nodata?.get(type);
      if (nd) { n.bytes -= nd.bytes; n.nodata!.delete(type); }
    }
    if (existing || ttl > 0) this.commit(key, n);
    return true;
  }

  /** An unexpired RRset of at least `minTrust`, with TTLs counted down. */
  getRRset(name: string, type: number, cls: number, minTrust: Trust = TRUST.GLUE): CachedRRset | undefined {
    const n = this.lru.get(nodeKey(name, cls));
    return n ? this.readRRset(n, type, minTrust) : undefined;
  }

  private readRRset(n: NameNode, type: number, minTrust: Trust): CachedRRset | undefined {
    const e = n.rrsets.get(type);
    if (!e) return undefined;
    const left = this.remaining(e.expiresAtMs);
    if (left <= 0) { n.rrsets.delete(type); n.bytes -= e.bytes; return undefined; }
    if (e.trust < minTrust) return undefined;
    return {
      trust: e.trust,
      ttl: left,
      records: e.records.map((r) => ({ name: r.name, type: r.type, class: r.class, ttl: left, rdata: r.rdata })),
    };
  }

  private readNegative(n: NameNode, type: number): NegativeEntry | undefined {
    for (const e of [n.nx, n.nodata?.get(type)]) {
      if (!e) continue;
      const left = this.remaining(e.expiresAtMs);
      if (left <= 0) {
        n.bytes -= e.bytes;
        if (e === n.nx) n.nx = undefined; else n.nodata!.delete(type);
        continue;
      }
      return { rcode: e.rcode, ttl: left, soa: e.soa ? { ...e.soa, ttl: left } : undefined };
    }
    return undefined;
  }

  /**
   * Everything the iterator's INIT state needs about a name in one lookup: the
   * RRset of the type (answer trust or as given), else a CNAME, else a negative entry.
   */
  lookupName(name: string, type: number, cls: number, minTrust: Trust): NameLookup {
    const n = this.lru.get(nodeKey(name, cls));
    if (!n) return {};
    const rrset = this.readRRset(n, type, minTrust);
    if (rrset) return { rrset };
    if (type !== TYPE.CNAME) {
      const cname = this.readRRset(n, TYPE.CNAME, minTrust);
      if (cname) return { cname };
    }
    const negative = this.readNegative(n, type);
    return negative ? { negative } : {};
  }

  /**
   * Remembers NXDOMAIN for a name or NODATA for a name and type. `ttl` is the
   * negative TTL already computed (min of SOA TTL and MINIMUM) and is clamped here.
   */
  putNegative(name: string, type: number, cls: number, rcode: number, soa: ResourceRecord | undefined, ttl: number): void {
    const t = ttl > 0x7fffffff ? 0 : Math.min(ttl, this.opts.maxNegativeTtl);
    const key = nodeKey(name, cls);
    const existing = this.lru.peek(key);
    if (t <= 0 && !existing) return;
    const n = existing ?? this.node(key, true);
    const old = rcode === 3 ? n.nx : n.nodata?.get(type);
    if (old) {
      n.bytes -= old.bytes;
      if (rcode === 3) n.nx = undefined; else n.nodata!.delete(type);
    }
    if (t > 0) {
      const bytes = ENTRY_OVERHEAD_BYTES + (soa ? RECORD_OVERHEAD_BYTES + soa.name.length + soa.rdata.length : 0);
      const e: NegEntry = { rcode, soa: soa ? { ...soa, ttl: t } : undefined, expiresAtMs: this.opts.now() + t * 1000, bytes };
      if (rcode === 3) n.nx = e;
      else (n.nodata ??= new Map()).set(type, e);
      n.bytes += bytes;
    }
    this.commit(key, n);
  }

  /** A cached NXDOMAIN for the name, or NODATA for the name and type. */
  getNegative(name: string, type: number, cls: number): NegativeEntry | undefined {
    const n = this.lru.get(nodeKey(name, cls));
    return n ? this.readNegative(n, type) : undefined;
  }

  /**
   * The deepest cached zone cut at or above `name`: its NS names and whatever
   * addresses are cached for them (any trust). `usable` lets the caller skip a cut
   * (e.g. one whose only NS names lie inside it and have no addresses left).
   */
  findDelegation(name: string, cls: number, usable: (d: Delegation) => boolean = () => true): Delegation | undefined {
    for (let n: string | null = name; n !== null; n = fastParent(n)) {
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
    const n = this.lru.get(nodeKey(name, cls));
    if (!n) return out;
    const a = this.readRRset(n, TYPE.A, TRUST.GLUE);
    if (a) for (const r of a.records) if (r.rdata.length === 4) out.push(`${r.rdata[0]}.${r.rdata[1]}.${r.rdata[2]}.${r.rdata[3]}`);
    const aaaa = this.readRRset(n, TYPE.AAAA, TRUST.GLUE);
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
