// RRSIG generation (RFC 4034 sections 3 and 6): the canonical form of an RRset and
// the signature over it. The signature itself is node:crypto's sign(); this file
// only builds the bytes it signs, as every validator rebuilds them to verify.

import { sign } from 'node:crypto';
import { CLASS, TYPE } from '../../dns/constants.js';
import type { ResourceRecord } from '../../dns/message.js';
import { lowerByte, lowerName, nameToLabels, nameToWire, skipName, splitLabels } from '../../dns/name.js';
import { ALGORITHMS, type DnssecKey } from './keys.js';

/** Compares two names in canonical order (RFC 4034 section 6.1): label by label from the right, lower-cased bytes. */
export function compareNames(a: string, b: string): number {
  const la = nameToLabels(a), lb = nameToLabels(b);
  for (let i = 1; i <= Math.min(la.length, lb.length); i++) {
    const x = la[la.length - i], y = lb[lb.length - i];
    const n = Math.min(x.length, y.length);
    for (let j = 0; j < n; j++) {
      const d = lowerByte(x[j]) - lowerByte(y[j]);
      if (d !== 0) return d;
    }
    if (x.length !== y.length) return x.length - y.length;
  }
  return la.length - lb.length;
}

function lowerBytes(b: Buffer, from: number, to: number): void {
  for (let i = from; i < to; i++) b[i] = lowerByte(b[i]);
}

/**
 * Canonical rdata (RFC 4034 section 6.2 item 3, as amended by RFC 6840 section 5.1):
 * names inside NS, CNAME, SOA, PTR, MX, SRV, DNAME and RRSIG rdata are lower-cased.
 * Rdata here is uncompressed, so a name's bytes are found by skipping labels.
 */
export function canonicalRdata(type: number, rdata: Buffer): Buffer {
  const out = Buffer.from(rdata);
  const nameAt = (off: number) => { const end = skipName(out, off); lowerBytes(out, off, end); return end; };
  switch (type) {
    case TYPE.NS: case TYPE.CNAME: case TYPE.PTR: case TYPE.DNAME: nameAt(0); break;
    case TYPE.SOA: nameAt(nameAt(0)); break;
    case TYPE.MX: nameAt(2); break;
    case TYPE.SRV: nameAt(6); break;
    case TYPE.RRSIG: nameAt(18); break;
    default: break;
  }
  return out;
}

export interface SignOptions {
  /** Seconds since the epoch (RFC 4034 3.1.5 serial arithmetic is the validator's business). */
  inception: number;
  expiration: number;
  /** The zone the key belongs to (the RRSIG's signer name). */
  signer: string;
}

/** RRSIG labels field: the owner's labels, a leading "*" not counted (RFC 4034 3.1.3). */
export function rrsigLabels(owner: string): number {
  const labels = splitLabels(owner);
  return labels[0] === '*' ? labels.length - 1 : labels.length;
}

/** The RRSIG rdata fields before the signature. */
function rrsigHead(covered: ResourceRecord[], key: DnssecKey, o: SignOptions): Buffer {
  const head = Buffer.alloc(18);
  head.writeUInt16BE(covered[0].type, 0);
  head[2] = key.algorithm;
  head[3] = rrsigLabels(covered[0].name);
  head.writeUInt32BE(covered[0].ttl >>> 0, 4);
  head.writeUInt32BE(o.expiration >>> 0, 8);
  head.writeUInt32BE(o.inception >>> 0, 12);
  head.writeUInt16BE(key.keyTag, 16);
  return Buffer.concat([head, nameToWire(lowerName(o.signer))]);
}

/** The bytes an RRSIG signs: its own rdata minus the signature, then the RRset in canonical form and order (RFC 4034 3.1.8.1). */
export function signedData(rrsigRdataNoSig: Buffer, rrset: ResourceRecord[]): Buffer {
  const ttl = rrsigRdataNoSig.readUInt32BE(4);
  const labels = rrsigRdataNoSig[3];
  const first = rrset[0];
  // A wildcard expansion is signed as the wildcard (RFC 4035 5.3.2): "*." + the rightmost LABELS labels.
  const ownerLabels = splitLabels(lowerName(first.name));
  const owner = ownerLabels.length > labels ? ['*', ...ownerLabels.slice(ownerLabels.length - labels)].join('.') : ownerLabels.join('.');
  const ownerWire = nameToWire(owner);
  const rdatas = rrset.map((r) => canonicalRdata(r.type, r.rdata)).sort(Buffer.compare)
    .filter((r, i, all) => i === 0 || !r.equals(all[i - 1])); // RFC 4034 6.3: duplicates are removed
  const parts: Buffer[] = [rrsigRdataNoSig];
  for (const rd of rdatas) {
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(first.type, 0);
    fixed.writeUInt16BE(CLASS.IN, 2);
    fixed.writeUInt32BE(ttl, 4);
    fixed.writeUInt16BE(rd.length, 8);
    parts.push(ownerWire, fixed, rd);
  }
  return Buffer.concat(parts);
}

/** Signs one RRset (all records share owner, type and class) with `key`; returns the RRSIG record. */
export function signRRset(rrset: ResourceRecord[], key: DnssecKey, o: SignOptions): ResourceRecord {
  const info = ALGORITHMS.get(key.algorithm);
  if (!info) throw new Error(`DNSSEC algorithm ${key.algorithm} is not supported`);
  const head = rrsigHead(rrset, key, o);
  const data = signedData(head, rrset);
  const signature = info.kind === 'ec'
    ? sign(info.hash, data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' }) // RFC 6605: r | s, fixed width
    : sign(info.hash, data, key.privateKey); // RSA: PKCS #1 v1.5 (RFC 3110, 5702); EdDSA: hash null (RFC 8080)
  return { name: rrset[0].name, type: TYPE.RRSIG, class: CLASS.IN, ttl: rrset[0].ttl, rdata: Buffer.concat([head, signature]) };
}
