// The UDP channel on the fastudp addon (native/): answers are read with recvmmsg, up
// to 64 per system call and one JS call per batch; a query's bytes are written
// straight into the socket's out slab and leave with one sendmmsg per socket, at the
// engine's flush (each tick) or at the end of the receive batch whose answers freed
// their slots. Latency runs from the moment a batch is handed to the kernel.
//
// sendmmsg stops at the first datagram the kernel refuses (EAGAIN: send buffer full).
// The queries it did not take keep their slot and ID, leave the timeout queue, and go
// out again at the next tick or batch end (`resent`); one still refused after the
// timeout is given up (`unsent.sendBufferFull`). No query is dropped silently.

import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { FastUdpSocket, type FastUdpBinding } from '../../native/index.js';
import type { ChannelContext, ChannelSet } from './channel.js';
import { countError } from './channel.js';
import { DriverError } from './errors.js';
import { ownUdpDrops } from './kernel-stats.js';

/** Queries queued per socket before a flush (the addon's out queue holds 4 × 64). */
const QMAX = 256;

export class NativeUdpChannels implements ChannelSet {
  readonly udpPath = 'native' as const;
  serverAddr = '';
  serverPort = 0;
  private readonly socks: FastUdpSocket[] = [];
  private readonly outSlabs: Buffer[] = [];
  /** Per channel, the slots of the queries queued since its last flush, in order. */
  private readonly qGs: Int32Array;
  private readonly qN: Int32Array;
  private readonly dirty: number[] = [];
  private readonly isDirty: Uint8Array;
  /** Slots whose query the kernel did not take (send buffer full), to send again. */
  private retryGs: number[] = [];
  /** When each such slot's query was first refused (0 when it is not waiting). */
  private readonly retrySince: Float64Array;
  private retrying = 0;
  /** When the current receive batch was read (0 outside a batch). */
  private batchNow = 0;

  constructor(private readonly binding: FastUdpBinding, private readonly ctx: ChannelContext) {
    const n = ctx.slots.nChan;
    this.qGs = new Int32Array(n * QMAX);
    this.qN = new Int32Array(n);
    this.isDirty = new Uint8Array(n);
    this.retrySince = new Float64Array(ctx.slots.total);
  }

  /** One FastUdpSocket per channel, bound to its source and connected to the server. */
  async open(): Promise<void> {
    const { host, port } = this.ctx.server;
    const v6 = this.ctx.v6;
    let addr = host;
    if (!isIP(host)) {
      try {
        addr = (await lookup(host, { family: v6 ? 6 : 4 })).address;
      } catch (err) {
        throw new DriverError('CONNECT', `cannot use server ${host}:${port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
    for (let c = 0; c < this.ctx.slots.nChan; c++) {
      const src = this.ctx.sourceOf(c);
      let sock: FastUdpSocket;
      try {
        // 64 KiB slots: no answer is cut, so a big one is counted as the answer it is (pages never touched cost nothing).
        sock = new FastUdpSocket(this.binding, { host: src ?? (v6 ? '::' : '0.0.0.0'), port: 0, recvBufferBytes: 4 << 20, sendBufferBytes: 4 << 20, slotBytes: 65536 }, this.handler(c));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        throw new DriverError('BIND', src
          ? `cannot send from source address ${src}: ${code}${code === 'EADDRNOTAVAIL' ? ' (the address is not configured on this host)' : ''}`
          : `cannot open a UDP socket: ${code}`);
      }
      this.socks.push(sock);
      this.outSlabs.push(sock.outSlab);
      try {
        sock.connect(addr, port);
      } catch (err) {
        throw new DriverError('CONNECT', `cannot use server ${host}:${port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
    this.serverAddr = addr;
    this.serverPort = port;
  }

  /** Channel c's answers go to the sink; at the batch's end, what they queued leaves. */
  private handler(c: number): { onUdp(s: FastUdpSocket, msg: Buffer, address: string, port: number): void; onBatchEnd(): void } {
    const sink = this.ctx.sink;
    return {
      onUdp: (_s, msg, _address, port) => {
        if (this.batchNow === 0) this.batchNow = performance.now();
        // The socket is connected: the kernel only hands it the server's datagrams.
        if (port !== this.serverPort) {
          sink.foreign();
          return;
        }
        sink.answer(c, msg, 0, msg.length, this.batchNow);
      },
      onBatchEnd: () => {
        this.batchNow = 0;
        if (this.retryGs.length) this.resendRefused(performance.now());
        this.flush();
      },
    };
  }

  usable(): boolean {
    return true;
  }

  /** Writes slot gs's query (its ID already set) into channel c's out slab. */
  send(c: number, gs: number): void {
    const { queries: q, slots } = this.ctx;
    const sock = this.socks[c];
    const qi = slots.query[gs];
    const qoff = q.offset[qi];
    const qlen = q.length[qi];
    if (this.qN[c] === QMAX) this.flushChan(c);
    let off = sock.reserve(qlen);
    if (off < 0) {
      this.flushChan(c);
      off = sock.reserve(qlen);
    }
    const out = this.outSlabs[c];
    q.wire.copy(out, off, qoff, qoff + qlen);
    const id = slots.id[gs];
    out[off] = id >> 8;
    out[off + 1] = id & 0xff;
    this.qGs[c * QMAX + this.qN[c]++] = gs;
    if (this.isDirty[c] === 0) {
      this.isDirty[c] = 1;
      this.dirty.push(c);
    }
  }

  /** Sends channel c's queue with sendmmsg; what the kernel did not take waits to be sent again. */
  private flushChan(c: number): void {
    const n = this.qN[c];
    if (n === 0) return;
    this.qN[c] = 0;
    const base = c * QMAX;
    const gsList = this.qGs;
    const slots = this.ctx.slots;
    // Latency runs from here, the moment the batch is handed to the kernel.
    const now = performance.now();
    const sentAt = slots.sentAt;
    for (let i = 0; i < n; i++) sentAt[gsList[base + i]] = now;
    const took = this.socks[c].flush();
    if (this.retrying > 0) {
      for (let i = 0; i < took; i++) {
        const gs = gsList[base + i];
        if (this.retrySince[gs] !== 0) {
          this.retrySince[gs] = 0;
          this.retrying--;
        }
      }
    }
    for (let i = took; i < n; i++) {
      const gs = gsList[base + i];
      // Not in flight: the timeout queue skips it until it is sent again with a new seq.
      slots.seq[gs] = -1;
      if (this.retrySince[gs] === 0) {
        this.retrySince[gs] = now;
        this.retrying++;
      }
      this.retryGs.push(gs);
      this.ctx.sink.refused(gs);
    }
  }

  flush(): void {
    const d = this.dirty;
    for (let i = 0; i < d.length; i++) {
      const c = d[i];
      this.isDirty[c] = 0;
      this.flushChan(c);
    }
    d.length = 0;
  }

  tick(now: number): void {
    if (this.retryGs.length) this.resendRefused(now);
  }

  /** Queues again the queries the kernel refused; gives up on those refused for longer than the timeout. */
  private resendRefused(now: number): void {
    const list = this.retryGs;
    this.retryGs = [];
    const { slots, sink, timeoutMs } = this.ctx;
    for (const gs of list) {
      if (now - this.retrySince[gs] > timeoutMs) {
        this.retrySince[gs] = 0;
        this.retrying--;
        sink.giveUp(gs);
        continue;
      }
      sink.resend(gs, now);
      this.send(slots.chanOf(gs), gs);
    }
  }

  finish(): { ownDrops: number | null; malformed: number } {
    const remote = { address: this.serverAddr, port: this.serverPort };
    const ownDrops = ownUdpDrops(this.socks.map((s) => {
      const a = s.address();
      return { local: { port: a.port, family: a.family }, remote };
    }));
    // The addon counts socket errors itself; dgram reports them as 'error' events.
    let refused = 0, other = 0, malformed = 0;
    for (const s of this.socks) {
      const k = s.counters();
      refused += k.refused;
      other += k.sendErrors + k.sockErrors - k.refused;
      malformed += s.oversize;
    }
    if (refused > 0) countError(this.ctx.errors, 'ECONNREFUSED', refused);
    if (other > 0) countError(this.ctx.errors, 'OTHER', other);
    return { ownDrops, malformed };
  }

  close(): void {
    for (const s of this.socks) s.close();
  }
}
