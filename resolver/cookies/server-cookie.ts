// DNS server cookies (RFC 7873), made the interoperable way of RFC 9018 so that
// every node holding the same secret makes and accepts the same cookies: a client
// that the switch moves to another node of the anycast service keeps a valid one.
//
//   Server Cookie = Version (1) | Reserved (3 x 0) | Timestamp (32-bit seconds) | Hash
//   Hash = SipHash-2-4(secret, Client Cookie | Version | Reserved | Timestamp | Client IP)
//
// A server cookie is valid for one hour after its timestamp and up to five minutes
// before it (clock skew between nodes); one older than half an hour is replaced in
// the reply (RFC 9018 section 4.3). Several secrets may be held: the first makes
// cookies, all are accepted, so a secret can be rotated across the fleet without a
// flag day (put the new one first, keep the old one second for an hour).

import { parseIpv4 } from '../../common/ip.js';
import { parseIpv6 } from '../acl.js';
import { sipHash24, sipKey, type SipKey } from './siphash.js';

export const COOKIE_OPTION = 10;
export const CLIENT_COOKIE_LEN = 8;
/** RFC 9018's server cookie length. */
export const SERVER_COOKIE_LEN = 16;
const VERSION = 1;
const LIFETIME_S = 3600;
const SKEW_S = 300;
const REISSUE_AFTER_S = 1800;

/** RFC 7873 section 5.2.2: a COOKIE option is 8 bytes, or 16 to 40. */
export function cookieLengthOk(len: number): boolean {
  return len === CLIENT_COOKIE_LEN || (len >= 16 && len <= 40);
}

const w6 = new Uint32Array(4);

/** The client address as the bytes RFC 9018 hashes (4 for IPv4, IPv4-mapped included; 16 for IPv6). */
export function addressBytes(address: string, out: Uint8Array, at: number): number {
  let v4 = parseIpv4(address);
  if (v4 < 0) {
    if (!parseIpv6(address, w6)) return -1;
    if (w6[0] === 0 && w6[1] === 0 && w6[2] === 0xffff) v4 = w6[3];
    else {
      for (let k = 0; k < 4; k++) {
        out[at + 4 * k] = w6[k] >>> 24; out[at + 4 * k + 1] = (w6[k] >>> 16) & 0xff;
        out[at + 4 * k + 2] = (w6[k] >>> 8) & 0xff; out[at + 4 * k + 3] = w6[k] & 0xff;
      }
      return 16;
    }
  }
  out[at] = v4 >>> 24; out[at + 1] = (v4 >>> 16) & 0xff; out[at + 2] = (v4 >>> 8) & 0xff; out[at + 3] = v4 & 0xff;
  return 4;
}

/** Serial-number difference a - b of two 32-bit timestamps (RFC 1982). */
function serialDiff(a: number, b: number): number {
  return ((a - b) | 0);
}

export class ServerCookies {
  private readonly keys: SipKey[];
  /** Scratch for the hashed input: client cookie 8 + 8 + address up to 16. */
  private readonly input = new Uint8Array(32);
  private readonly hash = new Uint8Array(8);

  /** `secrets`: 16-byte secrets; the first makes cookies, all are accepted. */
  constructor(secrets: readonly Uint8Array[]) {
    if (secrets.length === 0) throw new Error('at least one cookie secret is needed');
    this.keys = secrets.map((s) => sipKey(s));
  }

  /**
   * Fills `out[at..at+16)` with the server cookie for this client cookie
   * (msg[cc..cc+8)), client address and time, made with secret `keyIndex`.
   * Returns false when the address cannot be read.
   */
  make(src: Uint8Array, cc: number, address: string, nowS: number, out: Uint8Array, at: number, keyIndex = 0): boolean {
    const inp = this.input;
    for (let i = 0; i < 8; i++) inp[i] = src[cc + i];
    const ts = nowS >>> 0;
    inp[8] = VERSION; inp[9] = 0; inp[10] = 0; inp[11] = 0;
    inp[12] = ts >>> 24; inp[13] = (ts >>> 16) & 0xff; inp[14] = (ts >>> 8) & 0xff; inp[15] = ts & 0xff;
    const n = addressBytes(address, inp, 16);
    if (n < 0) return false;
    for (let i = 0; i < 8; i++) out[at + i] = inp[8 + i];
    sipHash24(this.keys[keyIndex], inp.subarray(0, 16 + n), out, at + 8);
    return true;
  }

  /**
   * Checks the server cookie at msg[sc..sc+len) that came with the client cookie
   * at msg[cc..cc+8). 'valid' and 'reissue' (valid but older than half an hour)
   * are accepted; anything else is 'invalid'.
   */
  check(msg: Uint8Array, cc: number, sc: number, len: number, address: string, nowS: number): 'valid' | 'reissue' | 'invalid' {
    if (len !== SERVER_COOKIE_LEN || msg[sc] !== VERSION) return 'invalid';
    const ts = ((msg[sc + 4] << 24) | (msg[sc + 5] << 16) | (msg[sc + 6] << 8) | msg[sc + 7]) >>> 0;
    const age = serialDiff(nowS >>> 0, ts);
    if (age > LIFETIME_S || age < -SKEW_S) return 'invalid';
    const h = this.hash;
    for (let k = 0; k < this.keys.length; k++) {
      // Recompute with the cookie's own timestamp (make() writes ts into the input).
      const tmp = this.input;
      for (let i = 0; i < 8; i++) tmp[i] = msg[cc + i];
      for (let i = 0; i < 8; i++) tmp[8 + i] = msg[sc + i];
      const n = addressBytes(address, tmp, 16);
      if (n < 0) return 'invalid';
      sipHash24(this.keys[k], tmp.subarray(0, 16 + n), h, 0);
      let same = 0;
      for (let i = 0; i < 8; i++) same |= h[i] ^ msg[sc + 8 + i];
      if (same === 0) return age > REISSUE_AFTER_S || k > 0 ? 'reissue' : 'valid';
    }
    return 'invalid';
  }
}

/** Parses secrets given as 32 hex digits each. */
export function secretsFromHex(hex: readonly string[]): Uint8Array[] {
  return hex.map((h) => Uint8Array.from(Buffer.from(h, 'hex')));
}
