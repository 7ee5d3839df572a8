// Reads a client query straight from the Buffer: header, the one question and the
// OPT record, within hard limits, without decoding the name into a string.
// Runs for every packet, so it writes into a reused QueryInfo and a reused key
// buffer instead of allocating. Whatever it cannot vouch for becomes a status
// the front turns into FORMERR, NOTIMP, BADVERS or a silent drop.

import { lowerByte, readName } from '../../dns/name.js';

/** What to do with a packet. */
export const QS = {
  OK: 0,
  /** No answer at all: too short for a header, or QR=1 (never answer a response). */
  DROP: 1,
  FORMERR: 2,
  NOTIMP: 3,
  /** EDNS version above 0 (RFC 6891 section 6.1.3). */
  BADVERS: 4,
  /** Zone transfers and other types a recursive service does not serve. */
  REFUSED: 5,
} as const;
export type QueryStatus = (typeof QS)[keyof typeof QS];

/** Largest key: 255-byte name + type + class. */
export const MAX_KEY_LEN = 259;
/** Additional records we are willing to walk looking for OPT (a TSIG or cookie-less padding is fine). */
const MAX_ADDITIONAL = 4;
export const NSID_OPTION = 3;
/** EDNS COOKIE (RFC 7873); its checks are in resolver/defence/guard.ts. */
const COOKIE_OPTION_CODE = 10;

/**
 * Seed for the cache key hash, random per process, so nobody can choose names that
 * collide with a popular one (a collision only costs a cache slot: entries are
 * verified byte for byte).
 */
const HASH_SEED = (Math.random() * 0x7fffffff) | 0;

export class QueryInfo {
  /** 30-bit FNV-1a hash of the key bytes (a small integer: a cheap Map key). */
  keyHash = 0;
  /** Offset just after the question's name. */
  nameEnd = 0;
  /** Offset just after qtype/qclass; 0 when the question could not be read. */
  qEnd = 0;
  qtype = 0;
  qclass = 0;
  /** Bytes of the cache key written into the key buffer (lower-cased name, qtype, qclass). */
  keyLen = 0;
  hasOpt = false;
  /** Requestor's UDP payload size as advertised (512 when no OPT). */
  udpSize = 512;
  ednsVersion = 0;
  dnssecOk = false;
  /** DNSSEC answer variant: DO (1), CD (2) and AD (4) as the client set them. */
  variant = 0;
  /** The client asked for NSID (RFC 5001). */
  nsid = false;
  /** Where the COOKIE option's data (RFC 7873) starts in the message, and its length (0: none). */
  cookieOff = 0;
  cookieLen = 0;
}

/**
 * Parses `msg` into `q`, lower-casing the question into `key` (at least MAX_KEY_LEN
 * bytes). Pure function of its inputs; bounded by the packet length.
 */
export function readQuery(msg: Buffer, q: QueryInfo, key: Buffer): QueryStatus {
  q.qEnd = 0;
  q.hasOpt = false;
  q.udpSize = 512;
  q.ednsVersion = 0;
  q.dnssecOk = false;
  q.variant = 0;
  q.nsid = false;
  q.cookieLen = 0;
  const len = msg.length;
  if (len < 12) return QS.DROP;
  const b2 = msg[2];
  if (b2 & 0x80) return QS.DROP;
  const qd = (msg[4] << 8) | msg[5];
  const an = (msg[6] << 8) | msg[7];
  const ns = (msg[8] << 8) | msg[9];
  const ar = (msg[10] << 8) | msg[11];
  const opcode = (b2 >> 3) & 0xf;
  if (qd !== 1) return opcode !== 0 ? QS.NOTIMP : QS.FORMERR;

  // Question name: plain labels only (a compression pointer in the only name is nonsense).
  let p = 12;
  let k = 0;
  let h = HASH_SEED ^ 0x811c9dc5;
  for (;;) {
    if (p >= len) return QS.FORMERR;
    const l = msg[p];
    key[k++] = l;
    h = Math.imul(h ^ l, 0x01000193);
    if (l === 0) { p++; break; }
    if (l > 63) return QS.FORMERR;
    if (p + 1 + l > len || k + l > 254) return QS.FORMERR; // 255 bytes with the root label
    const end = p + 1 + l;
    for (let i = p + 1; i < end; i++) {
      const c = lowerByte(msg[i]);
      key[k++] = c;
      h = Math.imul(h ^ c, 0x01000193);
    }
    p = end;
  }
  if (p + 4 > len) return QS.FORMERR;
  q.nameEnd = p;
  q.qtype = (msg[p] << 8) | msg[p + 1];
  q.qclass = (msg[p + 2] << 8) | msg[p + 3];
  for (let i = 0; i < 4; i++) {
    const c = msg[p + i];
    key[k++] = c;
    h = Math.imul(h ^ c, 0x01000193);
  }
  q.keyLen = k;
  q.keyHash = (h ^ (h >>> 15)) & 0x3fffffff;
  p += 4;
  q.qEnd = p;
  if (opcode !== 0) return QS.NOTIMP;
  if (an !== 0 || ns !== 0 || ar > MAX_ADDITIONAL) return QS.FORMERR;

  // Additional section: find the OPT record; anything else is skipped.
  for (let r = 0; r < ar; r++) {
    // Owner name, bounded: labels or one pointer.
    const nameStart = p;
    let nlen = 0;
    for (;;) {
      if (p >= len) return QS.FORMERR;
      const l = msg[p];
      if (l === 0) { p++; break; }
      if ((l & 0xc0) === 0xc0) { p += 2; break; }
      if (l > 63) return QS.FORMERR;
      nlen += l + 1;
      if (nlen > 255) return QS.FORMERR;
      p += l + 1;
    }
    if (p + 10 > len) return QS.FORMERR;
    const type = (msg[p] << 8) | msg[p + 1];
    const rdlen = (msg[p + 8] << 8) | msg[p + 9];
    const rdStart = p + 10;
    const rdEnd = rdStart + rdlen;
    if (rdEnd > len) return QS.FORMERR;
    if (type === 41) {
      if (q.hasOpt) return QS.FORMERR; // RFC 6891 section 6.1.1: more than one OPT
      if (p !== nameStart + 1) return QS.FORMERR; // OPT owner must be the root
      q.hasOpt = true;
      q.udpSize = (msg[p + 2] << 8) | msg[p + 3];
      q.ednsVersion = msg[p + 5];
      q.dnssecOk = (msg[p + 6] & 0x80) !== 0;
      let o = rdStart;
      while (o < rdEnd) {
        if (o + 4 > rdEnd) return QS.FORMERR;
        const code = (msg[o] << 8) | msg[o + 1];
        const olen = (msg[o + 2] << 8) | msg[o + 3];
        o += 4 + olen;
        if (o > rdEnd) return QS.FORMERR;
        if (code === NSID_OPTION) q.nsid = true;
        else if (code === COOKIE_OPTION_CODE) { q.cookieOff = o - olen; q.cookieLen = olen === 0 ? 1 : olen; }
      }
    }
    p = rdEnd;
  }
  if (q.hasOpt && q.ednsVersion !== 0) return QS.BADVERS;
  q.variant = (q.dnssecOk ? 1 : 0) | (msg[3] & 0x10 ? 2 : 0) | (msg[3] & 0x20 ? 4 : 0);

  const t = q.qtype;
  // Meta types that make no sense as a recursive question.
  if (t === 41 || t === 249 || t === 250 || t === 0) return QS.FORMERR; // OPT, TKEY, TSIG, reserved 0
  if (t === 251 || t === 252) return QS.REFUSED; // IXFR, AXFR
  if (t === 253 || t === 254) return QS.NOTIMP; // MAILB, MAILA
  return QS.OK;
}

/**
 * The question of a query that got past the fast path, decoded once for the rest
 * of the chain (local answers, merging, the resolution, the answer entry).
 */
export interface Question {
  /** Merging key: the lower-cased question as readQuery wrote it (name, qtype, qclass), latin1. */
  readonly key: string;
  /** readQuery's hash of the key (the answer cache's index). */
  readonly hash: number;
  /** Presentation name as the client wrote it (letter case kept: it is what is asked upstream). */
  readonly name: string;
  /** Presentation name lower-cased. */
  readonly lower: string;
  readonly type: number;
  readonly cls: number;
  /** DNSSEC answer variant (QueryInfo.variant) when the front keeps variants apart (validation on), else 0. */
  readonly variant?: number;
}

/**
 * Builds the Question for `msg` after readQuery returned OK for it with `key`.
 * The lower-cased form is decoded from the key readQuery already lower-cased (and
 * is the client's own string when the two are byte for byte equal, the common
 * case), so no name is lower-cased twice.
 */
export function decodeQuestion(msg: Buffer, q: QueryInfo, key: Buffer): Question {
  const name = readName(msg, 12).name;
  const nameLen = q.keyLen - 4;
  const lower = msg.compare(key, 0, nameLen, 12, 12 + nameLen) === 0 ? name : readName(key, 0).name;
  return { key: key.toString('latin1', 0, q.keyLen), hash: q.keyHash, name, lower, type: q.qtype, cls: q.qclass };
}
