// IPv4 addresses as unsigned 32-bit numbers. The CEF model only needs IPv4: the
// reference deployment's hash is defined on the third and fourth octets.

/** Parses dotted-quad IPv4 ("10.1.2.3") into an unsigned 32-bit number, or undefined. */
export function parseIPv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const part = m[i];
    if (part.length > 1 && part[0] === '0') return undefined; // "010" is ambiguous (octal in some tools)
    const v = Number(part);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

export function formatIPv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

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
