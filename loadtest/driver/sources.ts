// --sources: local addresses to send from, as a comma list of addresses and CIDR
// blocks ("127.41.0.1,127.41.0.2" or "127.41.0.0/24"). Each address gets its own
// sockets, so a CEF-style hash or a resolver's per-client limits see many clients.
// On Linux every 127.x.y.z address is local without configuration.

import { isIPv4, isIPv6 } from 'node:net';
import { formatIpv4, parseIpv4 } from '../../common/ip.js';

/** Most source addresses one run may use (each needs a socket). */
export const MAX_SOURCES = 4096;


function v6ToBig(a: string): bigint {
  let text = a;
  // Embedded IPv4 tail (::ffff:1.2.3.4).
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = parseIpv4(v4[1]);
    text = text.slice(0, -v4[1].length) + ((n >>> 16).toString(16) + ':' + (n & 0xffff).toString(16));
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g || '0', 16)), 0n);
}

function bigToV6(n: bigint): string {
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((n >> BigInt(i * 16)) & 0xffffn).toString(16));
  // Compress the longest run of zero groups.
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return groups.slice(0, best).join(':') + '::' + groups.slice(best + bestLen).join(':');
}

/**
 * Expands a --sources value into addresses. A CIDR block of /30 or shorter (IPv4) skips
 * its network and broadcast addresses, as a NIC could not hold them; /31 and /32 keep all.
 * Throws an Error naming the bad element.
 */
export function parseSources(text: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (a: string, what: string): void => {
    if (seen.has(a)) return;
    if (out.length >= MAX_SOURCES) throw new Error(`"${what}" brings the source count above ${MAX_SOURCES}`);
    seen.add(a);
    out.push(a);
  };
  const items = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new Error('no addresses given');
  for (const item of items) {
    const slash = item.indexOf('/');
    if (slash < 0) {
      if (!isIPv4(item) && !isIPv6(item)) throw new Error(`"${item}" is not an IP address or CIDR block`);
      add(isIPv6(item) ? bigToV6(v6ToBig(item)) : item, item);
      continue;
    }
    const addr = item.slice(0, slash);
    const lenText = item.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lenText)) throw new Error(`"${item}" has a bad prefix length`);
    const len = Number(lenText);
    if (isIPv4(addr)) {
      if (len > 32) throw new Error(`"${item}": an IPv4 prefix length is at most 32`);
      const size = 2 ** (32 - len);
      if (size > MAX_SOURCES + 2) throw new Error(`"${item}" holds ${size} addresses, more than the ${MAX_SOURCES} a run may use`);
      const base = Math.floor(parseIpv4(addr) / size) * size;
      const skipEnds = len <= 30;
      for (let i = skipEnds ? 1 : 0; i < (skipEnds ? size - 1 : size); i++) add(formatIpv4(base + i), item);
    } else if (isIPv6(addr)) {
      if (len > 128) throw new Error(`"${item}": an IPv6 prefix length is at most 128`);
      if (128 - len > 12) throw new Error(`"${item}" holds 2^${128 - len} addresses, more than the ${MAX_SOURCES} a run may use`);
      const size = 1n << BigInt(128 - len);
      const base = (v6ToBig(addr) / size) * size;
      for (let i = 0n; i < size; i++) add(bigToV6(base + i), item);
    } else {
      throw new Error(`"${item}" is not an IP address or CIDR block`);
    }
  }
  return out;
}

export function familyOf(address: string): 4 | 6 {
  return isIPv6(address) ? 6 : 4;
}
