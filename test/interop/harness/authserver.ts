// A tiny scriptable authoritative server for the cases NSD cannot play: a hostile
// server that adds forged records, a server whose data changes between queries
// (TTL expiry), a silent blackhole, and a spoofer answering from the wrong
// address. It uses dns/ to decode and encode and logs every question it gets.

import dgram from 'node:dgram';
import net from 'node:net';
import { CLASS, FLAG, TYPE } from '../../../dns/constants.js';
import { encodeMessage, parseMessage, type Message, type ResourceRecord } from '../../../dns/message.js';
import { rdataFromText } from '../../../dns/rdata.js';

export interface Seen {
  name: string;
  type: number;
  from: string;
  port: number;
  tcp: boolean;
}

export interface Outgoing {
  /** The reply message (its ID and question are filled from the query when omitted). */
  msg?: Partial<Message>;
  /** Raw bytes to send instead of `msg`. */
  raw?: Buffer;
  /** Send from another socket (a spoofer bound elsewhere). */
  via?: dgram.Socket;
  delayMs?: number;
}

/** Returns what to send for a query: nothing (silence), one reply, or several. */
export type Handler = (q: Message, ctx: { from: string; port: number; tcp: boolean }) => Outgoing | Outgoing[] | null;

export interface AuthServer {
  address: string;
  seen: Seen[];
  close(): Promise<void>;
}

export function rr(name: string, type: number, ttl: number, text: string, cls: number = CLASS.IN): ResourceRecord {
  return { name, type, class: cls, ttl, rdata: rdataFromText(type, text) };
}

/** A reply skeleton: QR and AA set, question copied. */
export function reply(q: Message, parts: Partial<Message> & { aa?: boolean }): Partial<Message> {
  const aa = parts.aa ?? true;
  return {
    id: q.id,
    flags: FLAG.QR | (aa ? FLAG.AA : 0) | (q.flags & FLAG.RD),
    rcode: 0, opcode: 0,
    questions: q.questions,
    answers: [], authority: [], additional: [],
    ...parts,
  };
}

function complete(q: Message, m: Partial<Message>): Buffer {
  const full: Message = {
    id: q.id, flags: FLAG.QR | FLAG.AA, rcode: 0, opcode: 0, questions: q.questions,
    answers: [], authority: [], additional: [], ...m,
  };
  if (q.edns && !full.edns) full.edns = { udpSize: 1232, extendedRcode: 0, version: 0, dnssecOk: false, options: [] };
  return encodeMessage(full);
}

/** Starts UDP and TCP on ADDRESS:53. With handler null the server reads and never answers (a blackhole). */
export async function startAuthServer(address: string, handler: Handler | null, port = 53): Promise<AuthServer> {
  const seen: Seen[] = [];
  const udp = dgram.createSocket('udp4');
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void) => {
    if (!ms) { fn(); return; }
    const t = setTimeout(() => { timers.delete(t); fn(); }, ms);
    timers.add(t);
  };
  const answer = (buf: Buffer, ctx: { from: string; port: number; tcp: boolean }, send: (b: Buffer, via?: dgram.Socket) => void) => {
    let q: Message;
    try { q = parseMessage(buf); } catch { return; }
    if (q.flags & FLAG.QR) return;
    const first = q.questions[0];
    if (first) seen.push({ name: first.name, type: first.type, from: ctx.from, port: ctx.port, tcp: ctx.tcp });
    if (!handler) return;
    const out = handler(q, ctx);
    if (!out) return;
    for (const o of Array.isArray(out) ? out : [out]) {
      const bytes = o.raw ?? complete(q, o.msg ?? {});
      later(o.delayMs ?? 0, () => send(bytes, o.via));
    }
  };
  udp.on('message', (buf, rinfo) => {
    answer(buf, { from: rinfo.address, port: rinfo.port, tcp: false }, (b, via) => {
      // Over UDP a reply that does not fit gets TC=1 with no records, like any server.
      const limit = 1232;
      const bytes = b.length > limit ? truncated(b) : b;
      (via ?? udp).send(bytes, rinfo.port, rinfo.address);
    });
  });
  await new Promise<void>((resolve, reject) => { udp.once('error', reject); udp.bind(port, address, () => resolve()); });

  const conns = new Set<net.Socket>();
  const tcp = net.createServer((sock) => {
    conns.add(sock);
    sock.on('close', () => conns.delete(sock));
    sock.on('error', () => { /* peer went away */ });
    let pending = Buffer.alloc(0);
    sock.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const len = pending.readUInt16BE(0);
        if (pending.length < 2 + len) break;
        const msg = pending.subarray(2, 2 + len);
        pending = pending.subarray(2 + len);
        answer(msg, { from: sock.remoteAddress ?? '', port: sock.remotePort ?? 0, tcp: true }, (b) => {
          if (sock.destroyed) return;
          const l = Buffer.alloc(2); l.writeUInt16BE(b.length);
          sock.write(Buffer.concat([l, b]));
        });
      }
    });
  });
  await new Promise<void>((resolve, reject) => { tcp.once('error', reject); tcp.listen(port, address, () => resolve()); });

  return {
    address, seen,
    async close() {
      for (const t of timers) clearTimeout(t);
      for (const c of conns) c.destroy();
      await new Promise<void>((r) => tcp.close(() => r()));
      await new Promise<void>((r) => udp.close(() => r()));
    },
  };
}

/** Header and question only, TC=1: what a server sends when the answer does not fit. */
function truncated(b: Buffer): Buffer {
  const m = parseMessage(b);
  return encodeMessage({ ...m, flags: m.flags | FLAG.TC, answers: [], authority: [], additional: [] });
}

/** Binds a plain UDP socket (for spoofing replies from another address). */
export async function bindUdp(address: string, port = 53): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => { s.once('error', reject); s.bind(port, address, () => resolve()); });
  return s;
}

export { TYPE, CLASS };
