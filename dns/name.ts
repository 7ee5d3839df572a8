// Domain names. In this project a name is a string in RFC 1035 presentation form,
// absolute, WITHOUT the trailing dot: "www.example.com", and the root is "".
// Bytes that are not printable ASCII, and "." or "\" inside a label, are escaped
// as \DDD or \. so that a label containing a dot can never be confused with two labels
// (the dns2 package splits on every dot, escaped or not, and gets such names wrong;
// see docs/field-notes.md, "dns2").
//
// Case: DNS compares names ASCII case-insensitively (RFC 4343). isUpperAscii() is
// the one place that says what an upper-case letter is; lowerName() (strings) and
// lowerByte() (wire bytes, the front's query reader) both use it.

import { WireError } from './errors.js';

export const MAX_NAME_WIRE_LEN = 255;
export const MAX_LABEL_LEN = 63;
/** Compression pointers followed per name before we give up (bounded work on hostile input). */
export const MAX_POINTER_HOPS = 32;

const BACKSLASH = 0x5c;
const DOT = 0x2e;

function labelToText(buf: Uint8Array, start: number, len: number): string {
  let out = '';
  for (let i = start; i < start + len; i++) {
    const c = buf[i];
    if (c === DOT || c === BACKSLASH) out += '\\' + String.fromCharCode(c);
    else if (c > 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else out += '\\' + String(c).padStart(3, '0');
  }
  return out;
}

export interface NameRead {
  name: string;
  /** Offset just after the name at the place it was read (not after a pointer target). */
  end: number;
  /** Uncompressed wire length of the name, including the root label. */
  wireLen: number;
}

/**
 * Scratch for the name readers: expandName writes a name's uncompressed wire form
 * here, and readName turns it into text in place in the common case (every byte a
 * printable ASCII character other than "." and "\\"), decoded to a string in one
 * step. Building the text a character at a time made a string per character and
 * per label, the largest share of what a cold miss allocated (every reply's names
 * are read: question, owners, names inside NS/SOA rdata).
 */
const nameScratch = Buffer.allocUnsafe(MAX_NAME_WIRE_LEN + 1);
/** Length of what the last expandName call wrote to nameScratch (root label included). */
let expandedLen = 0;

/** A byte that readName writes as itself (printable ASCII, not "." or "\\"). */
function plainByte(c: number): boolean {
  return c > 0x20 && c < 0x7f && c !== DOT && c !== BACKSLASH;
}

/**
 * Expands a possibly compressed name into nameScratch[0, expandedLen): labels as
 * they are (case kept), then the root label. Returns the offset just after the
 * name at the place it was read (not after a pointer target). Work is bounded:
 * pointers must point strictly backwards, at most MAX_POINTER_HOPS are followed,
 * and the expanded name may not exceed 255 bytes. The one walker behind readName
 * and readNameWire, so both check and fail alike.
 */
function expandName(buf: Uint8Array, offset: number): number {
  let pos = offset;
  let end = -1;
  let hops = 0;
  let n = 0;
  for (;;) {
    if (pos >= buf.length) throw new WireError('TRUNCATED', `name runs past end of message at ${pos}`);
    const len = buf[pos];
    if (len === 0) {
      nameScratch[n++] = 0;
      if (end < 0) end = pos + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= buf.length) throw new WireError('TRUNCATED', `compression pointer cut short at ${pos}`);
      const target = ((len & 0x3f) << 8) | buf[pos + 1];
      if (target >= pos) throw new WireError('BAD_POINTER', `compression pointer at ${pos} does not point backwards`);
      if (++hops > MAX_POINTER_HOPS) throw new WireError('BAD_POINTER', `more than ${MAX_POINTER_HOPS} compression pointers in one name`);
      if (end < 0) end = pos + 2;
      pos = target;
      continue;
    }
    if (kind !== 0) throw new WireError('BAD_LABEL', `label type 0x${kind.toString(16)} at ${pos} is not supported`);
    if (pos + 1 + len > buf.length) throw new WireError('TRUNCATED', `label at ${pos} runs past end of message`);
    if (n + len + 2 > MAX_NAME_WIRE_LEN) throw new WireError('NAME_TOO_LONG', `name at ${offset} is longer than 255 bytes`);
    for (let i = pos; i <= pos + len; i++) nameScratch[n++] = buf[i];
    pos += len + 1;
  }
  expandedLen = n;
  return end;
}

/** Reads a possibly compressed name as text (bounded as expandName says). */
export function readName(buf: Uint8Array, offset: number): NameRead {
  const end = expandName(buf, offset);
  const wireLen = expandedLen;
  const s = nameScratch;
  if (wireLen === 1) return { name: '', end, wireLen };
  let plain = true;
  for (let p = 0; plain && s[p] !== 0; p += s[p] + 1) {
    for (let i = p + 1; i <= p + s[p]; i++) if (!plainByte(s[i])) { plain = false; break; }
  }
  let name = '';
  if (plain) {
    // The length bytes after the first become the dots: the text is s[1, wireLen - 1).
    for (let p = 0, len = s[0]; len !== 0; len = s[p]) {
      if (p > 0) s[p] = DOT;
      p += len + 1;
    }
    name = s.toString('latin1', 1, wireLen - 1);
  } else {
    for (let p = 0; s[p] !== 0; p += s[p] + 1) {
      const label = labelToText(s, p + 1, s[p]);
      name = name === '' ? label : `${name}.${label}`;
    }
  }
  return { name, end, wireLen };
}

/**
 * Reads a possibly compressed name into its uncompressed wire form (labels as
 * they are, case kept), with readName's checks and errors: the same bytes as
 * nameToWire(readName(buf, offset).name), without going through text. For names
 * inside rdata, which are stored expanded.
 */
export function readNameWire(buf: Uint8Array, offset: number): { wire: Buffer; end: number } {
  const end = expandName(buf, offset);
  const wire = Buffer.allocUnsafe(expandedLen);
  nameScratch.copy(wire, 0, 0, expandedLen);
  return { wire, end };
}

/** Skips a name without decoding it; returns the offset after it. Bounded like readName's first segment. */
export function skipName(buf: Uint8Array, offset: number): number {
  let pos = offset;
  let wireLen = 0;
  for (;;) {
    if (pos >= buf.length) throw new WireError('TRUNCATED', `name runs past end of message at ${pos}`);
    const len = buf[pos];
    if (len === 0) return pos + 1;
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) throw new WireError('TRUNCATED', `compression pointer cut short at ${pos}`);
      return pos + 2;
    }
    if (len & 0xc0) throw new WireError('BAD_LABEL', `label type at ${pos} is not supported`);
    wireLen += len + 1;
    if (wireLen + 1 > MAX_NAME_WIRE_LEN) throw new WireError('NAME_TOO_LONG', `name at ${offset} is longer than 255 bytes`);
    pos += len + 1;
  }
}

/** Splits a presentation name into raw label byte arrays, honouring \. and \DDD escapes. */
export function nameToLabels(name: string): Buffer[] {
  if (name === '' || name === '.') return [];
  const text = name.endsWith('.') && !name.endsWith('\\.') ? name.slice(0, -1) : name;
  const labels: Buffer[] = [];
  let cur: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === BACKSLASH) {
      const d = text.slice(i + 1, i + 4);
      if (/^\d{3}$/.test(d)) {
        const v = Number(d);
        if (v > 255) throw new WireError('BAD_NAME', `escape \\${d} in "${name}" is above 255`);
        cur.push(v);
        i += 3;
      } else if (i + 1 < text.length) {
        cur.push(text.charCodeAt(i + 1) & 0xff);
        i += 1;
      } else {
        throw new WireError('BAD_NAME', `dangling backslash in "${name}"`);
      }
    } else if (ch === DOT) {
      if (cur.length === 0) throw new WireError('BAD_NAME', `empty label in "${name}"`);
      labels.push(Buffer.from(cur));
      cur = [];
    } else {
      if (ch > 0xff) throw new WireError('BAD_NAME', `non-ASCII character in "${name}"; use punycode`);
      cur.push(ch);
    }
  }
  if (cur.length === 0) throw new WireError('BAD_NAME', `empty label in "${name}"`);
  labels.push(Buffer.from(cur));
  let total = 1;
  for (const l of labels) {
    if (l.length > MAX_LABEL_LEN) throw new WireError('BAD_NAME', `label longer than 63 bytes in "${name}"`);
    total += l.length + 1;
  }
  if (total > MAX_NAME_WIRE_LEN) throw new WireError('BAD_NAME', `"${name}" is longer than 255 bytes`);
  return labels;
}

/** Uncompressed wire form of a name. */
export function nameToWire(name: string): Buffer {
  const labels = nameToLabels(name);
  let len = 1;
  for (const l of labels) len += l.length + 1;
  const out = Buffer.allocUnsafe(len);
  let p = 0;
  for (const l of labels) {
    out[p++] = l.length;
    l.copy(out, p);
    p += l.length;
  }
  out[p] = 0;
  return out;
}

/** Normalises a user-typed name: strips one trailing dot, keeps escapes. */
export function normalizeName(name: string): string {
  if (name === '.' || name === '') return '';
  return nameToLabels(name).map((l) => labelToText(l, 0, l.length)).join('.');
}

/** ASCII-only lower-casing, as DNS comparison demands (RFC 4343). */
/** True for the bytes/char codes DNS folds to lower case: ASCII A-Z only (RFC 4343). */
export function isUpperAscii(c: number): boolean {
  return c >= 0x41 && c <= 0x5a;
}

/** One wire byte lower-cased as DNS does (labels are compared ASCII case-insensitively). */
export function lowerByte(c: number): number {
  return isUpperAscii(c) ? c | 0x20 : c;
}

/**
 * The name lower-cased. Returns the very same string when there is nothing to
 * change, so hot paths (every cache key, every scrub) allocate nothing for names
 * that are lower case already.
 */
export function lowerName(name: string): string {
  let upper = false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0x80) return name.replace(/[A-Z]/g, (ch) => String.fromCharCode(lowerByte(ch.charCodeAt(0))));
    if (isUpperAscii(c)) upper = true;
  }
  // ASCII only here, where toLowerCase is exactly DNS's case folding (RFC 4343).
  return upper ? name.toLowerCase() : name;
}

export function nameEquals(a: string, b: string): boolean {
  return a.length === b.length && lowerName(a) === lowerName(b);
}

/** Splits on unescaped dots. */
export function splitLabels(name: string): string[] {
  if (name === '') return [];
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === BACKSLASH) { i++; continue; }
    if (c === DOT) { out.push(name.slice(start, i)); start = i + 1; }
  }
  out.push(name.slice(start));
  return out;
}

/** True when `name` is `zone` or below it (case-insensitive). The root contains everything. */
export function isSubdomain(name: string, zone: string): boolean {
  if (zone === '') return true;
  const n = lowerName(name);
  const z = lowerName(zone);
  if (n === z) return true;
  // n ends with "." + z, tested without building that string (hot: every scrub, every cut).
  if (n.length <= z.length || n.charCodeAt(n.length - z.length - 1) !== DOT || !n.endsWith(z)) return false;
  // Make sure the dot we matched is not escaped.
  let backslashes = 0;
  for (let i = n.length - z.length - 2; i >= 0 && n.charCodeAt(i) === BACKSLASH; i--) backslashes++;
  return backslashes % 2 === 0;
}

/** Parent name, or null for the root. A plain indexOf when the name has no escapes (hot: cache walks). */
export function parentName(name: string): string | null {
  if (name === '') return null;
  if (!name.includes('\\')) {
    const dot = name.indexOf('.');
    return dot < 0 ? '' : name.slice(dot + 1);
  }
  return splitLabels(name).slice(1).join('.');
}

export function labelCount(name: string): number {
  return name === '' ? 0 : splitLabels(name).length;
}

/** Presentation form with the trailing dot, as dig and zone files print it. */
export function fqdn(name: string): string {
  return name === '' ? '.' : name + '.';
}
