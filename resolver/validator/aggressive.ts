// Aggressive use of the validated cache (RFC 8198), for NSEC: the spans of NSEC
// records that passed validation are kept per zone, with the zone's SOA. A question
// for a name inside a cached span (its wildcard denied too) is answered NXDOMAIN
// here, without asking upstream, and a question for a type that the NSEC at the
// name itself does not list is answered NODATA. That is also the cheapest defence
// against random-subdomain floods on signed zones. NSEC3 spans are not used this
// way (a hash per question, and opt-out, make them a worse bargain).

import { TYPE } from '../../dns/constants.js';
import type { ResourceRecord } from '../../dns/message.js';
import { isSubdomain, lowerName, nameEquals } from '../../dns/name.js';
import { decodeSoa } from '../../dns/rdata.js';
import type { Nsec } from './crypto.js';
import { nsecCovers, nsecNodata, nsecNxdomain } from './denial.js';

/** Spans kept per zone and zones kept, at most (oldest dropped first). */
const MAX_SPANS_PER_ZONE = 2048;
const MAX_ZONES = 1024;

interface Span {
  nsec: Nsec;
  /** The NSEC record and its RRSIGs, as received. */
  records: ResourceRecord[];
  expiresMs: number;
}

interface ZoneSpans {
  spans: Map<string, Span>;
  /** The zone's SOA and its RRSIGs (for the negative TTL and DO clients). */
  soa?: { records: ResourceRecord[]; expiresMs: number };
}

export interface Synthesised {
  /** SOA first, then its RRSIGs and the NSEC records with theirs. */
  authority: ResourceRecord[];
  ttl: number;
  zone: string;
}

export class AggressiveNsec {
  private readonly zones = new Map<string, ZoneSpans>();

  constructor(private readonly nowMs: () => number) {}

  private zoneEntry(zone: string): ZoneSpans {
    const k = lowerName(zone);
    let z = this.zones.get(k);
    if (!z) {
      if (this.zones.size >= MAX_ZONES) this.zones.delete(this.zones.keys().next().value!);
      z = { spans: new Map() };
      this.zones.set(k, z);
    }
    return z;
  }

  /** Remembers a validated NSEC (with its RRSIGs) of `zone` for `ttl` seconds. */
  addSpan(zone: string, nsec: Nsec, records: ResourceRecord[], ttl: number): void {
    if (ttl <= 0) return;
    const z = this.zoneEntry(zone);
    const k = lowerName(nsec.owner);
    z.spans.delete(k);
    if (z.spans.size >= MAX_SPANS_PER_ZONE) z.spans.delete(z.spans.keys().next().value!);
    z.spans.set(k, { nsec, records, expiresMs: this.nowMs() + ttl * 1000 });
  }

  /** Remembers the SOA (and RRSIGs) of a zone that came with a validated denial. */
  addSoa(zone: string, records: ResourceRecord[]): void {
    const soa = records.find((r) => r.type === TYPE.SOA);
    if (!soa) return;
    let ttl: number;
    try { ttl = Math.min(soa.ttl, decodeSoa(soa.rdata).minimum); } catch { return; }
    if (ttl <= 0) return;
    this.zoneEntry(zone).soa = { records, expiresMs: this.nowMs() + ttl * 1000 };
  }

  /**
   * The deepest zone with cached spans that holds `qname` (strictly above it for a DS
   * question: a DS lives in the parent), still known secure and with a live SOA.
   */
  private zoneFor(qname: string, qtype: number, isSecure: (zone: string) => boolean): { zone: string; z: ZoneSpans; soa: { records: ResourceRecord[]; expiresMs: number }; now: number } | undefined {
    let best: string | undefined;
    for (const zone of this.zones.keys()) {
      if (qtype === TYPE.DS && nameEquals(zone, qname) && qname !== '') continue;
      if (isSubdomain(qname, zone) && (best === undefined || zone.length > best.length)) best = zone;
    }
    if (best === undefined || !isSecure(best)) return undefined;
    const z = this.zones.get(best)!;
    const now = this.nowMs();
    if (!z.soa || z.soa.expiresMs <= now) return undefined;
    return { zone: best, z, soa: z.soa, now };
  }

  /** The SOA and the spans used, with the TTL left to the shortest of them. */
  private synthesised(zone: string, soa: { records: ResourceRecord[]; expiresMs: number }, used: Iterable<Span>, now: number): Synthesised | undefined {
    let ttl = Math.floor((soa.expiresMs - now) / 1000);
    const authority = [...soa.records];
    for (const s of used) {
      ttl = Math.min(ttl, Math.floor((s.expiresMs - now) / 1000));
      authority.push(...s.records);
    }
    if (ttl <= 0) return undefined;
    return { authority: authority.map((r) => ({ ...r, ttl: Math.min(r.ttl, ttl) })), ttl, zone };
  }

  /**
   * NXDOMAIN for `qname` from cached spans of the deepest zone holding any, when one
   * span covers the name and the wildcard at its closest encloser is denied too
   * (`qtype` only picks the zone: a DS lives in the parent). `isSecure` says whether
   * the zone's keys are (still) known secure.
   */
  nxdomain(qname: string, qtype: number, isSecure: (zone: string) => boolean): Synthesised | undefined {
    const found = this.zoneFor(qname, qtype, isSecure);
    if (!found) return undefined;
    const { z, now } = found;
    const live: Span[] = [];
    for (const [k, s] of z.spans) {
      if (s.expiresMs <= now) { z.spans.delete(k); continue; }
      live.push(s);
    }
    const cover = live.find((s) => nsecCovers(s.nsec, qname));
    if (!cover || nameEquals(cover.nsec.owner, qname)) return undefined;
    if (nsecNxdomain(qname, live.map((s) => s.nsec)).status !== 'secure') return undefined;
    // The spans used: the one covering the name and one covering its wildcard.
    const used = new Set<Span>([cover]);
    const all = live.map((s) => s.nsec);
    for (const s of live) {
      if (s !== cover && all.length && nsecNxdomain(qname, [cover.nsec, s.nsec]).status === 'secure') { used.add(s); break; }
    }
    return this.synthesised(found.zone, found.soa, used, now);
  }

  /**
   * NODATA for `qname`/`qtype` from the cached NSEC owned by `qname` itself, when its
   * bitmap has neither the type nor CNAME. At a delegation (NS without SOA) that NSEC
   * is the parent's and denies only DS; the child's apex NSEC never denies DS.
   */
  nodata(qname: string, qtype: number, isSecure: (zone: string) => boolean): Synthesised | undefined {
    const found = this.zoneFor(qname, qtype, isSecure);
    if (!found) return undefined;
    const span = found.z.spans.get(lowerName(qname));
    if (!span || span.expiresMs <= found.now) return undefined;
    if (nsecNodata(qname, qtype, [span.nsec]).status !== 'secure') return undefined;
    return this.synthesised(found.zone, found.soa, [span], found.now);
  }

  get size(): number {
    let n = 0;
    for (const z of this.zones.values()) n += z.spans.size;
    return n;
  }

  /**
   * Forgets what `match` selects (lower-cased names, '' for the root): whole zones,
   * and elsewhere the spans owned by a selected name. Returns the spans dropped.
   */
  flushNames(match: (name: string) => boolean): number {
    let n = 0;
    for (const [zone, z] of this.zones) {
      if (match(zone)) { n += z.spans.size; this.zones.delete(zone); continue; }
      for (const owner of [...z.spans.keys()]) if (match(owner)) { z.spans.delete(owner); n++; }
    }
    return n;
  }
}
