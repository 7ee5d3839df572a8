// Rdata in presentation form and back, for zone files, CLI output and tests.
// Types not listed here use the RFC 3597 generic form: \# LEN HEX.

import { isIP } from 'node:net';
import { formatIpv4, parseIpv4 } from '../common/ip.js';
import { TYPE } from './constants.js';
import { WireError } from './errors.js';
import { fqdn, nameToWire, normalizeName, readName } from './name.js';

export interface Soa {
  mname: string; rname: string; serial: number; refresh: number; retry: number; expire: number; minimum: number;
}

/** The single name inside NS/CNAME/PTR/DNAME rdata. */
export function rdataName(rdata: Buffer): string {
  return readName(rdata, 0).name;
}

export function decodeSoa(rdata: Buffer): Soa {
  const m = readName(rdata, 0);
  const r = readName(rdata, m.end);
  if (r.end + 20 > rdata.length) throw new WireError('BAD_RDATA', 'SOA rdata too short');
  const n = (i: number) => rdata.readUInt32BE(r.end + i * 4);
  return { mname: m.name, rname: r.name, serial: n(0), refresh: n(1), retry: n(2), expire: n(3), minimum: n(4) };
}

export function encodeSoa(s: Soa): Buffer {
  const tail = Buffer.alloc(20);
  [s.serial, s.refresh, s.retry, s.expire, s.minimum].forEach((v, i) => tail.writeUInt32BE(v >>> 0, i * 4));
  return Buffer.concat([nameToWire(s.mname), nameToWire(s.rname), tail]);
}

export function ipv4ToBytes(ip: string): Buffer {
  const v = parseIpv4(ip);
  if (v < 0) throw new WireError('BAD_RDATA', `"${ip}" is not an IPv4 address`);
  const out = Buffer.alloc(4);
  out.writeUInt32BE(v);
  return out;
}

export function ipv6ToBytes(ip: string): Buffer {
  if (isIP(ip) !== 6) throw new WireError('BAD_RDATA', `"${ip}" is not an IPv6 address`);
  let text = ip;
  const out = Buffer.alloc(16);
  // Embedded IPv4 tail (::ffff:1.2.3.4).
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let tail: number[] = [];
  if (v4) {
    const b = ipv4ToBytes(v4[1]);
    tail = [(b[0] << 8) | b[1], (b[2] << 8) | b[3]];
    text = text.slice(0, -v4[1].length) + (text.endsWith('::' + v4[1]) ? '' : '0');
    if (text.endsWith(':0')) text = text.slice(0, -2);
  }
  const [head, rest] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':').filter((x) => x !== '').map((x) => parseInt(x, 16)) : [];
  const r = rest !== undefined && rest !== '' ? rest.split(':').map((x) => parseInt(x, 16)) : [];
  const groups = new Array<number>(8).fill(0);
  const total = [...r, ...tail];
  h.forEach((v, i) => { groups[i] = v; });
  total.forEach((v, i) => { groups[8 - total.length + i] = v; });
  groups.forEach((v, i) => out.writeUInt16BE(v, i * 2));
  return out;
}

export function bytesToIpv6(b: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i] << 8) | b[i + 1]);
  // Longest run of zeros (length >= 2) becomes "::" (RFC 5952).
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = g.map((v) => v.toString(16));
  if (bestStart < 0) return hex.join(':');
  return hex.slice(0, bestStart).join(':') + '::' + hex.slice(bestStart + bestLen).join(':');
}

function quoteString(b: Uint8Array): string {
  let s = '"';
  for (const c of b) {
    if (c === 0x22 || c === 0x5c) s += '\\' + String.fromCharCode(c);
    else if (c >= 0x20 && c < 0x7f) s += String.fromCharCode(c);
    else s += '\\' + String(c).padStart(3, '0');
  }
  return s + '"';
}

function generic(rdata: Uint8Array): string {
  return `\\# ${rdata.length}` + (rdata.length ? ' ' + Buffer.from(rdata).toString('hex') : '');
}

/** Presentation form of rdata, as dig prints it (names with trailing dots). */
export function rdataToText(type: number, rdata: Buffer): string {
  try {
    switch (type) {
      case TYPE.A:
        if (rdata.length !== 4) return generic(rdata);
        return formatIpv4(rdata.readUInt32BE(0));
      case TYPE.AAAA:
        if (rdata.length !== 16) return generic(rdata);
        return bytesToIpv6(rdata);
      case TYPE.NS: case TYPE.CNAME: case TYPE.PTR: case TYPE.DNAME:
        return fqdn(rdataName(rdata));
      case TYPE.SOA: {
        const s = decodeSoa(rdata);
        return `${fqdn(s.mname)} ${fqdn(s.rname)} ${s.serial} ${s.refresh} ${s.retry} ${s.expire} ${s.minimum}`;
      }
      case TYPE.MX:
        return `${rdata.readUInt16BE(0)} ${fqdn(readName(rdata, 2).name)}`;
      case TYPE.SRV:
        return `${rdata.readUInt16BE(0)} ${rdata.readUInt16BE(2)} ${rdata.readUInt16BE(4)} ${fqdn(readName(rdata, 6).name)}`;
      case TYPE.TXT: {
        const parts: string[] = [];
        for (let p = 0; p < rdata.length;) {
          const len = rdata[p];
          if (p + 1 + len > rdata.length) return generic(rdata);
          parts.push(quoteString(rdata.subarray(p + 1, p + 1 + len)));
          p += 1 + len;
        }
        return parts.join(' ');
      }
      default:
        return generic(rdata);
    }
  } catch {
    return generic(rdata);
  }
}

/** Splits presentation text into tokens, keeping quoted strings (with escapes) whole. */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === ' ' || c === '\t') { i++; continue; }
    if (c === '"') {
      let j = i + 1;
      let tok = '"';
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\\' && j + 1 < text.length) { tok += text[j] + text[j + 1]; j += 2; continue; }
        tok += text[j++];
      }
      if (j >= text.length) throw new WireError('BAD_RDATA', 'unterminated quoted string');
      out.push(tok + '"');
      i = j + 1;
      continue;
    }
    let j = i;
    while (j < text.length && text[j] !== ' ' && text[j] !== '\t') j++;
    out.push(text.slice(i, j));
    i = j;
  }
  return out;
}

function characterString(tok: string): Buffer {
  const body = tok.startsWith('"') ? tok.slice(1, -1) : tok;
  const bytes: number[] = [];
  for (let i = 0; i < body.length; i++) {
    if (body[i] === '\\') {
      const d = body.slice(i + 1, i + 4);
      if (/^\d{3}$/.test(d)) { bytes.push(Number(d) & 0xff); i += 3; } else { bytes.push(body.charCodeAt(i + 1) & 0xff); i++; }
    } else {
      const code = body.charCodeAt(i);
      if (code > 0x7f) bytes.push(...Buffer.from(body[i], 'utf8')); else bytes.push(code);
    }
  }
  if (bytes.length > 255) throw new WireError('BAD_RDATA', 'character-string longer than 255 bytes');
  return Buffer.from([bytes.length, ...bytes]);
}

function u16(v: string, what: string): Buffer {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 0xffff) throw new WireError('BAD_RDATA', `${what} "${v}" is not a number in 0-65535`);
  const b = Buffer.alloc(2); b.writeUInt16BE(n); return b;
}

function u32(v: string, what: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 0xffffffff) throw new WireError('BAD_RDATA', `${what} "${v}" is not a number in 0-4294967295`);
  return n;
}

/**
 * Parses presentation rdata. `resolve` turns a relative name into an absolute one
 * (zone files append $ORIGIN); by default names are taken as absolute.
 */
export function rdataFromText(type: number, text: string, resolve: (n: string) => string = normalizeName): Buffer {
  const t = tokenize(text.trim());
  if (t[0] === '\\#') {
    const len = u32(t[1] ?? '', 'generic rdata length');
    const hex = t.slice(2).join('');
    if (!/^[0-9a-fA-F]*$/.test(hex) || hex.length !== len * 2) throw new WireError('BAD_RDATA', `generic rdata: ${len} bytes announced, hex does not match`);
    return Buffer.from(hex, 'hex');
  }
  const need = (n: number) => { if (t.length !== n) throw new WireError('BAD_RDATA', `expected ${n} fields, got ${t.length}`); };
  switch (type) {
    case TYPE.A: need(1); return ipv4ToBytes(t[0]);
    case TYPE.AAAA: need(1); return ipv6ToBytes(t[0]);
    case TYPE.NS: case TYPE.CNAME: case TYPE.PTR: case TYPE.DNAME: need(1); return nameToWire(resolve(t[0]));
    case TYPE.MX: need(2); return Buffer.concat([u16(t[0], 'MX preference'), nameToWire(resolve(t[1]))]);
    case TYPE.SRV: need(4); return Buffer.concat([u16(t[0], 'priority'), u16(t[1], 'weight'), u16(t[2], 'port'), nameToWire(resolve(t[3]))]);
    case TYPE.SOA: need(7); return encodeSoa({
      mname: resolve(t[0]), rname: resolve(t[1]), serial: u32(t[2], 'serial'), refresh: u32(t[3], 'refresh'),
      retry: u32(t[4], 'retry'), expire: u32(t[5], 'expire'), minimum: u32(t[6], 'minimum'),
    });
    case TYPE.TXT:
      if (t.length === 0) throw new WireError('BAD_RDATA', 'TXT needs at least one string');
      return Buffer.concat(t.map(characterString));
    default:
      throw new WireError('BAD_RDATA', `type ${type} needs the generic form \\# LEN HEX`);
  }
}
