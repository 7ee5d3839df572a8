// The TCP channel: one connection per channel, length-prefixed queries pipelined on
// it, answers in any order. Queries queue in a per-connection buffer and leave with
// one write per connection at each flush (each tick, and after every read, since
// closed-loop answers free slots that send the next queries). A connection that
// closes is reopened at most once a second while the run is sending; until then it
// takes no queries (they count as unsent for want of a connection).

import net from 'node:net';
import { countError, type ChannelContext, type ChannelSet } from './channel.js';
import { DriverError } from './errors.js';

/** Stop queueing to a connection whose unwritten data exceeds this. */
const TCP_MAX_BUFFERED = 1 << 20;

interface Conn {
  sock: net.Socket;
  up: boolean;
  /** Queued, length-prefixed queries not yet handed to the socket. */
  wbuf: Buffer;
  wlen: number;
  /** Partial frame carried over between 'data' events. */
  rest: Buffer | null;
  reconnectAt: number;
}

export class TcpChannels implements ChannelSet {
  readonly udpPath = null;
  serverAddr = '';
  serverPort = 0;
  private readonly conns: Conn[] = [];
  /** Channels with queued queries since the last flush. */
  private readonly dirty: number[] = [];

  constructor(private readonly ctx: ChannelContext) {}

  async open(): Promise<void> {
    const { host, port } = this.ctx.server;
    await Promise.all(Array.from({ length: this.ctx.slots.nChan }, (_, c) => this.connect(c)));
    const up = this.conns.filter((t) => t.up);
    if (up.length === 0) {
      const why = [...this.ctx.errors.entries()].map(([k, v]) => `${k} ×${v}`).join(', ') || 'closed';
      this.close();
      throw new DriverError('UNREACHABLE', `cannot connect to server ${host}:${port} over TCP: ${why}`);
    }
    this.serverAddr = up[0].sock.remoteAddress ?? host;
    this.serverPort = up[0].sock.remotePort ?? port;
  }

  private connect(c: number): Promise<void> {
    const { host, port } = this.ctx.server;
    const src = this.ctx.sourceOf(c);
    return new Promise<void>((resolve) => {
      const sock = net.connect({ host, port, localAddress: src, noDelay: true });
      const st: Conn = this.conns[c] ?? { sock, up: false, wbuf: Buffer.allocUnsafe(64 * 1024), wlen: 0, rest: null, reconnectAt: 0 };
      st.sock = sock;
      st.up = false;
      st.rest = null;
      st.wlen = 0;
      this.conns[c] = st;
      let settled = false;
      sock.once('connect', () => {
        st.up = true;
        settled = true;
        resolve();
      });
      sock.on('data', (chunk: Buffer) => this.onData(c, st, chunk));
      sock.on('error', (err: NodeJS.ErrnoException) => countError(this.ctx.errors, err.code ?? 'ERROR'));
      sock.on('close', () => {
        st.up = false;
        st.reconnectAt = performance.now() + 200;
        if (!settled) {
          settled = true;
          resolve();
        }
      });
    });
  }

  private onData(c: number, st: Conn, chunk: Buffer): void {
    const now = performance.now();
    let buf = chunk;
    if (st.rest) {
      buf = Buffer.concat([st.rest, chunk]);
      st.rest = null;
    }
    let p = 0;
    const n = buf.length;
    while (p + 2 <= n) {
      const len = (buf[p] << 8) | buf[p + 1];
      if (p + 2 + len > n) break;
      this.ctx.sink.answer(c, buf, p + 2, len, now);
      p += 2 + len;
    }
    if (p < n) st.rest = Buffer.from(buf.subarray(p));
    this.flush();
  }

  usable(c: number): boolean {
    const t = this.conns[c];
    return t.up && t.sock.writableLength < TCP_MAX_BUFFERED;
  }

  send(c: number, gs: number): void {
    const { queries: q, slots } = this.ctx;
    const qi = slots.query[gs];
    const qoff = q.offset[qi];
    const qlen = q.length[qi];
    const id = slots.id[gs];
    const t = this.conns[c];
    if (t.wlen + qlen + 2 > t.wbuf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(t.wbuf.length * 2, t.wlen + qlen + 2));
      t.wbuf.copy(bigger, 0, 0, t.wlen);
      t.wbuf = bigger;
    }
    if (t.wlen === 0) this.dirty.push(c);
    const w = t.wbuf;
    const p = t.wlen;
    w[p] = qlen >> 8;
    w[p + 1] = qlen & 0xff;
    q.wire.copy(w, p + 2, qoff, qoff + qlen);
    w[p + 2] = id >> 8;
    w[p + 3] = id & 0xff;
    t.wlen = p + 2 + qlen;
  }

  /** Hands each connection's queued queries to its socket in one write. Only dirty channels are visited. */
  flush(): void {
    const dirty = this.dirty;
    for (let i = 0; i < dirty.length; i++) {
      const t = this.conns[dirty[i]];
      if (t.wlen === 0) continue;
      if (t.up) t.sock.write(Buffer.from(t.wbuf.subarray(0, t.wlen)));
      t.wlen = 0;
    }
    dirty.length = 0;
  }

  /** While sending, reopens connections that closed (at most once a second each). */
  tick(now: number, sending: boolean): void {
    if (!sending) return;
    for (let c = 0; c < this.conns.length; c++) {
      const t = this.conns[c];
      if (!t.up && !t.sock.connecting && now >= t.reconnectAt) {
        t.reconnectAt = now + 1000;
        t.sock.removeAllListeners();
        t.sock.on('error', () => {});
        void this.connect(c);
      }
    }
  }

  finish(): { ownDrops: number | null; malformed: number } {
    // TCP does not drop: whatever the server sent was read.
    return { ownDrops: 0, malformed: 0 };
  }

  close(): void {
    for (const t of this.conns) t.sock.destroy();
  }
}
