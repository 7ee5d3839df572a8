// DNS cookies towards authoritative servers (RFC 7873 section 5.1 and 5.3): every
// query with EDNS carries a client cookie, and the server cookie a server gave us
// last time, so a server that checks cookies can tell our queries from forged ones
// and exempt us from its rate limits.
//  - Client cookie: the first 8 bytes of SipHash-2-4(client secret, server address),
//    so each server sees a different one and none can follow us to another server.
//    The client secret is random per process (RFC 7873 section 4.1 leaves it to
//    the client; our source port is random per query, so the client IP is left out).
//  - A reply whose COOKIE option repeats our client cookie teaches us the server
//    cookie; a server cookie is 8 to 32 bytes, kept per server address in a bounded
//    table (least recently used out).
//  - BADCOOKIE (rcode 23) with a fresh server cookie: the transport learns it and asks
//    once more over UDP; a second BADCOOKIE goes to TCP (section 5.3).

import { randomBytes } from 'node:crypto';
import { sipHash24, sipKey, type SipKey } from './siphash.js';
import { addressBytes, COOKIE_OPTION } from './server-cookie.js';
import type { EdnsOption, Message } from '../../dns/message.js';

export const RCODE_BADCOOKIE = 23;
const MAX_SERVERS = 10_000;

export class ClientCookies {
  private readonly key: SipKey;
  /** Client cookie per server address. */
  private readonly client = new Map<string, Buffer>();
  /** Last server cookie per server address (insertion order = least recently learnt first). */
  private readonly server = new Map<string, Buffer>();
  private readonly scratch = new Uint8Array(16);

  constructor(secret: Uint8Array = randomBytes(16)) {
    this.key = sipKey(secret);
  }

  /** Servers we hold a server cookie for (bounded by MAX_SERVERS). */
  get known(): number {
    return this.server.size;
  }

  clientCookie(address: string): Buffer {
    let c = this.client.get(address);
    if (c !== undefined) return c;
    c = Buffer.alloc(8);
    const n = addressBytes(address, this.scratch, 0);
    sipHash24(this.key, this.scratch.subarray(0, n < 0 ? 0 : n), c, 0);
    if (this.client.size >= MAX_SERVERS) this.client.delete(this.client.keys().next().value as string);
    this.client.set(address, c);
    return c;
  }

  /** The COOKIE option for a query to `address`: our client cookie and the server cookie we hold, if any. */
  optionFor(address: string): EdnsOption {
    const cc = this.clientCookie(address);
    const sc = this.server.get(address);
    return { code: COOKIE_OPTION, data: sc ? Buffer.concat([cc, sc]) : cc };
  }

  /**
   * Reads the COOKIE option of a reply from `address`. Returns false when the reply
   * carries a COOKIE whose client part is not ours (it was not an answer to our
   * query: the caller treats it as a mismatch), true otherwise.
   */
  learn(address: string, msg: Message): boolean {
    const opt = msg.edns?.options.find((o) => o.code === COOKIE_OPTION);
    if (!opt) return true;
    const cc = this.clientCookie(address);
    if (opt.data.length < 8 || !opt.data.subarray(0, 8).equals(cc)) return false;
    const sc = opt.data.subarray(8);
    if (sc.length >= 8 && sc.length <= 32) {
      this.server.delete(address);
      if (this.server.size >= MAX_SERVERS) this.server.delete(this.server.keys().next().value as string);
      this.server.set(address, Buffer.from(sc));
    }
    return true;
  }
}
