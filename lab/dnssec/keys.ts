// DNSSEC keys for the lab's signer: generation, DNSKEY and DS rdata, key tags.
// Every cryptographic operation is node:crypto's (generateKeyPairSync, createHash);
// this file only lays the results out in the wire formats of RFC 4034 (DNSKEY, DS),
// RFC 3110 (RSA), RFC 6605 (ECDSA) and RFC 8080 (EdDSA).

import { createHash, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { lowerName, nameToWire } from '../../dns/name.js';

/** DNSSEC algorithm numbers (IANA) the signer knows. */
export const ALGORITHM = {
  RSASHA1: 5, RSASHA1_NSEC3_SHA1: 7, RSASHA256: 8, RSASHA512: 10,
  ECDSAP256SHA256: 13, ECDSAP384SHA384: 14, ED25519: 15, ED448: 16,
} as const;

export const SUPPORTED_ALGORITHMS: readonly number[] = Object.values(ALGORITHM);

/** DS digest types (IANA): SHA-1, SHA-256, SHA-384. */
export const DIGEST = { SHA1: 1, SHA256: 2, SHA384: 4 } as const;

interface AlgorithmInfo {
  name: string;
  kind: 'rsa' | 'ec' | 'ed';
  /** node:crypto digest for crypto.sign/verify; null for EdDSA (the scheme hashes itself). */
  hash: string | null;
  curve?: 'P-256' | 'P-384';
  edCurve?: 'ed25519' | 'ed448';
}

export const ALGORITHMS: ReadonlyMap<number, AlgorithmInfo> = new Map<number, AlgorithmInfo>([
  [5, { name: 'RSASHA1', kind: 'rsa', hash: 'sha1' }],
  [7, { name: 'RSASHA1-NSEC3-SHA1', kind: 'rsa', hash: 'sha1' }],
  [8, { name: 'RSASHA256', kind: 'rsa', hash: 'sha256' }],
  [10, { name: 'RSASHA512', kind: 'rsa', hash: 'sha512' }],
  [13, { name: 'ECDSAP256SHA256', kind: 'ec', hash: 'sha256', curve: 'P-256' }],
  [14, { name: 'ECDSAP384SHA384', kind: 'ec', hash: 'sha384', curve: 'P-384' }],
  [15, { name: 'ED25519', kind: 'ed', hash: null, edCurve: 'ed25519' }],
  [16, { name: 'ED448', kind: 'ed', hash: null, edCurve: 'ed448' }],
]);

export interface DnssecKey {
  algorithm: number;
  /** 257 (zone key + SEP: a KSK or combined signing key) or 256 (zone key). */
  flags: number;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** DNSKEY rdata: flags, protocol 3, algorithm, public key. */
  dnskey: Buffer;
  keyTag: number;
}

function b64u(s: string | undefined): Buffer {
  if (!s) throw new Error('key export lacks a field');
  return Buffer.from(s, 'base64url');
}

/** The DNSKEY public-key field for a node:crypto public key. */
export function publicKeyField(algorithm: number, pub: KeyObject): Buffer {
  const info = ALGORITHMS.get(algorithm);
  if (!info) throw new Error(`DNSSEC algorithm ${algorithm} is not supported`);
  const jwk = pub.export({ format: 'jwk' });
  if (info.kind === 'rsa') {
    // RFC 3110 section 2: exponent length (1 byte, or 0 then 2 bytes), exponent, modulus.
    const e = b64u(jwk.e), n = b64u(jwk.n);
    const len = e.length < 256 ? Buffer.from([e.length]) : Buffer.from([0, e.length >> 8, e.length & 0xff]);
    return Buffer.concat([len, e, n]);
  }
  if (info.kind === 'ec') return Buffer.concat([b64u(jwk.x), b64u(jwk.y)]); // RFC 6605 section 4: Q = x | y
  return b64u(jwk.x); // RFC 8080 section 3: the raw public key
}

/** RFC 4034 appendix B key tag (algorithm 1 excepted, which nothing here uses). */
export function keyTag(dnskeyRdata: Buffer): number {
  let ac = 0;
  for (let i = 0; i < dnskeyRdata.length; i++) ac += i & 1 ? dnskeyRdata[i] : dnskeyRdata[i] << 8;
  ac += (ac >> 16) & 0xffff;
  return ac & 0xffff;
}

export function dnskeyRdata(flags: number, algorithm: number, publicKey: Buffer): Buffer {
  return Buffer.concat([Buffer.from([flags >> 8, flags & 0xff, 3, algorithm]), publicKey]);
}

/** Generates a key with node:crypto. RSA keys are 2048 bits. */
export function generateKey(algorithm: number, flags = 257): DnssecKey {
  const info = ALGORITHMS.get(algorithm);
  if (!info) throw new Error(`DNSSEC algorithm ${algorithm} is not supported (known: ${SUPPORTED_ALGORITHMS.join(', ')})`);
  let pair: { publicKey: KeyObject; privateKey: KeyObject };
  if (info.kind === 'rsa') pair = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 65537 });
  else if (info.kind === 'ec') pair = generateKeyPairSync('ec', { namedCurve: info.curve! });
  else if (info.edCurve === 'ed25519') pair = generateKeyPairSync('ed25519');
  else pair = generateKeyPairSync('ed448');
  const dnskey = dnskeyRdata(flags, algorithm, publicKeyField(algorithm, pair.publicKey));
  return { algorithm, flags, privateKey: pair.privateKey, publicKey: pair.publicKey, dnskey, keyTag: keyTag(dnskey) };
}

/** node:crypto public key from DNSKEY rdata (for tests and the bench's verify ceiling). */
export function publicKeyFromDnskey(rdata: Buffer): KeyObject {
  const algorithm = rdata[3];
  const info = ALGORITHMS.get(algorithm);
  if (!info) throw new Error(`DNSSEC algorithm ${algorithm} is not supported`);
  const key = rdata.subarray(4);
  if (info.kind === 'rsa') {
    let elen = key[0], off = 1;
    if (elen === 0) { elen = key.readUInt16BE(1); off = 3; }
    const e = key.subarray(off, off + elen), n = key.subarray(off + elen);
    return createPublicKey({ key: { kty: 'RSA', n: n.toString('base64url'), e: e.toString('base64url') }, format: 'jwk' });
  }
  if (info.kind === 'ec') {
    const half = key.length / 2;
    return createPublicKey({ key: { kty: 'EC', crv: info.curve!, x: key.subarray(0, half).toString('base64url'), y: key.subarray(half).toString('base64url') }, format: 'jwk' });
  }
  return createPublicKey({ key: { kty: 'OKP', crv: info.edCurve === 'ed25519' ? 'Ed25519' : 'Ed448', x: key.toString('base64url') }, format: 'jwk' });
}

/** DS rdata for a DNSKEY (RFC 4034 section 5.1.4): digest over owner name (canonical) | DNSKEY rdata. */
export function dsRdata(owner: string, dnskey: Buffer, digestType: number = DIGEST.SHA256): Buffer {
  const hash = digestType === DIGEST.SHA1 ? 'sha1' : digestType === DIGEST.SHA256 ? 'sha256' : digestType === DIGEST.SHA384 ? 'sha384' : undefined;
  if (!hash) throw new Error(`DS digest type ${digestType} is not supported`);
  const digest = createHash(hash).update(nameToWire(lowerName(owner))).update(dnskey).digest();
  const tag = keyTag(dnskey);
  return Buffer.concat([Buffer.from([tag >> 8, tag & 0xff, dnskey[3], digestType]), digest]);
}

/** Presentation form of DNSKEY rdata: "257 3 13 BASE64". */
export function dnskeyText(rdata: Buffer): string {
  return `${rdata.readUInt16BE(0)} ${rdata[2]} ${rdata[3]} ${rdata.subarray(4).toString('base64')}`;
}

/** Presentation form of DS rdata: "TAG ALG DIGESTTYPE HEX". */
export function dsText(rdata: Buffer): string {
  return `${rdata.readUInt16BE(0)} ${rdata[2]} ${rdata[3]} ${rdata.subarray(4).toString('hex').toUpperCase()}`;
}
