// DNSSEC primitives: the wire forms of RRSIG, DNSKEY, DS, NSEC and NSEC3 rdata, the
// canonical form of an RRset (RFC 4034 section 6), key tags (RFC 4034 appendix B),
// DS digests and signature verification. Every cryptographic operation is node:crypto's;
// nothing here implements a cipher or a hash.

import { createHash, createPublicKey, hash as oneShotHash, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { TYPE } from '../../dns/constants.js';
import type { ResourceRecord } from '../../dns/message.js';
import { lowerByte, nameToLabels, nameToWire, readName, splitLabels } from '../../dns/name.js';

/** Signature algorithms verified (IANA DNS Security Algorithm Numbers). */
export const SUPPORTED_ALGORITHMS: ReadonlySet<number> = new Set([5, 7, 8, 10, 13, 14, 15, 16]);
/** DS digest types checked: SHA-1, SHA-256, SHA-384. */
export const SUPPORTED_DIGESTS: ReadonlySet<number> = new Set([1, 2, 4]);

export interface Rrsig {
  typeCovered: number;
  algorithm: number;
  labels: number;
  originalTtl: number;
  expiration: number;
  inception: number;
  keyTag: number;
  signer: string;
  /** rdata up to (not including) the signature, with the signer name as received. */
  head: Buffer;
  signature: Buffer;
}

export function parseRrsig(rdata: Buffer): Rrsig | undefined {
  if (rdata.length < 19) return undefined;
  try {
    const n = readName(rdata, 18);
    if (n.end > rdata.length) return undefined;
    return {
      typeCovered: rdata.readUInt16BE(0), algorithm: rdata[2], labels: rdata[3],
      originalTtl: rdata.readUInt32BE(4), expiration: rdata.readUInt32BE(8), inception: rdata.readUInt32BE(12),
      keyTag: rdata.readUInt16BE(16), signer: n.name, head: rdata.subarray(0, n.end), signature: rdata.subarray(n.end),
    };
  } catch {
    return undefined;
  }
}

export interface Dnskey {
  flags: number;
  protocol: number;
  algorithm: number;
  publicKey: Buffer;
  keyTag: number;
  rdata: Buffer;
}

export function parseDnskey(rdata: Buffer): Dnskey | undefined {
  if (rdata.length < 4) return undefined;
  return { flags: rdata.readUInt16BE(0), protocol: rdata[2], algorithm: rdata[3], publicKey: rdata.subarray(4), keyTag: keyTag(rdata), rdata };
}

export interface Ds {
  keyTag: number;
  algorithm: number;
  digestType: number;
  digest: Buffer;
}

export function parseDs(rdata: Buffer): Ds | undefined {
  if (rdata.length < 5) return undefined;
  return { keyTag: rdata.readUInt16BE(0), algorithm: rdata[2], digestType: rdata[3], digest: rdata.subarray(4) };
}

/** RFC 4034 appendix B (algorithm 1's different tag is not supported: RSAMD5 is not either). */
export function keyTag(dnskeyRdata: Buffer): number {
  let ac = 0;
  for (let i = 0; i < dnskeyRdata.length; i++) ac += i & 1 ? dnskeyRdata[i] : dnskeyRdata[i] << 8;
  ac += (ac >> 16) & 0xffff;
  return ac & 0xffff;
}

/** Lower-cased wire form of a name (RFC 4034 section 6.2). */
export function canonicalNameWire(name: string): Buffer {
  const w = nameToWire(name);
  lowerWireName(w, 0);
  return w;
}

/** Lower-cases an uncompressed wire name in place, starting at `off`; returns the offset after it. */
function lowerWireName(b: Buffer, off: number): number {
  let p = off;
  while (p < b.length) {
    const l = b[p];
    if (l === 0) return p + 1;
    for (let i = p + 1; i <= p + l && i < b.length; i++) b[i] = lowerByte(b[i]);
    p += l + 1;
  }
  return p;
}

/**
 * Rdata layouts whose embedded names are lower-cased in canonical form (RFC 4034
 * section 6.2 item 3, as amended by RFC 6840 section 5.1: not NSEC's next name).
 * 'N' a name, a number that many fixed bytes; the rest of the rdata is left as is.
 */
const CANONICAL_NAMES: Record<number, Array<'N' | number>> = {
  [TYPE.NS]: ['N'], 3: ['N'], 4: ['N'], [TYPE.CNAME]: ['N'], [TYPE.SOA]: ['N', 'N'], 7: ['N'], 8: ['N'], 9: ['N'],
  [TYPE.PTR]: ['N'], 14: ['N', 'N'], [TYPE.MX]: [2, 'N'], [TYPE.RP]: ['N', 'N'], [TYPE.AFSDB]: [2, 'N'], 21: [2, 'N'],
  [TYPE.RRSIG]: [18, 'N'], 24: [18, 'N'], 26: [2, 'N', 'N'], [TYPE.KX]: [2, 'N'], [TYPE.SRV]: [6, 'N'], [TYPE.DNAME]: ['N'],
};

export function canonicalRdata(type: number, rdata: Buffer): Buffer {
  const layout = CANONICAL_NAMES[type];
  if (!layout) return rdata;
  const out = Buffer.from(rdata);
  let p = 0;
  try {
    for (const item of layout) {
      if (p >= out.length) break;
      if (item === 'N') p = lowerWireName(out, p);
      else p += item;
    }
  } catch { /* malformed: signed as received */ }
  return out;
}

/**
 * The owner name a signature covers: the owner itself, or for a wildcard expansion
 * (RRSIG labels below the owner's label count) "*." and the owner's last `labels` labels.
 * Undefined when labels exceeds the owner's count (the signature cannot be valid).
 */
export function signedOwner(owner: string, labels: number): string | undefined {
  const parts = splitLabels(owner);
  const n = parts[0] === '*' ? parts.length - 1 : parts.length;
  if (labels > n) return undefined;
  if (labels === parts.length) return owner;
  return ['*', ...parts.slice(parts.length - labels)].join('.');
}

/** Number of labels of a name, not counting a leading wildcard label (the RRSIG labels rule). */
export function rrsigLabelCount(owner: string): number {
  const parts = splitLabels(owner);
  return parts[0] === '*' ? parts.length - 1 : parts.length;
}

/** The data an RRSIG signs over `rrset` (RFC 4034 section 3.1.8.1), or undefined if it cannot cover it. */
export function signedData(sig: Rrsig, rrset: readonly ResourceRecord[]): Buffer | undefined {
  if (rrset.length === 0) return undefined;
  const owner = signedOwner(rrset[0].name, sig.labels);
  if (owner === undefined) return undefined;
  const head = Buffer.from(sig.head);
  lowerWireName(head, 18);
  const ownerWire = canonicalNameWire(owner);
  const fixed = Buffer.allocUnsafe(8);
  fixed.writeUInt16BE(rrset[0].type, 0);
  fixed.writeUInt16BE(rrset[0].class, 2);
  fixed.writeUInt32BE(sig.originalTtl >>> 0, 4);
  // Canonical RR order: by canonical rdata as unsigned octet strings, duplicates once.
  const rdatas = rrset.map((r) => canonicalRdata(r.type, r.rdata)).sort(Buffer.compare);
  const parts: Buffer[] = [head];
  let prev: Buffer | undefined;
  for (const rd of rdatas) {
    if (prev && prev.equals(rd)) continue;
    prev = rd;
    const len = Buffer.allocUnsafe(2);
    len.writeUInt16BE(rd.length);
    parts.push(ownerWire, fixed, len, rd);
  }
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------- keys

const keyObjects = new Map<string, KeyObject | null>();
const KEY_OBJECT_CACHE = 4096;

function b64u(b: Buffer): string {
  return b.toString('base64url');
}

/** node:crypto public key for a DNSKEY, or null when its key material is unusable. */
export function publicKeyOf(algorithm: number, publicKey: Buffer): KeyObject | null {
  const id = `${algorithm}:${publicKey.toString('latin1')}`;
  const hit = keyObjects.get(id);
  if (hit !== undefined) return hit;
  let key: KeyObject | null = null;
  try {
    switch (algorithm) {
      case 5: case 7: case 8: case 10: {
        // RFC 3110 section 2: exponent length (1 byte, or 0 and 2 bytes), exponent, modulus.
        let p = 1;
        let elen = publicKey[0];
        if (elen === 0) { elen = publicKey.readUInt16BE(1); p = 3; }
        const e = publicKey.subarray(p, p + elen);
        const n = publicKey.subarray(p + elen);
        if (e.length !== elen || n.length < 64) break;
        key = createPublicKey({ key: { kty: 'RSA', n: b64u(n), e: b64u(e) }, format: 'jwk' });
        break;
      }
      case 13: case 14: {
        const size = algorithm === 13 ? 32 : 48;
        if (publicKey.length !== 2 * size) break;
        key = createPublicKey({
          key: { kty: 'EC', crv: algorithm === 13 ? 'P-256' : 'P-384', x: b64u(publicKey.subarray(0, size)), y: b64u(publicKey.subarray(size)) },
          format: 'jwk',
        });
        break;
      }
      case 15: case 16: {
        if (publicKey.length !== (algorithm === 15 ? 32 : 57)) break;
        key = createPublicKey({ key: { kty: 'OKP', crv: algorithm === 15 ? 'Ed25519' : 'Ed448', x: b64u(publicKey) }, format: 'jwk' });
        break;
      }
    }
  } catch {
    key = null;
  }
  if (keyObjects.size >= KEY_OBJECT_CACHE) keyObjects.delete(keyObjects.keys().next().value!);
  keyObjects.set(id, key);
  return key;
}

const HASH_OF: Record<number, string | null> = { 5: 'sha1', 7: 'sha1', 8: 'sha256', 10: 'sha512', 13: 'sha256', 14: 'sha384', 15: null, 16: null };

/** One DER INTEGER (X.690) holding the unsigned big-endian number `v`. */
function derInteger(v: Buffer): Buffer {
  let i = 0;
  while (i < v.length - 1 && v[i] === 0) i++;
  const body = v.subarray(i);
  const pad = body[0] & 0x80 ? 1 : 0;
  const out = Buffer.allocUnsafe(2 + pad + body.length);
  out[0] = 0x02;
  out[1] = pad + body.length;
  if (pad) out[2] = 0;
  body.copy(out, 2 + pad);
  return out;
}

/**
 * An RFC 6605 signature (r and s, each `size` bytes) as the DER ECDSA-Sig-Value
 * node:crypto takes by default. Handing verify() the KeyObject itself with a DER
 * signature, rather than { key, dsaEncoding: 'ieee-p1363' }, skips node's option
 * parsing, which costs about a third of a P-256 verification (profiled, issue 14).
 * The numbers are the same; OpenSSL checks them exactly as before.
 */
export function ecdsaSignatureDer(signature: Buffer, size: number): Buffer {
  const r = derInteger(signature.subarray(0, size));
  const s = derInteger(signature.subarray(size, 2 * size));
  const len = r.length + s.length;
  // At most 2 * (2 + 1 + 48) = 102 bytes: the short length form always fits.
  return Buffer.concat([Buffer.from([0x30, len]), r, s]);
}

/**
 * Outcomes of signature verifications already done, keyed by a SHA-256 over the
 * algorithm, the key, the signature and the signed data. A verification is a pure
 * function of those four, so the same RRset signed by the same RRSIG and checked
 * with the same key (an NSEC3 record covering many names of a zone, a DNSKEY set
 * met again) costs a hash instead of a public-key operation, as unbound marks an
 * RRset already validated in its cache. Everything else (validity window, labels,
 * signer, the KeyTrap counts) is still checked by the caller every time.
 */
const verified = new Map<string, boolean>();
const VERIFIED_CACHE = 8192;

function memoKey(algorithm: number, publicKey: Buffer, data: Buffer, signature: Buffer): string {
  const len = Buffer.allocUnsafe(7);
  len[0] = algorithm;
  len.writeUInt16BE(publicKey.length, 1);
  len.writeUInt16BE(signature.length, 3);
  len.writeUInt16BE(data.length & 0xffff, 5);
  return oneShotHash('sha256', Buffer.concat([len, publicKey, signature, data]), 'base64');
}

/** Forgets every remembered verification (the bench measures the public-key work itself with it). */
export function forgetVerifications(): void {
  verified.clear();
}

/** Verifies one signature over `data` with a DNSKEY's key (node:crypto). */
export function verifySignature(algorithm: number, publicKey: Buffer, data: Buffer, signature: Buffer): boolean {
  const id = memoKey(algorithm, publicKey, data, signature);
  const known = verified.get(id);
  if (known !== undefined) return known;
  const ok = verifyUncached(algorithm, publicKey, data, signature);
  if (verified.size >= VERIFIED_CACHE) verified.delete(verified.keys().next().value!);
  verified.set(id, ok);
  return ok;
}

function verifyUncached(algorithm: number, publicKey: Buffer, data: Buffer, signature: Buffer): boolean {
  const key = publicKeyOf(algorithm, publicKey);
  if (!key) return false;
  const hash = HASH_OF[algorithm];
  if (hash === undefined) return false;
  try {
    if (algorithm === 13 || algorithm === 14) {
      const size = algorithm === 13 ? 32 : 48;
      if (signature.length !== 2 * size) return false;
      return cryptoVerify(hash, data, key, ecdsaSignatureDer(signature, size));
    }
    return cryptoVerify(hash, data, key, signature);
  } catch {
    return false;
  }
}

/** DS digest of a DNSKEY (RFC 4034 section 5.1.4), or undefined for an unsupported digest type. */
export function dsDigest(owner: string, dnskeyRdata: Buffer, digestType: number): Buffer | undefined {
  const alg = digestType === 1 ? 'sha1' : digestType === 2 ? 'sha256' : digestType === 4 ? 'sha384' : undefined;
  if (!alg) return undefined;
  return createHash(alg).update(canonicalNameWire(owner)).update(dnskeyRdata).digest();
}

// ---------------------------------------------------------------------------- NSEC / NSEC3 rdata

/** True if `type` is set in an RFC 4034 section 4.1.2 type bitmap. */
export function bitmapHas(bitmap: Buffer, type: number): boolean {
  const win = type >> 8;
  const bit = type & 0xff;
  let p = 0;
  while (p + 2 <= bitmap.length) {
    const w = bitmap[p];
    const len = bitmap[p + 1];
    if (w === win) {
      const byte = bit >> 3;
      if (byte >= len || p + 2 + byte >= bitmap.length) return false;
      return (bitmap[p + 2 + byte] & (0x80 >> (bit & 7))) !== 0;
    }
    p += 2 + len;
  }
  return false;
}

export interface Nsec {
  owner: string;
  next: string;
  bitmap: Buffer;
}

export function parseNsec(rr: ResourceRecord): Nsec | undefined {
  try {
    const n = readName(rr.rdata, 0);
    return { owner: rr.name, next: n.name, bitmap: rr.rdata.subarray(n.end) };
  } catch {
    return undefined;
  }
}

export interface Nsec3 {
  owner: string;
  /** The zone: the owner without its hash label. */
  zone: string;
  /** The owner's hash, decoded from base32hex (undefined when the label is not base32hex). */
  ownerHash: Buffer | undefined;
  hashAlg: number;
  flags: number;
  iterations: number;
  salt: Buffer;
  nextHash: Buffer;
  bitmap: Buffer;
}

export function parseNsec3(rr: ResourceRecord): Nsec3 | undefined {
  const d = rr.rdata;
  if (d.length < 5) return undefined;
  const saltLen = d[4];
  if (5 + saltLen + 1 > d.length) return undefined;
  const hashLen = d[5 + saltLen];
  const hashStart = 6 + saltLen;
  if (hashStart + hashLen > d.length) return undefined;
  const labels = splitLabels(rr.name);
  if (labels.length === 0) return undefined;
  return {
    owner: rr.name, zone: labels.slice(1).join('.'), ownerHash: base32hexDecode(labels[0]),
    hashAlg: d[0], flags: d[1], iterations: d.readUInt16BE(2), salt: d.subarray(5, 5 + saltLen),
    nextHash: d.subarray(hashStart, hashStart + hashLen), bitmap: d.subarray(hashStart + hashLen),
  };
}

const B32HEX = '0123456789abcdefghijklmnopqrstuv';

export function base32hexDecode(text: string): Buffer | undefined {
  const s = text.toLowerCase();
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of s) {
    const v = B32HEX.indexOf(ch);
    if (v < 0) return undefined;
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) { out.push((value >> (bits - 8)) & 0xff); bits -= 8; }
  }
  return Buffer.from(out);
}

export function base32hexEncode(b: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of b) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) { out += B32HEX[(value >> (bits - 5)) & 31]; bits -= 5; }
  }
  if (bits > 0) out += B32HEX[(value << (5 - bits)) & 31];
  return out;
}

/** NSEC3 hash of a name (RFC 5155 section 5): iterated SHA-1 over the canonical wire name and salt. */
export function nsec3Hash(name: string, salt: Buffer, iterations: number): Buffer {
  let h = createHash('sha1').update(canonicalNameWire(name)).update(salt).digest();
  for (let i = 0; i < iterations; i++) h = createHash('sha1').update(h).update(salt).digest();
  return h;
}

// ---------------------------------------------------------------------------- canonical ordering

/** Labels of a name as lower-cased byte arrays, most significant (rightmost) first. */
function canonicalLabels(name: string): Buffer[] {
  const labels = nameToLabels(name);
  for (const l of labels) for (let i = 0; i < l.length; i++) l[i] = lowerByte(l[i]);
  return labels.reverse();
}

/** RFC 4034 section 6.1 canonical DNS name order: negative if a sorts before b. */
export function canonicalCompare(a: string, b: string): number {
  const la = canonicalLabels(a);
  const lb = canonicalLabels(b);
  const n = Math.min(la.length, lb.length);
  for (let i = 0; i < n; i++) {
    const c = Buffer.compare(la[i], lb[i]);
    if (c !== 0) return c;
  }
  return la.length - lb.length;
}
