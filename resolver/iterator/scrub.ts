// Scrubbing: keep only what the server that sent a response may speak for.
// A server is trusted for its zone (the bailiwick of the delegation we queried) and
// only for what bears on our question. Everything else is dropped here, before
// anything reaches the cache or a client:
//  - answer: only the chain that starts at the question name (CNAMEs, DNAMEs with
//    the CNAME we synthesise ourselves, then the final RRset), and only while each
//    owner lies inside the zone. Where a CNAME leaves the zone the chain stops; the
//    target is looked up afresh at its own servers.
//  - authority: one NS RRset (the deepest cut above the chain's end inside the zone)
//    and one SOA (owner inside the zone, above the chain's end). Nothing else.
//  - additional: only A/AAAA for the kept NS names, and only if they lie inside the
//    zone of the server that sent them (its bailiwick: a root server may give the
//    address of a.gtld-servers.net for `com`, a `com` server may not give one under
//    `net`). No other record. With hardenGlue off (unbound's harden-glue: no),
//    addresses outside the bailiwick are returned apart, as `looseGlue`, for the
//    iterator to use for this one delegation and never to cache.
// Records of another class than the question's are dropped everywhere.

import { CLASS, TYPE } from '../../dns/constants.js';
import type { Message, ResourceRecord } from '../../dns/message.js';
import { isSubdomain, lowerName, nameToWire, splitLabels } from '../../dns/name.js';
import { rdataName } from '../../dns/rdata.js';

/** Chain links followed inside one response; longer chains are continued by new queries. */
const MAX_CHAIN_IN_RESPONSE = 16;

export interface ScrubQuestion {
  name: string;
  type: number;
  class: number;
}

export interface Scrubbed {
  /** Chain from the question name, in order; the final RRset last when `answered`. */
  answers: ResourceRecord[];
  /** Name at the end of the chain (the question name when there is no CNAME/DNAME). */
  finalName: string;
  /** The RRset for finalName and the question type is present. */
  answered: boolean;
  /** Why the chain ended before an answer, if it did. */
  stop?: 'out-of-zone' | 'loop' | 'too-long' | 'dname-overflow';
  /** SOA proving a negative answer for finalName (owner inside the zone, above finalName). */
  soa?: ResourceRecord;
  /** One NS RRset inside the zone, at or above finalName. */
  ns: ResourceRecord[];
  /** Address records for `ns` names within the allowed bailiwick. */
  glue: ResourceRecord[];
  /** With hardenGlue off: address records for `ns` names outside the bailiwick (never cached). */
  looseGlue: ResourceRecord[];
  /** Records removed. */
  dropped: number;
  /** DNSSEC: answer-section RRSIGs covering a kept answer RRset (DNSSEC records are kept only when asked for with DO). */
  sigs: ResourceRecord[];
  /** DNSSEC: authority-section NSEC, NSEC3, DS and their RRSIGs (and the SOA's RRSIG), owners inside the zone. */
  proof: ResourceRecord[];
}

/** Lower-cased NS target names of an NS RRset (unreadable rdata skipped). */
export function nsTargets(ns: ResourceRecord[]): string[] {
  const out: string[] = [];
  for (const r of ns) {
    try {
      const t = lowerName(rdataName(r.rdata));
      if (!out.includes(t)) out.push(t);
    } catch { /* malformed NS rdata: not a target */ }
  }
  return out;
}

/** Owner names and text are compared in lower case. */
function sameName(a: string, b: string): boolean {
  return a === b || lowerName(a) === lowerName(b);
}

/**
 * The DNAME that synthesised answer record `i`, if any: the nearest DNAME before it
 * whose owner lies strictly above its owner (no real data can sit below a DNAME).
 */
export function dnameAbove(records: readonly ResourceRecord[], i: number): ResourceRecord | undefined {
  const owner = records[i].name;
  for (let j = i - 1; j >= 0; j--) {
    const d = records[j];
    if (d.type === TYPE.DNAME && isSubdomain(owner, d.name) && !sameName(owner, d.name)) return d;
  }
  return undefined;
}

/**
 * Replaces the `owner` suffix of `name` by `target` (DNAME substitution, RFC 6672).
 * Returns undefined when the result is longer than 255 bytes.
 */
export function dnameSubstitute(name: string, owner: string, target: string): string | undefined {
  const nl = splitLabels(name);
  const ol = splitLabels(owner);
  const prefix = nl.slice(0, nl.length - ol.length).join('.');
  const out = target === '' ? prefix : `${prefix}.${target}`;
  try {
    nameToWire(out);
  } catch {
    return undefined;
  }
  return out;
}

export interface ScrubOptions {
  /** Keep out-of-bailiwick glue apart in `looseGlue` instead of dropping it (default false: dropped). */
  looseGlue?: boolean;
}

export function scrubResponse(msg: Message, q: ScrubQuestion, zone: string, opts: ScrubOptions = {}): Scrubbed {
  let dropped = 0;
  const cls = q.class;
  const inZone = (n: string) => isSubdomain(n, zone);

  // ---- answer section: follow the chain -------------------------------------
  const pool = msg.answers.filter((r) => r.class === cls || (cls === CLASS.ANY));
  const used = new Set<ResourceRecord>();
  const answers: ResourceRecord[] = [];
  let cur = q.name;
  let answered = false;
  let stop: Scrubbed['stop'];
  const seen = new Set<string>([lowerName(cur)]);
  let synthesised = 0;
  for (let step = 0; ; step++) {
    if (!inZone(cur)) { stop = 'out-of-zone'; break; }
    // A DNAME at a proper ancestor inside the zone rewrites the name (RFC 6672). A name
    // below a DNAME has no data of its own, so what the server sent at it (its own
    // synthesised CNAME, or a forged one) gives way to our synthesis, even for a CNAME
    // question. A DNAME already in the chain applies again when its target lies below
    // its owner (x. DNAME . rewrites a.x.x. to a.x. and then to a.), without being repeated.
    const dname = q.type === TYPE.DNAME ? undefined : pool.find((r) => r.type === TYPE.DNAME && !sameName(r.name, cur) && isSubdomain(cur, r.name) && inZone(r.name));
    if (dname === undefined) {
      // The final RRset: the question type at the current name (ANY takes every type).
      const final = pool.filter((r) => !used.has(r) && sameName(r.name, cur) && (r.type === q.type || (q.type === TYPE.ANY && r.type !== TYPE.OPT)));
      if (final.length) {
        for (const r of final) { used.add(r); answers.push(r); }
        answered = true;
        break;
      }
    }
    if (step >= MAX_CHAIN_IN_RESPONSE) { stop = 'too-long'; break; }
    let next: string | undefined;
    if (dname) {
      let target: string;
      try { target = rdataName(dname.rdata); } catch { break; }
      const synth = dnameSubstitute(cur, dname.name, target);
      if (!used.has(dname)) { used.add(dname); answers.push(dname); }
      if (synth === undefined) { stop = 'dname-overflow'; break; }
      answers.push({ name: cur, type: TYPE.CNAME, class: dname.class, ttl: dname.ttl, rdata: nameToWire(synth) });
      synthesised++;
      for (const r of pool) if (r.type === TYPE.CNAME && sameName(r.name, cur)) used.add(r);
      // A CNAME question is answered by the synthesised CNAME itself.
      if (q.type === TYPE.CNAME) { answered = true; break; }
      next = synth;
    } else if (q.type !== TYPE.CNAME) {
      const cname = pool.find((r) => !used.has(r) && r.type === TYPE.CNAME && sameName(r.name, cur));
      if (cname) {
        try { next = rdataName(cname.rdata); } catch { break; }
        // Only one CNAME per owner is legal; any extra is dropped below.
        for (const r of pool) if (r.type === TYPE.CNAME && sameName(r.name, cur)) used.add(r);
        answers.push(cname);
      }
    }
    if (next === undefined) break;
    const key = lowerName(next);
    cur = next;
    if (seen.has(key)) { stop = 'loop'; break; }
    seen.add(key);
  }
  const kept = new Set(answers);
  for (const r of msg.answers) if (!kept.has(r)) dropped++;

  // ---- authority: one NS set and one SOA, inside the zone, above the chain's end ----
  let soa: ResourceRecord | undefined;
  let nsOwner: string | undefined;
  const nsByOwner = new Map<string, ResourceRecord[]>();
  const finalInZone = inZone(cur);
  for (const r of msg.authority) {
    if (r.class !== cls || !finalInZone || !inZone(r.name) || !isSubdomain(cur, r.name)) continue;
    if (r.type === TYPE.SOA) {
      if (!soa) soa = r;
    } else if (r.type === TYPE.NS) {
      const k = lowerName(r.name);
      const list = nsByOwner.get(k) ?? [];
      list.push(r);
      nsByOwner.set(k, list);
    }
  }
  // The deepest cut wins when a response carries several NS sets above the name.
  for (const k of nsByOwner.keys()) if (nsOwner === undefined || k.length > nsOwner.length) nsOwner = k;
  const ns = nsOwner !== undefined ? nsByOwner.get(nsOwner)! : [];
  // A final NS answer stands in for the authority NS set when glue is judged.
  const answerNs = answered && q.type === TYPE.NS ? answers.filter((r) => r.type === TYPE.NS) : [];
  dropped += msg.authority.length - (soa ? 1 : 0) - ns.length;

  // ---- additional: glue for kept NS names, inside the server's bailiwick ----
  const glue: ResourceRecord[] = [];
  const looseGlue: ResourceRecord[] = [];
  const nsSets: Array<{ owner: string; names: string[] }> = [];
  if (ns.length) nsSets.push({ owner: ns[0].name, names: nsTargets(ns) });
  if (answerNs.length) nsSets.push({ owner: answerNs[0].name, names: nsTargets(answerNs) });
  for (const r of msg.additional) {
    if (r.class !== cls || (r.type !== TYPE.A && r.type !== TYPE.AAAA)) continue;
    const owner = lowerName(r.name);
    // Only addresses of the kept NS names, and only where the server speaks with
    // authority: inside its zone (in-bailiwick glue, sibling glue included).
    if (!nsSets.some((s) => s.names.includes(owner))) continue;
    if (inZone(owner)) glue.push(r);
    else if (opts.looseGlue) looseGlue.push(r);
  }
  dropped += msg.additional.length - glue.length - looseGlue.length;
  // ---- DNSSEC records (present only when the query had DO set) ----
  const sigs: ResourceRecord[] = [];
  const proof: ResourceRecord[] = [];
  // Skipped when every record of the message was kept (no RRSIG, NSEC or DS can be
  // left); the CNAMEs we synthesised are not the message's and do not count.
  if (msg.answers.length + msg.authority.length > answers.length - synthesised + ns.length + (soa ? 1 : 0)) {
    for (const r of msg.answers) {
      if (r.type !== TYPE.RRSIG || r.class !== cls || r.rdata.length < 2) continue;
      const covered = r.rdata.readUInt16BE(0);
      if (answers.some((a) => a.type === covered && sameName(a.name, r.name))) sigs.push(r);
    }
    for (const r of msg.authority) {
      if (r.class !== cls || !inZone(r.name)) continue;
      if (r.type === TYPE.NSEC || r.type === TYPE.NSEC3 || r.type === TYPE.DS) proof.push(r);
      else if (r.type === TYPE.RRSIG && r.rdata.length >= 2) {
        const covered = r.rdata.readUInt16BE(0);
        if (covered === TYPE.NSEC || covered === TYPE.NSEC3 || covered === TYPE.DS || covered === TYPE.SOA) proof.push(r);
      }
    }
    dropped = Math.max(0, dropped - sigs.length - proof.length);
  }
  return { answers, finalName: cur, answered, stop, soa, ns, glue, looseGlue, dropped: Math.max(0, dropped), sigs, proof };
}
