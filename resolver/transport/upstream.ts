// Upstream transport: one question to one authoritative server.
//  - UDP: a pool of sockets bound to port 0 (random ephemeral ports), each replaced
//    after a few queries, so source ports keep changing; each query goes out on a
//    random socket with a fresh random 16-bit ID from a CSPRNG. A reply counts only if it
//    comes from the queried address and port, carries our ID with QR=1, and repeats
//    our question (name compared case-insensitively, type and class exactly).
//    Anything else is ignored (and counted), and we keep waiting for the real one.
//  - EDNS0 advertising cfg.upstream.ednsUdpSize (1232), DO=0, RD=0.
//  - TC=1: the same question again over TCP (2-byte length framing, one answer,
//    bounded to 65535 bytes, with its own timeout).
//  - Loopback and 0.0.0.0/8 destinations are refused unless queryLocalhost is set.
// Hostile replies are parsed with dns/ (bounded work), never dns2.

import dgram from 'node:dgram';
import net from 'node:net';
import { randomFillSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { buildQuery, parseMessage, type Message } from '../../dns/message.js';
import { FLAG, HEADER_LEN } from '../../dns/constants.js';
import { lowerName } from '../../dns/name.js';
import { WireError } from '../../dns/errors.js';
import { ipv6ToBytes } from '../../dns/rdata.js';
import { FastUdpSocket, fastUdp } from '../../native/index.js';
import type { ResolverStats } from '../stats.js';

export interface UpstreamQuestion {
  address: string;
  port: number;
  name: string;
  type: number;
  class: number;
  /** Per-try timeout for the UDP exchange, ms. */
  timeoutMs: number;
  /** Timeout for the TCP exchange after TC=1, ms. */
  tcpTimeoutMs: number;
  /** Send an OPT record (false after the server choked on EDNS). */
  edns: boolean;
  /** After a UDP timeout, keep listening this long for a late answer (see UpstreamOutcome.late). */
  lingerMs?: number;
  /** Cancels the query (and any lingering) when aborted. An AbortSignal or a Canceller. */
  signal?: CancelSignal;
}

/** What the transport needs of a cancel signal; AbortSignal has this shape. */
export interface CancelSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * A cancel signal without EventTarget: the iterator makes one per delegation it
 * queries, and AbortController's event machinery was a visible share of a cold miss.
 */
export class Canceller implements CancelSignal {
  aborted = false;
  private listeners: Array<() => void> = [];

  get signal(): CancelSignal {
    return this;
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    if (!this.aborted) this.listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const i = this.listeners.indexOf(listener);
    if (i < 0) return;
    this.listeners[i] = this.listeners[this.listeners.length - 1];
    this.listeners.pop();
  }

  /** Calls every listener once; later listeners are not added. */
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const ls = this.listeners;
    this.listeners = [];
    for (const l of ls) l();
  }
}

export type UpstreamErrorCode =
  | 'LOCAL_REFUSED'  // destination is loopback/unspecified and queryLocalhost is off
  | 'BAD_DESTINATION'// multicast, broadcast or reserved: never queried, whatever a delegation says
  | 'MALFORMED'      // reply with our ID that dns/ could not parse
  | 'NETWORK'        // socket error (unreachable, reset, bad address)
  | 'TCP_FAILED'     // TCP fallback could not complete
  | 'CLOSED';        // the transport was closed

export type UpstreamOutcome =
  | { kind: 'answer'; msg: Message; rttMs: number; tcp: boolean; bytes: number }
  /**
   * No answer within timeoutMs. With lingerMs, `late` settles with the answer if it
   * still comes within lingerMs, else with a timeout (or an error).
   */
  | { kind: 'timeout'; tcp: boolean; late?: Promise<UpstreamOutcome> }
  | { kind: 'error'; code: UpstreamErrorCode; detail: string };

/** What the iterator needs from a transport; tests may supply their own. */
export interface Upstream {
  query(q: UpstreamQuestion): Promise<UpstreamOutcome>;
  close(): Promise<void>;
}

export interface TransportOptions {
  ednsUdpSize: number;
  queryLocalhost: boolean;
  stats: ResolverStats;
  /** Records parsed per reply at most (bounded work on hostile input). */
  maxRecords?: number;
  /** UDP sockets kept per address family (default 64). */
  udpSockets?: number;
  /** Queries sent on one socket before it is replaced by a fresh one on a new random port (default 128). */
  socketMaxUses?: number;
  /** 'dgram' forces node:dgram even when fastudp is built (tests of the fallback). */
  udpIo?: 'auto' | 'dgram';
}

const MAX_TCP_MESSAGE = 65535;

// Random IDs come from a pooled CSPRNG buffer: crypto per query is cheap this way.
const idPool = Buffer.alloc(2048);
let idPos = idPool.length;
export function randomId(): number {
  if (idPos + 2 > idPool.length) { randomFillSync(idPool); idPos = 0; }
  const id = idPool.readUInt16BE(idPos);
  idPos += 2;
  return id;
}

/** True for addresses a resolver must not query unless told to: 127/8, ::1, 0/8, ::, and their v4-mapped forms. */
export function isLocalAddress(address: string): boolean {
  let a = address.toLowerCase();
  if (a.startsWith('::ffff:') && net.isIPv4(a.slice(7))) a = a.slice(7);
  if (net.isIPv4(a)) {
    const first = Number(a.split('.')[0]);
    return first === 127 || first === 0;
  }
  if (net.isIPv6(a)) {
    const b = ipv6ToBytes(a);
    for (let i = 0; i < 15; i++) if (b[i] !== 0) return false;
    return b[15] === 0 || b[15] === 1;
  }
  return false;
}

interface Pending {
  q: UpstreamQuestion;
  id: number;
  finish(out: UpstreamOutcome): void;
  onReply(buf: Buffer): void;
}

/**
 * One UDP socket of the pool: bound to port 0 (a random ephemeral port chosen by
 * the kernel), carrying several queries at once, told apart by ID. A reply is
 * handed to the query with its ID only if it comes from that query's server
 * address and port; everything else is counted and ignored.
 */
class PooledSocket {
  private readonly dgram: dgram.Socket | null = null;
  private readonly fast: FastUdpSocket | null = null;
  private readonly pending = new Map<number, Pending>();
  uses = 0;
  retired = false;

  constructor(family: 4 | 6, private readonly stats: ResolverStats, private readonly onIdleRetired: (p: PooledSocket) => void, useDgram = false) {
    const b = useDgram ? null : fastUdp();
    if (b !== null) {
      try {
        // Slots of 64 KiB: no UDP answer is ever cut (untouched slot pages cost no memory).
        // Queries queue until the end of the event-loop turn and leave with one sendmmsg.
        this.fast = new FastUdpSocket(b, { host: family === 4 ? '0.0.0.0' : '::', port: 0, batch: 4, slotBytes: 65536, queueBytes: 32 * 1024, queueDatagrams: 128 }, {
          // The message is a view into the socket's slab: the reply is parsed before the next read.
          onUdp: (_s, buf, address, port) => this.onMessage(buf, address, port),
        });
        return;
      } catch (e) {
        this.fail((e as Error).message);
      }
    }
    // Destinations are IP literals checked in query(): skip dns.lookup (a regex and a nextTick per send).
    const lookup = (address: string, _o: unknown, cb: (err: Error | null, address: string, family: number) => void) => cb(null, address, family);
    this.dgram = dgram.createSocket({ type: family === 4 ? 'udp4' : 'udp6', lookup: lookup as unknown as dgram.SocketOptions['lookup'] });
    this.dgram.bind(0);
    this.dgram.on('message', (buf, rinfo) => this.onMessage(buf, rinfo.address, rinfo.port));
    this.dgram.on('error', (e) => this.fail(e.message));
  }

  /** A socket-level error ends every query on it; the pool replaces the socket. */
  private fail(message: string): void {
    this.stats.upstreamErrors++;
    for (const p of [...this.pending.values()]) p.finish({ kind: 'error', code: 'NETWORK', detail: message });
    this.retired = true;
    this.onIdleRetired(this);
  }

  /** Sends a query; a failed send (no route, e.g. IPv6 on an IPv4-only host) calls onError, now or soon. */
  send(packet: Buffer, port: number, address: string, onError: (message: string) => void): void {
    if (this.fast !== null) {
      this.fast.send(packet, port, address, (errno) => onError(`send to ${address}:${port} failed (errno ${errno})`));
      return;
    }
    if (this.dgram === null) { onError('socket could not be opened'); return; }
    // With a callback Node reports the error; without one it drops it and the query would wait out its timeout.
    // Some it throws at once (port 0).
    try {
      this.dgram.send(packet, port, address, (err) => { if (err) onError(err.message); });
    } catch (err) {
      onError((err as Error).message);
    }
  }

  /** A random ID not in use on this socket. */
  freeId(): number {
    for (;;) {
      const id = randomId();
      if (!this.pending.has(id)) return id;
    }
  }

  add(p: Pending): void {
    this.pending.set(p.id, p);
    this.uses++;
  }

  release(id: number): void {
    this.pending.delete(id);
    if (this.retired && this.pending.size === 0) this.onIdleRetired(this);
  }

  get idle(): boolean { return this.pending.size === 0; }

  private onMessage(buf: Buffer, address: string, port: number): void {
    if (buf.length < HEADER_LEN) { this.stats.upstreamErrors++; return; }
    const p = this.pending.get((buf[0] << 8) | buf[1]);
    // Unknown ID, or the right ID from the wrong place: not the answer. Keep waiting.
    if (!p || port !== p.q.port || !sameAddress(address, p.q.address)) { this.stats.upstreamErrors++; return; }
    p.onReply(buf);
  }

  close(): void {
    try { this.fast?.close(); this.dgram?.close(); } catch { /* already closed */ }
  }
}

/**
 * A small pool of UDP sockets per address family. Each query goes out on a
 * randomly chosen socket; a socket is replaced after `maxUses` queries, so source
 * ports keep changing (creating a socket per query costs more than the whole
 * resolution on a cache-cold path in Node).
 */
class UdpPool {
  private readonly slots: Record<4 | 6, PooledSocket[]> = { 4: [], 6: [] };
  private readonly retiring = new Set<PooledSocket>();

  constructor(private readonly size: number, private readonly maxUses: number, private readonly stats: ResolverStats, private readonly useDgram = false) {}

  /**
   * The socket for a query: a random one of the pool, the same for every query of
   * this event-loop turn, so that the turn's queries leave with one sendmmsg (on
   * loopback or a busy host a send per query costs several times more, most of it
   * waking the receiver). Each query keeps its own random ID; the socket's random
   * port changes every `maxUses` queries as before. An off-path attacker still has
   * to guess the port and the ID of the one query he wants to answer.
   */
  pick(family: 4 | 6): PooledSocket {
    const cur = this.turn[family];
    if (cur !== undefined && !cur.retired && cur.uses < this.maxUses) return cur;
    const slots = this.slots[family];
    const i = randomId() % this.size;
    let ps = slots[i];
    if (!ps || ps.retired || ps.uses >= this.maxUses) {
      if (ps && !ps.retired) this.retire(ps);
      ps = new PooledSocket(family, this.stats, (p) => this.idleRetired(p), this.useDgram);
      slots[i] = ps;
    }
    this.turn[family] = ps;
    if (!this.turnEnds) {
      this.turnEnds = true;
      setImmediate(this.endTurn);
    }
    return ps;
  }

  private readonly turn: Record<4 | 6, PooledSocket | undefined> = { 4: undefined, 6: undefined };
  private turnEnds = false;
  private readonly endTurn = (): void => {
    this.turnEnds = false;
    this.turn[4] = undefined;
    this.turn[6] = undefined;
  };

  private retire(ps: PooledSocket): void {
    ps.retired = true;
    if (ps.idle) ps.close();
    else this.retiring.add(ps);
  }

  private idleRetired(ps: PooledSocket): void {
    for (const fam of [4, 6] as const) {
      const at = this.slots[fam].indexOf(ps);
      if (at >= 0) delete this.slots[fam][at];
    }
    this.retiring.delete(ps);
    ps.close();
  }

  close(): void {
    this.turn[4] = undefined;
    this.turn[6] = undefined;
    for (const fam of [4, 6] as const) for (const ps of this.slots[fam]) ps?.close();
    for (const ps of this.retiring) ps.close();
    this.slots[4] = []; this.slots[6] = [];
    this.retiring.clear();
  }
}

/**
 * True for destinations no resolver should ever send to, whatever glue says:
 * IPv4 multicast 224/4 and reserved 240/4 (which holds 255.255.255.255), IPv6
 * multicast ff00::/8. A hostile delegation could otherwise aim queries at a LAN.
 */
export function isForbiddenDestination(address: string): boolean {
  let a = address.toLowerCase();
  if (a.startsWith('::ffff:') && net.isIPv4(a.slice(7))) a = a.slice(7);
  if (net.isIPv4(a)) return Number(a.split('.')[0]) >= 224;
  if (net.isIPv6(a)) return ipv6ToBytes(a)[0] === 0xff;
  return false;
}

export class UdpTcpTransport implements Upstream {
  private readonly o: TransportOptions;
  private readonly open = new Set<{ abort(): void }>();
  private readonly pool: UdpPool;
  private readonly destinations = new Map<string, { family: 0 | 4 | 6; forbidden: boolean; local: boolean }>();
  private closed = false;

  constructor(opts: TransportOptions) {
    this.o = opts;
    this.pool = new UdpPool(opts.udpSockets ?? 64, opts.socketMaxUses ?? 128, opts.stats, opts.udpIo === 'dgram');
  }

  async query(q: UpstreamQuestion): Promise<UpstreamOutcome> {
    if (this.closed) return { kind: 'error', code: 'CLOSED', detail: 'transport closed' };
    const dest = this.destination(q.address);
    if (dest.family === 0) return { kind: 'error', code: 'NETWORK', detail: `"${q.address}" is not an IP address` };
    if (dest.forbidden) {
      return { kind: 'error', code: 'BAD_DESTINATION', detail: `${q.address} is a multicast, broadcast or reserved address` };
    }
    if (!this.o.queryLocalhost && dest.local) {
      return { kind: 'error', code: 'LOCAL_REFUSED', detail: `${q.address} is a local address and queryLocalhost is off` };
    }
    const udp = await this.udp(q, dest.family);
    if (udp.kind === 'timeout' && udp.late) {
      // A late UDP answer with TC=1 still goes on to TCP.
      const late = udp.late.then((o) => (o.kind === 'answer' && (o.msg.flags & FLAG.TC) !== 0 ? this.tcp(q) : o));
      return { ...udp, late };
    }
    if (udp.kind !== 'answer' || (udp.msg.flags & FLAG.TC) === 0) return udp;
    const tcp = await this.tcp(q);
    return tcp;
  }

  /**
   * One UDP exchange in two phases. Until `timeoutMs` the returned promise waits for
   * the answer. Then, if `lingerMs` is set, it resolves with a timeout that carries
   * `late`: the socket keeps listening for this query's answer for `lingerMs` more,
   * so a server that is merely slow is still heard while the next server is tried.
   */
  private udp(q: UpstreamQuestion, family: 4 | 6): Promise<UpstreamOutcome> {
    const stats = this.o.stats;
    return new Promise((resolve) => {
      const ps = this.pool.pick(family);
      const id = ps.freeId();
      let packet: Buffer;
      try {
        packet = buildQuery({ id, name: q.name, type: q.type, class: q.class, rd: false, ednsUdpSize: q.edns ? this.o.ednsUdpSize : undefined });
      } catch (e) {
        resolve({ kind: 'error', code: 'NETWORK', detail: `cannot encode query: ${(e as Error).message}` });
        return;
      }
      let done = false;
      // Where the outcome goes: the caller first, then (after the soft timeout) the late promise.
      let deliver: (out: UpstreamOutcome) => void = resolve;
      let timer: NodeJS.Timeout | undefined;
      const sentAt = performance.now();
      const onAbort = () => pending.finish({ kind: 'error', code: 'CLOSED', detail: 'query cancelled' });
      const pending: Pending = {
        q, id,
        finish: (out) => {
          if (done) return;
          done = true;
          if (timer) clearTimeout(timer);
          this.open.delete(handle);
          q.signal?.removeEventListener('abort', onAbort);
          ps.release(id);
          deliver(out);
        },
        onReply: (buf) => {
          const verdict = matchReply(buf, id, q, this.o.maxRecords);
          if (verdict === 'mismatch') { stats.upstreamErrors++; return; }
          if (verdict instanceof WireError) {
            stats.upstreamErrors++;
            pending.finish({ kind: 'error', code: 'MALFORMED', detail: `${verdict.code}: ${verdict.message}` });
            return;
          }
          pending.finish({ kind: 'answer', msg: verdict, rttMs: performance.now() - sentAt, tcp: false, bytes: buf.length });
        },
      };
      const handle = { abort: () => pending.finish({ kind: 'error', code: 'CLOSED', detail: 'transport closed' }) };
      this.open.add(handle);
      if (q.signal) {
        if (q.signal.aborted) { onAbort(); return; }
        q.signal.addEventListener('abort', onAbort, { once: true });
      }
      ps.add(pending);
      // The timer fires in the timers phase; replies already queued in the kernel are only read in
      // the poll phase after it. Deciding in setImmediate (after poll) keeps event-loop lag from
      // turning an answer that did arrive into a timeout.
      timer = setTimeout(() => setImmediate(() => {
        if (done) return;
        stats.upstreamTimeouts++;
        const linger = Math.ceil(q.lingerMs ?? 0);
        if (linger <= 0) { pending.finish({ kind: 'timeout', tcp: false }); return; }
        const late = new Promise<UpstreamOutcome>((r) => { deliver = r; });
        timer = setTimeout(() => pending.finish({ kind: 'timeout', tcp: false }), linger);
        resolve({ kind: 'timeout', tcp: false, late });
      }), Math.max(1, q.timeoutMs));
      stats.upstreamQueries++;
      ps.send(packet, q.port, q.address, (message) => {
        stats.upstreamErrors++;
        pending.finish({ kind: 'error', code: 'NETWORK', detail: message });
      });
    });
  }

  private tcp(q: UpstreamQuestion): Promise<UpstreamOutcome> {
    const stats = this.o.stats;
    return new Promise((resolve) => {
      const id = randomId();
      let packet: Buffer;
      try {
        packet = buildQuery({ id, name: q.name, type: q.type, class: q.class, rd: false, ednsUdpSize: q.edns ? this.o.ednsUdpSize : undefined });
      } catch (e) {
        resolve({ kind: 'error', code: 'TCP_FAILED', detail: `cannot encode query: ${(e as Error).message}` });
        return;
      }
      const frame = Buffer.allocUnsafe(2 + packet.length);
      frame.writeUInt16BE(packet.length, 0);
      packet.copy(frame, 2);
      let done = false;
      const chunks: Buffer[] = [];
      let have = 0;
      const sock = net.connect({ host: q.address, port: q.port });
      const handle = { abort: () => finish({ kind: 'error', code: 'CLOSED', detail: 'transport closed' }) };
      const finish = (out: UpstreamOutcome) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.open.delete(handle);
        sock.destroy();
        resolve(out);
      };
      this.open.add(handle);
      const sentAt = performance.now();
      const timer = setTimeout(() => { stats.upstreamTimeouts++; finish({ kind: 'timeout', tcp: true }); }, Math.max(1, q.tcpTimeoutMs));
      stats.upstreamQueries++;
      sock.on('connect', () => { sock.write(frame); });
      sock.on('error', (e) => { stats.upstreamErrors++; finish({ kind: 'error', code: 'TCP_FAILED', detail: e.message }); });
      sock.on('close', () => { if (!done) { stats.upstreamErrors++; finish({ kind: 'error', code: 'TCP_FAILED', detail: 'connection closed before a full answer' }); } });
      sock.on('data', (d: Buffer) => {
        chunks.push(d);
        have += d.length;
        if (have > 2 + MAX_TCP_MESSAGE) { stats.upstreamErrors++; finish({ kind: 'error', code: 'TCP_FAILED', detail: 'more bytes than one DNS message' }); return; }
        if (have < 2) return;
        const buf = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
        chunks.length = 0; chunks.push(buf);
        const len = buf.readUInt16BE(0);
        if (have < 2 + len) return;
        const verdict = matchReply(buf.subarray(2, 2 + len), id, q, this.o.maxRecords);
        if (verdict === 'mismatch') {
          // On a connection of our own a wrong ID or question is not spoofing but a broken server.
          stats.upstreamErrors++;
          finish({ kind: 'error', code: 'TCP_FAILED', detail: 'TCP answer does not match the question' });
          return;
        }
        if (verdict instanceof WireError) {
          stats.upstreamErrors++;
          finish({ kind: 'error', code: 'MALFORMED', detail: `${verdict.code}: ${verdict.message}` });
          return;
        }
        finish({ kind: 'answer', msg: verdict, rttMs: performance.now() - sentAt, tcp: true, bytes: len });
      });
    });
  }

  /** Family and policy verdicts per destination, memoised: a resolver talks to few addresses. */
  private destination(address: string): { family: 0 | 4 | 6; forbidden: boolean; local: boolean } {
    let d = this.destinations.get(address);
    if (!d) {
      const family = net.isIP(address) as 0 | 4 | 6;
      d = { family, forbidden: family !== 0 && isForbiddenDestination(address), local: family !== 0 && isLocalAddress(address) };
      if (this.destinations.size >= 10_000) this.destinations.clear();
      this.destinations.set(address, d);
    }
    return d;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const h of [...this.open]) h.abort();
    this.pool.close();
  }
}

function sameAddress(a: string, b: string): boolean {
  if (a === b) return true;
  const strip = (x: string) => (x.startsWith('::ffff:') ? x.slice(7) : x).toLowerCase();
  const sa = strip(a), sb = strip(b);
  if (sa === sb) return true;
  if (net.isIPv6(sa) && net.isIPv6(sb)) return ipv6ToBytes(sa).equals(ipv6ToBytes(sb));
  return false;
}

/**
 * Checks a reply against the query without trusting anything in it: header first
 * (cheap), then a bounded full parse, then the question. A malformed packet that
 * does not even carry our ID is a mismatch, not an error for this server.
 */
export function matchReply(buf: Uint8Array, id: number, q: Pick<UpstreamQuestion, 'name' | 'type' | 'class'>, maxRecords = 1000): Message | 'mismatch' | WireError {
  if (buf.length < HEADER_LEN) return 'mismatch';
  if (((buf[0] << 8) | buf[1]) !== id) return 'mismatch';
  if ((buf[2] & 0x80) === 0) return 'mismatch';
  let msg: Message;
  try {
    msg = parseMessage(buf, { maxRecords });
  } catch (e) {
    if (e instanceof WireError) return e;
    return new WireError('TRUNCATED', (e as Error).message);
  }
  if (msg.opcode !== 0) return 'mismatch';
  if (msg.questions.length !== 1) {
    // FORMERR/NOTIMP replies may legitimately drop the question section.
    if (msg.questions.length === 0 && (msg.rcode === 1 || msg.rcode === 4)) return msg;
    return 'mismatch';
  }
  const got = msg.questions[0];
  if (got.type !== q.type || got.class !== q.class || lowerName(got.name) !== lowerName(q.name)) return 'mismatch';
  return msg;
}
