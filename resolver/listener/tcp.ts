// DNS over TCP (RFC 7766): 2-byte length framing, pipelined queries answered as
// they complete (possibly out of order), an idle timeout, a connection limit and
// back-pressure: a client that stops reading, or keeps too many queries
// unanswered, stops being read.

import net from 'node:net';
import { isIPv6 } from 'node:net';
import type { TcpSettings } from '../config.js';
import type { QueryHandler, Replier } from './replier.js';

export interface TcpListenOptions {
  host: string;
  port: number;
  reusePort?: boolean;
  settings: TcpSettings;
  log?: (msg: string) => void;
}

/** Bytes queued for a client that does not read before we stop reading its queries. */
const MAX_UNSENT_BYTES = 1 << 20;

/**
 * One client connection. It is the Replier for the query being handled (send()
 * writes at once); hold() counts the query as outstanding and returns a replier
 * whose send() ends that (answers may leave out of order, RFC 7766 section 7).
 */
class Conn implements Replier {
  readonly framing = 2 as const;
  private pending: Buffer | null = null;
  private outstanding = 0;
  private readPaused = false;
  lastQueryMs: number;
  closed = false;
  readonly address: string;

  constructor(
    readonly socket: net.Socket,
    private readonly handler: QueryHandler,
    private readonly settings: TcpSettings,
    private readonly onClose: (c: Conn) => void,
  ) {
    this.address = socket.remoteAddress ?? '';
    this.lastQueryMs = performance.now();
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.maybeResume());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.closed = true;
      this.onClose(this);
    });
    socket.on('end', () => socket.end());
  }

  get idle(): boolean {
    return this.outstanding === 0;
  }

  private onData(chunk: Buffer): void {
    const data = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = null;
    let p = 0;
    while (data.length - p >= 2) {
      const n = (data[p] << 8) | data[p + 1];
      if (data.length - p - 2 < n) break;
      const msg = data.subarray(p + 2, p + 2 + n);
      p += 2 + n;
      this.lastQueryMs = performance.now();
      this.handler.handle(msg, this);
      if (this.closed) return;
    }
    if (p < data.length) {
      // Keep only the unfinished message (at most 65537 bytes), not the whole chunk.
      this.pending = Buffer.from(data.subarray(p));
    }
    this.maybePause();
  }

  send(framed: Buffer): void {
    if (this.closed) return;
    this.socket.write(framed);
    this.maybePause();
  }

  hold(): Replier {
    this.outstanding++;
    return new HeldTcpReplier(this);
  }

  /** The answer to a held query. */
  sendHeld(framed: Buffer): void {
    this.outstanding--;
    if (this.closed) return;
    this.socket.write(framed);
    this.maybeResume();
  }

  private maybePause(): void {
    if (!this.readPaused && (this.outstanding >= this.settings.maxPipelined || this.socket.writableLength > MAX_UNSENT_BYTES)) {
      this.readPaused = true;
      this.socket.pause();
    }
  }

  private maybeResume(): void {
    if (this.readPaused && this.outstanding < this.settings.maxPipelined && this.socket.writableLength <= MAX_UNSENT_BYTES) {
      this.readPaused = false;
      this.socket.resume();
    }
  }
}

/** A pipelined query whose answer comes after it was handled. */
class HeldTcpReplier implements Replier {
  readonly framing = 2 as const;
  constructor(private readonly conn: Conn) {}

  get address(): string {
    return this.conn.address;
  }

  send(framed: Buffer): void {
    this.conn.sendHeld(framed);
  }

  hold(): Replier {
    return this;
  }
}

export class TcpListener {
  private readonly conns = new Set<Conn>();
  private idleTimer: NodeJS.Timeout | undefined;

  private constructor(readonly server: net.Server, private readonly settings: TcpSettings) {}

  static listen(o: TcpListenOptions, handler: QueryHandler): Promise<TcpListener> {
    const server = net.createServer({ noDelay: true });
    server.maxConnections = o.settings.maxConnections;
    const l = new TcpListener(server, o.settings);
    server.on('connection', (socket) => {
      const c = new Conn(socket, handler, o.settings, (x) => l.conns.delete(x));
      l.conns.add(c);
    });
    const v6 = isIPv6(o.host);
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => {
        reject(new Error(`cannot listen on tcp ${v6 ? `[${o.host}]` : o.host}:${o.port}: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
      };
      server.once('error', onError);
      server.listen({ host: o.host, port: o.port, exclusive: true, reusePort: o.reusePort === true, backlog: 511 }, () => {
        server.off('error', onError);
        server.on('error', (err) => o.log?.(`tcp ${o.host}:${o.port}: ${err.message}`));
        l.idleTimer = setInterval(() => l.closeIdle(), Math.min(1000, Math.max(50, o.settings.idleTimeoutMs / 4)));
        l.idleTimer.unref();
        resolve(l);
      });
    });
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Closes connections that have sent no complete query for idleTimeoutMs and owe nothing. */
  private closeIdle(): void {
    const cutoff = performance.now() - this.settings.idleTimeoutMs;
    for (const c of this.conns) if (c.idle && c.lastQueryMs < cutoff) c.socket.destroy();
  }

  /** Stops accepting connections; existing ones stay until close(). */
  stopAccepting(): void {
    this.server.close();
  }

  get connections(): number {
    return this.conns.size;
  }

  /** Closes every connection and the listening socket. */
  async close(): Promise<void> {
    if (this.idleTimer) clearInterval(this.idleTimer);
    const closed = new Promise<void>((resolve) => {
      if (!this.server.listening) resolve();
      else this.server.close(() => resolve());
    });
    for (const c of this.conns) c.socket.destroy();
    await closed;
  }
}
