// Signs one zone's records in memory: a combined signing key (flags 257) signs
// every authoritative RRset, the apex gets DNSKEY (and NSEC3PARAM), and the NSEC
// or NSEC3 chain is built. The result is the records to serve plus a ZoneDnssec
// index the authoritative server uses to add RRSIGs and denial proofs when a
// query has the DO bit (respond.ts).
//
// Faults make the lab's bogus cases: a corrupted signature, expired signatures,
// and a DS in the parent that matches no key of the child.

import { CLASS, TYPE } from '../../dns/constants.js';
import type { ResourceRecord } from '../../dns/message.js';
import { isSubdomain, lowerName, parentName } from '../../dns/name.js';
import { decodeSoa } from '../../dns/rdata.js';
import { buildNsec3Chain, buildNsecChain, nsec3Hash, nsec3ParamRdata, type DenialName, type Nsec3Entry, type Nsec3Params, type NsecEntry } from './denial.js';
import { DIGEST, dsRdata, generateKey, type DnssecKey } from './keys.js';
import { signRRset } from './sign.js';

export type DnssecFault = 'bad-signature' | 'expired' | 'ds-mismatch';
export const DNSSEC_FAULTS: readonly DnssecFault[] = ['bad-signature', 'expired', 'ds-mismatch'];

export interface SignZoneOptions {
  algorithm: number;
  /** 'nsec' (default) or 'nsec3' (SHA-1, RFC 9276 parameters: 0 iterations, no salt, unless given). */
  denial?: 'nsec' | 'nsec3';
  nsec3?: Nsec3Params;
  fault?: DnssecFault;
  /** Seconds since the epoch; default now. Signatures are valid from now - 1 h to now + 30 days. */
  now?: number;
  /** A key to use instead of a fresh one. */
  key?: DnssecKey;
}

export interface ZoneDnssec {
  key: DnssecKey;
  /** DS rdata the parent should publish (for ds-mismatch: a DS of a key the zone never uses). */
  ds: Buffer[];
  /** RRSIGs by "owner|type" (owner lower-cased; wildcards under their "*" owner). */
  sigs: Map<string, ResourceRecord[]>;
  nsec?: NsecEntry[];
  nsec3?: { params: Nsec3Params; chain: Nsec3Entry[] };
  fault?: DnssecFault;
}

export interface SignedZone {
  records: ResourceRecord[];
  dnssec: ZoneDnssec;
}

export const sigKey = (owner: string, type: number) => `${lowerName(owner)}|${type}`;

/** Signs ORIGIN's records. Records of types RRSIG/NSEC/NSEC3 already present are dropped and rebuilt. */
export function signZone(origin: string, input: ResourceRecord[], o: SignZoneOptions): SignedZone {
  const key = o.key ?? generateKey(o.algorithm, 257);
  const now = o.now ?? Math.floor(Date.now() / 1000);
  const day = 86_400;
  // Expired a week ago: validators allow for clock skew (unbound: a tenth of the
  // validity period, at most a day), so an expiry only a day back is still inside
  // unbound's skew in the second it is signed, and the 'expired' zone validated there.
  const times = o.fault === 'expired'
    ? { inception: now - 37 * day, expiration: now - 7 * day }
    : { inception: now - 3600, expiration: now + 30 * day };
  const signOpts = { ...times, signer: origin };
  const records = input.filter((r) => r.type !== TYPE.RRSIG && r.type !== TYPE.NSEC && r.type !== TYPE.NSEC3 && r.type !== TYPE.DNSKEY && r.type !== TYPE.NSEC3PARAM);
  const soa = records.find((r) => r.type === TYPE.SOA && lowerName(r.name) === lowerName(origin));
  if (!soa) throw new Error(`zone ${origin || '.'} has no SOA to sign`);
  const negTtl = Math.min(soa.ttl, decodeSoa(soa.rdata).minimum); // RFC 9077: NSEC(3) TTL
  const nsec3 = o.denial === 'nsec3' ? (o.nsec3 ?? { iterations: 0, salt: Buffer.alloc(0) }) : undefined;

  records.push({ name: origin, type: TYPE.DNSKEY, class: CLASS.IN, ttl: soa.ttl, rdata: key.dnskey });
  if (nsec3) records.push({ name: origin, type: TYPE.NSEC3PARAM, class: CLASS.IN, ttl: 0, rdata: nsec3ParamRdata(nsec3) });

  // RRsets by owner, and the zone cuts.
  const byName = new Map<string, { name: string; sets: Map<number, ResourceRecord[]> }>();
  for (const r of records) {
    const k = lowerName(r.name);
    let n = byName.get(k);
    if (!n) { n = { name: r.name, sets: new Map() }; byName.set(k, n); }
    const set = n.sets.get(r.type);
    if (set) set.push(r); else n.sets.set(r.type, [r]);
  }
  const originKey = lowerName(origin);
  const cuts = [...byName.keys()].filter((k) => k !== originKey && byName.get(k)!.sets.has(TYPE.NS));
  const belowCut = (k: string) => cuts.some((c) => k !== c && isSubdomain(k, c));

  const sigs = new Map<string, ResourceRecord[]>();
  const denialNames: DenialName[] = [];
  const ents = new Set<string>();
  for (const [k, n] of byName) {
    if (belowCut(k)) continue; // glue and occluded data are not signed and have no NSEC
    const isCut = cuts.includes(k);
    const signedTypes: number[] = [];
    for (const [type, set] of n.sets) {
      if (isCut && type !== TYPE.DS) continue; // the child signs its own NS; glue is never signed
      sigs.set(sigKey(k, type), [signRRset(set, key, signOpts)]);
      signedTypes.push(type);
    }
    const types = [...n.sets.keys()];
    if (nsec3) {
      // RFC 5155 3.2: RRSIG is listed only when the name has signed RRsets; opt-out skips unsigned cuts.
      if (isCut && nsec3.optOut && !n.sets.has(TYPE.DS)) continue;
      denialNames.push({ name: n.name, types: signedTypes.length ? [...types, TYPE.RRSIG] : types });
    } else {
      denialNames.push({ name: n.name, types: [...types, TYPE.RRSIG, TYPE.NSEC] });
    }
    for (let p = parentName(k); p !== null && p !== originKey && isSubdomain(p, originKey); p = parentName(p)) {
      if (!byName.has(p)) ents.add(p);
    }
  }

  const dnssec: ZoneDnssec = { key, ds: [], sigs, fault: o.fault };
  if (nsec3) {
    for (const e of ents) denialNames.push({ name: e, types: [] });
    const chain = buildNsec3Chain(origin, denialNames, nsec3, negTtl);
    for (const c of chain) sigs.set(sigKey(c.rr.name, TYPE.NSEC3), [signRRset([c.rr], key, signOpts)]);
    dnssec.nsec3 = { params: nsec3, chain };
  } else {
    const chain = buildNsecChain(denialNames, negTtl);
    for (const c of chain) sigs.set(sigKey(c.rr.name, TYPE.NSEC), [signRRset([c.rr], key, signOpts)]);
    dnssec.nsec = chain;
  }

  if (o.fault === 'bad-signature') {
    // Corrupt the signatures over address records: the keys still validate, the data does not.
    for (const [k, list] of sigs) {
      const type = Number(k.slice(k.lastIndexOf('|') + 1));
      if (type !== TYPE.A && type !== TYPE.AAAA && type !== TYPE.TXT) continue;
      sigs.set(k, list.map((s) => { const rdata = Buffer.from(s.rdata); rdata[rdata.length - 1] ^= 0xff; return { ...s, rdata }; }));
    }
  }
  dnssec.ds = o.fault === 'ds-mismatch'
    ? [dsRdata(origin, generateKey(o.algorithm, 257).dnskey, DIGEST.SHA256)]
    : [dsRdata(origin, key.dnskey, DIGEST.SHA256)];
  return { records, dnssec };
}

/** Looks a name's NSEC3 hash up with the zone's parameters. */
export function hashIn(d: ZoneDnssec, name: string): Buffer {
  return nsec3Hash(name, d.nsec3!.params);
}
