// Test helpers for the resolver front: a scripted Resolution and a small DNS client.
// Used by unit tests beside the code and by test/resolver; never on a serving path.

import dgram from 'node:dgram';
import net from 'node:net';
import { parseMessage, buildQuery, type Message, type QueryInit, type ResourceRecord } from '../../dns/message.js';
import { rdataFromText } from '../../dns/rdata.js';
import { parseType } from '../../dns/constants.js';
import type { Resolution, ResolveRequest, ResolveResult } from '../../resolver/iterator/types.js';

/** Builds a record from zone-file-like parts: rec('www.example.com', 300, 'A', '192.0.2.1'). */
export function rec(name: string, ttl: number, type: string, text: string, cls = 1): ResourceRecord {
  const t = parseType(type);
  if (t === undefined) throw new Error(`unknown type ${type}`);
  return { name, type: t, class: cls, ttl, rdata: rdataFromText(t, text) };
}

export type Script = (req: ResolveRequest) => ResolveResult | Promise<ResolveResult>;

/** A Resolution that answers from a function and records every call. */
export class FakeResolution implements Resolution {
  readonly calls: ResolveRequest[] = [];
  closed = false;
  constructor(public script: Script) {}
  async resolve(req: ResolveRequest): Promise<ResolveResult> {
    this.calls.push(req);
    return this.script(req);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

export function answer(answers: ResourceRecord[], cacheTtl?: number): ResolveResult {
  return { rcode: 0, answers, authority: [], additional: [], cacheTtl: cacheTtl ?? Math.min(...answers.map((a) => a.ttl)) };
}

/** Sends one UDP query and waits for one reply (or undefined after timeoutMs). */
export function udpAsk(host: string, port: number, query: Buffer, opts: { timeoutMs?: number; source?: string } = {}): Promise<Buffer | undefined> {
  const sock = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { sock.close(); resolve(undefined); }, opts.timeoutMs ?? 2000);
    sock.on('message', (msg) => { clearTimeout(timer); sock.close(); resolve(msg); });
    sock.on('error', (err) => { clearTimeout(timer); sock.close(); reject(err); });
    sock.bind({ address: opts.source ?? (net.isIPv6(host) ? '::1' : '127.0.0.1'), port: 0 }, () => sock.send(query, port, host));
  });
}

export async function udpQuery(host: string, port: number, q: Partial<QueryInit> & { name: string; type: number }, opts: { timeoutMs?: number; source?: string } = {}): Promise<Message> {
  const query = buildQuery({ id: q.id ?? Math.floor(Math.random() * 65536), rd: true, ...q });
  const reply = await udpAsk(host, port, query, opts);
  if (!reply) throw new Error(`no reply from ${host}:${port} for ${q.name}`);
  return parseMessage(reply);
}

/** Sends several framed queries on one TCP connection and collects `expect` replies. */
export function tcpAsk(host: string, port: number, queries: Buffer[], expect = queries.length, timeoutMs = 3000): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    const out: Buffer[] = [];
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => { sock.destroy(); resolve(out); }, timeoutMs);
    sock.on('connect', () => {
      sock.write(Buffer.concat(queries.map((q) => { const l = Buffer.alloc(2); l.writeUInt16BE(q.length); return Buffer.concat([l, q]); })));
    });
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const n = buf.readUInt16BE(0);
        out.push(buf.subarray(2, 2 + n));
        buf = buf.subarray(2 + n);
      }
      if (out.length >= expect) { clearTimeout(timer); sock.destroy(); resolve(out); }
    });
    sock.on('error', (err) => { clearTimeout(timer); reject(err); });
  });
}
