// The iterator's cache: RRsets and negative answers, each with its own expiry and a
// trust rank, bounded in bytes by an LRU (lean-lru.ts). Delegations are not stored
// separately: a zone cut is an NS RRset here plus the addresses of its names (the
// names' own A/AAAA answers, else the glue kept apart on the parent side for that
// delegation: putParentSide). A referral and an authoritative NS answer feed the
// same NS entry, and the most trusted copy wins (RFC 2181 section 5.4.1).
//
// Expiry is checked against an injected clock (milliseconds, monotonic), never with
// lru-cache's own TTL: that one treats 0 as "forever" and reads performance.now()
// behind a cache of its own (its ttlResolution; see docs/field-notes.md, "lru-cache"),
// which tests cannot move.

import type { ResourceRecord } from '../../dns/message.js';
import { lowerName, parentName } from '../../dns/name.js';
import { TYPE } from '../../dns/constants.js';
import type { TtlPolicy } from '../ttl-policy.js';
import { bytesToIpv6, rdataName } from '../../dns/rdata.js';
import { groupRRsets as groupRecords } from './rrset-group.js';
import { LeanLru } from './lean-lru.js';

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
  /** DNSSEC: the denial records (NSEC/NSEC3, RRSIGs) it came with, TTLs as received. */
  proof?: ResourceRecord[];
}

/**
 * The cache key type under which the RRSIGs covering `type` at a name are kept: above
 * 16 bits, so no real type can collide with it. Stored and dropped with their RRset.
 */
export function sigType(type: number): number {
  return 0x10000 + type;
}

export interface Delegation {
  /** Zone the NS set is for (owner of the NS RRset as cached). */
  zone: string;
  /** NS target names, lower case. */
  nsNames: string[];
  /** Known addresses per NS name (lower case). Names missing here need a lookup. */
  addresses: Map<string, string[]>;
}

/**
 * One cached RRset, stored compactly: the owner once, all rdata back to back in a
 * buffer of its own, and the end offset of each record. Records are rebuilt (with
 * the remaining TTL) when read.
 */
interface RRsetEntry {
  type: number;
  trust: Trust;
  expiresAtMs: number;
  bytes: number;
  owner: string;
  /** All rdata back to back, as a latin1 string: compact, GC-managed, no per-entry ArrayBuffer. */
  rdata: string;
  ends: number[];
}

interface NegEntry {
  /** The type this NODATA is for, or -1 for NXDOMAIN (the whole name). */
  type: number;
  rcode: number;
  soaOwner: string | undefined;
  soaRdata: string | undefined;
  expiresAtMs: number;
  bytes: number;
  /** DNSSEC: the NSEC/NSEC3 records and RRSIGs that prove it, when it came with them. */
  proof?: ResourceRecord[];
}

/**
 * Everything cached for one owner name, so a lookup for a name (positive type,
 * CNAME, NXDOMAIN, NODATA) costs one LRU operation. Plain arrays: a name rarely
 * holds more than two or three entries, and a Map would cost more than the data.
 */
interface NameNode {
  sets: RRsetEntry[];
  negs: NegEntry[];
  bytes: number;
}

export interface RRsetCacheOptions {
  maxBytes: number;
  /** Positive and negative TTL clamps (resolver/ttl-policy.ts). */
  ttl: TtlPolicy;
  /** Monotonic milliseconds. */
  now: () => number;
}

// What an entry really costs on the V8 heap and in array buffers (measured with
// process.memoryUsage() over 200k cached names): node + LRU slot + key, per RRset
// and per record. Counting less would let the process outgrow maxBytes.
const NODE_OVERHEAD_BYTES = 260;
const ENTRY_OVERHEAD_BYTES = 200;
const RECORD_OVERHEAD_BYTES = 16;

/**
 * Packs rdata into one latin1 string. Parsed rdata are views into Node's shared
 * 8 KiB allocation slabs: keeping such a view in a long-lived cache keeps the whole
 * slab (and the garbage around it) alive, and a Buffer of its own per entry costs
 * ~300 bytes of malloc and bookkeeping for a 4-byte A record. A string is compact
 * and the GC moves it; the Buffer is rebuilt when the record is read.
 */
function pack(parts: Buffer[]): { rdata: string; ends: number[] } {
  const ends: number[] = new Array(parts.length);
  let off = 0;
  for (let i = 0; i < parts.length; i++) { off += parts[i].length; ends[i] = off; }
  const rdata = (parts.length === 1 ? parts[0] : Buffer.concat(parts)).toString('latin1');
  return { rdata, ends };
}

/**
 * Key of a parent-side entry: delegation and NS name. Names are presentation text
 * with non-printable bytes escaped, so the \u0001 and \u0000 here never occur in one.
 */
function parentSideKey(zone: string, name: string, cls: number): string {
  return `\u0001${lowerName(zone)}\u0000${nodeKey(name, cls)}`;
}

function nodeKey(name: string, cls: number): string {
  return cls === 1 ? lowerName(name) : `${lowerName(name)}\u0000${cls}`;
}

function findSet(n: NameNode, type: number): number {
  for (let i = 0; i < n.sets.length; i++) if (n.sets[i].type === type) return i;
  return -1;
}

function findNeg(n: NameNode, type: number): number {
  for (let i = 0; i < n.negs.length; i++) if (n.negs[i].type === type) return i;
  return -1;
}

export interface NameLookup {
  /** RRset of the asked type, at the asked trust or above. */
  rrset?: CachedRRset;
  /** CNAME at the name (answer trust), when the type itself is not cached. */
  cname?: CachedRRset;
  negative?: NegativeEntry;
}

export class RRsetCache {
  /** Owner key -> node; the LRU order and the byte bound (lean-lru.ts, lru-cache's semantics for what is used here). */
  private readonly lru: LeanLru<NameNode>;
  private readonly opts: RRsetCacheOptions;

  constructor(opts: RRsetCacheOptions) {
    this.opts = opts;
    this.lru = new LeanLru<NameNode>(Math.max(4096, opts.maxBytes), (n) => n.bytes);
  }

  /** Owner names held. */
  get size(): number { return this.lru.size; }
  get bytes(): number { return this.lru.calculatedSize; }

  /**
   * Re-inserts a changed node so the LRU recounts its size; drops it when empty.
   * (A fresh object each time, as lru-cache, used here before, skipped the size
   * update when set() was given the value it already held.)
   */
  private commit(key: string, n: NameNode): void {
    if (n.sets.length === 0 && n.negs.length === 0) { this.lru.delete(key); return; }
    this.lru.set(key, { sets: n.sets, negs: n.negs, bytes: n.bytes });
  }

  private newNode(key: string): NameNode {
    return { sets: [], negs: [], bytes: NODE_OVERHEAD_BYTES + 2 * key.length };
  }

  /**
   * Stores an RRset (all records share owner, type and class). TTLs are unified to
   * the smallest (RFC 2181 section 5.2) and clamped. Returns false when a more
   * trusted unexpired copy was kept instead.
   */
  putRRset(records: ResourceRecord[], trust: Trust, sigs?: ResourceRecord[]): boolean {
    if (records.length === 0) return false;
    const stored = this.putOne(records, trust, records[0].type);
    // The signatures go with the data: stored beside it, or dropped with the old copy.
    if (stored && records[0].type < 0x10000) {
      if (sigs && sigs.length) this.putOne(sigs, trust, sigType(records[0].type));
      else this.dropSigs(records[0].name, records[0].type, records[0].class);
    }
    return stored;
  }

  private dropSigs(name: string, type: number, cls: number): void {
    const key = nodeKey(name, cls);
    const n = this.lru.peek(key);
    if (!n) return;
    const at = findSet(n, sigType(type));
    if (at < 0) return;
    n.bytes -= n.sets[at].bytes;
    n.sets.splice(at, 1);
    this.commit(key, n);
  }

  /** The RRSIGs stored with the RRset of `type` at `name` (empty when none). */
  getSigs(name: string, type: number, cls: number): ResourceRecord[] {
    const n = this.lru.peek(nodeKey(name, cls));
    if (!n) return [];
    const set = this.readRRset(n, sigType(type), cls, TRUST.GLUE);
    if (!set) return [];
    for (const r of set.records) r.type = TYPE.RRSIG;
    return set.records;
  }

  private putOne(records: ResourceRecord[], trust: Trust, storeType: number): boolean {
    const { name, class: cls } = records[0];
    const type = storeType;
    const key = nodeKey(name, cls);
    const now = this.opts.now();
    const existing = this.lru.peek(key);
    const at = existing ? findSet(existing, type) : -1;
    const old = at >= 0 ? existing!.sets[at] : undefined;
    if (old && old.expiresAtMs > now && old.trust > trust) return false;
    let ttl = Infinity;
    for (const r of records) ttl = Math.min(ttl, r.ttl);
    ttl = this.opts.ttl.positive(ttl);
    if (ttl <= 0 && !existing) return true; // TTL 0: for this resolution only (RFC 1035 3.2.1), not stored
    const n = existing ?? this.newNode(key);
    if (old) { n.sets.splice(at, 1); n.bytes -= old.bytes; }
    if (ttl > 0) {
      const { rdata, ends } = pack(records.map((r) => r.rdata));
      const bytes = ENTRY_OVERHEAD_BYTES + 2 * name.length + rdata.length + RECORD_OVERHEAD_BYTES * records.length;
      n.sets.push({ type, trust, expiresAtMs: now + ttl * 1000, bytes, owner: name, rdata, ends });
      n.bytes += bytes;
      // A positive answer supersedes a cached negative one for the same name.
      for (let i = n.negs.length - 1; i >= 0; i--) {
        if (n.negs[i].type === -1 || n.negs[i].type === type) { n.bytes -= n.negs[i].bytes; n.negs.splice(i, 1); }
      }
    }
    this.commit(key, n);
    return true;
  }

  /** An unexpired RRset of at least `minTrust`, with TTLs counted down. */
  getRRset(name: string, type: number, cls: number, minTrust: Trust = TRUST.GLUE): CachedRRset | undefined {
    const n = this.lru.get(nodeKey(name, cls));
    return n ? this.readRRset(n, type, cls, minTrust) : undefined;
  }

  private readRRset(n: NameNode, type: number, cls: number, minTrust: Trust): CachedRRset | undefined {
    const at = findSet(n, type);
    if (at < 0) return undefined;
    const e = n.sets[at];
    const left = this.remaining(e.expiresAtMs);
    if (left <= 0) { n.sets.splice(at, 1); n.bytes -= e.bytes; return undefined; }
    if (e.trust < minTrust) return undefined;
    const records: ResourceRecord[] = new Array(e.ends.length);
    let start = 0;
    for (let i = 0; i < e.ends.length; i++) {
      records[i] = { name: e.owner, type, class: cls, ttl: left, rdata: Buffer.from(e.rdata.slice(start, e.ends[i]), 'latin1') };
      start = e.ends[i];
    }
    return { trust: e.trust, ttl: left, records };
  }

  private readNegative(n: NameNode, type: number, cls: number): NegativeEntry | undefined {
    for (const want of [-1, type]) {
      const at = findNeg(n, want);
      if (at < 0) continue;
      const e = n.negs[at];
      const left = this.remaining(e.expiresAtMs);
      if (left <= 0) { n.negs.splice(at, 1); n.bytes -= e.bytes; continue; }
      const soa = e.soaOwner !== undefined && e.soaRdata
        ? { name: e.soaOwner, type: TYPE.SOA, class: cls, ttl: left, rdata: Buffer.from(e.soaRdata, 'latin1') }
        : undefined;
      return e.proof ? { rcode: e.rcode, ttl: left, soa, proof: e.proof } : { rcode: e.rcode, ttl: left, soa };
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
    const rrset = this.readRRset(n, type, cls, minTrust);
    if (rrset) return { rrset };
    if (type !== TYPE.CNAME) {
      const cname = this.readRRset(n, TYPE.CNAME, cls, minTrust);
      if (cname) return { cname };
    }
    const negative = this.readNegative(n, type, cls);
    return negative ? { negative } : {};
  }

  /**
   * Remembers NXDOMAIN for a name or NODATA for a name and type. `ttl` is the
   * negative TTL already computed (min of SOA TTL and MINIMUM) and is capped by the TTL policy here.
   */
  putNegative(name: string, type: number, cls: number, rcode: number, soa: ResourceRecord | undefined, ttl: number, proof?: ResourceRecord[]): void {
    const t = this.opts.ttl.negative(ttl);
    const key = nodeKey(name, cls);
    const existing = this.lru.peek(key);
    if (t <= 0 && !existing) return;
    const n = existing ?? this.newNode(key);
    const kind = rcode === 3 ? -1 : type;
    const at = findNeg(n, kind);
    if (at >= 0) { n.bytes -= n.negs[at].bytes; n.negs.splice(at, 1); }
    if (t > 0) {
      const soaRdata = soa ? soa.rdata.toString('latin1') : undefined;
      let bytes = ENTRY_OVERHEAD_BYTES + (soa ? 2 * soa.name.length + soa.rdata.length : 0);
      // Proof records get one buffer of their own (parsed rdata are views into shared slabs;
      // Buffer.from would copy into Node's 64 KiB pool, and a kept slice keeps the whole chunk).
      const kept = proof && proof.length ? ownRdata(proof) : undefined;
      if (kept) for (const r of kept) bytes += ENTRY_OVERHEAD_BYTES + 2 * r.name.length + r.rdata.length;
      n.negs.push({ type: kind, rcode, soaOwner: soa?.name, soaRdata, expiresAtMs: this.opts.now() + t * 1000, bytes, proof: kept });
      n.bytes += bytes;
    }
    this.commit(key, n);
  }

  /**
   * Drops the NXDOMAIN and NODATA entries of a name (flood.max_negative_per_zone:
   * defence/negative-quota.ts); a DS denial kept at a cut stays.
   */
  dropNegatives(name: string, cls: number): void {
    const key = nodeKey(name, cls);
    const n = this.lru.peek(key);
    if (!n || n.negs.length === 0) return;
    const doomed = n.negs.filter((e) => e.type < 0x10000);
    if (doomed.length === 0) return;
    for (const e of doomed) n.bytes -= e.bytes;
    n.negs = n.negs.filter((e) => e.type >= 0x10000);
    this.commit(key, n);
  }

  /**
   * The NSEC/NSEC3 records (with RRSIGs) by which a signed referral denied a DS at
   * its cut. Kept apart from client-visible negative answers: a client asking for
   * the DS gets the parent's full answer (with its SOA), as unbound gives it, while
   * the validator needs no second question for the cut.
   */
  putDsDenial(cut: string, cls: number, proof: ResourceRecord[], ttl: number): void {
    this.putNegative(cut, sigType(TYPE.DS), cls, 0, undefined, ttl, proof);
  }

  getDsDenial(cut: string, cls: number): ResourceRecord[] | undefined {
    const n = this.lru.peek(nodeKey(cut, cls));
    if (!n) return undefined;
    const at = findNeg(n, sigType(TYPE.DS));
    if (at < 0) return undefined;
    const e = n.negs[at];
    if (this.remaining(e.expiresAtMs) <= 0) return undefined;
    return e.proof;
  }

  /** A cached NXDOMAIN for the name, or NODATA for the name and type. */
  getNegative(name: string, type: number, cls: number): NegativeEntry | undefined {
    const n = this.lru.get(nodeKey(name, cls));
    return n ? this.readNegative(n, type, cls) : undefined;
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

  /**
   * Builds a delegation from an NS RRset, filling in addresses: the child side's
   * (authoritative answers for the NS name), else the glue that came with this very
   * delegation (parent side). Glue given for another delegation is never used.
   */
  delegationFrom(nsRecords: ResourceRecord[], cls: number): Delegation {
    const zone = nsRecords.length ? nsRecords[0].name : '';
    const nsNames: string[] = [];
    const addresses = new Map<string, string[]>();
    for (const r of nsRecords) {
      let target: string;
      try { target = lowerName(rdataName(r.rdata)); } catch { continue; }
      if (nsNames.includes(target)) continue;
      nsNames.push(target);
      let ips = this.addressesOf(target, cls);
      if (ips.length === 0) ips = this.parentSideAddresses(zone, target, cls);
      if (ips.length) addresses.set(target, ips);
    }
    return { zone, nsNames, addresses };
  }

  /** Cached A then AAAA addresses of a name from answers (the name's own zone said so); glue is not here. */
  addressesOf(name: string, cls: number, minTrust: Trust = TRUST.ANSWER): string[] {
    const n = this.lru.get(nodeKey(name, cls));
    return n ? this.addressesIn(n, cls, minTrust) : [];
  }

  private addressesIn(n: NameNode, cls: number, minTrust: Trust): string[] {
    const out: string[] = [];
    const a = this.readRRset(n, TYPE.A, cls, minTrust);
    if (a) for (const r of a.records) if (r.rdata.length === 4) out.push(`${r.rdata[0]}.${r.rdata[1]}.${r.rdata[2]}.${r.rdata[3]}`);
    const aaaa = this.readRRset(n, TYPE.AAAA, cls, minTrust);
    if (aaaa) for (const r of aaaa.records) if (r.rdata.length === 16) out.push(bytesToIpv6(r.rdata));
    return out;
  }

  /**
   * Parent-side addresses: the glue a referral (or an NS answer's additional
   * section) gave for an NS name, kept apart from everything else and filed under
   * the delegation it came with (unbound keeps parent-side data apart the same way).
   * So the child's authoritative answer for the name never overwrites it, it never
   * overwrites the child's data, it is never given to clients, and it is used only
   * for that one delegation: an address planted in a referral for one zone cannot
   * steer queries for any other zone that names the same server.
   */
  putParentSide(zone: string, records: ResourceRecord[]): void {
    if (records.length === 0) return;
    const { name, type, class: cls } = records[0];
    if (type !== TYPE.A && type !== TYPE.AAAA) return;
    const key = parentSideKey(zone, name, cls);
    let ttl = Infinity;
    for (const r of records) ttl = Math.min(ttl, r.ttl);
    ttl = this.opts.ttl.positive(ttl);
    if (ttl <= 0) return;
    const existing = this.lru.peek(key);
    const n = existing ?? this.newNode(key);
    const at = findSet(n, type);
    if (at >= 0) { n.bytes -= n.sets[at].bytes; n.sets.splice(at, 1); }
    const { rdata, ends } = pack(records.map((r) => r.rdata));
    const bytes = ENTRY_OVERHEAD_BYTES + 2 * name.length + rdata.length + RECORD_OVERHEAD_BYTES * records.length;
    n.sets.push({ type, trust: TRUST.GLUE, expiresAtMs: this.opts.now() + ttl * 1000, bytes, owner: name, rdata, ends });
    n.bytes += bytes;
    this.commit(key, n);
  }

  /** Parent-side A then AAAA addresses of NS name `name` for delegation `zone`; see putParentSide. */
  parentSideAddresses(zone: string, name: string, cls: number): string[] {
    const n = this.lru.get(parentSideKey(zone, name, cls));
    return n ? this.addressesIn(n, cls, TRUST.GLUE) : [];
  }

  clear(): void { this.lru.clear(); }

  /**
   * `anycast-kit control flush`/`flush-zone`: drops every owner name `match`
   * accepts (lower case), and the parent-side glue filed under such a zone or for
   * such an NS name. Returns the number of names dropped.
   */
  flushNames(match: (lowerOwner: string) => boolean): number {
    const doomed: string[] = [];
    for (const key of this.lru.keys()) {
      const parts = (key.startsWith('\u0001') ? key.slice(1) : key).split('\u0000');
      // Plain key: name[, class]. Parent side: zone, name[, class].
      const names = key.startsWith('\u0001') ? parts.slice(0, 2) : parts.slice(0, 1);
      if (names.some((n) => match(n))) doomed.push(key);
    }
    for (const k of doomed) this.lru.delete(k);
    return doomed.length;
  }

  /** `anycast-kit control flush-negative`: drops every NXDOMAIN and NODATA entry. Returns how many. */
  flushNegative(): number {
    let n = 0;
    for (const [key, node] of [...this.lru.entries()]) {
      if (node.negs.length === 0) continue;
      n += node.negs.length;
      for (const e of node.negs) node.bytes -= e.bytes;
      node.negs = [];
      this.commit(key, node);
    }
    return n;
  }

  /** Whole seconds left, rounded up so an entry reads TTL right after it is stored; <= 0 once expired. */
  private remaining(expiresAtMs: number): number {
    const ms = expiresAtMs - this.opts.now();
    return ms <= 0 ? 0 : Math.ceil(ms / 1000);
  }
}

/** Copies of `records` whose rdata share one buffer of their own (never a slice of the Buffer pool). */
function ownRdata(records: ResourceRecord[]): ResourceRecord[] {
  let n = 0;
  for (const r of records) n += r.rdata.length;
  const buf = Buffer.allocUnsafeSlow(n);
  let at = 0;
  return records.map((r) => {
    r.rdata.copy(buf, at);
    const rdata = buf.subarray(at, at + r.rdata.length);
    at += r.rdata.length;
    return { ...r, rdata };
  });
}

/** Groups records into RRsets as the cache stores them (owner case-insensitive, type, class), keeping order. */
export function groupRRsets(records: ResourceRecord[]): ResourceRecord[][] {
  return groupRecords(records);
}
