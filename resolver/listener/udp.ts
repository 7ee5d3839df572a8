// One UDP socket per service address, so replies leave from the address the
// client asked (an anycast /32 on lo next to the node's own address).
// The 'message' handler is created once per socket: no closure per packet.

import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { FastUdpSocket, fastUdp } from '../../native/index.js';

/** What the front needs of a UDP socket: node:dgram's send shape. */
export interface UdpReplySocket {
  send(msg: Buffer, port: number, address: string): void;
}

/** A bound listener socket, dgram or fastudp. */
export interface UdpListenSocket extends UdpReplySocket {
  address(): { address: string; port: number };
  close(cb?: () => void): void;
}

export interface UdpHandler {
  /** `msg` may be a view into a buffer that is reused once this returns: copy it to keep it. */
  onUdp(sock: UdpReplySocket, msg: Buffer, address: string, port: number): void;
}

export interface UdpBindOptions {
  host: string;
  port: number;
  reusePort?: boolean;
  log?: (msg: string) => void;
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
 * built, else with node:dgram. Both give the handler the same calls.
 */
export function bindUdp(o: UdpBindOptions, handler: UdpHandler): Promise<UdpListenSocket> {
  const b = fastUdp();
  if (b === null) return bindDgram(o, handler);
  try {
    return Promise.resolve(new FastUdpSocket(b, {
      host: o.host, port: o.port, reusePort: o.reusePort === true,
      recvBufferBytes: SOCKET_BUFFER_BYTES, sendBufferBytes: SOCKET_BUFFER_BYTES,
    }, handler));
  } catch (err) {
    const host = isIPv6(o.host) ? `[${o.host}]` : o.host;
    return Promise.reject(new Error(`cannot listen on udp ${host}:${o.port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`));
  }
}

export function bindDgram(o: UdpBindOptions, handler: UdpHandler): Promise<dgram.Socket> {
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
      sock.on('error', (err) => o.log?.(`udp ${o.host}:${o.port}: ${err.message}`));
      sock.on('message', (msg, rinfo) => handler.onUdp(sock, msg, rinfo.address, rinfo.port));
      resolve(sock);
    });
  });
}
