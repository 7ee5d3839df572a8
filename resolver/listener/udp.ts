// One UDP socket per service address, so replies leave from the address the
// client asked (an anycast /32 on lo next to the node's own address).
// The 'message' handler is created once per socket: no closure per packet.

import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { FastUdpSocket, fastUdp } from '../../native/index.js';
import type { QueryHandler, Replier } from './replier.js';

/** What a UDP reply needs of a socket: node:dgram's send shape (fastudp has it too). */
export interface UdpReplySocket {
  send(msg: Buffer, port: number, address: string): void;
}

/** A bound listener socket, dgram or fastudp. */
export interface UdpListenSocket extends UdpReplySocket {
  address(): { address: string; port: number };
  close(cb?: () => void): void;
}

/**
 * Turns one socket's datagrams into handle() calls. It is also the Replier for the
 * datagram being handled: one object per socket, refilled per datagram (no
 * allocation or closure per packet); hold() copies what a later answer needs.
 */
class UdpReplier implements Replier {
  readonly framing = 0 as const;
  sock: UdpReplySocket | null = null;
  address = '';
  port = 0;

  constructor(private readonly handler: QueryHandler) {}

  /** The socket callback (dgram 'message' or fastudp's onUdp). */
  onUdp(sock: UdpReplySocket, msg: Buffer, address: string, port: number): void {
    this.sock = sock;
    this.address = address;
    this.port = port;
    this.handler.handle(msg, this);
  }

  send(reply: Buffer): void {
    this.sock!.send(reply, this.port, this.address);
  }

  hold(): Replier {
    return new HeldUdpReplier(this.sock!, this.address, this.port);
  }
}

/** A UDP client whose answer comes after its datagram was handled. */
class HeldUdpReplier implements Replier {
  readonly framing = 0 as const;
  constructor(private readonly sock: UdpReplySocket, readonly address: string, private readonly port: number) {}

  send(reply: Buffer): void {
    this.sock.send(reply, this.port, this.address);
  }

  hold(): Replier {
    return this;
  }
}

export interface UdpBindOptions {
  host: string;
  port: number;
  reusePort?: boolean;
  log?: (msg: string) => void;
}

/** Send errors of node:dgram listeners (emitted as 'error': a bound UDP socket has no other errors). */
const dgramSendErrors = new WeakMap<object, number>();

/**
 * Replies this listener made and could not send since it started: the socket
 * buffer was full (fastudp drops what sendmmsg refuses with EAGAIN/ENOBUFS) or the
 * kernel refused the datagram. None is lost without being counted here.
 */
export function udpRepliesUnsent(sock: UdpListenSocket): number {
  if (sock instanceof FastUdpSocket) {
    const c = sock.counters();
    return c.sendErrors + c.sendDropped;
  }
  return dgramSendErrors.get(sock) ?? 0;
}

/** Kernel buffers large enough to ride out bursts at 100k+ qps (capped by net.core.rmem_max). */
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * Replies go to the address the datagram came from, which is always an IP
 * literal: skip dns.lookup (and its process.nextTick) on every send. dgram only
 * uses the address from the callback, so the family is not worked out (net.isIPv6
 * is a large regular expression; it showed up in profiles at 1%).
 */
function literalLookup(address: string, _family: unknown, cb: (err: Error | null, address: string, family: number) => void): void {
  cb(null, address, 0);
}

/**
 * Binds with fastudp (recvmmsg/sendmmsg, see native/README.md) when the addon is
 * built, else with node:dgram. Both give the handler the same calls, each datagram
 * with a Replier for its answer.
 */
export function bindUdp(o: UdpBindOptions, handler: QueryHandler): Promise<UdpListenSocket> {
  const b = fastUdp();
  const replier = new UdpReplier(handler);
  if (b === null) return bindDgram(o, replier);
  try {
    return Promise.resolve(new FastUdpSocket(b, {
      host: o.host, port: o.port, reusePort: o.reusePort === true,
      recvBufferBytes: SOCKET_BUFFER_BYTES, sendBufferBytes: SOCKET_BUFFER_BYTES,
    }, replier));
  } catch (err) {
    const host = isIPv6(o.host) ? `[${o.host}]` : o.host;
    return Promise.reject(new Error(`cannot listen on udp ${host}:${o.port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`));
  }
}

function bindDgram(o: UdpBindOptions, handler: UdpReplier): Promise<dgram.Socket> {
  const v6 = isIPv6(o.host);
  const sock = dgram.createSocket({
    type: v6 ? 'udp6' : 'udp4',
    reuseAddr: false,
    reusePort: o.reusePort === true,
    lookup: literalLookup as unknown as dgram.SocketOptions['lookup'],
  });
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      sock.close();
      reject(new Error(`cannot listen on udp ${v6 ? `[${o.host}]` : o.host}:${o.port}: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
    };
    sock.once('error', onError);
    sock.bind({ address: o.host, port: o.port, exclusive: true }, () => {
      sock.off('error', onError);
      try {
        sock.setRecvBufferSize(SOCKET_BUFFER_BYTES);
        sock.setSendBufferSize(SOCKET_BUFFER_BYTES);
      } catch { /* best effort */ }
      sock.on('error', (err) => {
        dgramSendErrors.set(sock, (dgramSendErrors.get(sock) ?? 0) + 1);
        o.log?.(`udp ${o.host}:${o.port}: ${err.message}`);
      });
      sock.on('message', (msg, rinfo) => handler.onUdp(sock, msg, rinfo.address, rinfo.port));
      resolve(sock);
    });
  });
}
