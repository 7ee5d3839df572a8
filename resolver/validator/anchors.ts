// Trust anchors: the built-in root anchors, anchors read from files or config lines
// in zone-file syntax (DS or DNSKEY records), and negative trust anchors (domains
// not validated, unbound's domain-insecure). Problems are reported FILE:LINE: FIELD.

import { readFileSync } from 'node:fs';
import { ConfigError, type ConfigIssue } from '../../common/yaml-source.js';
import { CLASS, TYPE, parseClass, parseType } from '../../dns/constants.js';
import type { ResourceRecord } from '../../dns/message.js';
import { isSubdomain, lowerName, normalizeName } from '../../dns/name.js';

/**
 * The root zone's KSK-2017 (tag 20326) and KSK-2024 (tag 38696) as DS records,
 * algorithm 8, digest type 2, as IANA publishes them in
 * https://data.iana.org/root-anchors/root-anchors.xml.
 */
export const ROOT_ANCHORS_TEXT = [
  '. IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D',
  '. IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16',
];

export interface TrustAnchor {
  /** Zone, lower case, no trailing dot ('' for the root). */
  zone: string;
  ds: ResourceRecord[];
  dnskey: ResourceRecord[];
}

export class AnchorSet {
  private readonly byZone = new Map<string, TrustAnchor>();
  private readonly insecure: string[];

  constructor(records: ResourceRecord[], negative: string[] = []) {
    for (const r of records) {
      const zone = lowerName(r.name);
      let a = this.byZone.get(zone);
      if (!a) { a = { zone, ds: [], dnskey: [] }; this.byZone.set(zone, a); }
      (r.type === TYPE.DS ? a.ds : a.dnskey).push(r);
    }
    this.insecure = negative.map((n) => lowerName(n));
  }

  /** The anchor configured exactly at `zone`. */
  at(zone: string): TrustAnchor | undefined {
    return this.byZone.get(lowerName(zone));
  }

  /** The closest anchor at or above `name`. */
  closest(name: string): TrustAnchor | undefined {
    let best: TrustAnchor | undefined;
    for (const a of this.byZone.values()) {
      if (isSubdomain(name, a.zone) && (!best || a.zone.length > best.zone.length)) best = a;
    }
    return best;
  }

  /** True when `name` is at or below a negative trust anchor. */
  isInsecure(name: string): boolean {
    return this.insecure.some((z) => isSubdomain(name, z));
  }

  get zones(): string[] {
    return [...this.byZone.keys()];
  }
}

const stripComment = (line: string): string => {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '"') quoted = !quoted;
    if (line[i] === ';' && !quoted) return line.slice(0, i);
  }
  return line;
};

/** Algorithm mnemonics (RFC 4034 appendix A.1 and the IANA registry) accepted in place of numbers. */
const ALGORITHM_NAMES: Record<string, number> = {
  RSAMD5: 1, DH: 2, DSA: 3, RSASHA1: 5, 'DSA-NSEC3-SHA1': 6, 'RSASHA1-NSEC3-SHA1': 7, RSASHA256: 8, RSASHA512: 10,
  'ECC-GOST': 12, ECDSAP256SHA256: 13, ECDSAP384SHA384: 14, ED25519: 15, ED448: 16,
};

/** Parses DS/DNSKEY rdata text (DS: tag alg digesttype hex; DNSKEY: flags protocol alg base64). */
export function anchorRdata(type: number, fields: string[]): Buffer {
  const num = (v: string | undefined, max: number, what: string): number => {
    if (v === undefined || !/^\d+$/.test(v) || Number(v) > max) throw new Error(`${what} "${v ?? ''}" is not a number in 0-${max}`);
    return Number(v);
  };
  const algorithm = (v: string | undefined): number => ALGORITHM_NAMES[(v ?? '').toUpperCase()] ?? num(v, 255, 'algorithm');
  if (type === TYPE.DS) {
    const tag = num(fields[0], 0xffff, 'key tag');
    const alg = algorithm(fields[1]);
    const dt = num(fields[2], 255, 'digest type');
    const hex = fields.slice(3).join('');
    if (hex === '' || !/^[0-9a-fA-F]*$/.test(hex) || hex.length % 2) throw new Error(`digest "${hex}" is not hexadecimal`);
    const head = Buffer.alloc(4);
    head.writeUInt16BE(tag, 0); head[2] = alg; head[3] = dt;
    return Buffer.concat([head, Buffer.from(hex, 'hex')]);
  }
  const flags = num(fields[0], 0xffff, 'flags');
  const proto = num(fields[1], 255, 'protocol');
  const alg = algorithm(fields[2]);
  const b64 = fields.slice(3).join('');
  if (b64 === '' || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw new Error('public key is not base64');
  const head = Buffer.alloc(4);
  head.writeUInt16BE(flags, 0); head[2] = proto; head[3] = alg;
  return Buffer.concat([head, Buffer.from(b64, 'base64')]);
}

/**
 * Parses trust anchors in zone-file syntax: `OWNER [TTL] [CLASS] DS|DNSKEY RDATA`,
 * comments after ';', parentheses joining lines. Issues get FILE:LINE: FIELD.
 */
export function parseAnchors(text: string, file: string, issues: ConfigIssue[], firstLine = 1): ResourceRecord[] {
  const out: ResourceRecord[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = firstLine + i;
    let body = stripComment(lines[i]);
    if (body.includes('(')) {
      while (!body.includes(')') && i + 1 < lines.length) body += ' ' + stripComment(lines[++i]);
      body = body.replace(/[()]/g, ' ');
    }
    body = body.trim().replace(/^"|"$/g, '').trim();
    if (body === '' || body.startsWith('$')) continue;
    const tok = body.split(/\s+/);
    let owner: string;
    try { owner = normalizeName(tok[0]); } catch (e) { issues.push({ file, line: lineNo, field: 'owner', message: `"${tok[0]}" is not a domain name: ${(e as Error).message}` }); continue; }
    let p = 1;
    for (let k = 0; k < 2 && p < tok.length; k++) {
      if (/^\d+$/.test(tok[p])) { p++; continue; }
      const c = parseClass(tok[p]);
      if (c !== undefined) {
        if (c !== CLASS.IN) { issues.push({ file, line: lineNo, field: 'class', message: `class ${tok[p]} is not IN` }); p = -1; break; }
        p++;
      }
    }
    if (p < 0) continue;
    const type = tok[p] === undefined ? undefined : parseType(tok[p]);
    if (type !== TYPE.DS && type !== TYPE.DNSKEY) {
      issues.push({ file, line: lineNo, field: 'type', message: `"${tok[p] ?? ''}": a trust anchor must be a DS or DNSKEY record` });
      continue;
    }
    try {
      out.push({ name: owner, type, class: CLASS.IN, ttl: 0, rdata: anchorRdata(type, tok.slice(p + 1)) });
    } catch (e) {
      issues.push({ file, line: lineNo, field: type === TYPE.DS ? 'DS' : 'DNSKEY', message: (e as Error).message });
    }
  }
  return out;
}

export function builtinRootAnchors(): ResourceRecord[] {
  const issues: ConfigIssue[] = [];
  const out = parseAnchors(ROOT_ANCHORS_TEXT.join('\n'), 'built-in', issues);
  if (issues.length) throw new Error('built-in root anchors do not parse');
  return out;
}

export interface AnchorSettings {
  /** Anchor records given inline (config lines), in zone-file syntax. */
  trustAnchors: string[];
  /** Files of anchor records in zone-file syntax (absolute paths). */
  trustAnchorFiles: string[];
  /** Domains not validated. */
  negativeTrustAnchors: string[];
}

/**
 * The anchors in use: the configured ones, or the built-in root anchors when none
 * is configured. A file that cannot be read or holds a bad record throws a
 * ConfigError listing every problem.
 */
export function loadAnchors(s: AnchorSettings, configFile = 'config'): AnchorSet {
  const issues: ConfigIssue[] = [];
  const records: ResourceRecord[] = [];
  s.trustAnchors.forEach((line, i) => records.push(...parseAnchors(line, `${configFile} (validator.trust_anchors[${i}])`, issues)));
  for (const f of s.trustAnchorFiles) {
    let text: string;
    try { text = readFileSync(f, 'utf8'); } catch (e) { issues.push({ file: f, line: 0, field: 'trust_anchor_files', message: `cannot read: ${(e as Error).message}` }); continue; }
    records.push(...parseAnchors(text, f, issues));
  }
  if (issues.length) throw new ConfigError(issues);
  return new AnchorSet(records.length ? records : builtinRootAnchors(), s.negativeTrustAnchors);
}
