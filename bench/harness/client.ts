// A small stub client for tests and benches, built on dns/: one question over
// UDP or TCP, bound to a chosen source address (so ACL tests can pick the
// client's address), with a hard timeout. Not for production use.

import dgram from 'node:dgram';
import net from 'node:net';
import { randomInt } from 'node:crypto';
import { CLASS, FLAG } from '../../dns/constants.js';
import { buildQuery, parseMessage, type EdnsOption, type Message } from '../../dns/message.js';

export interface QueryOptions {
  server: string;
  port?: number;
  tcp?: boolean;
  timeoutMs?: number;
  /** Source address to bind (default: the kernel's choice). */
  localAddress?: string;
  class?: number;
  /** Recursion desired (default true). */
  rd?: boolean;
  cd?: boolean;
  /** The EDNS DO bit (ask for DNSSEC records); needs EDNS. */
  dnssecOk?: boolean;
  /** EDNS UDP size to advertise; null sends no OPT record (default 1232). */
  ednsUdpSize?: number | null;
  ednsOptions?: EdnsOption[];
  id?: number;
}

export interface Reply {
  msg: Message;
  raw: Buffer;
  rttMs: number;
  tcp: boolean;
}

/** QueryTimeout's machine code (a closed set of one; see docs/errors.md). */
export type QueryTimeoutCode = 'QUERY_TIMEOUT';

/** No answer within the test client's timeout. */
export class QueryTimeout extends Error {
  readonly code: QueryTimeoutCode = 'QUERY_TIMEOUT';
  constructor(what: string, ms: number) {
    super(`no answer to ${what} within ${ms} ms`);
    this.name = 'QueryTimeout';
  }
}

function encodeQuestion(name: string, type: number, o: QueryOptions, id: number): Buffer {
  return buildQuery({
    id, name, type, class: o.class ?? CLASS.IN, rd: o.rd ?? true, cd: o.cd,
    ednsUdpSize: o.ednsUdpSize === null ? undefined : (o.ednsUdpSize ?? 1232),
    ednsOptions: o.ednsOptions, dnssecOk: o.dnssecOk,
  });
}

/** Sends raw bytes over UDP and resolves with the first datagram from the server, or rejects on timeout. */
export function udpExchange(payload: Buffer, o: Pick<QueryOptions, 'server' | 'port' | 'timeoutMs' | 'localAddress'>, accept: (b: Buffer) => boolean = () => true): Promise<Buffer> {
  const port = o.port ?? 53;
  const timeoutMs = o.timeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket('udp4');
    let done = false;
    const finish = (err: Error | null, b?: Buffer) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.close();
      if (err) reject(err); else resolve(b!);
    };
    const timer = setTimeout(() => finish(new QueryTimeout(`UDP query to ${o.server}:${port}`, timeoutMs)), timeoutMs);
    sock.on('error', (e) => finish(e));
    sock.on('message', (b, rinfo) => {
      if (rinfo.address !== o.server || rinfo.port !== port) return;
      if (accept(b)) finish(null, b);
    });
    sock.bind({ address: o.localAddress ?? '0.0.0.0', port: 0 }, () => {
      sock.send(payload, port, o.server, (e) => { if (e) finish(e); });
    });
  });
}

/** Sends framed messages over one TCP connection and collects `expect` framed replies. */
export function tcpExchange(payloads: Buffer[], o: Pick<QueryOptions, 'server' | 'port' | 'timeoutMs' | 'localAddress'>, expect = payloads.length): Promise<Buffer[]> {
  const port = o.port ?? 53;
  const timeoutMs = o.timeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: o.server, port, localAddress: o.localAddress });
    const replies: Buffer[] = [];
    let pending = Buffer.alloc(0);
    let done = false;
    const finish = (err: Error | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err); else resolve(replies);
    };
    const timer = setTimeout(() => finish(new QueryTimeout(`TCP query to ${o.server}:${port} (${replies.length}/${expect} replies)`, timeoutMs)), timeoutMs);
    sock.on('error', (e) => finish(e));
    sock.on('close', () => finish(replies.length >= expect ? null : new Error(`TCP connection to ${o.server}:${port} closed after ${replies.length}/${expect} replies`)));
    sock.on('connect', () => {
      const framed = payloads.map((p) => { const l = Buffer.alloc(2); l.writeUInt16BE(p.length); return Buffer.concat([l, p]); });
      sock.write(Buffer.concat(framed));
    });
    sock.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const len = pending.readUInt16BE(0);
        if (pending.length < 2 + len) break;
        replies.push(pending.subarray(2, 2 + len));
        pending = pending.subarray(2 + len);
      }
      if (replies.length >= expect) finish(null);
    });
  });
}

/** One question, one answer. Rejects on timeout or on a reply that does not parse. */
export async function query(name: string, type: number, o: QueryOptions): Promise<Reply> {
  const id = o.id ?? randomInt(0, 0x10000);
  const payload = encodeQuestion(name, type, o, id);
  const t0 = performance.now();
  let raw: Buffer;
  if (o.tcp) {
    [raw] = await tcpExchange([payload], o, 1);
  } else {
    raw = await udpExchange(payload, o, (b) => b.length >= 2 && b.readUInt16BE(0) === id);
  }
  const rttMs = performance.now() - t0;
  const msg = parseMessage(raw);
  if (msg.id !== id) throw new Error(`reply ID ${msg.id} does not match query ID ${id}`);
  return { msg, raw, rttMs, tcp: !!o.tcp };
}

/** Like a stub resolver: UDP first, TCP when the reply has TC=1. */
export async function queryWithTcpFallback(name: string, type: number, o: QueryOptions): Promise<Reply & { truncatedFirst: boolean }> {
  const first = await query(name, type, { ...o, tcp: false });
  if (!(first.msg.flags & FLAG.TC)) return { ...first, truncatedFirst: false };
  const second = await query(name, type, { ...o, tcp: true });
  return { ...second, truncatedFirst: true };
}
