// Authenticated denial of existence: NSEC (RFC 4035 section 5.4, RFC 4592, RFC 6840)
// and NSEC3 (RFC 5155 sections 7.2 and 8). The records given here have already been
// verified; these functions decide whether they prove what the answer claims.
// NSEC3 hashing is bounded per response (CVE-2023-50868): a Budget counts hash
// computations, and RFC 9276's iteration limit makes a zone above it insecure.

import { TYPE } from '../../dns/constants.js';
import { isSubdomain, lowerName, nameEquals, splitLabels } from '../../dns/name.js';
import { bitmapHas, canonicalCompare, nsec3Hash, type Nsec, type Nsec3 } from './crypto.js';

/**
 * NSEC3 iterations above this make the answer insecure, with EDE 27 (RFC 9276
 * section 3.2). 150 is unbound's default (val-nsec3-keysize-iterations "1024 150
 * 2048 150 4096 150" in unbound 1.17-1.19: 150 whatever the key size).
 */
export const MAX_NSEC3_ITERATIONS = 150;
/** NSEC3 hash computations per response before the proof is given up as bogus (unbound bounds it likewise). */
export const MAX_NSEC3_HASHES = 64;

export type Proof = { status: 'secure' } | { status: 'insecure'; reason: string; ede?: number } | { status: 'bogus'; reason: string };

export interface HashBudget {
  hashes: number;
}

const SECURE: Proof = { status: 'secure' };
const bogus = (reason: string): Proof => ({ status: 'bogus', reason });

// ---------------------------------------------------------------------------- NSEC

/** True if the NSEC's span covers `name` strictly (name is between owner and next, canonical order). */
export function nsecCovers(n: Nsec, name: string): boolean {
  if (canonicalCompare(n.owner, name) >= 0) return false;
  const nextCmp = canonicalCompare(n.next, n.owner);
  if (nextCmp <= 0) {
    // The last NSEC of the zone: next is the apex; everything after the owner inside it.
    return isSubdomain(name, n.next);
  }
  return canonicalCompare(name, n.next) < 0;
}

/** An NSEC at a delegation (NS without SOA) or with DNAME cannot deny names below its owner. */
function nsecDeniesBelow(n: Nsec, name: string): boolean {
  if (nameEquals(n.owner, name) || !isSubdomain(name, n.owner)) return true;
  if (bitmapHas(n.bitmap, TYPE.DNAME)) return false;
  return !(bitmapHas(n.bitmap, TYPE.NS) && !bitmapHas(n.bitmap, TYPE.SOA));
}

function commonAncestor(a: string, b: string): string {
  const la = splitLabels(lowerName(a)).reverse();
  const lb = splitLabels(lowerName(b)).reverse();
  const out: string[] = [];
  for (let i = 0; i < Math.min(la.length, lb.length) && la[i] === lb[i]; i++) out.push(la[i]);
  return out.reverse().join('.');
}

/** The closest encloser a covering NSEC implies for `name`. */
function nsecClosestEncloser(n: Nsec, name: string): string {
  const a = commonAncestor(name, n.owner);
  const b = commonAncestor(name, n.next);
  return splitLabels(a).length >= splitLabels(b).length ? a : b;
}

function wildcardOf(ce: string): string {
  return ce === '' ? '*' : `*.${ce}`;
}

/** Proof that `qname` does not exist: a covering NSEC and the wildcard at its closest encloser denied. */
export function nsecNxdomain(qname: string, nsecs: readonly Nsec[]): Proof {
  const cover = nsecs.find((n) => nsecCovers(n, qname) && nsecDeniesBelow(n, qname));
  if (!cover) return bogus(`no NSEC covers ${qname}`);
  const ce = nsecClosestEncloser(cover, qname);
  const wc = wildcardOf(ce);
  if (!nsecs.some((n) => nsecCovers(n, wc))) return bogus(`no NSEC denies the wildcard ${wc}`);
  return SECURE;
}

/** Type absent at an NSEC (nor a CNAME, which would have been followed). */
function nsecNoType(n: Nsec, qtype: number): boolean {
  return !bitmapHas(n.bitmap, qtype) && !bitmapHas(n.bitmap, TYPE.CNAME);
}

/**
 * Proof that `qname` exists without `qtype`: an NSEC at the name without the type;
 * an empty non-terminal (a covering NSEC whose next name lies below qname); or a
 * wildcard NODATA (qname denied, the wildcard's NSEC without the type).
 */
export function nsecNodata(qname: string, qtype: number, nsecs: readonly Nsec[]): Proof {
  const at = nsecs.find((n) => nameEquals(n.owner, qname));
  if (at) {
    if (!nsecNoType(at, qtype)) return bogus(`NSEC at ${qname} lists the type asked`);
    const delegation = bitmapHas(at.bitmap, TYPE.NS) && !bitmapHas(at.bitmap, TYPE.SOA);
    // The parent side of a cut proves only the absence of DS; the child side (SOA) never does.
    if (qtype === TYPE.DS && bitmapHas(at.bitmap, TYPE.SOA) && qname !== '') return bogus(`NSEC for DS at ${qname} is the child zone's`);
    if (qtype !== TYPE.DS && delegation) return bogus(`NSEC at ${qname} is a delegation's`);
    return SECURE;
  }
  const ent = nsecs.find((n) => nsecCovers(n, qname) && isSubdomain(n.next, qname) && !nameEquals(n.next, qname));
  if (ent) return SECURE;
  const cover = nsecs.find((n) => nsecCovers(n, qname) && nsecDeniesBelow(n, qname));
  if (cover) {
    const wc = wildcardOf(nsecClosestEncloser(cover, qname));
    const w = nsecs.find((n) => nameEquals(n.owner, wc));
    if (w && nsecNoType(w, qtype)) return SECURE;
  }
  return bogus(`no NSEC proves ${qname} has no type ${qtype}`);
}

/** A wildcard expansion is legitimate only if qname itself does not exist. */
export function nsecWildcardAnswer(qname: string, nsecs: readonly Nsec[]): Proof {
  if (nsecs.some((n) => nsecCovers(n, qname) && nsecDeniesBelow(n, qname))) return SECURE;
  return bogus(`wildcard answer for ${qname} without an NSEC denying the name`);
}

// ---------------------------------------------------------------------------- NSEC3

class Nsec3Set {
  readonly zone: string;
  private readonly cache = new Map<string, Buffer>();
  constructor(readonly records: readonly Nsec3[], private readonly budget: HashBudget) {
    this.zone = records[0].zone;
  }
  get params(): Nsec3 { return this.records[0]; }
  hash(name: string): Buffer | undefined {
    const key = lowerName(name);
    const hit = this.cache.get(key);
    if (hit) return hit;
    if (this.budget.hashes >= MAX_NSEC3_HASHES) return undefined;
    this.budget.hashes++;
    const p = this.params;
    const h = nsec3Hash(name, p.salt, p.iterations);
    this.cache.set(key, h);
    return h;
  }
  match(name: string): Nsec3 | undefined | null {
    const h = this.hash(name);
    if (!h) return null;
    return this.records.find((r) => r.ownerHash !== undefined && r.ownerHash.equals(h));
  }
  cover(name: string): Nsec3 | undefined | null {
    const h = this.hash(name);
    if (!h) return null;
    return this.records.find((r) => {
      if (!r.ownerHash) return false;
      const a = Buffer.compare(r.ownerHash, h);
      const b = Buffer.compare(h, r.nextHash);
      if (Buffer.compare(r.nextHash, r.ownerHash) <= 0) return a < 0 || b < 0; // last in the chain wraps
      return a < 0 && b < 0;
    });
  }
}

type Nsec3Setup = { set: Nsec3Set } | { proof: Proof };

/** The NSEC3 records of the zone enclosing qname, checked for usable parameters. */
function nsec3Setup(qname: string, nsec3s: readonly Nsec3[], budget: HashBudget): Nsec3Setup {
  const inZone = nsec3s.filter((r) => isSubdomain(qname, r.zone));
  if (inZone.length === 0) return { proof: bogus(`no NSEC3 of a zone above ${qname}`) };
  // The deepest zone's records (a response can only speak for one).
  let zone = inZone[0].zone;
  for (const r of inZone) if (r.zone.length > zone.length) zone = r.zone;
  const recs = inZone.filter((r) => nameEquals(r.zone, zone));
  const p = recs[0];
  if (recs.some((r) => r.hashAlg !== p.hashAlg || r.iterations !== p.iterations || !r.salt.equals(p.salt))) {
    return { proof: bogus(`NSEC3 records of ${zone} disagree on their parameters`) };
  }
  if (p.hashAlg !== 1) return { proof: { status: 'insecure', reason: `NSEC3 hash algorithm ${p.hashAlg} is not supported` } };
  if (p.iterations > MAX_NSEC3_ITERATIONS) {
    return { proof: { status: 'insecure', reason: `NSEC3 iterations ${p.iterations} above ${MAX_NSEC3_ITERATIONS} (RFC 9276)`, ede: 27 } };
  }
  return { set: new Nsec3Set(recs, budget) };
}

interface Encloser {
  ce: string;
  /** The NSEC3 covering the next closer name. */
  ncCover: Nsec3;
  nc: string;
}

/** RFC 5155 section 8.3: the closest provable encloser of qname and the cover of its next closer name. */
function closestEncloser(s: Nsec3Set, qname: string): Encloser | Proof {
  const labels = splitLabels(qname);
  const zoneLabels = splitLabels(s.zone).length;
  for (let i = 1; i <= labels.length - zoneLabels; i++) {
    const ce = labels.slice(i).join('.');
    const m = s.match(ce);
    if (m === null) return bogus('NSEC3 hash budget exhausted');
    if (!m) continue;
    if (bitmapHas(m.bitmap, TYPE.DNAME) || (bitmapHas(m.bitmap, TYPE.NS) && !bitmapHas(m.bitmap, TYPE.SOA))) {
      return bogus(`closest encloser ${ce} is a delegation or DNAME`);
    }
    const nc = labels.slice(i - 1).join('.');
    const c = s.cover(nc);
    if (c === null) return bogus('NSEC3 hash budget exhausted');
    if (!c) return bogus(`no NSEC3 covers the next closer name ${nc}`);
    return { ce, ncCover: c, nc };
  }
  return bogus(`no closest encloser proof for ${qname}`);
}

function isProof(x: Encloser | Proof): x is Proof {
  return (x as Proof).status !== undefined;
}

export function nsec3Nxdomain(qname: string, nsec3s: readonly Nsec3[], budget: HashBudget): Proof {
  const st = nsec3Setup(qname, nsec3s, budget);
  if ('proof' in st) return st.proof;
  const s = st.set;
  const m = s.match(qname);
  if (m === null) return bogus('NSEC3 hash budget exhausted');
  if (m) return bogus(`an NSEC3 matches ${qname}, which is said not to exist`);
  const e = closestEncloser(s, qname);
  if (isProof(e)) return e;
  const wc = s.cover(wildcardOf(e.ce));
  if (wc === null) return bogus('NSEC3 hash budget exhausted');
  if (!wc) return bogus(`no NSEC3 denies the wildcard *.${e.ce}`);
  // An opt-out span may hide an unsigned delegation: proved, but not secure (RFC 5155 section 9.2).
  if (e.ncCover.flags & 1) return { status: 'insecure', reason: `opt-out NSEC3 covers ${e.nc}` };
  return SECURE;
}

export function nsec3Nodata(qname: string, qtype: number, nsec3s: readonly Nsec3[], budget: HashBudget): Proof {
  const st = nsec3Setup(qname, nsec3s, budget);
  if ('proof' in st) return st.proof;
  const s = st.set;
  const m = s.match(qname);
  if (m === null) return bogus('NSEC3 hash budget exhausted');
  if (m) {
    if (bitmapHas(m.bitmap, qtype) || bitmapHas(m.bitmap, TYPE.CNAME)) return bogus(`NSEC3 for ${qname} lists the type asked`);
    if (qtype === TYPE.DS && bitmapHas(m.bitmap, TYPE.SOA) && qname !== '') return bogus(`NSEC3 for DS at ${qname} is the child zone's`);
    if (qtype !== TYPE.DS && bitmapHas(m.bitmap, TYPE.NS) && !bitmapHas(m.bitmap, TYPE.SOA)) return bogus(`NSEC3 at ${qname} is a delegation's`);
    return SECURE;
  }
  const e = closestEncloser(s, qname);
  if (isProof(e)) return e;
  const optOut = (e.ncCover.flags & 1) !== 0;
  // Wildcard NODATA (section 8.7).
  const w = s.match(wildcardOf(e.ce));
  if (w === null) return bogus('NSEC3 hash budget exhausted');
  if (w && !bitmapHas(w.bitmap, qtype) && !bitmapHas(w.bitmap, TYPE.CNAME)) {
    return optOut ? { status: 'insecure', reason: `wildcard NODATA in the opt-out span of ${e.nc}` } : SECURE;
  }
  // No match: only an opt-out span over the next closer name (an unsigned delegation
  // may be there; sections 8.6 and 9.2) lets it stand, and then not as secure.
  if (optOut) return { status: 'insecure', reason: `opt-out NSEC3 covers ${e.nc}` };
  return bogus(`no NSEC3 proves ${qname} has no type ${qtype}`);
}

/** RFC 5155 section 8.8: a wildcard answer needs the next closer name (below the wildcard's parent) covered. */
export function nsec3WildcardAnswer(qname: string, wildcardParent: string, nsec3s: readonly Nsec3[], budget: HashBudget): Proof {
  const st = nsec3Setup(qname, nsec3s, budget);
  if ('proof' in st) return st.proof;
  const labels = splitLabels(qname);
  const nc = labels.slice(labels.length - splitLabels(wildcardParent).length - 1).join('.');
  const c = st.set.cover(nc);
  if (c === null) return bogus('NSEC3 hash budget exhausted');
  if (!c) return bogus(`wildcard answer for ${qname} without an NSEC3 covering ${nc}`);
  if (c.flags & 1) return { status: 'insecure', reason: `wildcard answer in the opt-out span of ${nc}` };
  return SECURE;
}

/** RFC 5155 section 8.9 / RFC 4035 section 5.2: a referral without DS proved by opt-out or a matching NSEC3. */
export function nsec3NoDs(cut: string, nsec3s: readonly Nsec3[], budget: HashBudget): Proof {
  return nsec3Nodata(cut, TYPE.DS, nsec3s, budget);
}
