// Client access control (--allow). Checked for every packet, so addresses are
// parsed by hand from the string Node hands us (no allocation), and the last
// decision is remembered: a busy client asks many times in a row.
// IPv4-mapped IPv6 sources (::ffff:a.b.c.d, seen on dual-stack sockets) are
// checked against the IPv4 rules.

import { formatIpv4, parseIpv4 } from '../common/ip.js';

export { parseIpv4 };

/** AclError's machine code (a closed set of one; see docs/errors.md). */
export type AclErrorCode = 'ACL';

export class AclError extends Error {
  readonly code: AclErrorCode = 'ACL';
  constructor(message: string) {
    super(message);
    this.name = 'AclError';
  }
}

interface Rule4 { net: number; mask: number }
interface Rule6 { words: Uint32Array; bits: number }

const scratch6 = new Uint32Array(4);

/**
 * Parses an IPv6 address (RFC 4291 text forms, optional %zone, optional dotted IPv4
 * tail) into four 32-bit words. Returns false when the text is not an IPv6 address.
 */
export function parseIpv6(text: string, out: Uint32Array): boolean {
  let end = text.indexOf('%');
  if (end < 0) end = text.length;
  const groups = [0, 0, 0, 0, 0, 0, 0, 0];
  let n = 0;        // groups written
  let gap = -1;     // index where '::' was
  let i = 0;
  if (end >= 2 && text.charCodeAt(0) === 58 && text.charCodeAt(1) === 58) { gap = 0; i = 2; }
  else if (end > 0 && text.charCodeAt(0) === 58) return false;
  while (i < end) {
    // Read one group (hex) or an IPv4 tail.
    let j = i;
    let v = 0;
    let hex = 0;
    while (j < end) {
      const c = text.charCodeAt(j);
      let d: number;
      if (c >= 48 && c <= 57) d = c - 48;
      else if (c >= 97 && c <= 102) d = c - 87;
      else if (c >= 65 && c <= 70) d = c - 55;
      else break;
      v = v * 16 + d;
      hex++;
      j++;
    }
    if (j < end && text.charCodeAt(j) === 46) {
      // Dotted IPv4 tail: takes two groups and must end the address.
      const v4 = parseIpv4(text, i, end);
      if (v4 < 0 || n > 6) return false;
      groups[n++] = v4 >>> 16;
      groups[n++] = v4 & 0xffff;
      i = end;
      break;
    }
    if (hex === 0 || hex > 4 || n >= 8) return false;
    groups[n++] = v;
    i = j;
    if (i === end) break;
    if (text.charCodeAt(i) !== 58) return false;
    i++;
    if (i < end && text.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = n;
      i++;
    } else if (i === end) {
      return false; // trailing single colon
    }
  }
  if (gap >= 0) {
    if (n > 7) return false;
    const tail = groups.slice(gap, n);
    for (let k = gap; k < 8; k++) groups[k] = 0;
    for (let k = 0; k < tail.length; k++) groups[8 - tail.length + k] = tail[k];
  } else if (n !== 8) {
    return false;
  }
  for (let k = 0; k < 4; k++) out[k] = ((groups[2 * k] << 16) | groups[2 * k + 1]) >>> 0;
  return true;
}

function maskOf(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

/** A list of CIDR networks; `allows(address)` is true when any contains it. */
export class Acl {
  private readonly v4: Rule4[] = [];
  private readonly v6: Rule6[] = [];
  private lastAddress = '';
  private lastResult = false;
  /** The networks as given, for logs and /health/detail. */
  readonly networks: readonly string[];

  constructor(cidrs: readonly string[]) {
    this.networks = cidrs.slice();
    for (const c of cidrs) this.add(c);
  }

  private add(cidr: string): void {
    const slash = cidr.indexOf('/');
    const addr = slash < 0 ? cidr : cidr.slice(0, slash);
    const lenText = slash < 0 ? undefined : cidr.slice(slash + 1);
    if (lenText !== undefined && !/^\d{1,3}$/.test(lenText)) throw new AclError(`"${cidr}": prefix length must be a number`);
    const v4 = parseIpv4(addr);
    if (v4 >= 0) {
      const bits = lenText === undefined ? 32 : Number(lenText);
      if (bits > 32) throw new AclError(`"${cidr}": IPv4 prefix length above 32`);
      const mask = maskOf(bits);
      if (((v4 & mask) >>> 0) !== v4) throw new AclError(`"${cidr}": host bits set below /${bits} (did you mean ${formatIpv4((v4 & mask) >>> 0)}/${bits}?)`);
      this.v4.push({ net: v4, mask });
      return;
    }
    const words = new Uint32Array(4);
    if (addr.includes('%') || !parseIpv6(addr, words)) throw new AclError(`"${cidr}" is not an IPv4 or IPv6 network`);
    const bits = lenText === undefined ? 128 : Number(lenText);
    if (bits > 128) throw new AclError(`"${cidr}": IPv6 prefix length above 128`);
    for (let k = 0; k < 4; k++) {
      const b = Math.max(0, Math.min(32, bits - 32 * k));
      if (((words[k] & maskOf(b)) >>> 0) !== words[k]) throw new AclError(`"${cidr}": host bits set below /${bits}`);
    }
    // ::ffff:a.b.c.d/N (N >= 96) is the IPv4 network a.b.c.d/(N-96): mapped sources are checked as IPv4.
    if (bits >= 96 && words[0] === 0 && words[1] === 0 && words[2] === 0xffff) {
      this.v4.push({ net: words[3], mask: maskOf(bits - 96) });
    }
    this.v6.push({ words, bits });
  }

  /** True when `address` (as in rinfo.address / socket.remoteAddress) is inside an allowed network. */
  allows(address: string): boolean {
    if (address === this.lastAddress) return this.lastResult;
    const r = this.check(address);
    this.lastAddress = address;
    this.lastResult = r;
    return r;
  }

  private check(address: string): boolean {
    const v4 = parseIpv4(address);
    if (v4 >= 0) return this.match4(v4);
    if (!parseIpv6(address, scratch6)) return false;
    if (scratch6[0] === 0 && scratch6[1] === 0 && scratch6[2] === 0xffff && this.match4(scratch6[3])) return true;
    for (const r of this.v6) {
      let ok = true;
      for (let k = 0; k < 4 && ok; k++) {
        const b = r.bits - 32 * k;
        if (b <= 0) break;
        const mask = maskOf(b > 32 ? 32 : b);
        if (((scratch6[k] & mask) >>> 0) !== r.words[k]) ok = false;
      }
      if (ok) return true;
    }
    return false;
  }

  private match4(v4: number): boolean {
    for (const r of this.v4) if (((v4 & r.mask) >>> 0) === r.net) return true;
    return false;
  }
}

/** Throws AclError naming the first bad entry; used by config validation. */
export function validateCidr(cidr: string): void {
  new Acl([cidr]);
}
