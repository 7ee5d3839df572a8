// What a DNSSEC-aware authoritative server adds to an answer when the query has
// the DO bit (RFC 4035 section 3.1): the RRSIGs of every RRset it returns, the DS
// (or the proof that there is none) with a referral, and the NSEC or NSEC3 records
// that prove an NXDOMAIN, a NODATA or a wildcard expansion (RFC 4035 3.1.3,
// RFC 5155 7.2). It works on the finished lookup result of lab/authserver, so the
// RFC 1034 lookup itself stays DNSSEC-free.

import { RCODE, TYPE } from '../../dns/constants.js';
import type { ResourceRecord } from '../../dns/message.js';
import { isSubdomain, lowerName, parentName, splitLabels } from '../../dns/name.js';
import { rdataName } from '../../dns/rdata.js';
import type { LookupResult, Zone, ZoneSet } from '../authserver/zone.js';
import { findNsec, findNsec3, nsec3Hash } from './denial.js';
import { sigKey, type ZoneDnssec } from './zone.js';

/** RRsets of a section in order (records of one owner and type together). */
function groups(section: ResourceRecord[]): ResourceRecord[][] {
  const out: ResourceRecord[][] = [];
  for (const rr of section) {
    const last = out[out.length - 1];
    if (last && last[0].type === rr.type && lowerName(last[0].name) === lowerName(rr.name)) last.push(rr);
    else out.push([rr]);
  }
  return out;
}

function zoneOf(zones: ZoneSet, owner: string, type: number): Zone | undefined {
  return zones.findZone(owner, type);
}

/** Closest existing ancestor-or-self of NAME in ZONE (the closest encloser, RFC 5155 7.2.1). */
function closestEncloser(zones: ZoneSet, zone: Zone, name: string): string {
  for (let n: string | null = name; n !== null; n = parentName(n)) {
    if (!isSubdomain(n, zone.origin)) break;
    if (zones.nodeIn(zone, n)) return n;
  }
  return zone.origin;
}

const join = (label: string, base: string) => (base === '' ? label : `${label}.${base}`);

/** The name one label longer than ENCLOSER on the way to NAME (the next closer name). */
function nextCloser(name: string, encloser: string): string {
  const labels = splitLabels(name);
  const keep = splitLabels(encloser).length + 1;
  return labels.slice(labels.length - keep).join('.');
}

class Adder {
  private readonly seen = new Set<string>();
  constructor(private readonly out: ResourceRecord[]) {}
  add(rrs: ResourceRecord[]): void {
    for (const r of rrs) {
      const k = `${lowerName(r.name)}|${r.type}|${r.rdata.toString('hex')}`;
      if (this.seen.has(k)) continue;
      this.seen.add(k);
      this.out.push(r);
    }
  }
}

/** The zone's denial record for NAME (matching or covering) with its RRSIG. */
function nsecFor(d: ZoneDnssec, name: string): { rrs: ResourceRecord[]; matches: boolean } {
  if (d.nsec) {
    const f = findNsec(d.nsec, name);
    return { rrs: [f.entry.rr, ...(d.sigs.get(sigKey(f.entry.rr.name, TYPE.NSEC)) ?? [])], matches: f.matches };
  }
  const f = findNsec3(d.nsec3!.chain, nsec3Hash(name, d.nsec3!.params));
  return { rrs: [f.entry.rr, ...(d.sigs.get(sigKey(f.entry.rr.name, TYPE.NSEC3)) ?? [])], matches: f.matches };
}

/** Proof that NAME does not exist in ZONE, and that no wildcard could have matched it. */
function proveNxdomain(zones: ZoneSet, zone: Zone, d: ZoneDnssec, name: string, add: Adder): void {
  const ce = closestEncloser(zones, zone, name);
  if (d.nsec) {
    add.add(nsecFor(d, name).rrs);
    add.add(nsecFor(d, join('*', ce)).rrs);
    return;
  }
  add.add(nsecFor(d, ce).rrs); // matches the closest encloser
  add.add(nsecFor(d, nextCloser(name, ce)).rrs); // covers the next closer name
  add.add(nsecFor(d, join('*', ce)).rrs); // covers the wildcard
}

/** Proof that NAME has no record of the asked type (it exists, or a wildcard matched it). */
function proveNodata(zones: ZoneSet, zone: Zone, d: ZoneDnssec, name: string, add: Adder): void {
  if (zones.nodeIn(zone, name)) {
    // NSEC: the name's own NSEC; an empty non-terminal has none, and the covering NSEC
    // (whose next name is below it) proves it. NSEC3: every name has one.
    add.add(nsecFor(d, name).rrs);
    return;
  }
  // Wildcard NODATA: the wildcard's record lacks the type, and QNAME itself does not exist.
  const ce = closestEncloser(zones, zone, name);
  if (d.nsec) {
    add.add(nsecFor(d, name).rrs);
    add.add(nsecFor(d, join('*', ce)).rrs);
    return;
  }
  add.add(nsecFor(d, ce).rrs);
  add.add(nsecFor(d, nextCloser(name, ce)).rrs);
  add.add(nsecFor(d, join('*', ce)).rrs);
}

/**
 * Adds DNSSEC records to RES in place for a DO=1 query. Zones without signing data
 * are left alone (an unsigned zone answers as before).
 */
export function addDnssec(zones: ZoneSet, qname: string, qtype: number, res: LookupResult): void {
  if (res.rcode !== RCODE.NOERROR && res.rcode !== RCODE.NXDOMAIN) return;
  const answers: ResourceRecord[] = [];
  const addAnswer = new Adder(answers);
  const authority: ResourceRecord[] = [];
  const addAuth = new Adder(authority);

  // Answer section: each RRset followed by its RRSIG; wildcard expansions get the
  // wildcard's RRSIG and a proof that QNAME itself does not exist.
  for (const set of groups(res.answers)) {
    addAnswer.add(set);
    const owner = set[0].name;
    const type = set[0].type;
    const zone = zoneOf(zones, owner, type);
    const d = zone?.dnssec;
    if (!zone || !d) continue;
    const own = d.sigs.get(sigKey(owner, type));
    if (own) { addAnswer.add(own); continue; }
    if (zones.nodeIn(zone, owner)) continue; // e.g. a synthesised CNAME (DNAME): unsigned, as RFC 6672 says
    const ce = closestEncloser(zones, zone, owner);
    const wild = d.sigs.get(sigKey(join('*', ce), type));
    if (!wild) continue;
    addAnswer.add(wild.map((s) => ({ ...s, name: owner })));
    // RFC 4035 3.1.3.3 / RFC 5155 7.2.6: no closer match exists.
    if (d.nsec) addAuth.add(nsecFor(d, owner).rrs);
    else addAuth.add(nsecFor(d, nextCloser(owner, ce)).rrs);
  }

  // The name a negative answer is about: the end of the CNAME chain, or QNAME.
  let target = qname;
  for (const r of res.answers) if (r.type === TYPE.CNAME && lowerName(r.name) === lowerName(target)) target = rdataName(r.rdata);

  for (const set of groups(res.authority)) {
    addAuth.add(set);
    const owner = set[0].name;
    const type = set[0].type;
    if (type === TYPE.SOA) {
      const zone = zones.findZone(owner, TYPE.SOA);
      const d = zone?.dnssec;
      if (!zone || !d) continue;
      addAuth.add(d.sigs.get(sigKey(owner, TYPE.SOA)) ?? []);
      if (!isSubdomain(target, zone.origin)) continue;
      if (res.rcode === RCODE.NXDOMAIN) proveNxdomain(zones, zone, d, target, addAuth);
      else proveNodata(zones, zone, d, target, addAuth);
    } else if (type === TYPE.NS && res.answers.every((a) => a.type === TYPE.CNAME || a.type === TYPE.DNAME)) {
      // A referral: the DS RRset with its RRSIG, or proof that the child is unsigned (RFC 4035 3.1.4).
      const zone = zones.findZone(owner, TYPE.DS);
      const d = zone?.dnssec;
      if (!zone || !d || lowerName(owner) === zone.originKey) continue;
      const ds = zones.nodeIn(zone, owner)?.rrsets.get(TYPE.DS);
      if (ds) {
        addAuth.add(ds);
        addAuth.add(d.sigs.get(sigKey(owner, TYPE.DS)) ?? []);
      } else {
        const f = nsecFor(d, owner);
        addAuth.add(f.rrs);
        if (!f.matches && d.nsec3) {
          // Opt-out: the closest provable encloser's NSEC3 with the one covering the next closer (RFC 5155 7.2.7).
          const ce = closestEncloser(zones, zone, parentName(owner) ?? '');
          addAuth.add(nsecFor(d, ce).rrs);
        }
      }
    }
  }
  res.answers = answers;
  res.authority = authority;
}
