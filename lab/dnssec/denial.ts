// Authenticated denial of existence: NSEC (RFC 4034 section 4) and NSEC3 (RFC 5155)
// records for a zone, and the lookups a server needs to pick the proving records.
// The NSEC3 hash is node:crypto's SHA-1; base32hex and the type bitmaps are plain
// encodings.

import { createHash } from 'node:crypto';
import { CLASS, TYPE } from '../../dns/constants.js';
import type { ResourceRecord } from '../../dns/message.js';
import { lowerName, nameToWire } from '../../dns/name.js';
import { compareNames } from './sign.js';

/** RFC 4034 4.1.2 type bit maps: windows of up to 256 types, each a bitmap trimmed to its last set byte. */
export function typeBitmap(types: Iterable<number>): Buffer {
  const sorted = [...new Set(types)].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  for (let i = 0; i < sorted.length;) {
    const win = sorted[i] >> 8;
    const bits = Buffer.alloc(32);
    let last = 0;
    for (; i < sorted.length && sorted[i] >> 8 === win; i++) {
      const low = sorted[i] & 0xff;
      bits[low >> 3] |= 0x80 >> (low & 7);
      last = Math.max(last, low >> 3);
    }
    parts.push(Buffer.from([win, last + 1]), bits.subarray(0, last + 1));
  }
  return Buffer.concat(parts);
}

/** The types a bitmap lists (for tests and for reading proofs back). */
export function bitmapTypes(b: Buffer): number[] {
  const out: number[] = [];
  for (let p = 0; p + 2 <= b.length;) {
    const win = b[p], len = b[p + 1];
    for (let i = 0; i < len; i++) for (let bit = 0; bit < 8; bit++) if (b[p + 2 + i] & (0x80 >> bit)) out.push(win * 256 + i * 8 + bit);
    p += 2 + len;
  }
  return out;
}

const B32HEX = '0123456789abcdefghijklmnopqrstuv';

/** RFC 4648 section 7 base32hex, lower case, no padding (NSEC3 owner labels). */
export function base32hex(b: Buffer): string {
  let out = '', bits = 0, value = 0;
  for (const byte of b) {
    value = ((value << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) { out += B32HEX[(value >>> (bits - 5)) & 31]; bits -= 5; }
  }
  if (bits > 0) out += B32HEX[(value << (5 - bits)) & 31];
  return out;
}

export function fromBase32hex(s: string): Buffer {
  const bytes: number[] = [];
  let bits = 0, value = 0;
  for (const ch of s.toLowerCase()) {
    const v = B32HEX.indexOf(ch);
    if (v < 0) throw new Error(`"${s}" is not base32hex`);
    value = ((value << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) { bytes.push((value >>> (bits - 8)) & 0xff); bits -= 8; }
  }
  return Buffer.from(bytes);
}

export interface Nsec3Params {
  /** Extra hash iterations; RFC 9276 says 0. */
  iterations: number;
  salt: Buffer;
  /** RFC 5155 opt-out flag on every NSEC3 (unsigned delegations then get no NSEC3 of their own). */
  optOut?: boolean;
}

/** RFC 5155 section 5: IH(salt, x, 0) = H(x | salt), IH(salt, x, k) = H(IH(salt, x, k-1) | salt). */
export function nsec3Hash(name: string, p: Pick<Nsec3Params, 'iterations' | 'salt'>): Buffer {
  let h = createHash('sha1').update(nameToWire(lowerName(name))).update(p.salt).digest();
  for (let i = 0; i < p.iterations; i++) h = createHash('sha1').update(h).update(p.salt).digest();
  return h;
}

export function nsec3ParamRdata(p: Nsec3Params): Buffer {
  return Buffer.concat([Buffer.from([1, 0, p.iterations >> 8, p.iterations & 0xff, p.salt.length]), p.salt]);
}

export interface DenialName {
  name: string;
  types: number[];
}

export interface NsecEntry { name: string; rr: ResourceRecord }
export interface Nsec3Entry { hash: Buffer; rr: ResourceRecord }

/**
 * The NSEC chain over NAMES (already restricted to authoritative names and cuts;
 * empty non-terminals have no NSEC). Types must include RRSIG/NSEC where they apply.
 */
export function buildNsecChain(names: DenialName[], ttl: number): NsecEntry[] {
  const sorted = [...names].sort((a, b) => compareNames(a.name, b.name));
  return sorted.map((n, i) => {
    const next = sorted[(i + 1) % sorted.length].name;
    const rdata = Buffer.concat([nameToWire(lowerName(next)), typeBitmap(n.types)]);
    return { name: lowerName(n.name), rr: { name: n.name, type: TYPE.NSEC, class: CLASS.IN, ttl, rdata } };
  });
}

/** The NSEC3 chain over NAMES (every name, empty non-terminals included with no types), sorted by hash. */
export function buildNsec3Chain(origin: string, names: DenialName[], p: Nsec3Params, ttl: number): Nsec3Entry[] {
  const hashed = names.map((n) => ({ hash: nsec3Hash(n.name, p), types: n.types })).sort((a, b) => Buffer.compare(a.hash, b.hash));
  return hashed.map((h, i) => {
    const next = hashed[(i + 1) % hashed.length].hash;
    const head = Buffer.from([1, p.optOut ? 1 : 0, p.iterations >> 8, p.iterations & 0xff, p.salt.length]);
    const rdata = Buffer.concat([head, p.salt, Buffer.from([next.length]), next, typeBitmap(h.types)]);
    const owner = origin === '' ? base32hex(h.hash) : `${base32hex(h.hash)}.${origin}`;
    return { hash: h.hash, rr: { name: owner, type: TYPE.NSEC3, class: CLASS.IN, ttl, rdata } };
  });
}

/** The NSEC whose owner equals NAME, or the one covering it (owner < name < next, wrapping at the end). */
export function findNsec(chain: NsecEntry[], name: string): { entry: NsecEntry; matches: boolean } {
  let lo = 0, hi = chain.length - 1, best = chain.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = compareNames(chain[mid].name, name);
    if (c === 0) return { entry: chain[mid], matches: true };
    if (c < 0) { best = mid; lo = mid + 1; } else hi = mid - 1;
  }
  // Nothing at or before NAME: the last NSEC (which wraps to the apex) covers it.
  return { entry: chain[best], matches: false };
}

/** The NSEC3 matching H(name), or covering it. */
export function findNsec3(chain: Nsec3Entry[], hash: Buffer): { entry: Nsec3Entry; matches: boolean } {
  let best = chain.length - 1;
  for (let i = 0; i < chain.length; i++) {
    const c = Buffer.compare(chain[i].hash, hash);
    if (c === 0) return { entry: chain[i], matches: true };
    if (c < 0) best = i; else break;
  }
  return { entry: chain[best], matches: false };
}
