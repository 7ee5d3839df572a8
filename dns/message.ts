// Whole-message codec. Parsing does work bounded by the message length: every
// record needs at least 11 bytes, names are read with bounded pointer hops, and
// counts that cannot fit in the remaining bytes fail fast. Names inside rdata of
// the types RFC 3597 section 4 allows to be compressed are expanded, so a stored
// rdata Buffer is self-contained and can be re-encoded in any message.

import { CLASS, FLAG, HEADER_LEN, TYPE } from './constants.js';
import { WireError } from './errors.js';
import { nameToLabels, readName, readNameWire } from './name.js';

export interface Question {
  name: string;
  type: number;
  class: number;
}

export interface ResourceRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  /** Uncompressed rdata (names inside are expanded). */
  rdata: Buffer;
}

export interface EdnsOption {
  code: number;
  data: Buffer;
}

export interface Edns {
  udpSize: number;
  /** Upper 8 bits of the 12-bit rcode. */
  extendedRcode: number;
  version: number;
  dnssecOk: boolean;
  options: EdnsOption[];
}

export interface Message {
  id: number;
  /** The 16-bit flags word as received (QR, opcode, AA, TC, RD, RA, Z, AD, CD, low 4 rcode bits). */
  flags: number;
  /** Full rcode: low 4 bits from the header plus the EDNS extended bits. */
  rcode: number;
  opcode: number;
  questions: Question[];
  answers: ResourceRecord[];
  authority: ResourceRecord[];
  /** Additional records except OPT, which is in `edns`. */
  additional: ResourceRecord[];
  edns?: Edns;
}

export interface ParseLimits {
  /** Records per message beyond which parsing stops (default 1000). */
  maxRecords?: number;
}

export function headerId(buf: Uint8Array): number {
  return (buf[0] << 8) | buf[1];
}

export function headerFlags(buf: Uint8Array): number {
  return (buf[2] << 8) | buf[3];
}

export function hasFlag(flags: number, flag: number): boolean {
  return (flags & flag) !== 0;
}

function u16(buf: Uint8Array, p: number): number {
  return (buf[p] << 8) | buf[p + 1];
}

function u32(buf: Uint8Array, p: number): number {
  return ((buf[p] << 24) >>> 0) + (buf[p + 1] << 16) + (buf[p + 2] << 8) + buf[p + 3];
}

/** Layout of names inside rdata: 'N' a name, a number = that many fixed bytes. */
const COMPRESSIBLE_RDATA: Record<number, Array<'N' | number>> = {
  [TYPE.NS]: ['N'], [TYPE.CNAME]: ['N'], [TYPE.PTR]: ['N'], [TYPE.DNAME]: ['N'],
  3: ['N'], 4: ['N'], 7: ['N'], 8: ['N'], 9: ['N'], // MD MF MB MG MR
  [TYPE.SOA]: ['N', 'N', 20],
  [TYPE.MX]: [2, 'N'], [TYPE.AFSDB]: [2, 'N'], 21: [2, 'N'], [TYPE.KX]: [2, 'N'], // RT
  14: ['N', 'N'], [TYPE.RP]: ['N', 'N'], // MINFO RP
  [TYPE.SRV]: [6, 'N'],
  26: [2, 'N', 'N'], // PX
};

/** Expands names inside rdata at [start, start+len) of `buf`. */
function readRdata(buf: Uint8Array, type: number, start: number, len: number): Buffer {
  const layout = COMPRESSIBLE_RDATA[type];
  const end = start + len;
  if (!layout) return Buffer.from(buf.subarray(start, end));
  const parts: Buffer[] = [];
  let p = start;
  for (const item of layout) {
    if (item === 'N') {
      // Expanded straight to wire form (the same bytes as re-encoding the name's text).
      const n = readNameWire(buf, p);
      if (n.end > end) throw new WireError('BAD_RDATA', `name in ${type} rdata runs past rdlength`);
      parts.push(n.wire);
      p = n.end;
    } else {
      if (p + item > end) throw new WireError('BAD_RDATA', `type ${type} rdata shorter than its fixed fields`);
      parts.push(Buffer.from(buf.subarray(p, p + item)));
      p += item;
    }
  }
  if (p !== end) throw new WireError('BAD_RDATA', `type ${type} rdata has ${end - p} trailing bytes`);
  return Buffer.concat(parts);
}

export interface RecordRead {
  rr: ResourceRecord;
  end: number;
  /** Offset of the TTL field in the message. */
  ttlOffset: number;
}

export function readRecord(buf: Uint8Array, offset: number): RecordRead {
  const n = readName(buf, offset);
  let p = n.end;
  if (p + 10 > buf.length) throw new WireError('TRUNCATED', `record header at ${offset} runs past end`);
  const type = u16(buf, p);
  const cls = u16(buf, p + 2);
  const ttlOffset = p + 4;
  const ttl = u32(buf, p + 4);
  const rdlen = u16(buf, p + 8);
  p += 10;
  if (p + rdlen > buf.length) throw new WireError('TRUNCATED', `rdata of record at ${offset} runs past end`);
  const rdata = type === TYPE.OPT ? Buffer.from(buf.subarray(p, p + rdlen)) : readRdata(buf, type, p, rdlen);
  return { rr: { name: n.name, type, class: cls, ttl, rdata }, end: p + rdlen, ttlOffset };
}

export function readQuestion(buf: Uint8Array, offset: number): { q: Question; end: number } {
  const n = readName(buf, offset);
  if (n.end + 4 > buf.length) throw new WireError('TRUNCATED', 'question runs past end');
  return { q: { name: n.name, type: u16(buf, n.end), class: u16(buf, n.end + 2) }, end: n.end + 4 };
}

function parseOptions(data: Buffer): EdnsOption[] {
  const out: EdnsOption[] = [];
  let p = 0;
  while (p < data.length) {
    if (p + 4 > data.length) throw new WireError('BAD_OPT', 'EDNS option header cut short');
    const code = data.readUInt16BE(p);
    const len = data.readUInt16BE(p + 2);
    if (p + 4 + len > data.length) throw new WireError('BAD_OPT', `EDNS option ${code} runs past OPT rdata`);
    out.push({ code, data: data.subarray(p + 4, p + 4 + len) });
    p += 4 + len;
  }
  return out;
}

/** Parses a whole message. Throws WireError on anything malformed. Trailing bytes are ignored. */
export function parseMessage(buf: Uint8Array, limits: ParseLimits = {}): Message {
  if (buf.length < HEADER_LEN) throw new WireError('TRUNCATED', `message of ${buf.length} bytes is shorter than a header`);
  const maxRecords = limits.maxRecords ?? 1000;
  const qd = u16(buf, 4), an = u16(buf, 6), ns = u16(buf, 8), ar = u16(buf, 10);
  const remaining = buf.length - HEADER_LEN;
  // Each question needs >= 5 bytes and each record >= 11: reject impossible counts before any work.
  if (qd * 5 + (an + ns + ar) * 11 > remaining) throw new WireError('TRUNCATED', 'section counts exceed the message length');
  if (an + ns + ar > maxRecords) throw new WireError('TOO_MANY_RECORDS', `${an + ns + ar} records exceed the limit of ${maxRecords}`);
  const flags = u16(buf, 2);
  const msg: Message = {
    id: u16(buf, 0), flags, rcode: flags & 0xf, opcode: (flags >> 11) & 0xf,
    questions: [], answers: [], authority: [], additional: [],
  };
  let p = HEADER_LEN;
  for (let i = 0; i < qd; i++) {
    const r = readQuestion(buf, p);
    msg.questions.push(r.q);
    p = r.end;
  }
  for (let i = 0; i < an; i++) { const r = readRecord(buf, p); msg.answers.push(r.rr); p = r.end; }
  for (let i = 0; i < ns; i++) { const r = readRecord(buf, p); msg.authority.push(r.rr); p = r.end; }
  for (let i = 0; i < ar; i++) {
    const r = readRecord(buf, p);
    p = r.end;
    if (r.rr.type === TYPE.OPT) {
      if (msg.edns) throw new WireError('BAD_OPT', 'more than one OPT record');
      if (r.rr.name !== '') throw new WireError('BAD_OPT', 'OPT record owner is not the root');
      const ttl = r.rr.ttl;
      msg.edns = {
        udpSize: r.rr.class,
        extendedRcode: ttl >>> 24,
        version: (ttl >>> 16) & 0xff,
        dnssecOk: (ttl & 0x8000) !== 0,
        options: parseOptions(r.rr.rdata),
      };
      msg.rcode = (msg.edns.extendedRcode << 4) | (flags & 0xf);
    } else {
      msg.additional.push(r.rr);
    }
  }
  return msg;
}

export interface EncodeOptions {
  /** Collects the offset of every record's TTL field (answer, authority, additional; not OPT). */
  ttlOffsets?: number[];
}

class Writer {
  buf: Buffer;
  pos = 0;
  private readonly names = new Map<string, number>();
  constructor(size = 512) {
    this.buf = Buffer.allocUnsafe(size);
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  u8(v: number): void { this.ensure(1); this.buf[this.pos++] = v; }
  u16(v: number): void { this.ensure(2); this.buf.writeUInt16BE(v & 0xffff, this.pos); this.pos += 2; }
  u32(v: number): void { this.ensure(4); this.buf.writeUInt32BE(v >>> 0, this.pos); this.pos += 4; }
  bytes(b: Uint8Array): void { this.ensure(b.length); this.buf.set(b, this.pos); this.pos += b.length; }
  /** Writes an owner or question name, compressing against names already written. */
  name(name: string): void {
    if (this.plainName(name)) return;
    // nameToLabels validates (empty labels, lengths) so a bad name throws instead of
    // being silently re-shaped on the wire.
    const labels = nameToLabels(name);
    const keys = labels.map((l) => l.toString('latin1'));
    for (let i = 0; i < labels.length; i++) {
      // Exact bytes, not lower-cased: compression must not change an owner name's case.
      // U+0100 cannot occur in a latin1 label, so it separates labels unambiguously; the
      // leading U+0100 keeps these keys apart from plainName's (a label "a.b" is not "a"+"b").
      const suffix = '\u0100' + keys.slice(i).join('\u0100');
      const at = this.names.get(suffix);
      if (at !== undefined) { this.u16(0xc000 | at); return; }
      if (this.pos < 0x3fff) this.names.set(suffix, this.pos);
      this.u8(labels[i].length);
      this.bytes(labels[i]);
    }
    this.u8(0);
  }

  /**
   * The common case without escapes: labels are the text between dots, and each
   * suffix of the text is its own compression key (no label arrays, no joins).
   * Returns false, having written nothing, for names it does not handle (escapes,
   * a trailing dot, bad labels): name() then takes the general path, which also
   * reports the errors.
   */
  private plainName(name: string): boolean {
    const n = name.length;
    if (n === 0) { this.u8(0); return true; }
    if (n > 253) return false;
    let labelStart = 0;
    for (let i = 0; i <= n; i++) {
      const c = i < n ? name.charCodeAt(i) : DOT_CODE;
      if (c === BACKSLASH_CODE || c > 0xff) return false;
      if (c === DOT_CODE) {
        const len = i - labelStart;
        if (len === 0 || len > 63) return false;
        labelStart = i + 1;
      }
    }
    this.ensure(n + 2);
    for (let start = 0; start < n;) {
      const suffix = start === 0 ? name : name.slice(start);
      const at = this.names.get(suffix);
      if (at !== undefined) { this.u16(0xc000 | at); return true; }
      if (this.pos < 0x3fff) this.names.set(suffix, this.pos);
      let end = name.indexOf('.', start);
      if (end < 0) end = n;
      const b = this.buf;
      let pos = this.pos;
      b[pos++] = end - start;
      for (let i = start; i < end; i++) b[pos++] = name.charCodeAt(i);
      this.pos = pos;
      start = end + 1;
    }
    this.buf[this.pos++] = 0;
    return true;
  }
}

const DOT_CODE = 0x2e;
const BACKSLASH_CODE = 0x5c;

/** Encodes a message. Owner names are compressed; rdata is written as stored (uncompressed). */
export function encodeMessage(msg: Message, opts: EncodeOptions = {}): Buffer {
  const w = new Writer();
  const extra = msg.edns ? 1 : 0;
  w.u16(msg.id);
  w.u16((msg.flags & ~0x780f) | ((msg.opcode & 0xf) << 11) | (msg.rcode & 0xf));
  w.u16(msg.questions.length);
  w.u16(msg.answers.length);
  w.u16(msg.authority.length);
  w.u16(msg.additional.length + extra);
  for (const q of msg.questions) { w.name(q.name); w.u16(q.type); w.u16(q.class); }
  const ttls = opts.ttlOffsets;
  const writeRR = (rr: ResourceRecord): void => {
    w.name(rr.name);
    w.u16(rr.type); w.u16(rr.class);
    if (ttls) ttls.push(w.pos);
    w.u32(rr.ttl);
    w.u16(rr.rdata.length);
    w.bytes(rr.rdata);
  };
  for (const rr of msg.answers) writeRR(rr);
  for (const rr of msg.authority) writeRR(rr);
  for (const rr of msg.additional) writeRR(rr);
  if (msg.edns) {
    const e = msg.edns;
    w.u8(0);
    w.u16(TYPE.OPT);
    w.u16(e.udpSize);
    w.u32((((msg.rcode >> 4) & 0xff) << 24) | ((e.version & 0xff) << 16) | (e.dnssecOk ? 0x8000 : 0));
    let len = 0;
    for (const o of e.options) len += 4 + o.data.length;
    w.u16(len);
    for (const o of e.options) { w.u16(o.code); w.u16(o.data.length); w.bytes(o.data); }
  }
  if (w.pos > 0xffff) throw new WireError('TOO_BIG', `encoded message of ${w.pos} bytes exceeds 65535`);
  return w.buf.subarray(0, w.pos);
}

export interface QueryInit {
  id: number;
  name: string;
  type: number;
  class?: number;
  rd?: boolean;
  cd?: boolean;
  /** Adds an OPT record advertising this UDP size (omit for no EDNS). */
  ednsUdpSize?: number;
  dnssecOk?: boolean;
  ednsOptions?: EdnsOption[];
}

/** Builds a query message with one question. */
export function buildQuery(q: QueryInit): Buffer {
  let flags = 0;
  if (q.rd) flags |= FLAG.RD;
  if (q.cd) flags |= FLAG.CD;
  return encodeMessage({
    id: q.id, flags, rcode: 0, opcode: 0,
    questions: [{ name: q.name, type: q.type, class: q.class ?? CLASS.IN }],
    answers: [], authority: [], additional: [],
    edns: q.ednsUdpSize === undefined ? undefined : {
      udpSize: q.ednsUdpSize, extendedRcode: 0, version: 0, dnssecOk: !!q.dnssecOk, options: q.ednsOptions ?? [],
    },
  });
}

/** Convenience flag readers. */
export const flagsOf = (m: Pick<Message, 'flags'>) => ({
  qr: (m.flags & FLAG.QR) !== 0,
  aa: (m.flags & FLAG.AA) !== 0,
  tc: (m.flags & FLAG.TC) !== 0,
  rd: (m.flags & FLAG.RD) !== 0,
  ra: (m.flags & FLAG.RA) !== 0,
  ad: (m.flags & FLAG.AD) !== 0,
  cd: (m.flags & FLAG.CD) !== 0,
});
