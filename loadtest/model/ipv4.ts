// IPv4 addresses as unsigned 32-bit numbers. The CEF model only needs IPv4: the
// reference deployment's hash is defined on the third and fourth octets.

import { formatIpv4, parseIpv4 } from '../../common/ip.js';

/**
 * Parses dotted-quad IPv4 ("10.1.2.3") into an unsigned 32-bit number, or undefined:
 * common/ip.ts's parser (the project's one), with undefined rather than -1 for the
 * model's optional-value style.
 */
export function parseIPv4(text: string): number | undefined {
  const v = parseIpv4(text);
  return v < 0 ? undefined : v;
}

/** Dotted-quad text (common/ip.ts formatIpv4, under the model's existing name). */
export const formatIPv4: (n: number) => string = formatIpv4;

export interface Cidr {
  /** First address of the block. */
  base: number;
  prefixLen: number;
  /** Number of addresses in the block (2^(32-prefixLen)). */
  count: number;
}

/**
 * Parses "A.B.C.D/LEN" or a bare address (a /32). Returns a message string on error so
 * callers can attach file:line and field. Host bits must be zero, as routers demand.
 */
export function parseCidr(text: string): Cidr | string {
  const t = text.trim();
  if (t.includes(':')) return `"${t}" is IPv6; the CEF model covers IPv4 only`;
  const slash = t.indexOf('/');
  const addrText = slash < 0 ? t : t.slice(0, slash);
  const lenText = slash < 0 ? '32' : t.slice(slash + 1);
  const addr = parseIPv4(addrText);
  if (addr === undefined) return `"${addrText}" is not an IPv4 address`;
  if (!/^\d{1,2}$/.test(lenText) || Number(lenText) > 32) return `"/${lenText}" is not a prefix length 0-32`;
  const prefixLen = Number(lenText);
  const count = 2 ** (32 - prefixLen);
  const base = prefixLen === 0 ? 0 : addr - (addr % count);
  if (base !== addr) return `"${t}" has host bits set; did you mean ${formatIPv4(base)}/${prefixLen}?`;
  return { base, prefixLen, count };
}
