// A small authoritative DNS server over UDP and TCP for the zones in a ZoneSet.
// `answerQuery` is the whole protocol (pure: bytes in, bytes out); the sockets
// around it only add framing, limits and cleanup.

import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { createServer, type Server as TcpServer, type Socket as TcpSocket } from 'node:net';
import { CLASSIC_UDP_SIZE, EDNS_UDP_SIZE, FLAG, HEADER_LEN, OPCODE, RCODE, TYPE } from '../../dns/constants.js';
import { encodeMessage, parseMessage, type Message, type ResourceRecord } from '../../dns/message.js';
import { addDnssec } from '../dnssec/respond.js';
import type { ZoneSet } from './zone.js';

export interface AnswerContext {
  tcp: boolean;
  /** Largest UDP payload we ever send, whatever the client advertises (NSD: ipv4-edns-size). */
  maxUdpSize?: number;
}

/**
 * Builds the response to one query packet, or null when the packet must be
 * dropped (shorter than a header, or a response: QR=1 is never answered).
 */
export function answerQuery(zones: ZoneSet, packet: Uint8Array, ctx: AnswerContext): Buffer | null {
  if (packet.length < HEADER_LEN) return null;
  const flags = (packet[2] << 8) | packet[3];
  if (flags & FLAG.QR) return null;
  const id = (packet[0] << 8) | packet[1];
  const opcode = (flags >> 11) & 0xf;
  // RD is copied (RFC 1035 4.1.1). CD is not (NSD does not either).
  const echoed = flags & FLAG.RD;

  let query: Message;
  try {
    query = parseMessage(packet, { maxRecords: 16 });
  } catch {
    return header(id, echoed | FLAG.QR, opcode, RCODE.FORMERR);
  }
  const q = query.questions[0];
  const reply = (rcode: number, extraFlags = 0): Message => ({
    id, flags: FLAG.QR | echoed | extraFlags, rcode, opcode,
    questions: query.questions.length === 1 ? [q] : [],
    answers: [], authority: [], additional: [],
    edns: query.edns ? { udpSize: ctx.maxUdpSize ?? EDNS_UDP_SIZE, extendedRcode: 0, version: 0, dnssecOk: query.edns.dnssecOk, options: [] } : undefined,
  });
  if (opcode !== OPCODE.QUERY) return encodeMessage({ ...reply(RCODE.NOTIMP), questions: [] });
  if (query.questions.length !== 1 || query.answers.length || query.authority.length) return encodeMessage(reply(RCODE.FORMERR));
  if (query.edns && query.edns.version !== 0) return encodeMessage(reply(RCODE.BADVERS));
  // No zone transfers: REFUSED over TCP; over UDP (where AXFR cannot work) NOTIMP, as NSD does.
  if (q.type === TYPE.AXFR || q.type === TYPE.IXFR) return encodeMessage(reply(ctx.tcp ? RCODE.REFUSED : RCODE.NOTIMP));
  if (q.type === TYPE.OPT) return encodeMessage(reply(RCODE.FORMERR));

  const found = zones.lookup(q.name, q.type, q.class);
  if (query.edns?.dnssecOk) addDnssec(zones, q.name, q.type, found);
  const msg = reply(found.rcode, found.aa ? FLAG.AA : 0);
  msg.answers = found.answers;
  msg.authority = found.authority;
  msg.additional = found.additional;

  if (ctx.tcp) return encodeMessage(msg);
  const maxUdp = ctx.maxUdpSize ?? EDNS_UDP_SIZE;
  const limit = query.edns ? Math.max(CLASSIC_UDP_SIZE, Math.min(query.edns.udpSize, maxUdp)) : CLASSIC_UDP_SIZE;
  return fitUdp(msg, limit);
}

function header(id: number, flags: number, opcode: number, rcode: number): Buffer {
  const b = Buffer.alloc(HEADER_LEN);
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE((flags & ~0x780f) | (opcode << 11) | rcode, 2);
  return b;
}

/** RRsets of one section in order, so truncation never splits an RRset. */
function rrsets(section: ResourceRecord[]): ResourceRecord[][] {
  const out: ResourceRecord[][] = [];
  for (const rr of section) {
    const last = out[out.length - 1];
    if (last && last[0].type === rr.type && last[0].name.toLowerCase() === rr.name.toLowerCase()) last.push(rr);
    else out.push([rr]);
  }
  return out;
}

/**
 * Makes a UDP response fit `limit` bytes. Additional data is dropped silently,
 * whole RRsets from the end (RFC 2181 9). If the answer or authority sections do
 * not fit, TC is set and the sections are emptied: the client retries over TCP.
 */
function fitUdp(msg: Message, limit: number): Buffer {
  let wire = encodeMessage(msg);
  if (wire.length <= limit) return wire;
  const extra = rrsets(msg.additional);
  while (extra.length) {
    extra.pop();
    msg.additional = extra.flat();
    wire = encodeMessage(msg);
    if (wire.length <= limit) return wire;
  }
  msg.flags |= FLAG.TC;
  msg.answers = [];
  msg.authority = [];
  msg.additional = [];
  return encodeMessage(msg);
}

export interface AuthServerOptions {
  zones: ZoneSet;
  address: string;
  /** 0 picks a free port (the same one for UDP and TCP). */
  port: number;
  maxUdpSize?: number;
  /** Idle TCP connections are closed after this long (default 10 s). */
  tcpIdleMs?: number;
  /** Concurrent TCP connections (default 64); more are closed at once. */
  maxTcpConnections?: number;
}

export interface AuthServer {
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Starts UDP and TCP listeners on one address and port. */
export async function startAuthServer(opts: AuthServerOptions): Promise<AuthServer> {
  const family = isIPv6(opts.address) ? 'udp6' : 'udp4';
  const ctx = { tcp: false, maxUdpSize: opts.maxUdpSize };
  const udp: UdpSocket = createSocket({ type: family });
  udp.on('message', (packet, rinfo) => {
    let out: Buffer | null;
    try {
      out = answerQuery(opts.zones, packet, ctx);
    } catch {
      out = null; // a bug must not take the server down; the client times out and retries
    }
    if (out) udp.send(out, rinfo.port, rinfo.address);
  });
  udp.on('error', () => { /* per-packet send errors (e.g. ICMP unreachable) are not fatal */ });
  await new Promise<void>((resolve, reject) => {
    const onErr = (err: Error) => reject(err);
    udp.once('error', onErr);
    udp.bind(opts.port, opts.address, () => { udp.off('error', onErr); resolve(); });
  });
  const port = udp.address().port;

  const conns = new Set<TcpSocket>();
  const maxConns = opts.maxTcpConnections ?? 64;
  const idleMs = opts.tcpIdleMs ?? 10_000;
  const tcp: TcpServer = createServer((sock) => {
    if (conns.size >= maxConns) { sock.destroy(); return; }
    conns.add(sock);
    sock.setTimeout(idleMs, () => sock.destroy());
    sock.on('close', () => conns.delete(sock));
    sock.on('error', () => sock.destroy());
    let pending = Buffer.alloc(0);
    sock.on('data', (chunk) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      // RFC 7766: several queries may arrive in one segment (pipelining); answer each in order.
      while (pending.length >= 2) {
        const len = pending.readUInt16BE(0);
        if (pending.length < 2 + len) break;
        const packet = pending.subarray(2, 2 + len);
        pending = pending.subarray(2 + len);
        let out: Buffer | null;
        try {
          out = answerQuery(opts.zones, packet, { tcp: true });
        } catch {
          out = null;
        }
        if (!out) { sock.destroy(); return; }
        const frame = Buffer.allocUnsafe(2 + out.length);
        frame.writeUInt16BE(out.length, 0);
        out.copy(frame, 2);
        sock.write(frame);
      }
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen({ port, host: opts.address, exclusive: true }, () => { tcp.off('error', reject); resolve(); });
    });
  } catch (err) {
    udp.close();
    throw err;
  }

  let closed: Promise<void> | undefined;
  return {
    address: opts.address,
    port,
    close(): Promise<void> {
      closed ??= new Promise<void>((resolve) => {
        for (const s of conns) s.destroy();
        let left = 2;
        const done = () => { if (--left === 0) resolve(); };
        tcp.close(() => done());
        udp.close(() => done());
      });
      return closed;
    },
  };
}
