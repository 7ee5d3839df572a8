// One authoritative zone in memory, and the RFC 1034 section 4.3.2 lookup over a
// set of zones: referrals at zone cuts, CNAME (and DNAME) chains inside a zone,
// wildcards (RFC 4592), empty non-terminals, NXDOMAIN versus NODATA (RFC 2308).
//
// Responses are "minimal" (like NSD with minimal-responses: yes): positive answers
// carry no NS in authority; the additional section only holds the addresses of
// NS targets (referral glue, and NS answers). test/lab/ checks all this against NSD.

import { CLASS, RCODE, TYPE, typeName } from '../../dns/constants.js';
import type { ResourceRecord } from '../../dns/message.js';
import { isSubdomain, lowerName, nameToWire, parentName, splitLabels } from '../../dns/name.js';
import { decodeSoa, rdataName } from '../../dns/rdata.js';
import type { ZoneDnssec } from '../dnssec/zone.js';
import { ZoneFileError, parseZoneFile, parseZoneText, type ZoneFileIssue, type ZoneRecord } from './zonefile.js';

/**
 * CNAME/DNAME hops followed inside the server. Loops are caught separately; this
 * only bounds the work (NSD follows chains of 150 links and more).
 */
export const MAX_CHAIN = 1000;

export interface ZoneNode {
  /** Owner name as written in the zone file. */
  name: string;
  /** RRsets by type; an empty map is an empty non-terminal. */
  rrsets: Map<number, ResourceRecord[]>;
}

export class Zone {
  /** Zone name, presentation form without trailing dot ("" = root). */
  readonly origin: string;
  readonly originKey: string;
  private readonly nodes = new Map<string, ZoneNode>();
  /** SOA as served in negative answers: TTL = min(SOA TTL, SOA MINIMUM) (RFC 2308 section 3). */
  readonly negativeSoa: ResourceRecord;
  readonly soa: ResourceRecord;
  readonly recordCount: number;
  /** Signing data when the zone is signed (lab/dnssec); answers to DO=1 queries then carry RRSIGs and proofs. */
  dnssec?: ZoneDnssec;

  private constructor(origin: string, records: ResourceRecord[]) {
    this.origin = origin;
    this.originKey = lowerName(origin);
    for (const rr of records) this.add(rr);
    this.recordCount = records.length;
    const soa = this.nodes.get(this.originKey)!.rrsets.get(TYPE.SOA)![0];
    this.soa = soa;
    this.negativeSoa = { ...soa, ttl: Math.min(soa.ttl, decodeSoa(soa.rdata).minimum) };
  }

  private add(rr: ResourceRecord): void {
    const key = lowerName(rr.name);
    let node = this.nodes.get(key);
    if (!node) {
      node = { name: rr.name, rrsets: new Map() };
      this.nodes.set(key, node);
      // Every ancestor up to the apex exists, as an empty non-terminal if nothing else.
      for (let p = parentName(rr.name); p !== null && isSubdomain(p, this.origin); p = parentName(p)) {
        const pk = lowerName(p);
        if (this.nodes.has(pk)) break;
        this.nodes.set(pk, { name: p, rrsets: new Map() });
        if (pk === this.originKey) break;
      }
    }
    let set = node.rrsets.get(rr.type);
    if (!set) { set = []; node.rrsets.set(rr.type, set); }
    if (!set.some((x) => x.rdata.equals(rr.rdata))) set.push(rr);
  }

  /**
   * Builds a zone and checks it: every name inside the origin, one SOA at the apex,
   * NS at the apex, CNAME alone at its name. Throws ZoneFileError naming the lines.
   */
  static fromRecords(origin: string, records: ZoneRecord[], file = 'zone'): Zone {
    const issues: ZoneFileIssue[] = [];
    const at = (r: ZoneRecord, message: string) => issues.push({ file: r.file, line: r.line, message });
    const kept: ZoneRecord[] = [];
    const originKey = lowerName(origin);
    for (const r of records) {
      if (!isSubdomain(r.name, origin)) { at(r, `${r.name || '.'} is outside the zone ${origin || '.'}`); continue; }
      if (r.type === TYPE.SOA && lowerName(r.name) !== originKey) { at(r, 'SOA is only allowed at the zone apex'); continue; }
      kept.push(r);
    }
    const apex = kept.filter((r) => lowerName(r.name) === originKey);
    const soas = apex.filter((r) => r.type === TYPE.SOA);
    if (soas.length === 0) issues.push({ file, line: 0, message: `zone ${origin || '.'} has no SOA record at its apex` });
    else if (soas.length > 1) at(soas[1], 'a zone has exactly one SOA record');
    if (!apex.some((r) => r.type === TYPE.NS)) issues.push({ file, line: soas[0]?.line ?? 0, message: `zone ${origin || '.'} has no NS records at its apex` });
    const byName = new Map<string, ZoneRecord[]>();
    for (const r of kept) {
      const k = lowerName(r.name);
      const list = byName.get(k);
      if (list) list.push(r); else byName.set(k, [r]);
    }
    for (const list of byName.values()) {
      const cnames = list.filter((r) => r.type === TYPE.CNAME);
      if (cnames.length > 1) at(cnames[1], `${cnames[1].name} has more than one CNAME`);
      // RFC 2181 10.1 (DNSSEC types would be allowed too; there are none in the lab).
      const other = list.find((r) => r.type !== TYPE.CNAME && r.type !== TYPE.RRSIG && r.type !== TYPE.NSEC);
      if (cnames.length && other) at(other, `${other.name} has a CNAME and other data (${typeName(other.type)})`);
      if (cnames.length && lowerName(cnames[0].name) === originKey) at(cnames[0], 'CNAME at the zone apex');
      const dnames = list.filter((r) => r.type === TYPE.DNAME);
      if (dnames.length > 1) at(dnames[1], `${dnames[1].name} has more than one DNAME`);
    }
    if (issues.length) throw new ZoneFileError(issues);
    return new Zone(origin, kept);
  }

  /** Builds a zone from zone-file text (tests: `Zone.parse('example.lab', '$TTL 60\n@ SOA ...')`). */
  static parse(origin: string, text: string, file = 'zone'): Zone {
    const o = origin === '.' ? '' : origin.replace(/\.$/, '');
    const r = parseZoneText(text, { file, origin: o === '' ? '.' : o + '.' });
    if (r.issues.length) throw new ZoneFileError(r.issues);
    return Zone.fromRecords(o, r.records, file);
  }

  /** Loads a zone file; throws ZoneFileError with FILE:LINE: message for every problem. */
  static load(file: string, origin: string): Zone {
    const records = parseZoneFile(file, origin);
    const o = origin === '.' ? '' : origin.replace(/\.$/, '');
    return Zone.fromRecords(o, records, file);
  }

  node(name: string): ZoneNode | undefined {
    return this.nodes.get(lowerName(name));
  }

  /** All records, for tests and listings. */
  *records(): Generator<ResourceRecord> {
    for (const n of this.nodes.values()) for (const set of n.rrsets.values()) yield* set;
  }
}

export interface LookupResult {
  rcode: number;
  aa: boolean;
  answers: ResourceRecord[];
  authority: ResourceRecord[];
  additional: ResourceRecord[];
}

function withOwner(set: ResourceRecord[], owner: string): ResourceRecord[] {
  return set.map((r) => ({ ...r, name: owner }));
}

/** The zones one server answers for; picks the closest enclosing zone per question. */
export class ZoneSet {
  private readonly zones = new Map<string, Zone>();

  constructor(zones: Zone[]) {
    for (const z of zones) {
      if (this.zones.has(z.originKey)) throw new Error(`zone ${z.origin || '.'} is loaded twice`);
      this.zones.set(z.originKey, z);
    }
    // Like NSD's single name tree: a child zone's apex (and the names above it) exist
    // in every parent zone we also serve, even without a delegation there. Kept here,
    // not in the Zone, because one Zone may be shared by several servers.
    for (const child of zones) {
      for (const parent of zones) {
        if (child.originKey === parent.originKey || !isSubdomain(child.origin, parent.origin)) continue;
        let extra = this.implied.get(parent);
        if (!extra) { extra = new Set(); this.implied.set(parent, extra); }
        for (let p: string | null = child.originKey; p !== null && p !== parent.originKey; p = parentName(p)) extra.add(p);
      }
    }
  }

  private readonly implied = new Map<Zone, Set<string>>();

  /** A node of `zone`, including names implied by child zones we serve. */
  nodeIn(zone: Zone, name: string): ZoneNode | undefined {
    const n = zone.node(name);
    if (n) return n;
    return this.implied.get(zone)?.has(lowerName(name)) ? { name, rrsets: new Map() } : undefined;
  }

  list(): Zone[] {
    return [...this.zones.values()];
  }

  /** Closest enclosing zone of `name`, or undefined when we are not authoritative. */
  findZone(name: string, qtype = 0): Zone | undefined {
    let best: Zone | undefined;
    for (let n: string | null = lowerName(name); n !== null; n = parentName(n)) {
      const z = this.zones.get(n);
      if (z) {
        // DS lives on the parent side of a cut (RFC 4035 3.1.4.1): skip the child apex if we have the parent.
        if (qtype === TYPE.DS && n === lowerName(name) && n !== '') { best ??= z; continue; }
        return z;
      }
    }
    return best;
  }

  /** Answers one question. REFUSED when no zone here contains the name. */
  lookup(qname: string, qtype: number, qclass: number = CLASS.IN): LookupResult {
    const res: LookupResult = { rcode: RCODE.NOERROR, aa: true, answers: [], authority: [], additional: [] };
    if (qclass !== CLASS.IN && qclass !== CLASS.ANY) { res.rcode = RCODE.REFUSED; res.aa = false; return res; }
    const zone = this.findZone(qname, qtype);
    if (!zone) { res.rcode = RCODE.REFUSED; res.aa = false; return res; }
    lookupInZone(this, zone, qname, qtype, res, new Set());
    return res;
  }
}

/**
 * RFC 8482 4.1: ANY gets one RRset. Like NSD: the first of A, AAAA, SOA, MX, PTR
 * in zone-file order, else the last of the other types.
 */
function pickAny(node: ZoneNode): ResourceRecord[] | undefined {
  let other: ResourceRecord[] | undefined;
  let unwanted: ResourceRecord[] | undefined;
  for (const [type, set] of node.rrsets) {
    if (type === TYPE.A || type === TYPE.AAAA || type === TYPE.SOA || type === TYPE.MX || type === TYPE.PTR) return set;
    if (type === TYPE.DNSKEY || type === TYPE.RRSIG || type === TYPE.NSEC) unwanted = set;
    else other = set;
  }
  return other ?? unwanted;
}

/**
 * RFC 1034 4.3.2 step 3a: after a CNAME (or DNAME) "go back to step 1" with the
 * target: we go on in whichever of our zones holds it; other targets are left to
 * the resolver.
 */
function follow(zones: ZoneSet, target: string, qtype: number, res: LookupResult, seen: Set<string>): void {
  const next = zones.findZone(target, qtype);
  if (next) lookupInZone(zones, next, target, qtype, res, seen);
}

/** Glue and in-zone addresses of NS targets, A before AAAA, in NS order. */
function addressesFor(zone: Zone, targets: string[]): ResourceRecord[] {
  const out: ResourceRecord[] = [];
  for (const t of targets) {
    if (!isSubdomain(t, zone.origin)) continue;
    const node = zone.node(t);
    if (!node) continue;
    out.push(...(node.rrsets.get(TYPE.A) ?? []), ...(node.rrsets.get(TYPE.AAAA) ?? []));
  }
  return out;
}

/**
 * RFC 1034 4.3.2 steps 3-4 inside one zone. Appends to `res`; follows CNAME and
 * DNAME targets that stay inside this zone (others are left to the resolver).
 */
function lookupInZone(zones: ZoneSet, zone: Zone, qname: string, qtype: number, res: LookupResult, seen: Set<string>): void {
  const qkey = lowerName(qname);
  if (seen.has(qkey) || seen.size >= MAX_CHAIN) return; // loop or long chain: stop, answer what we have
  seen.add(qkey);

  // Walk from the apex down towards qname, one label at a time.
  const rel = splitLabels(qname).slice(0, Math.max(0, splitLabels(qname).length - splitLabels(zone.origin).length));
  let encloser = zone.origin;
  let exact = rel.length === 0;
  for (let i = rel.length; i >= 0; i--) {
    const name = i === rel.length ? zone.origin : [rel.slice(i).join('.'), zone.origin].filter((x) => x !== '').join('.');
    const node = zones.nodeIn(zone, name);
    if (!node) break;
    encloser = name;
    const isQname = i === 0;
    const isApex = i === rel.length;
    // Step 3b: a zone cut above or at qname means a referral (DS at the cut is answered here).
    if (!isApex && node.rrsets.has(TYPE.NS) && !(isQname && qtype === TYPE.DS)) {
      const ns = node.rrsets.get(TYPE.NS)!;
      // A plain referral is not authoritative; after a CNAME we own, AA stays (as NSD does).
      if (res.answers.length === 0) res.aa = false;
      res.authority.push(...ns);
      res.additional.push(...addressesFor(zone, ns.map((r) => rdataName(r.rdata))));
      return;
    }
    // DNAME (RFC 6672) above qname: answer it, synthesise a CNAME, follow the target.
    if (!isQname && node.rrsets.has(TYPE.DNAME)) {
      const dname = node.rrsets.get(TYPE.DNAME)![0];
      res.answers.push(dname);
      const prefix = splitLabels(qname).slice(0, splitLabels(qname).length - splitLabels(name).length).join('.');
      const targetBase = rdataName(dname.rdata);
      const target = targetBase === '' ? prefix : `${prefix}.${targetBase}`;
      if (target.length > 253) { res.rcode = RCODE.YXDOMAIN; return; }
      let rdata: Buffer;
      try {
        rdata = nameToWire(target);
      } catch {
        res.rcode = RCODE.YXDOMAIN;
        return;
      }
      res.answers.push({ name: qname, type: TYPE.CNAME, class: CLASS.IN, ttl: dname.ttl, rdata });
      follow(zones, target, qtype, res, seen);
      return;
    }
    if (isQname) exact = true;
  }

  let node: ZoneNode | undefined;
  if (exact) {
    node = zones.nodeIn(zone, qname);
  } else {
    // RFC 4592: only the wildcard directly below the closest encloser can match.
    const wild = zones.nodeIn(zone, encloser === '' ? '*' : `*.${encloser}`);
    if (!wild) {
      res.rcode = RCODE.NXDOMAIN;
      res.authority.push(zone.negativeSoa);
      return;
    }
    node = wild;
  }
  if (!node) return;
  const owner = qname;
  if (qtype === TYPE.ANY) {
    const one = pickAny(node);
    if (!one) { res.authority.push(zone.negativeSoa); return; }
    res.answers.push(...withOwner(one, owner));
    return;
  }
  const set = node.rrsets.get(qtype);
  if (set) {
    res.answers.push(...withOwner(set, owner));
    // NS answers carry the servers' addresses we hold (NSD does so even with minimal-responses).
    if (qtype === TYPE.NS) res.additional.push(...addressesFor(zone, set.map((r) => rdataName(r.rdata))));
    return;
  }
  const cname = node.rrsets.get(TYPE.CNAME);
  if (cname) {
    res.answers.push(...withOwner(cname, owner));
    follow(zones, rdataName(cname[0].rdata), qtype, res, seen);
    return;
  }
  // NODATA: the name exists (or a wildcard matched) but has no such type.
  res.authority.push(zone.negativeSoa);
}

