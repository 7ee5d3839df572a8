// Signs the lab's zones as one tree: children first, so each parent publishes its
// signed children's DS records before it is signed itself. The root's DS and
// DNSKEY become the trust anchor a validating resolver of the lab needs.

import { CLASS, TYPE } from '../../dns/constants.js';
import type { ResourceRecord } from '../../dns/message.js';
import { fqdn, isSubdomain, labelCount, lowerName } from '../../dns/name.js';
import { dnskeyText, dsText, SUPPORTED_ALGORITHMS } from './keys.js';
import { DNSSEC_FAULTS, signZone, type DnssecFault, type ZoneDnssec } from './zone.js';

export interface ZoneSigning {
  algorithm: number;
  denial?: 'nsec' | 'nsec3';
  fault?: DnssecFault;
}

export interface LabZoneInput {
  origin: string;
  records: ResourceRecord[];
  /** Absent: the zone stays unsigned (and its parent publishes no DS: an insecure delegation). */
  signing?: ZoneSigning;
}

export interface SignedLab {
  zones: Map<string, { records: ResourceRecord[]; dnssec?: ZoneDnssec }>;
  /** Zone-file text with the root's DS and DNSKEY (what unbound's trust-anchor-file and our trust_anchors read). */
  trustAnchor?: string;
}

/** Checks one `dnssec:` mapping of lab.yaml; returns problems as FIELD: message pairs. */
export function checkSigning(v: unknown): { signing?: ZoneSigning; problems: Array<{ field: string; message: string }> } {
  const problems: Array<{ field: string; message: string }> = [];
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { problems: [{ field: '', message: 'expected a mapping { algorithm, denial, fault }' }] };
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['algorithm', 'denial', 'fault'].includes(k)) problems.push({ field: k, message: 'unknown key (known: algorithm, denial, fault)' });
  if (typeof o.algorithm !== 'number' || !SUPPORTED_ALGORITHMS.includes(o.algorithm)) problems.push({ field: 'algorithm', message: `expected one of ${SUPPORTED_ALGORITHMS.join(', ')}` });
  if (o.denial !== undefined && o.denial !== 'nsec' && o.denial !== 'nsec3') problems.push({ field: 'denial', message: 'expected nsec or nsec3' });
  if (o.fault !== undefined && !(DNSSEC_FAULTS as readonly unknown[]).includes(o.fault)) problems.push({ field: 'fault', message: `expected one of ${DNSSEC_FAULTS.join(', ')}` });
  if (problems.length) return { problems };
  return { signing: { algorithm: o.algorithm as number, denial: o.denial as 'nsec' | 'nsec3' | undefined, fault: o.fault as DnssecFault | undefined }, problems };
}

/** Signs the signed zones of the tree, deepest first. */
export function signLab(inputs: LabZoneInput[], now?: number): SignedLab {
  const out: SignedLab = { zones: new Map() };
  const deepestFirst = [...inputs].sort((a, b) => labelCount(b.origin) - labelCount(a.origin));
  const extraDs = new Map<string, ResourceRecord[]>();
  for (const z of deepestFirst) {
    const key = lowerName(z.origin);
    const records = [...z.records, ...(extraDs.get(key) ?? [])];
    if (!z.signing) { out.zones.set(key, { records }); continue; }
    const signed = signZone(z.origin, records, { algorithm: z.signing.algorithm, denial: z.signing.denial, fault: z.signing.fault, now });
    out.zones.set(key, signed);
    // The parent: the closest enclosing zone of the tree.
    const parent = inputs.filter((p) => lowerName(p.origin) !== key && isSubdomain(z.origin, p.origin))
      .sort((a, b) => labelCount(b.origin) - labelCount(a.origin))[0];
    if (parent) {
      const nsTtl = parent.records.find((r) => r.type === TYPE.NS && lowerName(r.name) === key)?.ttl ?? 3600;
      const ds = signed.dnssec.ds.map((rdata) => ({ name: z.origin, type: TYPE.DS, class: CLASS.IN, ttl: nsTtl, rdata }));
      const pk = lowerName(parent.origin);
      extraDs.set(pk, [...(extraDs.get(pk) ?? []), ...ds]);
    } else if (key === '') {
      const ttl = 3600;
      out.trustAnchor = [
        '; The anycast-kit lab root\'s trust anchor (a fresh key each time the lab starts).',
        ...signed.dnssec.ds.map((d) => `${fqdn('')} ${ttl} IN DS ${dsText(d)}`),
        `; ${fqdn('')} ${ttl} IN DNSKEY ${dnskeyText(signed.dnssec.key.dnskey)}`,
        '',
      ].join('\n');
    }
  }
  return out;
}
