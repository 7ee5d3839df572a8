// SipHash-2-4 (Aumasson and Bernstein), the keyed hash RFC 9018 uses for server
// cookies, through the `siphash` npm package (Frank Denis). This wrapper fixes
// the byte orders: the 128-bit key is read as four little-endian 32-bit words, as
// the reference implementation reads its two 64-bit halves, and the 64-bit result
// is written little-endian, as the reference writes it. siphash.test.ts checks it
// against the reference test vectors and RFC 9018's examples.

import sip from 'siphash';

/** The package's key form: four 32-bit words, little-endian order. */
export type SipKey = readonly [number, number, number, number];

export function sipKey(key: Uint8Array): SipKey {
  if (key.length !== 16) throw new Error(`a SipHash key is 16 bytes, got ${key.length}`);
  const w = (i: number) => (key[i] | (key[i + 1] << 8) | (key[i + 2] << 16) | (key[i + 3] << 24)) >>> 0;
  return [w(0), w(4), w(8), w(12)];
}

/** SipHash-2-4 of `msg` under `key`, written into out[at..at+8) in the reference byte order. */
export function sipHash24(key: SipKey, msg: Uint8Array, out: Uint8Array, at = 0): void {
  const r = sip.hash(key as unknown as number[], msg);
  const l = r.l >>> 0, h = r.h >>> 0;
  out[at] = l & 0xff; out[at + 1] = (l >>> 8) & 0xff; out[at + 2] = (l >>> 16) & 0xff; out[at + 3] = l >>> 24;
  out[at + 4] = h & 0xff; out[at + 5] = (h >>> 8) & 0xff; out[at + 6] = (h >>> 16) & 0xff; out[at + 7] = h >>> 24;
}
