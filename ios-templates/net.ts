// IPv4 helpers for the inventory. Strict on purpose: what we print is pasted into
// production switches, so "010.1.0.1" (octal on some parsers) or "10.1.0" is refused.
// Addresses themselves are parsed by common/ip.ts, the project's one IPv4 parser.

import { parseIpv4 } from '../common/ip.js';


/** True when the text looks like an IPv6 address (used only to give a precise error). */
export function looksLikeIpv6(text: string): boolean {
  return /^[0-9a-fA-F:.]+$/.test(text) && text.includes(':') && (text.match(/:/g) ?? []).length >= 2;
}

/** Why an IPv4 address cannot be a node or service address, or undefined if it can. */
export function unusableUnicast(v: number): string | undefined {
  const first = Math.floor(v / 2 ** 24);
  if (v === 0) return 'is the unspecified address 0.0.0.0';
  if (v === 0xffffffff) return 'is the broadcast address';
  if (first === 0) return 'is in 0.0.0.0/8 ("this network")';
  if (first === 127) return 'is a loopback address, which a switch cannot route to';
  if (first >= 224 && first <= 239) return 'is a multicast address';
  if (first >= 240) return 'is in the reserved range 240.0.0.0/4';
  return undefined;
}

/** Parses "A.B.C.D/LEN"; returns the network and length, or undefined. */
export function parseCidr4(text: string): { net: number; len: number } | undefined {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text);
  if (!m) return undefined;
  const addr = parseIpv4(m[1]);
  const len = Number(m[2]);
  if (addr < 0 || len > 32) return undefined;
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  if ((addr & mask) >>> 0 !== addr) return undefined; // host bits set: almost always a typo
  return { net: addr, len };
}
