// The UDP channel on node:dgram, the fallback when the fastudp addon is not built or
// ANYCAST_KIT_UDP=dgram: one send per query, one 'message' event per answer. dgram
// sends asynchronously, so each slot keeps its query's bytes in its own stretch of
// one slab until the slot's next use. dgram never refuses a send (libuv queues it).

import dgram from 'node:dgram';
import { countError, type ChannelContext, type ChannelSet } from './channel.js';
import { DriverError } from './errors.js';
import { ownUdpDrops } from './kernel-stats.js';

export class DgramChannels implements ChannelSet {
  readonly udpPath = 'dgram' as const;
  serverAddr = '';
  serverPort = 0;
  private readonly socks: dgram.Socket[] = [];
  private readonly slab: Buffer;
  private readonly stride: number;

  constructor(private readonly ctx: ChannelContext) {
    this.stride = (ctx.queries.maxLength + 15) & ~15;
    this.slab = Buffer.alloc(ctx.slots.total * this.stride);
  }

  async open(): Promise<void> {
    const { host, port } = this.ctx.server;
    const type = this.ctx.v6 ? 'udp6' : 'udp4';
    for (let c = 0; c < this.ctx.slots.nChan; c++) {
      const src = this.ctx.sourceOf(c);
      const sock = dgram.createSocket({ type, recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
      this.socks.push(sock);
      await new Promise<void>((resolve, reject) => {
        const onErr = (err: NodeJS.ErrnoException) => {
          reject(new DriverError('BIND', src
            ? `cannot send from source address ${src}: ${err.code ?? err.message}${err.code === 'EADDRNOTAVAIL' ? ' (the address is not configured on this host)' : ''}`
            : `cannot open a UDP socket: ${err.code ?? err.message}`));
        };
        sock.once('error', onErr);
        sock.bind({ port: 0, address: src, exclusive: true }, () => {
          sock.connect(port, host, (err?: Error) => {
            sock.off('error', onErr);
            if (err) reject(new DriverError('CONNECT', `cannot use server ${host}:${port}: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
            else resolve();
          });
        });
      });
      const chan = c;
      sock.on('message', (msg, rinfo) => this.onMessage(chan, msg, rinfo));
      // ICMP port unreachable arrives as ECONNREFUSED on the next recvmsg of a connected socket.
      sock.on('error', (err: NodeJS.ErrnoException) => countError(this.ctx.errors, err.code ?? 'ERROR'));
    }
    const remote = this.socks[0].remoteAddress();
    this.serverAddr = remote.address;
    this.serverPort = remote.port;
  }

  private onMessage(c: number, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const now = performance.now();
    // Connected sockets only see the server, but say so explicitly: the source must match.
    if (rinfo.port !== this.serverPort || rinfo.address !== this.serverAddr) {
      this.ctx.sink.foreign();
      return;
    }
    this.ctx.sink.answer(c, msg, 0, msg.length, now);
  }

  usable(): boolean {
    return true;
  }

  send(c: number, gs: number): void {
    const { queries: q, slots } = this.ctx;
    const qi = slots.query[gs];
    const qoff = q.offset[qi];
    const qlen = q.length[qi];
    const id = slots.id[gs];
    const off = gs * this.stride;
    const slab = this.slab;
    q.wire.copy(slab, off, qoff, qoff + qlen);
    slab[off] = id >> 8;
    slab[off + 1] = id & 0xff;
    this.socks[c].send(slab, off, qlen);
  }

  tick(): void { /* nothing waits: every send went out at once */ }

  flush(): void { /* dgram sends at once */ }

  finish(): { ownDrops: number | null; malformed: number } {
    // dgram reports socket errors as 'error' events, already counted.
    return { ownDrops: ownUdpDrops(this.socks), malformed: 0 };
  }

  close(): void {
    for (const s of this.socks) {
      try { s.close(); } catch { /* already closed */ }
    }
  }
}
