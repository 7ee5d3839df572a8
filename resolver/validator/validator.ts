// The validator: a Resolution in front of the iterator, in the manner of unbound's
// validator module. The iterator resolves (with DO set upstream, keeping RRSIGs and
// denial records); the validator then judges each result secure, insecure or bogus:
//   - every answer RRset is verified with the DNSKEYs of its signer;
//   - a signer's keys come from the chain of trust: a trust anchor, or a DS set at
//     the parent (itself verified with the parent's keys, recursively up to an
//     anchor) that matches a key signing the zone's DNSKEY set;
//   - a proved absence of DS (NSEC/NSEC3 NODATA, opt-out) makes a zone insecure,
//     as does an anchor or DS listing only algorithms or digests not supported
//     (RFC 6840 section 5.2), a negative trust anchor, or no anchor above the name;
//   - NXDOMAIN, NODATA and wildcard answers need their NSEC or NSEC3 proof.
// Key verdicts are kept per zone (bogus ones for bogusTtl, unbound's val-bogus-ttl),
// so a cache miss of the front costs verifications, never refetches of the chain.
// Then the answer is shaped for the client: SERVFAIL with an Extended DNS Error for
// bogus, AD on secure answers for clients that set DO or AD, RRSIGs and proofs for
// clients that set DO, nothing checked for CD.

import { RCODE, TYPE } from '../../dns/constants.js';
import type { ResourceRecord } from '../../dns/message.js';
import { isSubdomain, lowerName, nameEquals, parentName } from '../../dns/name.js';
import { rdataName } from '../../dns/rdata.js';
import type { RRsetCache } from '../cache/rrset-cache.js';
import type { Resolution, ResolveRequest, ResolveResult } from '../iterator/types.js';
import { dnameAbove, dnameSubstitute } from '../iterator/scrub.js';
import { AggressiveNsec } from './aggressive.js';
import type { AnchorSet, TrustAnchor } from './anchors.js';
import { dsDigest, parseDnskey, parseDs, parseNsec, parseNsec3, rrsigLabelCount, SUPPORTED_ALGORITHMS, SUPPORTED_DIGESTS, type Dnskey, type Ds, type Nsec, type Nsec3, type Rrsig } from './crypto.js';
import { nsec3Nodata, nsec3Nxdomain, nsec3WildcardAnswer, nsecNodata, nsecNxdomain, nsecWildcardAnswer, type HashBudget, type Proof } from './denial.js';
import { sigsFor, verifyRRset, zoneKeys, type SigFailure } from './verify.js';

/** Extended DNS Error codes used (RFC 8914). */
export const DNSSEC_EDE = {
  UNSUPPORTED_DNSKEY_ALG: 1, UNSUPPORTED_DS_DIGEST: 2, BOGUS: 6, SIG_EXPIRED: 7, SIG_NOT_YET_VALID: 8,
  DNSKEY_MISSING: 9, RRSIGS_MISSING: 10, NSEC_MISSING: 12, NSEC3_ITERATIONS: 27,
} as const;

export type Security = 'secure' | 'insecure' | 'bogus';

export interface Verdict {
  status: Security;
  reason?: string;
  ede?: number;
  /** Seconds the verdict (and the answer) may be kept: capped by RRSIG original TTLs and expiries. */
  ttlCap?: number;
}

interface KeyEntry extends Verdict {
  keys?: Dnskey[];
  /** Zone the keys are for (a name that proved not to be a zone cut takes its enclosing zone's entry). */
  zone: string;
  expiresMs: number;
}

export interface ValidatorOptions {
  anchors: AnchorSet;
  /** The iterator's RRset cache: zone cuts for names whose answers are unsigned. */
  cache?: RRsetCache;
  /** Seconds a bogus verdict is kept (60). */
  bogusTtl?: number;
  /** Wall clock in Unix seconds for signature validity (tests inject one; Deckard fakes the real one). */
  nowSec?: () => number;
  /** Monotonic ms for the key cache. */
  nowMs?: () => number;
  /** Debug log of validation decisions. */
  debug?: (msg: string) => void;
  /** RFC 8198 NXDOMAIN and NODATA from cached NSEC spans (default on). */
  aggressiveNsec?: boolean;
}

const SECURE: Verdict = { status: 'secure' };

/**
 * Times bogus data is fetched again from other servers before the verdict stands
 * (unbound's validator restarts likewise, blacklisting the servers that sent it).
 */
export const MAX_RESTARTS = 3;

function worst(a: Verdict, b: Verdict): Verdict {
  const rank = { secure: 0, insecure: 1, bogus: 2 };
  const pick = rank[b.status] > rank[a.status] ? b : a;
  const cap = Math.min(a.ttlCap ?? Infinity, b.ttlCap ?? Infinity);
  return Number.isFinite(cap) ? { ...pick, ttlCap: cap } : pick;
}

function failureEde(f: SigFailure | undefined): number {
  switch (f) {
    case 'expired': return DNSSEC_EDE.SIG_EXPIRED;
    case 'not-yet-valid': return DNSSEC_EDE.SIG_NOT_YET_VALID;
    case 'no-sig': return DNSSEC_EDE.RRSIGS_MISSING;
    case 'no-key': return DNSSEC_EDE.DNSKEY_MISSING;
    default: return DNSSEC_EDE.BOGUS;
  }
}

/** Groups records into RRsets, keeping first-appearance order. */
function rrsets(records: readonly ResourceRecord[]): ResourceRecord[][] {
  const out: ResourceRecord[][] = [];
  const at = new Map<string, number>();
  for (const r of records) {
    const k = `${lowerName(r.name)}/${r.type}/${r.class}`;
    const i = at.get(k);
    if (i === undefined) { at.set(k, out.length); out.push([r]); } else out[i].push(r);
  }
  return out;
}

/**
 * Whether the client needs the NSEC/NSEC3 records a server sent: for a denial, and for
 * an answer expanded from a wildcard (RFC 4035 3.1.3.3). Beside a plain answer they
 * prove nothing and are not passed on.
 */
function needsProof(res: ResolveResult, qtype: number): boolean {
  if (res.rcode === RCODE.NXDOMAIN) return true;
  if (!res.answers.some((r) => r.type === qtype || qtype === TYPE.ANY)) return true;
  for (const g of res.sigs ?? []) {
    if (g.rdata.length >= 4 && g.rdata[3] < rrsigLabelCount(g.name)) return true;
  }
  return false;
}

/** The name part of a bogusAnswers key (`name/type/class`). */
function bogusKeyName(key: string): string {
  return key.slice(0, key.lastIndexOf('/', key.lastIndexOf('/') - 1));
}

export class Validator implements Resolution {
  private readonly keyCache = new Map<string, KeyEntry>();
  private readonly keyFlights = new Map<string, Promise<KeyEntry>>();
  private readonly bogusAnswers = new Map<string, { result: ResolveResult; expiresMs: number }>();
  private readonly nowSec: () => number;
  private readonly nowMs: () => number;
  private readonly bogusTtl: number;
  private readonly debug: (msg: string) => void;
  /** Validated NSEC spans for RFC 8198 (undefined when off). */
  readonly aggressive: AggressiveNsec | undefined;
  /** Answers synthesised from cached NSEC spans (RFC 8198). */
  synthesised = 0;

  constructor(private readonly inner: Resolution, private readonly o: ValidatorOptions) {
    this.nowSec = o.nowSec ?? (() => Math.floor(Date.now() / 1000));
    this.nowMs = o.nowMs ?? (() => performance.now());
    this.bogusTtl = o.bogusTtl ?? 60;
    this.debug = o.debug ?? (() => {});
    this.aggressive = o.aggressiveNsec === false ? undefined : new AggressiveNsec(this.nowMs);
  }

  /**
   * Forgets the validation state of the names `match` selects (lower-cased, '' for the
   * root): the keys of such zones, bogus answers remembered for such names, and NSEC
   * spans (aggressive.flushNames), so that the next question validates afresh. Used by
   * the control commands flush and flush-zone. Returns the entries dropped.
   */
  flushNames(match: (name: string) => boolean): number {
    let n = 0;
    for (const zone of [...this.keyCache.keys()]) if (match(zone)) { this.keyCache.delete(zone); n++; }
    for (const key of [...this.bogusAnswers.keys()]) if (match(bogusKeyName(key))) { this.bogusAnswers.delete(key); n++; }
    return n + (this.aggressive?.flushNames(match) ?? 0);
  }

  /** Forgets every negative kept here (bogus answers, NSEC spans): the control command flush-negative. */
  flushNegative(): number {
    const n = this.bogusAnswers.size + (this.aggressive?.size ?? 0);
    this.bogusAnswers.clear();
    this.aggressive?.flushNames(() => true);
    return n;
  }

  /** RFC 8198: NXDOMAIN or NODATA from the validated NSEC spans of a zone still known secure. */
  private synthesise(req: ResolveRequest): ResolveResult | undefined {
    if (!this.aggressive || req.cd || this.o.anchors.isInsecure(req.name)) return undefined;
    const now = this.nowMs();
    const isSecure = (zone: string) => {
      const k = this.keyCache.get(zone);
      return k !== undefined && k.status === 'secure' && k.expiresMs > now;
    };
    let rcode: number = RCODE.NXDOMAIN;
    let s = this.aggressive.nxdomain(req.name, req.type, isSecure);
    if (!s && req.type !== TYPE.ANY && req.type !== TYPE.RRSIG && req.type !== TYPE.NSEC) {
      s = this.aggressive.nodata(req.name, req.type, isSecure);
      rcode = RCODE.NOERROR;
    }
    if (!s) return undefined;
    this.synthesised++;
    this.debug(`${req.name}/${req.type}: ${rcode === RCODE.NXDOMAIN ? 'NXDOMAIN' : 'NODATA'} from cached NSEC spans of ${s.zone || '.'} (RFC 8198)`);
    const authority = req.dnssecOk ? s.authority : s.authority.filter((r) => r.type === TYPE.SOA);
    const out: ResolveResult = { rcode, answers: [], authority, additional: [], cacheTtl: s.ttl };
    if (req.dnssecOk || req.ad) out.ad = true;
    return out;
  }

  async resolve(req: ResolveRequest): Promise<ResolveResult> {
    const base: ResolveRequest = { name: req.name, type: req.type, class: req.class };
    const key = `${lowerName(req.name)}/${req.type}/${req.class}`;
    const memo = this.bogusAnswers.get(key);
    if (memo && !req.cd) {
      if (memo.expiresMs > this.nowMs()) return memo.result;
      this.bogusAnswers.delete(key);
    }
    if (req.cd) return this.shape(await this.inner.resolve(base), { status: 'insecure' }, req);
    const synth = this.synthesise(req);
    if (synth) return synth;
    const { res, v } = await this.fetchChecked(base, async (r) => {
      try {
        return await this.validate(req, r);
      } catch (e) {
        return { status: 'bogus', reason: `validation failed: ${(e as Error).message}`, ede: DNSSEC_EDE.BOGUS } as Verdict;
      }
    });
    this.debug(`${req.name || '.'}/${req.type}: rcode ${res.rcode}, ${res.answers.length} answers, ${res.proof?.length ?? 0} proof records: ${v.status}${v.reason ? ` (${v.reason})` : ''}`);
    const out = this.shape(res, v, req);
    if (v.status === 'secure') {
      const sentinel = this.sentinel(req);
      if (sentinel) return sentinel;
    }
    if (v.status === 'bogus') {
      if (this.bogusAnswers.size > 10_000) this.bogusAnswers.clear();
      this.bogusAnswers.set(key, { result: out, expiresMs: this.nowMs() + this.bogusTtl * 1000 });
    }
    return out;
  }

  /**
   * The root key sentinel (RFC 8509), which lets anyone find out from outside which
   * root keys a resolver trusts (KSK-rollover measurements): a secure A or AAAA answer
   * for a name whose first label is root-key-sentinel-is-ta-NNNNN becomes SERVFAIL
   * when key tag NNNNN is not among the root's trust anchors, and one for
   * root-key-sentinel-not-ta-NNNNN when it is. CD turns it off (checked by the caller).
   */
  private sentinel(req: ResolveRequest): ResolveResult | undefined {
    if (req.type !== TYPE.A && req.type !== TYPE.AAAA) return undefined;
    const m = /^root-key-sentinel-(is|not)-ta-(\d{5})(?:\.|$)/i.exec(req.name);
    if (!m) return undefined;
    const tag = Number(m[2]);
    const root = this.o.anchors.at('');
    const tags = new Set<number>();
    for (const r of root?.ds ?? []) { const d = parseDs(r.rdata); if (d) tags.add(d.keyTag); }
    for (const r of root?.dnskey ?? []) { const k = parseDnskey(r.rdata); if (k) tags.add(k.keyTag); }
    const trusted = tags.has(tag);
    if (m[1].toLowerCase() === 'is' ? trusted : !trusted) return undefined;
    return {
      rcode: RCODE.SERVFAIL, answers: [], authority: [], additional: [], cacheTtl: 0,
      ede: { code: 0, text: `root key sentinel: key tag ${m[2]} is ${trusted ? '' : 'not '}a root trust anchor here` },
    };
  }

  /**
   * Resolves and checks; data found bogus is fetched again (not from the cache, not
   * from the servers that sent it) up to MAX_RESTARTS times, and the first retry that
   * passes wins. A retry that finds no other server leaves the first verdict.
   */
  private async fetchChecked<V extends Verdict>(req: ResolveRequest, check: (r: ResolveResult) => Promise<V>): Promise<{ res: ResolveResult; v: V }> {
    let res = await this.inner.resolve(req);
    let v = await check(res);
    const avoid: string[] = [];
    // An answer from the cache (no servers) is fetched afresh once: its proof may have expired first.
    for (let i = 0; v.status === 'bogus' && i < MAX_RESTARTS && (res.servers?.length || i === 0); i++) {
      const before = avoid.length;
      for (const s of res.servers ?? []) if (!avoid.includes(s)) avoid.push(s);
      if (i > 0 && avoid.length === before) break;
      this.debug(`${req.name || '.'}/${req.type}: bogus (${v.reason}); asking again, avoiding ${avoid.join(' ')}`);
      const again = await this.inner.resolve({ ...req, refetch: { avoid } });
      if (again.rcode !== RCODE.NOERROR && again.rcode !== RCODE.NXDOMAIN) break;
      const v2 = await check(again);
      res = again;
      if (v2.status !== 'bogus') return { res, v: v2 };
    }
    return { res, v };
  }

  /** What the client gets for a result and its verdict. */
  private shape(res: ResolveResult, v: Verdict, req: ResolveRequest): ResolveResult {
    if (v.status === 'bogus') {
      return {
        rcode: RCODE.SERVFAIL, answers: [], authority: [], additional: [], cacheTtl: 0,
        ede: { code: v.ede ?? DNSSEC_EDE.BOGUS, text: `DNSSEC validation failed: ${v.reason ?? 'bogus'}` },
      };
    }
    const cap = v.ttlCap ?? Infinity;
    const capTtl = (r: ResourceRecord): ResourceRecord => (r.ttl > cap ? { ...r, ttl: Math.max(0, Math.floor(cap)) } : r);
    let answers = res.answers.map(capTtl);
    let authority = res.authority.map(capTtl);
    if (req.dnssecOk && (res.sigs?.length || res.proof?.length)) {
      const withSigs: ResourceRecord[] = [];
      const sigs = res.sigs ?? [];
      for (const set of rrsets(answers)) {
        withSigs.push(...set);
        const ttl = set[0].ttl;
        for (const s of sigs) {
          if (s.rdata.readUInt16BE(0) === set[0].type && nameEquals(s.name, set[0].name)) withSigs.push({ ...s, ttl: Math.min(s.ttl, ttl) });
        }
      }
      answers = dedupe(withSigs);
      const proof = needsProof(res, req.type) ? (res.proof ?? []).filter((r) => r.type !== TYPE.DS && !(r.type === TYPE.RRSIG && r.rdata.readUInt16BE(0) === TYPE.DS)) : [];
      const authTtl = authority.length ? authority[0].ttl : Infinity;
      authority = dedupe([...authority, ...proof.map((r) => capTtl(r.ttl > authTtl ? { ...r, ttl: authTtl } : r))]);
    }
    const cacheTtl = Math.min(res.cacheTtl, Number.isFinite(cap) ? Math.max(0, Math.floor(cap)) : res.cacheTtl);
    const out: ResolveResult = { ...res, answers, authority, cacheTtl };
    delete out.sigs;
    delete out.proof;
    if (v.status === 'secure' && (req.dnssecOk || req.ad)) out.ad = true;
    if (v.status === 'insecure' && v.ede !== undefined && !out.ede) out.ede = { code: v.ede, text: v.reason ?? '' };
    return out;
  }

  // ------------------------------------------------------------------ answers

  /** Judges a whole result: its answer RRsets, and its denial when negative. */
  async validate(req: ResolveRequest, res: ResolveResult): Promise<Verdict> {
    if (res.rcode !== RCODE.NOERROR && res.rcode !== RCODE.NXDOMAIN) return { status: 'insecure', reason: `rcode ${res.rcode}` };
    const anchors = this.o.anchors;
    if (anchors.isInsecure(req.name)) return { status: 'insecure', reason: 'negative trust anchor' };
    const budget: HashBudget = { hashes: 0 };
    const sigs = res.sigs ?? [];
    const proofRecords = res.proof ?? [];
    let verdict: Verdict = SECURE;
    let name = req.name;
    let answered = false;
    const sets = rrsets(res.answers);
    const heads = sets.map((set) => set[0]);
    for (let i = 0; i < sets.length; i++) {
      const set = sets[i];
      const r0 = set[0];
      if (r0.type === TYPE.RRSIG) {
        // Signatures asked for as data are not themselves signed: served, never secure.
        verdict = worst(verdict, { status: 'insecure', reason: 'RRSIG records asked for are not validated' });
      } else if (r0.type === TYPE.CNAME && dnameAbove(heads, i) !== undefined) {
        // A CNAME synthesised from a DNAME (RFC 6672): checked against the DNAME's
        // substitution. The DNAME may come further up the answer: one that maps a name
        // into its own subtree (x. DNAME .) applies again to the name it produced.
        const d = dnameAbove(heads, i)!;
        let ok = false;
        try { ok = nameEquals(rdataName(r0.rdata), dnameSubstitute(r0.name, d.name, rdataName(d.rdata)) ?? ''); } catch { ok = false; }
        if (!ok) verdict = worst(verdict, { status: 'bogus', reason: `CNAME at ${r0.name} does not follow its DNAME`, ede: DNSSEC_EDE.BOGUS });
      } else {
        const v = await this.validateRRset(set, sigs);
        verdict = worst(verdict, v.verdict);
        if (v.sig && v.verdict.status === 'secure' && v.sig.labels < rrsigLabelCount(r0.name)) {
          // Wildcard expansion: the name itself must be proved not to exist.
          const wc = await this.checkWildcard(r0.name, v.sig, proofRecords, budget);
          verdict = worst(verdict, wc);
        }
      }
      if (verdict.status === 'bogus') return verdict;
      if (r0.type === TYPE.CNAME && nameEquals(r0.name, name)) {
        try { name = rdataName(r0.rdata); } catch { /* kept */ }
      } else if (r0.type === TYPE.DNAME) {
        // the synthesised CNAME that follows moves the name
      } else if (nameEquals(r0.name, name) && (r0.type === req.type || req.type === TYPE.ANY)) {
        answered = true;
      }
    }
    if (!answered && (res.rcode === RCODE.NXDOMAIN || res.answers.length === 0 || !sets.some((s) => s[0].type === req.type))) {
      const neg = await this.validateDenial(name, req.type, res.rcode === RCODE.NXDOMAIN, res, proofRecords, budget);
      verdict = worst(verdict, neg);
    }
    return verdict;
  }

  /** Verifies one RRset with its signer's keys. */
  private async validateRRset(set: ResourceRecord[], sigs: readonly ResourceRecord[]): Promise<{ verdict: Verdict; sig?: Rrsig }> {
    const r0 = set[0];
    const rrsigs = sigsFor(set, sigs);
    const where = `${r0.name || '.'}/${r0.type}`;
    if (rrsigs.length === 0) {
      const zone = r0.type === TYPE.DS ? this.zoneOf(parentName(r0.name) ?? '') : this.zoneOf(r0.name);
      const k = await this.keysFor(zone);
      if (k.status !== 'secure') return { verdict: { status: k.status, reason: k.reason, ede: k.ede } };
      return { verdict: { status: 'bogus', reason: `${where} has no RRSIG in signed zone ${k.zone || '.'}`, ede: DNSSEC_EDE.RRSIGS_MISSING } };
    }
    // The signer: the deepest one named that may sign this owner (DS: strictly above it).
    let signer: string | undefined;
    for (const s of rrsigs) {
      const okPlace = r0.type === TYPE.DS ? isSubdomain(r0.name, s.signer) && !nameEquals(r0.name, s.signer) : isSubdomain(r0.name, s.signer);
      if (okPlace && (signer === undefined || s.signer.length > signer.length)) signer = s.signer;
    }
    if (signer === undefined) return { verdict: { status: 'bogus', reason: `${where}: no RRSIG signer may sign it`, ede: DNSSEC_EDE.BOGUS } };
    const k = await this.keysFor(signer);
    if (k.status !== 'secure') return { verdict: { status: k.status, reason: k.reason, ede: k.ede } };
    if (!nameEquals(k.zone, signer)) {
      return { verdict: { status: 'bogus', reason: `${where} signed by ${signer}, which is not a zone`, ede: DNSSEC_EDE.BOGUS } };
    }
    const res = verifyRRset(set, rrsigs, k.keys ?? [], signer, this.nowSec());
    if (!res.ok) return { verdict: { status: 'bogus', reason: `${where}: signature ${res.failure}`, ede: failureEde(res.failure) } };
    return { verdict: { status: 'secure', ttlCap: this.sigCap(res.sig!) }, sig: res.sig };
  }

  /** An RRSIG caps the TTL: its original TTL, and the seconds until it expires. */
  private sigCap(sig: Rrsig): number {
    const left = ((sig.expiration >>> 0) - (this.nowSec() >>> 0)) >>> 0;
    return Math.min(sig.originalTtl, left < 0x80000000 ? left : 0);
  }

  /** The verified NSEC and NSEC3 records of a response, with the zone that signed them. */
  private async verifiedDenials(records: readonly ResourceRecord[]): Promise<{ nsecs: Nsec[]; nsec3s: Nsec3[]; verdict: Verdict; spans: Array<{ nsec: Nsec; records: ResourceRecord[]; zone: string; ttl: number }> }> {
    const spans: Array<{ nsec: Nsec; records: ResourceRecord[]; zone: string; ttl: number }> = [];
    const nsecs: Nsec[] = [];
    const nsec3s: Nsec3[] = [];
    let verdict: Verdict = SECURE;
    const sigs = records.filter((r) => r.type === TYPE.RRSIG);
    const sets = rrsets(records.filter((r) => r.type === TYPE.NSEC || r.type === TYPE.NSEC3)).slice(0, 16);
    let any = false;
    for (const set of sets) {
      const v = await this.validateRRset(set, sigs);
      if (v.verdict.status === 'insecure') { verdict = worst(verdict, v.verdict); continue; }
      if (v.verdict.status !== 'secure') { this.debug(`denial record ${set[0].name}: ${v.verdict.reason}`); continue; }
      any = true;
      verdict = worst(verdict, { status: 'secure', ttlCap: v.verdict.ttlCap });
      for (const r of set) {
        if (r.type === TYPE.NSEC) {
          const n = parseNsec(r);
          if (!n) continue;
          nsecs.push(n);
          if (v.sig) {
            const own = sigs.filter((g) => nameEquals(g.name, r.name) && g.rdata.readUInt16BE(0) === TYPE.NSEC);
            spans.push({ nsec: n, records: [r, ...own], zone: v.sig.signer, ttl: Math.min(r.ttl, v.verdict.ttlCap ?? Infinity) });
          }
        } else { const n = parseNsec3(r); if (n) nsec3s.push(n); }
      }
    }
    if (!any && verdict.status === 'secure') verdict = { status: 'secure' };
    return { nsecs, nsec3s, verdict, spans };
  }

  /** NXDOMAIN or NODATA for `name`/`qtype`: the denial, or an insecure zone. */
  private async validateDenial(name: string, qtype: number, nx: boolean, res: ResolveResult, records: readonly ResourceRecord[], budget: HashBudget): Promise<Verdict> {
    // The SOA goes to the client with the proof, and AD vouches for the authority
    // section as well as the answer (RFC 4035 3.2.3): in a signed zone it must verify
    // like any other RRset. A forged SOA would otherwise pass under a genuine NSEC, and
    // its minimum field sets how long the denial is cached.
    const soa = await this.validateSoa(res, records);
    if (soa.status === 'bogus') return soa;
    const d = await this.verifiedDenials(records);
    if (d.nsecs.length === 0 && d.nsec3s.length === 0) {
      if (d.verdict.status === 'insecure') return d.verdict;
      // No usable proof: fine only if the zone is insecure.
      const soa = res.authority.find((r) => r.type === TYPE.SOA);
      const zone = soa ? soa.name : this.zoneOf(qtype === TYPE.DS ? parentName(name) ?? '' : name);
      const k = await this.keysFor(zone);
      if (k.status !== 'secure') return { status: k.status, reason: k.reason, ede: k.ede };
      return { status: 'bogus', reason: `${nx ? 'NXDOMAIN' : 'NODATA'} for ${name} in signed zone ${k.zone || '.'} without a valid NSEC/NSEC3 proof`, ede: DNSSEC_EDE.NSEC_MISSING };
    }
    let p: Proof;
    if (d.nsecs.length) p = nx ? nsecNxdomain(name, d.nsecs) : nsecNodata(name, qtype, d.nsecs);
    else p = nx ? nsec3Nxdomain(name, d.nsec3s, budget) : nsec3Nodata(name, qtype, d.nsec3s, budget);
    if (p.status === 'secure') {
      if (this.aggressive && d.spans.length) this.rememberSpans(d.spans, res, records, soa);
      return worst(d.verdict, soa);
    }
    if (p.status === 'insecure') return { status: 'insecure', reason: p.reason, ede: p.ede };
    return { status: 'bogus', reason: p.reason, ede: DNSSEC_EDE.NSEC_MISSING };
  }

  /** The verdict on the SOA RRset of a negative answer (secure when there is none). */
  private async validateSoa(res: ResolveResult, records: readonly ResourceRecord[]): Promise<Verdict> {
    const soa = res.authority.filter((r) => r.type === TYPE.SOA);
    if (soa.length === 0) return SECURE;
    return (await this.validateRRset(soa, records.filter((r) => r.type === TYPE.RRSIG))).verdict;
  }

  /** Keeps validated NSEC spans, and the zone's SOA when it verified (`soa`), for RFC 8198. */
  private rememberSpans(spans: Array<{ nsec: Nsec; records: ResourceRecord[]; zone: string; ttl: number }>, res: ResolveResult, records: readonly ResourceRecord[], soaVerdict: Verdict): void {
    for (const s of spans) this.aggressive!.addSpan(s.zone, s.nsec, s.records, s.ttl);
    const soa = res.authority.filter((r) => r.type === TYPE.SOA);
    if (soa.length === 0 || soaVerdict.status !== 'secure' || !spans.some((s) => nameEquals(s.zone, soa[0].name))) return;
    const soaSigs = records.filter((g) => g.type === TYPE.RRSIG && nameEquals(g.name, soa[0].name) && g.rdata.readUInt16BE(0) === TYPE.SOA);
    this.aggressive!.addSoa(soa[0].name, [...soa, ...soaSigs]);
  }

  private async checkWildcard(qname: string, sig: Rrsig, records: readonly ResourceRecord[], budget: HashBudget): Promise<Verdict> {
    const d = await this.verifiedDenials(records);
    const labels = qname.split('.');
    const parent = labels.slice(labels.length - sig.labels).join('.');
    let p: Proof;
    if (d.nsecs.length) p = nsecWildcardAnswer(qname, d.nsecs);
    else if (d.nsec3s.length) p = nsec3WildcardAnswer(qname, parent, d.nsec3s, budget);
    else p = { status: 'bogus', reason: `wildcard answer for ${qname} without NSEC or NSEC3` };
    if (p.status === 'secure') return d.verdict;
    if (p.status === 'insecure') return { status: 'insecure', reason: p.reason, ede: p.ede };
    return { status: 'bogus', reason: p.reason, ede: DNSSEC_EDE.NSEC_MISSING };
  }

  /** The zone a name lies in, as far as the iterator's cache of zone cuts knows. */
  private zoneOf(name: string): string {
    const d = this.o.cache?.findDelegation(name, 1);
    return d ? d.zone : '';
  }

  // ------------------------------------------------------------------ chain of trust

  /** The verified DNSKEYs of `zone`, or why there are none (insecure, bogus). Cached and merged. */
  keysFor(zone: string): Promise<KeyEntry> {
    const k = lowerName(zone);
    const hit = this.keyCache.get(k);
    if (hit && hit.expiresMs > this.nowMs()) return Promise.resolve(hit);
    const inflight = this.keyFlights.get(k);
    if (inflight) return inflight;
    const p = this.fetchKeys(k).then((e) => {
      this.keyFlights.delete(k);
      if (this.keyCache.size > 10_000) this.keyCache.clear();
      this.keyCache.set(k, e);
      this.debug(`keys of ${k || '.'}: ${e.status}${e.reason ? ` (${e.reason})` : ''}`);
      return e;
    }, (err: unknown) => {
      this.keyFlights.delete(k);
      return this.entry(k, { status: 'bogus', reason: `key fetch failed: ${(err as Error).message}`, ede: DNSSEC_EDE.DNSKEY_MISSING });
    });
    this.keyFlights.set(k, p);
    return p;
  }

  private entry(zone: string, v: Verdict, keys?: Dnskey[], ttl?: number): KeyEntry {
    const secs = v.status === 'bogus' ? this.bogusTtl : Math.max(1, Math.min(ttl ?? 3600, v.ttlCap ?? Infinity, 86_400));
    return { ...v, zone, keys, expiresMs: this.nowMs() + secs * 1000 };
  }

  private async fetchKeys(zone: string): Promise<KeyEntry> {
    const anchors = this.o.anchors;
    if (anchors.isInsecure(zone)) return this.entry(zone, { status: 'insecure', reason: `${zone || '.'} is under a negative trust anchor` });
    const ta = anchors.at(zone);
    if (ta) return this.keysFromAnchor(zone, ta);
    if (!anchors.closest(zone)) return this.entry(zone, { status: 'insecure', reason: `no trust anchor above ${zone || '.'}` });
    const parent = parentName(zone) ?? '';
    // A signed referral's denial of the DS (cached by the iterator) saves the question.
    const denial = this.o.cache?.getDsDenial(zone, 1);
    const dsOf = (r: ResolveResult) => r.answers.filter((x) => x.type === TYPE.DS && nameEquals(x.name, zone));
    // A positive DS set that fails is fetched again from other servers (fetchChecked).
    const fetched = denial
      ? { res: { rcode: RCODE.NOERROR, answers: [], authority: [], additional: [], cacheTtl: 0, proof: denial } as ResolveResult, v: SECURE }
      : await this.fetchChecked({ name: zone, type: TYPE.DS, class: 1 }, async (r) => {
        const set = dsOf(r);
        return set.length ? (await this.validateRRset(set, r.sigs ?? [])).verdict : SECURE;
      });
    const dsRes = fetched.res;
    if (dsRes.rcode !== RCODE.NOERROR && dsRes.rcode !== RCODE.NXDOMAIN) {
      return this.entry(zone, { status: 'bogus', reason: `no DS answer for ${zone} (rcode ${dsRes.rcode})`, ede: DNSSEC_EDE.DNSKEY_MISSING });
    }
    const dsSet = dsOf(dsRes);
    if (dsSet.length) {
      if (fetched.v.status !== 'secure') return this.entry(zone, fetched.v);
      return this.keysFromDs(zone, dsSet, fetched.v.ttlCap);
    }
    // No DS: proved absent (an insecure delegation), or not a zone cut at all. Only
    // signatures from above the zone can speak for its DS (and waiting on the zone's
    // own keys here would wait on itself).
    const budget: HashBudget = { hashes: 0 };
    const above = (r: ResourceRecord) => {
      if (r.type !== TYPE.RRSIG) return true;
      const s = rrsigSigner(r);
      return s !== undefined && isSubdomain(zone, s) && !nameEquals(zone, s);
    };
    const proof = (dsRes.proof ?? []).filter(above);
    const d = await this.verifiedDenials(proof);
    if (d.nsecs.length === 0 && d.nsec3s.length === 0) {
      if (d.verdict.status === 'insecure') return this.entry(zone, d.verdict);
      const pk = await this.keysFor(this.zoneOf(parent));
      if (pk.status !== 'secure') return this.entry(zone, pk);
      return this.entry(zone, { status: 'bogus', reason: `no DS for ${zone} and no NSEC/NSEC3 proof of its absence`, ede: DNSSEC_EDE.NSEC_MISSING });
    }
    // A name that is not a delegation shares its enclosing zone's keys.
    const at = d.nsecs.find((n) => nameEquals(n.owner, zone));
    const signerZone = proof.find((r) => r.type === TYPE.RRSIG);
    if (at && !hasNs(at.bitmap)) {
      const enclosing = signerZone ? rrsigSigner(signerZone) : undefined;
      if (enclosing !== undefined) return this.keysFor(enclosing);
    }
    if (dsRes.rcode === RCODE.NXDOMAIN) {
      const p = d.nsecs.length ? nsecNxdomain(zone, d.nsecs) : nsec3Nxdomain(zone, d.nsec3s, budget);
      if (p.status === 'secure' && signerZone) { const s = rrsigSigner(signerZone); if (s !== undefined) return this.keysFor(s); }
      return this.entry(zone, { status: 'bogus', reason: `NXDOMAIN for DS of ${zone}`, ede: DNSSEC_EDE.BOGUS });
    }
    const p = d.nsecs.length ? nsecNodata(zone, TYPE.DS, d.nsecs) : nsec3Nodata(zone, TYPE.DS, d.nsec3s, budget);
    if (p.status === 'secure') return this.entry(zone, { status: 'insecure', reason: `${zone} is delegated without DS`, ttlCap: d.verdict.ttlCap });
    if (p.status === 'insecure') return this.entry(zone, { status: 'insecure', reason: p.reason, ede: p.ede });
    return this.entry(zone, { status: 'bogus', reason: p.reason, ede: DNSSEC_EDE.NSEC_MISSING });
  }

  /** Keys from a trust anchor: the DNSKEY set must be signed by a key the anchor names. */
  private async keysFromAnchor(zone: string, ta: TrustAnchor): Promise<KeyEntry> {
    if (ta.ds.length) return this.keysFromDs(zone, ta.ds, undefined);
    const usable = ta.dnskey.map((r) => parseDnskey(r.rdata)).filter((k): k is Dnskey => !!k && SUPPORTED_ALGORITHMS.has(k.algorithm));
    if (usable.length === 0) return this.entry(zone, { status: 'insecure', reason: `trust anchor of ${zone || '.'} has no supported algorithm`, ede: DNSSEC_EDE.UNSUPPORTED_DNSKEY_ALG });
    return (await this.fetchChecked({ name: zone, type: TYPE.DNSKEY, class: 1 }, async (dk) => {
      const set = dk.answers.filter((r) => r.type === TYPE.DNSKEY && nameEquals(r.name, zone));
      const trusted = zoneKeys(set).filter((k) => usable.some((u) => u.rdata.equals(k.rdata)));
      return this.verifyDnskeySet(zone, set, dk.sigs ?? [], trusted, undefined);
    })).v;
  }

  /** Keys from a DS set (verified or an anchor): a DNSKEY matching a DS must sign the DNSKEY set. */
  private async keysFromDs(zone: string, dsRecords: ResourceRecord[], cap: number | undefined): Promise<KeyEntry> {
    const all = dsRecords.map((r) => parseDs(r.rdata)).filter((d): d is Ds => !!d);
    const algOk = all.filter((d) => SUPPORTED_ALGORITHMS.has(d.algorithm));
    if (algOk.length === 0) return this.entry(zone, { status: 'insecure', reason: `DS of ${zone || '.'} lists no supported algorithm`, ede: DNSSEC_EDE.UNSUPPORTED_DNSKEY_ALG });
    let ds = algOk.filter((d) => SUPPORTED_DIGESTS.has(d.digestType));
    if (ds.length === 0) return this.entry(zone, { status: 'insecure', reason: `DS of ${zone || '.'} uses no supported digest type`, ede: DNSSEC_EDE.UNSUPPORTED_DS_DIGEST });
    // SHA-1 DS records are ignored when a stronger digest is offered (RFC 4509 section 3).
    if (ds.some((d) => d.digestType !== 1)) ds = ds.filter((d) => d.digestType !== 1);
    return (await this.fetchChecked({ name: zone, type: TYPE.DNSKEY, class: 1 }, async (dk) => {
      const set = dk.answers.filter((r) => r.type === TYPE.DNSKEY && nameEquals(r.name, zone));
      if (set.length === 0) return this.entry(zone, { status: 'bogus', reason: `no DNSKEY for ${zone || '.'}`, ede: DNSSEC_EDE.DNSKEY_MISSING });
      const keys = zoneKeys(set);
      const trusted = keys.filter((k) => ds.some((d) => d.keyTag === k.keyTag && d.algorithm === k.algorithm && dsDigest(zone, k.rdata, d.digestType)?.equals(d.digest)));
      return this.verifyDnskeySet(zone, set, dk.sigs ?? [], trusted, cap);
    })).v;
  }

  private verifyDnskeySet(zone: string, set: ResourceRecord[], sigs: readonly ResourceRecord[], trusted: Dnskey[], cap: number | undefined): KeyEntry {
    if (set.length === 0) return this.entry(zone, { status: 'bogus', reason: `no DNSKEY for ${zone || '.'}`, ede: DNSSEC_EDE.DNSKEY_MISSING });
    if (trusted.length === 0) return this.entry(zone, { status: 'bogus', reason: `no DNSKEY of ${zone || '.'} matches its DS or anchor`, ede: DNSSEC_EDE.DNSKEY_MISSING });
    const res = verifyRRset(set, sigsFor(set, sigs), trusted, zone, this.nowSec());
    if (!res.ok) return this.entry(zone, { status: 'bogus', reason: `DNSKEY set of ${zone || '.'}: signature ${res.failure}`, ede: failureEde(res.failure) });
    const ttl = Math.min(...set.map((r) => r.ttl));
    const c = Math.min(cap ?? Infinity, this.sigCap(res.sig!));
    return this.entry(zone, { status: 'secure', ttlCap: c }, zoneKeys(set), ttl);
  }
}

function hasNs(bitmap: Buffer): boolean {
  // NS is type 2: window 0, first byte, bit 0x20.
  return bitmap.length >= 3 && bitmap[0] === 0 && (bitmap[2] & 0x20) !== 0;
}

function rrsigSigner(r: ResourceRecord): string | undefined {
  try { return rdataName(r.rdata.subarray(18)); } catch { return undefined; }
}

function dedupe(records: ResourceRecord[]): ResourceRecord[] {
  const seen = new Set<string>();
  const out: ResourceRecord[] = [];
  for (const r of records) {
    const k = `${lowerName(r.name)}/${r.type}/${r.rdata.toString('latin1')}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(r);
  }
  return out;
}
