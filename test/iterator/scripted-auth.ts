// A scripted authoritative "network" for iterator scenario tests, in the spirit of
// unbound's testbound .rpl files and Deckard: each server address answers from a
// list of canned entries (first match wins), over real UDP and TCP sockets on
// loopback. Entries can misbehave on purpose: drop the query (dead server), answer
// with a wrong ID or question, answer from another address, set TC, or carry
// forged records, so the resolver's defences are tested on the wire.

import dgram from 'node:dgram';
import net from 'node:net';
import { CLASS, FLAG, RCODE, TYPE, parseType } from '../../dns/constants.js';
import { encodeMessage, parseMessage, type Message, type ResourceRecord } from '../../dns/message.js';
import { isSubdomain, lowerName, normalizeName } from '../../dns/name.js';
import { rdataFromText } from '../../dns/rdata.js';

export interface Reply {
  rcode?: number;
  aa?: boolean;
  ra?: boolean;
  /** Set TC and send no records over UDP; TCP gets the full reply. */
  tc?: boolean;
  answer?: string[];
  authority?: string[];
  additional?: string[];
  /** Send nothing (a dead server, or dead for this question). */
  drop?: boolean;
  /** Add this to the ID (a reply that must be ignored). */
  idDelta?: number;
  /** Put another name in the question section. */
  questionName?: string;
  /** Send the reply from this address instead (must be one of the network's addresses). */
  fromAddress?: string;
  /** After the bad reply (idDelta/questionName/fromAddress), also send the proper one. */
  thenProper?: boolean;
  /** Garbage bytes with the right ID instead of a message. */
  malformed?: boolean;
  /** Delay before sending, ms. */
  delayMs?: number;
}

export interface Entry {
  /** Owner to match (case-insensitive), without or with trailing dot. */
  name: string;
  /** Type mnemonic; omitted matches every type. */
  type?: string;
  /** Match the name and everything below it. */
  subdomain?: boolean;
  reply: Reply | ((q: { name: string; type: number; edns: boolean; tcp: boolean }) => Reply);
  /** Reply over TCP (default: same as `reply` without tc). */
  tcpReply?: Reply;
}

export interface ServerScript {
  address: string;
  entries: Entry[];
  /** Reply when no entry matches (default REFUSED). */
  fallback?: Reply;
}

export interface SeenQuery {
  server: string;
  name: string;
  type: number;
  tcp: boolean;
  edns: boolean;
  rd: boolean;
  srcPort: number;
  id: number;
}

/** Parses "owner [ttl] [IN] TYPE rdata" with absolute names. */
export function rr(line: string): ResourceRecord {
  const tok = line.trim().split(/\s+/);
  const name = normalizeName(tok[0]);
  let p = 1;
  let ttl = 300;
  if (/^\d+$/.test(tok[p])) ttl = Number(tok[p++]);
  let cls: number = CLASS.IN;
  if (tok[p] === 'IN') p++;
  else if (tok[p] === 'CH') { cls = CLASS.CH; p++; }
  const type = parseType(tok[p]);
  if (type === undefined) throw new Error(`bad type in "${line}"`);
  const rest = tok.slice(p + 1).join(' ');
  return { name, type, class: cls, ttl, rdata: rdataFromText(type, rest) };
}

export class ScriptedNet {
  readonly seen: SeenQuery[] = [];
  /** Script errors (a bad canned record): tests should expect this to stay empty. */
  readonly errors: string[] = [];
  private readonly udp = new Map<string, dgram.Socket>();
  private readonly tcp: net.Server[] = [];
  private readonly conns = new Set<net.Socket>();
  private readonly scripts = new Map<string, ServerScript>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Called for every UDP query a server sees, with the resolver's source address and port (an on-path observer). */
  onUdpQuery: ((q: SeenQuery, resolverAddress: string) => void) | undefined;

  constructor(readonly port: number) {}

  /** Sends raw bytes from one of the network's addresses (a spoofer using a server's address). */
  sendFrom(fromAddress: string, bytes: Buffer, port: number, address: string, cb?: () => void): void {
    this.udp.get(fromAddress)!.send(bytes, port, address, cb);
  }

  /** Binds UDP and TCP on every server address (plus spare addresses used as spoof sources). */
  async start(servers: ServerScript[], spareAddresses: string[] = []): Promise<void> {
    for (const s of servers) this.scripts.set(s.address, s);
    const addrs = [...servers.map((s) => s.address), ...spareAddresses];
    for (const address of addrs) {
      const sock = dgram.createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.bind(this.port, address, () => { sock.off('error', reject); resolve(); });
      });
      sock.on('message', (buf, rinfo) => this.onUdp(address, buf, rinfo));
      this.udp.set(address, sock);
      if (!this.scripts.has(address)) continue;
      const srv = net.createServer((c) => this.onTcp(address, c));
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(this.port, address, () => { srv.off('error', reject); resolve(); });
      });
      this.tcp.push(srv);
    }
  }

  /** Replaces a server's entries mid-test (a server coming back, a zone changing). */
  setScript(s: ServerScript): void {
    this.scripts.set(s.address, s);
  }

  queriesTo(address: string): SeenQuery[] {
    return this.seen.filter((q) => q.server === address);
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    for (const c of this.conns) c.destroy();
    await Promise.all([...this.udp.values()].map((s) => new Promise<void>((r) => s.close(() => r()))));
    await Promise.all(this.tcp.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }

  private pick(address: string, q: { name: string; type: number }, tcp: boolean, edns: boolean): Reply {
    const script = this.scripts.get(address);
    if (!script) return { drop: true };
    for (const e of script.entries) {
      const want = normalizeName(e.name);
      const nameOk = e.subdomain ? isSubdomain(q.name, want) : lowerName(q.name) === lowerName(want);
      const typeOk = e.type === undefined || parseType(e.type) === q.type;
      if (!nameOk || !typeOk) continue;
      if (tcp && e.tcpReply) return e.tcpReply;
      const r = typeof e.reply === 'function' ? e.reply({ name: q.name, type: q.type, edns, tcp }) : e.reply;
      return tcp ? { ...r, tc: false } : r;
    }
    return script.fallback ?? { rcode: RCODE.REFUSED };
  }

  private build(query: Message, r: Reply, udp: boolean): Buffer {
    if (r.malformed) {
      const b = Buffer.alloc(40, 0xff);
      b.writeUInt16BE(query.id, 0);
      b[2] = 0x84; // QR, AA
      return b;
    }
    let flags = FLAG.QR;
    if (r.aa ?? true) flags |= FLAG.AA;
    if (r.ra) flags |= FLAG.RA;
    const q = query.questions[0];
    const msg: Message = {
      id: (query.id + (r.idDelta ?? 0)) & 0xffff, flags, rcode: r.rcode ?? RCODE.NOERROR, opcode: 0,
      questions: [{ ...q, name: r.questionName ? normalizeName(r.questionName) : q.name }],
      answers: (r.answer ?? []).map(rr), authority: (r.authority ?? []).map(rr), additional: (r.additional ?? []).map(rr),
      edns: query.edns ? { udpSize: 1232, extendedRcode: 0, version: 0, dnssecOk: false, options: [] } : undefined,
    };
    let out = encodeMessage(msg);
    const limit = query.edns ? query.edns.udpSize : 512;
    if (udp && (r.tc || out.length > limit)) {
      out = encodeMessage({ ...msg, flags: msg.flags | FLAG.TC, answers: [], authority: [], additional: [] });
    }
    return out;
  }

  private onUdp(address: string, buf: Buffer, rinfo: dgram.RemoteInfo): void {
    let query: Message;
    try { query = parseMessage(buf); } catch { return; }
    if (query.flags & FLAG.QR || query.questions.length !== 1) return;
    const q = query.questions[0];
    const seen: SeenQuery = { server: address, name: q.name, type: q.type, tcp: false, edns: !!query.edns, rd: (query.flags & FLAG.RD) !== 0, srcPort: rinfo.port, id: query.id };
    this.seen.push(seen);
    this.onUdpQuery?.(seen, rinfo.address);
    const r = this.pick(address, q, false, !!query.edns);
    if (r.drop) return;
    const send = () => { try { sendNow(); } catch (e) { this.errors.push(`${address} ${q.name}: ${(e as Error).message}`); } };
    const sendNow = () => {
      const bad = r.idDelta || r.questionName || r.fromAddress;
      const from = r.fromAddress ? this.udp.get(r.fromAddress)! : this.udp.get(address)!;
      from.send(this.build(query, r, true), rinfo.port, rinfo.address);
      if (bad && r.thenProper) {
        const proper: Reply = { ...r, idDelta: 0, questionName: undefined, fromAddress: undefined };
        this.udp.get(address)!.send(this.build(query, proper, true), rinfo.port, rinfo.address);
      }
    };
    if (r.delayMs) {
      const t = setTimeout(() => { this.timers.delete(t); send(); }, r.delayMs);
      this.timers.add(t);
    } else send();
  }

  private onTcp(address: string, c: net.Socket): void {
    this.conns.add(c);
    c.on('close', () => this.conns.delete(c));
    c.on('error', () => {});
    let buf = Buffer.alloc(0);
    c.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) return;
        const one = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        let query: Message;
        try { query = parseMessage(one); } catch { c.destroy(); return; }
        const q = query.questions[0];
        this.seen.push({ server: address, name: q.name, type: q.type, tcp: true, edns: !!query.edns, rd: (query.flags & FLAG.RD) !== 0, srcPort: c.remotePort ?? 0, id: query.id });
        const r = this.pick(address, q, true, !!query.edns);
        if (r.drop) continue;
        let out: Buffer;
        try { out = this.build(query, r, false); } catch (e) { this.errors.push(`${address} ${q.name}: ${(e as Error).message}`); continue; }
        const frame = Buffer.alloc(2 + out.length);
        frame.writeUInt16BE(out.length, 0);
        out.copy(frame, 2);
        c.write(frame);
      }
    });
  }
}

// ---- small builders for canned replies -------------------------------------

/** The root's answer to priming (. NS): one root server, a.root.test, at `rootAddress`. */
export function priming(rootAddress: string): Entry {
  return { name: '.', type: 'NS', reply: { answer: ['. 86400 IN NS a.root.test.'], additional: [`a.root.test. 86400 IN A ${rootAddress}`] } };
}

/** A root that answers priming and refers everything under `test` to ns.nic.test at `tldAddress`. */
export function rootDelegatingTest(rootAddress: string, tldAddress: string): ServerScript {
  return {
    address: rootAddress,
    entries: [
      priming(rootAddress),
      { name: 'test', subdomain: true, reply: referral('test', [['ns.nic.test.', tldAddress]]) },
    ],
  };
}

/** A referral: NS records for `zone` and glue lines. */
export function referral(zone: string, ns: Array<[string, string | undefined]>, ttl = 3600): Reply {
  const z = zone.endsWith('.') ? zone : zone + '.';
  return {
    aa: false,
    authority: ns.map(([n]) => `${z} ${ttl} IN NS ${n}`),
    additional: ns.filter(([, ip]) => ip).map(([n, ip]) => `${n} ${ttl} IN A ${ip}`),
  };
}

export function soaLine(zone: string, ttl = 3600, minimum = 300): string {
  const z = zone.endsWith('.') ? zone : zone + '.';
  return `${z} ${ttl} IN SOA ns1.${z === '.' ? '' : z} hostmaster.${z === '.' ? '' : z} 1 7200 3600 1209600 ${minimum}`;
}

export function nxdomain(zone: string, ttl = 3600, minimum = 300): Reply {
  return { rcode: RCODE.NXDOMAIN, authority: [soaLine(zone, ttl, minimum)] };
}

export function nodata(zone: string, ttl = 3600, minimum = 300): Reply {
  return { authority: [soaLine(zone, ttl, minimum)] };
}

export { TYPE, RCODE };
