// Verifying one RRset with a set of DNSKEYs: RRSIG selection, the validity window in
// serial arithmetic (RFC 4034 section 3.1.5), the labels field, and the KeyTrap
// bounds (CVE-2023-50387): at most MAX_SIGS_PER_RRSET signatures tried per RRset and
// MAX_KEYS_PER_TAG keys per key tag, as patched unbound bounds them.

import type { ResourceRecord } from '../../dns/message.js';
import { isSubdomain, lowerName, nameEquals } from '../../dns/name.js';
import { parseDnskey, parseRrsig, rrsigLabelCount, signedData, SUPPORTED_ALGORITHMS, verifySignature, type Dnskey, type Rrsig } from './crypto.js';

export { forgetVerifications } from './crypto.js';

/** Signatures verified per RRset before giving up (unbound 1.19: MAX_VALIDATE_RRSIGS 8). */
export const MAX_SIGS_PER_RRSET = 8;
/** Keys tried for one key tag (key-tag collisions are the KeyTrap lever). */
export const MAX_KEYS_PER_TAG = 4;

/** Serial-number comparison of 32-bit times (RFC 1982 as RFC 4034 section 3.1.5 uses it): a < b. */
export function serialLess(a: number, b: number): boolean {
  const d = ((b >>> 0) - (a >>> 0)) >>> 0;
  return d !== 0 && d < 0x80000000;
}

export type SigFailure = 'no-sig' | 'expired' | 'not-yet-valid' | 'bad-sig' | 'no-key' | 'unsupported';

export interface RRsetVerdict {
  ok: boolean;
  /** Why not, when not ok. */
  failure?: SigFailure;
  /** The RRSIG that verified (its original TTL and expiration cap the cache TTL). */
  sig?: Rrsig;
  /** Signature verifications done (counted by the caller's per-response budget). */
  work: number;
}

/** A zone's DNSKEYs usable for verification (zone key flag set, protocol 3). */
export function zoneKeys(records: readonly ResourceRecord[]): Dnskey[] {
  const out: Dnskey[] = [];
  for (const r of records) {
    const k = parseDnskey(r.rdata);
    if (k && k.protocol === 3 && (k.flags & 0x0100) !== 0) out.push(k);
  }
  return out;
}

/** The RRSIGs among `sigs` that cover `rrset` (owner, class, type covered). */
export function sigsFor(rrset: readonly ResourceRecord[], sigs: readonly ResourceRecord[]): Rrsig[] {
  const out: Rrsig[] = [];
  if (rrset.length === 0) return out;
  const { name, type, class: cls } = rrset[0];
  for (const s of sigs) {
    if (s.class !== cls || !nameEquals(s.name, name)) continue;
    const p = parseRrsig(s.rdata);
    if (p && p.typeCovered === type) out.push(p);
  }
  return out;
}

/**
 * Verifies `rrset` with `sigs` and the zone `keys` of `zone`, at `nowSec` (Unix
 * seconds). One good signature is enough. Signatures by another signer, of an
 * unsupported algorithm, or whose labels field cannot cover the owner are skipped.
 */
export function verifyRRset(rrset: readonly ResourceRecord[], sigs: readonly Rrsig[], keys: readonly Dnskey[], zone: string, nowSec: number): RRsetVerdict {
  let work = 0;
  let failure: SigFailure = 'no-sig';
  const rank: Record<SigFailure, number> = { 'no-sig': 0, unsupported: 1, 'no-key': 2, 'bad-sig': 3, 'not-yet-valid': 4, expired: 5 };
  const note = (f: SigFailure) => { if (rank[f] > rank[failure]) failure = f; };
  if (rrset.length === 0) return { ok: false, failure, work };
  const owner = rrset[0].name;
  const ownerLabels = rrsigLabelCount(owner);
  let tried = 0;
  for (const sig of sigs) {
    if (!nameEquals(sig.signer, zone) || !isSubdomain(owner, sig.signer)) continue;
    if (!SUPPORTED_ALGORITHMS.has(sig.algorithm)) { note('unsupported'); continue; }
    if (sig.labels > ownerLabels) { note('bad-sig'); continue; }
    if (serialLess(sig.expiration, nowSec)) { note('expired'); continue; }
    if (serialLess(nowSec, sig.inception)) { note('not-yet-valid'); continue; }
    if (tried++ >= MAX_SIGS_PER_RRSET) break;
    const data = signedData(sig, rrset);
    if (!data) { note('bad-sig'); continue; }
    let perTag = 0;
    let matched = false;
    for (const k of keys) {
      if (k.keyTag !== sig.keyTag || k.algorithm !== sig.algorithm) continue;
      if (perTag++ >= MAX_KEYS_PER_TAG) break;
      matched = true;
      work++;
      if (verifySignature(k.algorithm, k.publicKey, data, sig.signature)) return { ok: true, sig, work };
    }
    note(matched ? 'bad-sig' : 'no-key');
  }
  return { ok: false, failure, work };
}

/** Lower-cased owner/type key of an RRset. */
export function rrsetKey(r: Pick<ResourceRecord, 'name' | 'type'>): string {
  return `${lowerName(r.name)}/${r.type}`;
}
