// The fastudp addon (native/fastudp.c), loaded once, and the UDP socket built on it.
// When the addon is missing (no compiler at install time, not Linux) or is turned
// off with ANYCAST_KIT_UDP=dgram, fastUdp() returns null and callers use node:dgram.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatIpv4, parseIpv4 } from '../common/ip.js';
import { ChurnMap } from '../common/churn-map.js';

/** The addon's functions (see the comments in fastudp.c). */
export interface FastUdpBinding {
  readonly BATCH: number;
  readonly SLOT: number;
  open(family: 4 | 6, host: string, port: number, reusePort: number, rcvBytes: number, sndBytes: number): object;
  localPort(h: object): number;
  connect(h: object, host: string, port: number): void;
  start(h: object, inSlab: ArrayBuffer, inMeta: Int32Array, outSlab: Uint8Array, outMeta: Int32Array, onBatch: (n: number) => number, vlen: number, slotBytes: number): void;
  send(h: object, n: number): number;
  sendTo(h: object, bytes: Uint8Array, port: number, host: string): number;
  close(h: object): void;
  ref(h: object, on: boolean): void;
  counters(h: object): [number, number, number, number, number, number];
  qsetCreate(slab: ArrayBuffer, onDatagram: (id: number, len: number) => void): object;
  qopen(set: object, family: 4 | 6, localPort: number, host: string, port: number, packet: Uint8Array): number;
  qclose(set: object, id: number): void;
  qlocalPort(set: object, id: number): number;
  qcounters(set: object): [number, number, number];
  qpoll(set: object): number;
  /** malloc_trim(0): 1 if memory went back to the kernel, 0 if not, -1 without glibc. Absent in an addon built before it. */
  trim?(): number;
  /** madvise(MADV_DONTNEED) on [address, address + length): 0 or -errno. Only for read-only file mappings (see fastudp.c). Absent in an older addon. */
  dropPages?(address: number, length: number): number;
}

/** Ints per received datagram in the in-meta array: [length, port, family, a0, a1, a2, a3]. */
export const META_IN = 7;
/** Ints per queued datagram in the out-meta array: [slot, offset, length, port, a0, a1, a2, a3]. */
export const META_OUT = 8;

let loaded: FastUdpBinding | null | undefined;
let why = '';

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'anycast-kit') return dir;
      } catch { /* keep looking */ }
    }
    dir = dirname(dir);
  }
  return dirname(fileURLToPath(import.meta.url));
}

/** The addon, or null (then `fastUdpStatus().reason` says why). */
export function fastUdp(): FastUdpBinding | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  const mode = process.env.ANYCAST_KIT_UDP ?? 'auto';
  if (mode === 'dgram') {
    why = 'turned off (ANYCAST_KIT_UDP=dgram)';
    return null;
  }
  const file = join(packageRoot(), 'native', 'build', 'fastudp.node');
  try {
    loaded = createRequire(import.meta.url)(file) as FastUdpBinding;
  } catch (err) {
    why = existsSync(file) ? `cannot load ${file}: ${(err as Error).message}` : `not built (${file} is missing; run npm run build)`;
    if (mode === 'native') throw new Error(`ANYCAST_KIT_UDP=native, but fastudp is ${why}`);
  }
  return loaded;
}

export function fastUdpStatus(): { available: boolean; reason: string } {
  const b = fastUdp();
  return { available: b !== null, reason: b !== null ? 'loaded' : why };
}

/** Dotted quad from the uint32 the addon reports (common/ip.ts formatIpv4). */
export const ipv4Text: (a: number) => string = formatIpv4;

/**
 * RFC 5952 text for an IPv6 address given as four big-endian 32-bit words: lower
 * case, longest run of two or more zero groups as '::' (the first on a tie), and
 * IPv4-mapped addresses as ::ffff:a.b.c.d (what Node's dgram reports too).
 */
export function ipv6Text(w0: number, w1: number, w2: number, w3: number): string {
  if (w0 === 0 && w1 === 0 && (w2 >>> 0) === 0xffff) return `::ffff:${ipv4Text(w3 >>> 0)}`;
  const g = [w0 >>> 16, w0 & 0xffff, w1 >>> 16, w1 & 0xffff, w2 >>> 16, w2 & 0xffff, w3 >>> 16, w3 & 0xffff];
  let bestAt = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { bestAt = i; bestLen = j - i; }
    i = j;
  }
  const hex = (a: number, b: number) => g.slice(a, b).map((x) => x.toString(16)).join(':');
  if (bestAt < 0) return hex(0, 8);
  return `${hex(0, bestAt)}::${hex(bestAt + bestLen, 8)}`;
}

export interface FastUdpHandler {
  /** One datagram. `msg` is a view into a slab that is reused after the batch: copy it to keep it. */
  onUdp(sock: FastUdpSocket, msg: Buffer, address: string, port: number): void;
  /**
   * Optional: called after the last onUdp of a batch, before what was queued leaves.
   * A sender that wants to know how many the kernel took calls flush() here.
   */
  onBatchEnd?(sock: FastUdpSocket): void;
}

export interface FastUdpOptions {
  host: string;
  port: number;
  reusePort?: boolean;
  recvBufferBytes?: number;
  sendBufferBytes?: number;
  /** Datagrams read per syscall (default and most: the addon's BATCH, 64). */
  batch?: number;
  /** Bytes kept per datagram (default the addon's SLOT, 4096; at most 65536). Longer ones are dropped. */
  slotBytes?: number;
  /** Reply bytes one batch can queue (default 128 KiB); 0 sends every reply at once. */
  queueBytes?: number;
  /** Datagrams that can be queued (default 4 × batch). */
  queueDatagrams?: number;
}

/** Reply bytes one batch can queue by default; bigger or later replies go out with sendto at once. */
const OUT_BYTES = 128 * 1024;

/**
 * A bound UDP socket read in batches. Replies sent to the sender of the datagram
 * being handled are queued and leave together with sendmmsg when the batch ends;
 * any other send goes out at once. The `send(buf, port, address)` shape is the one
 * node:dgram has, so the resolver's front takes either.
 */
export class FastUdpSocket {
  private readonly b: FastUdpBinding;
  private readonly h: object;
  readonly family: 4 | 6;
  readonly host: string;
  private readonly inSlab: ArrayBuffer;
  private readonly inMeta: Int32Array;
  private readonly out: Buffer;
  private readonly outMeta: Int32Array;
  private readonly maxOut: number;
  private readonly outBytes: number;
  private readonly slot: number;
  private outCount = 0;
  private outOff = 0;
  private curSlot = -1;
  private curPort = 0;
  private curAddr = '';
  private lastA = -1;
  private lastText = '';
  private closed = false;
  private final = { recvBatches: 0, recvDatagrams: 0, sendErrors: 0, sendDropped: 0, sockErrors: 0, refused: 0 };
  /** Datagrams longer than a slot (not DNS queries we could answer); dropped. */
  oversize = 0;

  constructor(b: FastUdpBinding, o: FastUdpOptions, private readonly handler: FastUdpHandler) {
    this.b = b;
    this.family = o.host.includes(':') ? 6 : 4;
    this.host = o.host;
    this.h = b.open(this.family, o.host, o.port, o.reusePort ? 1 : 0, o.recvBufferBytes ?? 0, o.sendBufferBytes ?? 0);
    const batch = Math.max(1, Math.min(o.batch ?? b.BATCH, b.BATCH));
    this.slot = Math.max(512, Math.min(o.slotBytes ?? b.SLOT, 65536));
    this.outBytes = o.queueBytes ?? OUT_BYTES;
    // Untouched pages of these cost no memory: a slot is as big as its largest datagram so far.
    this.inSlab = new ArrayBuffer(batch * this.slot);
    this.inMeta = new Int32Array(batch * META_IN);
    this.out = Buffer.alloc(Math.max(1, this.outBytes));
    this.maxOut = this.outBytes > 0 ? Math.max(1, o.queueDatagrams ?? batch * 4) : 1;
    this.outMeta = new Int32Array(this.maxOut * META_OUT);
    try {
      b.start(this.h, this.inSlab, this.inMeta, this.out, this.outMeta, this.onBatch, batch, this.slot);
    } catch (err) {
      b.close(this.h);
      throw err;
    }
  }

  address(): { address: string; port: number; family: string } {
    return { address: this.host, port: this.b.localPort(this.h), family: this.family === 6 ? 'IPv6' : 'IPv4' };
  }

  private text(m: Int32Array, base: number): string {
    if (m[base + 2] === 4) {
      const a = m[base + 3];
      if (a !== this.lastA) { this.lastA = a; this.lastText = ipv4Text(a >>> 0); }
      return this.lastText;
    }
    return ipv6Text(m[base + 3], m[base + 4], m[base + 5], m[base + 6]);
  }

  private readonly onBatch = (n: number): number => {
    const m = this.inMeta;
    const slot = this.slot;
    // Datagrams queue()d before this batch leave with its replies.
    try {
      for (let i = 0; i < n && !this.closed; i++) {
        const base = i * META_IN;
        const len = m[base];
        if (len > slot) { this.oversize++; continue; }
        const address = this.text(m, base);
        const port = m[base + 1];
        this.curSlot = i;
        this.curPort = port;
        this.curAddr = address;
        this.handler.onUdp(this, Buffer.from(this.inSlab, i * slot, len), address, port);
      }
    } finally {
      this.curSlot = -1;
    }
    if (this.handler.onBatchEnd && !this.closed) this.handler.onBatchEnd(this);
    // The batch's replies leave here, from JS, before this returns. They must not be left
    // for the addon to send after the return: the addon calls this with MakeCallback, and
    // Node runs the process.nextTick and promise queues when that call ends, before control
    // is back in C. A reply queued there (an answer resolved in a promise: a SERVFAIL for a
    // dead zone, a held miss) would start at offset 0 of the out slab again and take the
    // place of a reply of this batch: that reply was lost, the other one sent twice.
    this.flush();
    return 0;
  };

  /**
   * Sends one datagram (queued when it answers the datagram being handled, or
   * until the end of this event-loop turn otherwise). Errors are dropped, as UDP
   * is, unless `onError` is given: then it is called with the errno of a send
   * that failed (at once, or when the queue is flushed).
   */
  send(buf: Uint8Array, port: number, address: string, onError?: (errno: number) => void): void {
    if (this.closed) throw new Error('send on a closed socket');
    const len = buf.length;
    if (this.curSlot >= 0 && port === this.curPort && address === this.curAddr &&
        this.outCount < this.maxOut && this.outOff + len <= this.outBytes) {
      this.out.set(buf, this.outOff);
      const k = this.outCount * META_OUT;
      this.outMeta[k] = this.curSlot;
      this.outMeta[k + 1] = this.outOff;
      this.outMeta[k + 2] = len;
      this.outOff += len;
      this.outCount++;
      return;
    }
    // Anyone else (an answer that waited for the upstream): queue it with its address
    // and send everything queued this event-loop turn with one sendmmsg. On loopback a
    // send also runs the receiver's wake-up; one per batch costs far less than one per reply.
    const a = this.family === 4 ? this.v4(address) : -1;
    if (a < 0 || len > this.outBytes) {
      const r = this.b.sendTo(this.h, buf, port, address);
      if (r < 0 && onError) onError(-r);
      return;
    }
    if (this.outCount >= this.maxOut || this.outOff + len > this.outBytes) this.flush();
    if (onError) {
      this.outErr[this.outCount] = onError;
      this.errCbs++;
    }
    this.out.set(buf, this.outOff);
    const k = this.outCount * META_OUT;
    const om = this.outMeta;
    om[k] = -2;
    om[k + 1] = this.outOff;
    om[k + 2] = len;
    om[k + 3] = port;
    om[k + 4] = a | 0;
    this.outOff += len;
    this.outCount++;
    if (!this.flushQueued) {
      this.flushQueued = true;
      setImmediate(this.flushLater);
    }
  }

  /** Error callbacks of queued datagrams, by queue index (sparse). */
  private readonly outErr: Array<((errno: number) => void) | undefined> = [];
  private errCbs = 0;
  private flushQueued = false;
  private readonly flushLater = (): void => {
    this.flushQueued = false;
    this.flush();
  };
  private lastSendText = '';
  private lastSendA = -1;

  /** A dotted quad as uint32, or -1 (memoised: answers often go to one client in a row). */
  private v4(text: string): number {
    if (text === this.lastSendText) return this.lastSendA;
    const a = parseIpv4(text);
    this.lastSendText = text;
    this.lastSendA = a;
    return a;
  }

  /** Sends one datagram now; returns the bytes sent, or a negative errno. */
  sendNow(buf: Uint8Array, port: number, address: string): number {
    if (this.closed) return -9; // EBADF
    return this.b.sendTo(this.h, buf, port, address);
  }

  /** Fixes the peer: later queue()/flush() datagrams go there, and only its datagrams are read. */
  connect(host: string, port: number): void {
    this.b.connect(this.h, host, port);
  }

  /**
   * Queues one datagram for a connected socket. Returns false when the queue is
   * full: flush() first. It leaves on flush(), or with the replies of the receive
   * batch being handled, whichever comes first.
   */
  queue(buf: Uint8Array): boolean {
    const len = buf.length;
    if (this.outCount >= this.maxOut || this.outOff + len > this.outBytes) return false;
    this.out.set(buf, this.outOff);
    const k = this.outCount * META_OUT;
    this.outMeta[k] = -1;
    this.outMeta[k + 1] = this.outOff;
    this.outMeta[k + 2] = len;
    this.outOff += len;
    this.outCount++;
    return true;
  }

  /**
   * Like queue(), for a caller that writes the bytes itself: room for one datagram of
   * `len` bytes at the returned offset in `outSlab`, or -1 when the queue is full
   * (flush() first). Write the bytes before the next flush() or the batch's end.
   */
  reserve(len: number): number {
    const off = this.outOff;
    if (this.outCount >= this.maxOut || off + len > this.outBytes) return -1;
    const k = this.outCount * META_OUT;
    this.outMeta[k] = -1;
    this.outMeta[k + 1] = off;
    this.outMeta[k + 2] = len;
    this.outOff = off + len;
    this.outCount++;
    return off;
  }

  /** The out slab reserve() offsets point into. */
  get outSlab(): Buffer {
    return this.out;
  }

  /** Datagrams queued and not yet sent. */
  get queued(): number {
    return this.outCount;
  }

  /** Sends what queue() holds with one sendmmsg per 64; returns how many the kernel took (the rest are dropped). */
  flush(): number {
    const n = this.outCount;
    this.outCount = 0;
    this.outOff = 0;
    if (n === 0 || this.closed) return 0;
    const sent = this.b.send(this.h, n);
    if (this.errCbs > 0) this.reportSendErrors(n);
    return sent;
  }

  /** Calls the error callbacks of queued datagrams the addon marked as not sent (length -errno). */
  private reportSendErrors(n: number): void {
    const cbs = this.outErr;
    this.errCbs = 0;
    for (let i = 0; i < n; i++) {
      const cb = cbs[i];
      if (cb === undefined) continue;
      cbs[i] = undefined;
      const len = this.outMeta[i * META_OUT + 2];
      if (len < 0) cb(-len);
    }
  }

  /**
   * Batches and datagrams read; send errors; sends dropped because the socket buffer
   * was full; errors taken from the socket outside a send (on a connected socket, ICMP
   * errors); and ECONNREFUSED (port unreachable) among the send and socket errors.
   */
  counters(): { recvBatches: number; recvDatagrams: number; sendErrors: number; sendDropped: number; sockErrors: number; refused: number } {
    if (this.closed) return { ...this.final };
    const [recvBatches, recvDatagrams, sendErrors, sendDropped, sockErrors, refused] = this.b.counters(this.h);
    return { recvBatches, recvDatagrams, sendErrors, sendDropped, sockErrors, refused };
  }

  unref(): this {
    this.b.ref(this.h, false);
    return this;
  }

  close(cb?: () => void): void {
    if (!this.closed) {
      // Replies queued this turn (answers that waited for the upstream go out on the next
      // check phase) are sent, not dropped: a shutdown that closes the socket in the same
      // turn as a resolution finished must still answer that client.
      if (this.outCount > 0) this.flush();
      this.final = this.counters(); // stats read after close still see what happened
      this.closed = true;
      this.b.close(this.h);
    }
    if (cb) setImmediate(cb);
  }
}

/** Errno values the query sockets report (Linux numbering). */
export const ERRNO = { EADDRINUSE: 98, ECONNREFUSED: 111, EMFILE: 24, ENFILE: 23, ENOBUFS: 105 } as const;

/**
 * UDP sockets that each carry one query: `open()` binds a socket to the given
 * local port, connects it to the server, sends the packet and starts reading, in
 * one call; `close()` ends it. Replies and socket errors come to the handler with
 * the socket's id. All sockets share one 64 KiB read buffer (`onReply`'s Buffer is
 * a view into it, valid until the handler returns) and one callback, so a socket
 * costs a file descriptor and a poll handle, nothing more. The resolver's upstream
 * transport uses this for its one-socket-per-query rule (RFC 5452).
 */
export class QuerySockets {
  private readonly set: object;
  private readonly slab: ArrayBuffer;
  /** A ChurnMap: a closed socket's handler (and the query it closes over) must die young (common/churn-map.ts). */
  private readonly handlers = new ChurnMap<number, QuerySocketHandler>();

  constructor(private readonly b: FastUdpBinding) {
    this.slab = new ArrayBuffer(65536);
    this.set = b.qsetCreate(this.slab, this.onDatagram);
  }

  private readonly onDatagram = (id: number, len: number): void => {
    const h = this.handlers.get(id);
    if (h === undefined) return;
    if (len < 0) h.onError(-len);
    else if (len <= this.slab.byteLength) h.onReply(Buffer.from(this.slab, 0, len));
  };

  /**
   * Opens a socket on `localPort` (0: the kernel picks one), connected to
   * host:port, and sends `packet`. Returns the socket's id, or a negative errno
   * (ERRNO.EADDRINUSE: draw another port); nothing stays open on an error.
   */
  open(family: 4 | 6, localPort: number, host: string, port: number, packet: Uint8Array, handler: QuerySocketHandler): number {
    const id = this.b.qopen(this.set, family, localPort, host, port, packet);
    if (id >= 0) this.handlers.set(id, handler);
    return id;
  }

  /** The local port of an open socket (or a negative errno). */
  localPort(id: number): number {
    return this.b.qlocalPort(this.set, id);
  }

  close(id: number): void {
    if (!this.handlers.delete(id)) return;
    this.b.qclose(this.set, id);
  }

  /**
   * Reads every reply already waiting in the kernel and delivers it now (the same
   * handlers as the event loop's reads); returns how many were delivered. A query's
   * timeout is then decided on what has arrived, not on how far the loop has read.
   */
  poll(): number {
    return this.b.qpoll(this.set);
  }

  /** Sockets open now. */
  get openCount(): number {
    return this.handlers.size;
  }

  /** Sockets opened, datagrams read, socket errors, since start. */
  counters(): { opened: number; replies: number; errors: number } {
    const [opened, replies, errors] = this.b.qcounters(this.set);
    return { opened, replies, errors };
  }
}

export interface QuerySocketHandler {
  onReply(msg: Buffer): void;
  /** A socket error, e.g. ECONNREFUSED after an ICMP port unreachable. */
  onError(errno: number): void;
}
