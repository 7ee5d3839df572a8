// An answer kept as wire bytes, and the one function that turns it into a reply
// for a particular client. Cache hits, freshly resolved answers and local answers
// all leave through `render`, so the ID, letter case, flags, TTL countdown, EDNS
// and truncation rules are applied in exactly one place.
//
// Stored layout: a complete DNS message WITHOUT an OPT record, ID 0, flags with
// QR and RA (and AA for local data) set and RD/CD clear, question lower-cased.
// Owner names equal to the question are compressed to point at it (offset 12),
// so copying the client's question bytes in also gives them the client's case.

import { FLAG, TYPE } from '../../dns/constants.js';
import { encodeMessage, type ResourceRecord } from '../../dns/message.js';
import { lowerName } from '../../dns/name.js';
import { FLAG_PREFETCHED, H } from './slab.js';

export class AnswerEntry {
  constructor(
    /** Buffer holding the bytes: the message at [start, start+len), then 2 bytes per TTL offset. */
    public slab: Buffer,
    public start: number,
    /** Message length. */
    readonly len: number,
    /** Offset just after the question (header + name + type + class). */
    readonly qEnd: number,
    /** Offset where the additional section starts (len when it is empty). */
    readonly addStart: number,
    readonly arCount: number,
    /** Number of TTL fields; their offsets (ascending) follow the message. */
    readonly ttlCount: number,
    readonly rcode: number,
    /** Clock reading (whole ms) when the answer was built; TTLs count down from here. */
    readonly insertedMs: number,
    /** Clock reading (whole ms) from which the entry must not be served. */
    readonly expiresMs: number,
    /** An Extended DNS Error option (code, length, data) for clients that speak EDNS, or null. */
    readonly ede: Buffer | null,
  ) {}

  /** DNSSEC answer variant (DO/CD/AD of the client it was made for; 0 when validation is off). */
  variant = 0;

  /** Last time (ms) a hit refreshed this entry's place in the eviction order (cache.ts). */
  touchedMs = 0;

  /** A serve-stale copy (stale/serve-stale.ts): TTLs rewritten, EDE 3. */
  stale = false;

  /** For a stale copy: when the real data it was made from expired (ms). */
  originMs = 0;

  /** A background refresh has been started for it (prefetch.ts): at most one per stored answer. */
  prefetched = false;

  /** Read from the answer cache: the record's header (slab.ts) sits just before `start`. */
  resident = false;

  /** The stored message (a view made on each read: callers outside the hit path use it). */
  get wire(): Buffer {
    return this.slab.subarray(this.start, this.start + this.len);
  }

  /** Bytes of the message and TTL offsets. */
  get storedBytes(): number {
    return this.len + 2 * this.ttlCount;
  }

  /** The i-th TTL offset. */
  ttlOffset(i: number): number {
    const p = this.start + this.len + 2 * i;
    return (this.slab[p] << 8) | this.slab[p + 1];
  }

  /** Marks that a refresh started, in the cache's copy too, so later hits do not start another. */
  markPrefetched(): void {
    this.prefetched = true;
    if (this.resident) this.slab[this.start - H.SIZE + H.FLAGS] |= FLAG_PREFETCHED;
  }
}

export interface AnswerInit {
  /** Question as asked (any case); stored lower-cased. */
  name: string;
  type: number;
  class: number;
  rcode: number;
  /** Authoritative answer (local data). */
  aa?: boolean;
  answers: readonly ResourceRecord[];
  authority: readonly ResourceRecord[];
  additional: readonly ResourceRecord[];
  ede?: { code: number; text: string };
  /** Authentic Data (a validated secure answer for a client that asked with DO or AD). */
  ad?: boolean;
}

/**
 * Encodes an answer once. `ttlSeconds` is how long it may be served; `recordTtl`
 * maps each record's TTL (clamps). The entry gets a buffer of its own; the answer
 * cache copies what it keeps into its slabs (cache.ts).
 * Throws WireError TOO_BIG above 65535 bytes.
 */
export function buildEntry(a: AnswerInit, nowMs: number, ttlSeconds: number, recordTtl: (ttl: number) => number = (t) => t): AnswerEntry {
  const qname = lowerName(a.name);
  const fix = (rr: ResourceRecord): ResourceRecord => ({
    name: rr.name.length === qname.length && lowerName(rr.name) === qname ? qname : rr.name,
    type: rr.type,
    class: rr.class,
    ttl: recordTtl(rr.ttl >>> 0),
    rdata: rr.rdata,
  });
  const answers = a.answers.map(fix);
  const authority = a.authority.map(fix);
  const additional = a.additional.filter((rr) => rr.type !== TYPE.OPT).map(fix);
  const ttlOffsets: number[] = [];
  const wire = encodeMessage({
    id: 0,
    flags: FLAG.QR | FLAG.RA | (a.aa ? FLAG.AA : 0) | (a.ad ? FLAG.AD : 0),
    rcode: a.rcode & 0xf,
    opcode: 0,
    questions: [{ name: qname, type: a.type, class: a.class }],
    answers, authority, additional,
  }, { ttlOffsets });
  // The question name is written first, so it is never compressed: walk its labels.
  let p = 12;
  while (wire[p] !== 0) p += wire[p] + 1;
  const qEnd = p + 5;
  const before = answers.length + authority.length;
  let addStart = qEnd;
  if (before > 0) {
    const last = authority.length ? authority[authority.length - 1] : answers[answers.length - 1];
    addStart = ttlOffsets[before - 1] + 6 + last.rdata.length;
  }
  const ede = a.ede ? edeOption(a.ede.code, a.ede.text) : null;
  const insertedMs = Math.floor(nowMs);
  const expiresMs = ttlSeconds > 0 ? insertedMs + ttlSeconds * 1000 : insertedMs;
  return new AnswerEntry(withTtlOffsets(wire, ttlOffsets), 0, wire.length, qEnd, addStart, additional.length, ttlOffsets.length, a.rcode & 0xf, insertedMs, expiresMs, ede);
}

/** A buffer of its own holding `wire` followed by 2 bytes per TTL offset: an entry's bytes as AnswerEntry reads them. */
export function withTtlOffsets(wire: Buffer, ttlOffsets: readonly number[]): Buffer {
  const buf = Buffer.allocUnsafe(wire.length + 2 * ttlOffsets.length);
  wire.copy(buf, 0);
  let w = wire.length;
  for (const off of ttlOffsets) { buf[w++] = off >> 8; buf[w++] = off & 0xff; }
  return buf;
}

/** EDE options made so far, by code and text (see edeOption). */
const edeOptions = new Map<string, Buffer>();
/** Distinct EDE texts kept for sharing; past this the table starts afresh. */
const EDE_OPTIONS_MAX = 1024;

/**
 * The Extended DNS Error option (RFC 8914) for `code` and `text`, shared by every
 * entry that carries the same one. The answer cache copies the option into its
 * slab (slab.ts); an entry held elsewhere (waiters, serve-stale's held answer) keeps
 * this buffer, which must therefore not be a slice of Node's shared Buffer pool (64
 * KiB in Node 24): when cached entries held their EDE, one 80-byte slice kept the
 * whole pool chunk, and the short-lived replies around it, alive (a dead-zone
 * flood's 30k cached SERVFAILs held 23.5 MiB of pool chunks that way). Most EDE
 * texts repeat (one per zone or per reason), so one buffer of its own
 * (allocUnsafeSlow: never from the pool) is made per text and shared.
 */
export function edeOption(code: number, textIn: string): Buffer {
  const key = `${code & 0xffff}\u0000${textIn}`;
  const known = edeOptions.get(key);
  if (known !== undefined) return known;
  const text = Buffer.from(textIn, 'utf8').subarray(0, 200);
  const ede = Buffer.allocUnsafeSlow(6 + text.length);
  ede.writeUInt16BE(15, 0); // EDE option code (RFC 8914)
  ede.writeUInt16BE(2 + text.length, 2);
  ede.writeUInt16BE(code & 0xffff, 4);
  text.copy(ede, 6);
  return keep(key, ede);
}

/** The shared copy of a complete EDE option read from elsewhere (a cache dump): see edeOption. */
export function sharedEde(option: Buffer): Buffer {
  const key = `raw\u0000${option.toString('latin1')}`;
  const known = edeOptions.get(key);
  if (known !== undefined) return known;
  const ede = Buffer.allocUnsafeSlow(option.length);
  option.copy(ede);
  return keep(key, ede);
}

function keep(key: string, ede: Buffer): Buffer {
  if (edeOptions.size >= EDE_OPTIONS_MAX) edeOptions.clear();
  edeOptions.set(key, ede);
  return ede;
}

/** EDNS OPT record bytes as we send them: the given UDP size (max_udp_size), version 0, DO echoed, options appended. */
export function buildOpt(udpSize: number, dnssecOk: boolean, options: readonly Buffer[] = [], extendedRcode = 0): Buffer {
  let olen = 0;
  for (const o of options) olen += o.length;
  const out = Buffer.alloc(11 + olen);
  out[0] = 0; // root owner
  out.writeUInt16BE(TYPE.OPT, 1);
  out.writeUInt16BE(udpSize, 3);
  out[5] = extendedRcode & 0xff;
  out[6] = 0; // version
  out[7] = dnssecOk ? 0x80 : 0;
  out[8] = 0;
  out.writeUInt16BE(olen, 9);
  let p = 11;
  for (const o of options) { o.copy(out, p); p += o.length; }
  return out;
}

/** An NSID option (RFC 5001) carrying `identity`. */
export function nsidOption(identity: string): Buffer {
  const id = Buffer.from(identity, 'utf8');
  const out = Buffer.allocUnsafe(4 + id.length);
  out.writeUInt16BE(3, 0);
  out.writeUInt16BE(id.length, 2);
  id.copy(out, 4);
  return out;
}

/**
 * The reply to `query` (whose question matches the entry's, case aside) from `e`.
 * `opt` is the complete OPT record to append, or null when the client sent none.
 * `limit` is the largest message the client takes (UDP) — above it the additional
 * section is left out, and if that is not enough the reply is truncated to the
 * question with TC=1. `prefix` reserves bytes in front (2 for the TCP length).
 */
export function render(e: AnswerEntry, query: Buffer, opt: Buffer | null, limit: number, nowMs: number, prefix: number): Buffer {
  const src = e.slab;
  const base = e.start;
  const len = e.len;
  const optLen = opt === null ? 0 : opt.length;
  let body = len;
  let ar = e.arCount;
  let tc = false;
  if (body + optLen > limit) {
    ar = 0;
    if (e.addStart + optLen <= limit) {
      body = e.addStart;
    } else {
      body = e.qEnd;
      tc = true;
    }
  }
  const out = Buffer.allocUnsafe(prefix + body + optLen);
  src.copy(out, prefix, base, base + body);
  // Header: the client's ID; RD and CD echoed; TC when cut.
  out[prefix] = query[0];
  out[prefix + 1] = query[1];
  out[prefix + 2] = src[base + 2] | (query[2] & 0x01) | (tc ? 0x02 : 0);
  out[prefix + 3] = src[base + 3] | (query[3] & 0x10);
  if (tc) {
    out[prefix + 6] = 0; out[prefix + 7] = 0; out[prefix + 8] = 0; out[prefix + 9] = 0;
  }
  const arTotal = ar + (opt === null ? 0 : 1);
  out[prefix + 10] = arTotal >> 8;
  out[prefix + 11] = arTotal & 0xff;
  // The client's question name, letter case and all (0x20 clients check it).
  const nameEnd = e.qEnd - 4;
  for (let i = 12; i < nameEnd; i++) out[prefix + i] = query[i];
  // TTLs count down from when the answer was stored.
  const elapsed = Math.floor((nowMs - e.insertedMs) / 1000);
  if (elapsed > 0) {
    const n = e.ttlCount;
    let p = base + len;
    for (let i = 0; i < n; i++, p += 2) {
      const off = (src[p] << 8) | src[p + 1];
      if (off >= body) break;
      const s = base + off;
      let ttl = ((src[s] << 24) | (src[s + 1] << 16) | (src[s + 2] << 8) | src[s + 3]) >>> 0;
      ttl = ttl > elapsed ? ttl - elapsed : 0;
      const o = prefix + off;
      out[o] = ttl >>> 24;
      out[o + 1] = (ttl >>> 16) & 0xff;
      out[o + 2] = (ttl >>> 8) & 0xff;
      out[o + 3] = ttl & 0xff;
    }
  }
  if (opt !== null) out.set(opt, prefix + body);
  if (prefix === 2) {
    const n = body + optLen;
    out[0] = n >> 8;
    out[1] = n & 0xff;
  }
  return out;
}
