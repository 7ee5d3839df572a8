// Upstream transport: one question to one authoritative server.
//  - UDP: every query has a socket of its own, bound to a port drawn at random
//    (CSPRNG) from the whole ephemeral range and connected to the server, with a
//    fresh random 16-bit ID; the socket is closed when the query is settled, so no
//    two outstanding queries share a port (RFC 5452). A reply counts only if it
//    comes from the queried address and port, carries our ID with QR=1, and repeats
//    our question (name compared case-insensitively, or exactly with 0x20; type and
//    class exactly). Anything else is ignored (and counted), and we keep waiting for
//    the real one.
//  - EDNS0 advertising cfg.upstream.ednsUdpSize (1232), DO=0, RD=0 (RD=1 to forwarders).
//  - TC=1: the same question again over TCP (2-byte length framing, one answer,
//    bounded to 65535 bytes, with its own timeout).
//  - Loopback and 0.0.0.0/8 destinations are refused unless queryLocalhost is set.
// Hostile replies are parsed with dns/ (bounded work), never dns2.

import dgram from 'node:dgram';
import net from 'node:net';
import { randomFill } from '../../common/random.js';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { buildQuery, parseMessage, type Message } from '../../dns/message.js';
import { FLAG, HEADER_LEN } from '../../dns/constants.js';
import { lowerName } from '../../dns/name.js';
import { WireError } from '../../dns/errors.js';
import { ipv6ToBytes } from '../../dns/rdata.js';
import { ERRNO, QuerySockets, fastUdp } from '../../native/index.js';
import type { ResolverStats } from '../stats.js';
import { ClientCookies, RCODE_BADCOOKIE } from '../cookies/client-cookie.js';

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
  /** Recursion desired: set only for forwarders (resolver/forward/); authoritative servers get RD=0. */
  rd?: boolean;
  /** After a UDP timeout, keep listening this long for a late answer (see UpstreamOutcome.late). */
  lingerMs?: number;
  /** Cancels the query (and any lingering) when aborted. An AbortSignal or a Canceller. */
  signal?: CancelSignal;
  /** The zone whose server is asked (the per-zone limit, resolver/defence/zone-limit.ts). */
  zone?: string;
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
  | 'NO_SOCKET'      // this host could not open a query socket (out of file descriptors or buffers): not the server's fault
  | 'TCP_FAILED'     // TCP fallback could not complete
  | 'ZONE_LIMIT'     // not sent: the zone is at flood.max_outstanding_per_zone and its wait queue is full or the wait timed out
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
  /** Set DO on EDNS queries (DNSSEC validation on): servers then send RRSIGs and denial records. */
  dnssecOk?: boolean;
  queryLocalhost: boolean;
  stats: ResolverStats;
  /** Records parsed per reply at most (bounded work on hostile input). */
  maxRecords?: number;
  /**
   * UDP queries outstanding at once, each with its own socket (default 4096, as
   * unbound's outgoing-range, or fewer under a low open-files limit). More wait, in
   * order, for a socket place (see "Socket places" below); their timeout starts when
   * they are sent.
   */
  maxUdpSockets?: number;
  /** Source ports to draw from (default: the kernel's ephemeral range, less its reserved ports). */
  ports?: PortPicker;
  /**
   * Randomise the letter case of the name in each query (draft-vixie-dnsext-dns0x20,
   * unbound's use-caps-for-id): a reply must repeat it exactly, which adds one bit
   * of entropy per letter against forgery. Servers that do not copy the case back
   * then look dead, so it is off by default.
   */
  use0x20?: boolean;
  /** 'dgram' forces node:dgram even when fastudp is built (tests of the fallback). */
  udpIo?: 'auto' | 'dgram';
  /** DNS cookies towards servers (resolver/cookies/client-cookie.ts); none when absent. */
  cookies?: ClientCookies;
}

const MAX_TCP_MESSAGE = 65535;

// Random IDs come from a pooled CSPRNG buffer: crypto per query is cheap this way.
const idPool = Buffer.alloc(2048);
let idPos = idPool.length;
export function randomId(): number {
  if (idPos + 2 > idPool.length) { randomFill(idPool); idPos = 0; }
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

/** Reads the kernel's ephemeral port range and reserved ports (Linux); IANA's dynamic range elsewhere. */
export function ephemeralPorts(): { lo: number; hi: number; reserved: Set<number> } {
  let lo = 49152, hi = 65535;
  const reserved = new Set<number>();
  try {
    const [a, b] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(a) && Number.isInteger(b) && a >= 1024 && b <= 65535 && a <= b) { lo = a; hi = b; }
    const text = readFileSync('/proc/sys/net/ipv4/ip_local_reserved_ports', 'utf8').trim();
    for (const part of text ? text.split(',') : []) {
      const [x, y] = part.split('-').map(Number);
      for (let p = x; p <= (y ?? x) && p - x < 65536; p++) reserved.add(p);
    }
  } catch { /* not Linux: keep the IANA range */ }
  return { lo, hi, reserved };
}

/**
 * Source ports for upstream queries (RFC 5452 section 9.2): each one drawn
 * uniformly at random, from a CSPRNG, over the whole ephemeral range, skipping
 * reserved ports. Nothing about one port tells anything about the next.
 */
export class PortPicker {
  private readonly lo: number;
  private readonly span: number;
  private readonly reserved: Set<number>;
  /** The largest multiple of span below 2^32: draws above it are rejected, so no port is favoured. */
  private readonly limit: number;
  private readonly pool = Buffer.alloc(1024);
  private pos = this.pool.length;

  constructor(range = ephemeralPorts()) {
    this.lo = range.lo;
    this.span = range.hi - range.lo + 1;
    this.reserved = range.reserved;
    this.limit = Math.floor(0x1_0000_0000 / this.span) * this.span;
  }

  next(): number {
    for (;;) {
      if (this.pos + 4 > this.pool.length) { randomFill(this.pool); this.pos = 0; }
      const x = this.pool.readUInt32LE(this.pos);
      this.pos += 4;
      if (x >= this.limit) continue;
      const port = this.lo + (x % this.span);
      if (!this.reserved.has(port)) return port;
    }
  }
}

/**
 * Query sockets open at once by default: 4096 (unbound's outgoing-range), or fewer
 * when the process may open fewer files (leaving 512 for listeners, TCP clients and
 * the rest), so a burst queues instead of failing with EMFILE.
 */
function defaultMaxSockets(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = Number(line?.split(/\s+/)[3]);
    if (Number.isFinite(soft) && soft > 0) return Math.max(64, Math.min(4096, soft - 512));
  } catch { /* not Linux */ }
  return 4096;
}

const NOOP = (): void => {};

/** Ports tried before falling back to letting the kernel choose one (it also picks at random on Linux). */
const PORT_TRIES = 8;

/** Where a query socket delivers: the reply bytes (a view, valid during the call) or a socket error. */
interface QueryReceiver {
  onReply(buf: Buffer, address: string, port: number): void;
  onError(message: string): void;
}

/**
 * The socket of ONE upstream UDP query: bound to its own random port, connected to
 * the server it asks (the kernel then drops datagrams from any other address or
 * port, and reports ICMP errors), sent on once, and closed when the query is
 * settled. No two outstanding queries ever share a port, so an attacker who sees
 * one query's port (he owns the server it went to) learns nothing about any other
 * query's port. unbound works the same way (a fresh random port per query).
 */
interface QuerySocket {
  close(): void;
}

/**
 * Opens a query socket on a random port from `ports`, connected to address:port,
 * and sends `packet` on it: fastudp's query sockets when the addon is built (one
 * native call opens, binds, connects and sends; synchronous, so the common path
 * costs no promise), else node:dgram. Throws (or rejects) with the socket error
 * (EMFILE, ENETUNREACH...); a send error after that comes to onError.
 */
function openQuerySocket(family: 4 | 6, address: string, port: number, packet: Buffer, ports: PortPicker,
  fast: QuerySockets | null, rx: QueryReceiver): QuerySocket | Promise<QuerySocket> {
  if (fast === null) return openDgramQuerySocket(family, address, port, packet, ports, rx);
  const handler = {
    // Connected: only the server's datagrams arrive.
    onReply: (buf: Buffer) => rx.onReply(buf, address, port),
    onError: (errno: number) => rx.onError(`socket error on the query to ${address}:${port} (errno ${errno})`),
  };
  for (let attempt = 0; ; attempt++) {
    // After PORT_TRIES ports in use, port 0: the kernel picks a free one at random.
    const local = attempt < PORT_TRIES ? ports.next() : 0;
    const id = fast.open(family, local, address, port, packet, handler);
    if (id >= 0) return { close: () => fast.close(id) };
    if (-id === ERRNO.EADDRINUSE && local !== 0) continue;
    throw Object.assign(new Error(`query socket to ${address}:${port}: errno ${-id}`), { errno: -id });
  }
}

async function openDgramQuerySocket(family: 4 | 6, address: string, port: number, packet: Buffer, ports: PortPicker, rx: QueryReceiver): Promise<QuerySocket> {
  for (let attempt = 0; ; attempt++) {
    const local = attempt < PORT_TRIES ? ports.next() : 0;
    try {
      return await openDgram(family, local, address, port, packet, rx);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || local === 0) throw e;
    }
  }
}

function openDgram(family: 4 | 6, local: number, address: string, port: number, packet: Buffer, rx: QueryReceiver): Promise<QuerySocket> {
  // Destinations are IP literals checked in query(): skip dns.lookup (a regex and a nextTick per send).
  const lookup = (a: string, _o: unknown, cb: (err: Error | null, address: string, family: number) => void) => cb(null, a, family);
  const sock = dgram.createSocket({ type: family === 4 ? 'udp4' : 'udp6', lookup: lookup as unknown as dgram.SocketOptions['lookup'] });
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    try { sock.close(); } catch { /* already closed */ }
  };
  return new Promise((resolve, reject) => {
    const fail = (e: Error) => { close(); reject(e); };
    sock.once('error', fail);
    sock.bind({ port: local, exclusive: true }, () => {
      sock.connect(port, address, () => {
        sock.off('error', fail);
        sock.on('error', (e) => rx.onError(e.message));
        sock.on('message', (buf, rinfo) => rx.onReply(buf, rinfo.address, rinfo.port));
        const qs = { close };
        // Connected: no address. With a callback Node reports the error; without one the query would wait out its timeout.
        try {
          sock.send(packet, (err) => { if (err) rx.onError(err.message); });
        } catch (err) {
          rx.onError((err as Error).message);
        }
        resolve(qs);
      });
    });
  });
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

/** A query waiting for a socket place. */
interface PlaceWaiter {
  /** Called once: true when a place is handed over, else why not. */
  settle(outcome: true | string): void;
}

/** What the socket places have been through, since start (for tests, metrics and the bench). */
export interface PlaceCounters {
  /** Queries that found every place taken and waited. */
  queued: number;
  /** Queries that waited their whole budget without a place and were not sent. */
  expired: number;
  /** Lingering queries (past their timeout, listening for a late answer) that gave their place to a waiting one. */
  lingerYielded: number;
  /** Timeouts averted: the answer was in the kernel when the timer fired, read by the check before deciding. */
  lateReads: number;
}

// Socket places. At most maxSockets UDP queries are out at once; a query that
// finds them all taken waits, in order, and the place of a query that settles is
// handed straight to the oldest waiter (so a new query cannot jump the queue).
// Three rules keep a waiting query from being starved into a false SERVFAIL:
//  - a query past its timeout that only lingers for a late answer gives its place
//    up to a waiting query (the lingering is best effort; the retry it makes room
//    for is not), and does not linger at all while others wait;
//  - a waiting query gives up when its own budget (timeout plus linger) has passed,
//    or when it is cancelled, and leaves the queue at once;
//  - before a timeout is decided, replies already in the kernel are read, so a busy
//    event loop does not turn answers that did arrive into timeouts (and retries,
//    which would take more places).

export class UdpTcpTransport implements Upstream {
  private readonly o: TransportOptions;
  private readonly open = new Set<{ abort(): void }>();
  /** fastudp's query sockets, or null for node:dgram. */
  private readonly fast: QuerySockets | null;
  private readonly ports: PortPicker;
  private readonly maxSockets: number;
  /** UDP sockets open now (one per outstanding query). */
  private sockets = 0;
  /** Queries waiting for a socket place, oldest first. */
  private readonly waiting: PlaceWaiter[] = [];
  /** Queries past their timeout that still listen for a late answer, oldest first: each gives up its place on demand. */
  private readonly lingering = new Set<{ yieldPlace(): void }>();
  private readonly placeCounters: PlaceCounters = { queued: 0, expired: 0, lingerYielded: 0, lateReads: 0 };
  private readonly destinations = new Map<string, { family: 0 | 4 | 6; forbidden: boolean; local: boolean }>();
  private closed = false;

  constructor(opts: TransportOptions) {
    this.o = opts;
    const binding = opts.udpIo === 'dgram' ? null : fastUdp();
    // One 64 KiB read buffer shared by every query socket: no UDP answer is ever cut, and a socket costs no buffer.
    this.fast = binding ? new QuerySockets(binding) : null;
    this.ports = opts.ports ?? new PortPicker();
    this.maxSockets = Math.max(1, opts.maxUdpSockets ?? defaultMaxSockets());
  }

  /** UDP sockets open now, one per outstanding query (for tests and metrics). */
  get openSockets(): number {
    return this.sockets;
  }

  /** Queries waiting for a socket place now. */
  get waitingForSocket(): number {
    return this.waiting.length;
  }

  /** Socket-place counters since start (a copy). */
  get places(): PlaceCounters {
    return { ...this.placeCounters };
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
    let udp = await this.udp(q, dest.family);
    if (udp.kind === 'answer' && udp.msg.rcode === RCODE_BADCOOKIE && this.o.cookies) {
      // BADCOOKIE: the server cookie it sent is learnt; ask once more, then over TCP (RFC 7873 section 5.3).
      this.o.stats.defence.upstreamBadcookie++;
      udp = await this.udp(q, dest.family);
      if (udp.kind === 'answer' && udp.msg.rcode === RCODE_BADCOOKIE) return this.tcp(q);
    }
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
   * Waits for one of the maxSockets places, in order. Resolves true with the place
   * taken, or with why not: the transport closed, the query was cancelled, or its
   * budget (timeout plus linger) passed while it waited. A lingering query, if any,
   * is asked to give its place up.
   */
  private waitForSocketPlace(q: UpstreamQuestion): Promise<true | string> {
    if (this.closed) return Promise.resolve('transport closed');
    if (q.signal?.aborted) return Promise.resolve('query cancelled');
    this.placeCounters.queued++;
    return new Promise<true | string>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => w.settle('query cancelled');
      const w: PlaceWaiter = {
        settle: (outcome) => {
          if (timer === undefined) return; // settled already
          clearTimeout(timer);
          timer = undefined;
          q.signal?.removeEventListener('abort', onAbort);
          if (outcome !== true) {
            const i = this.waiting.indexOf(w);
            if (i >= 0) this.waiting.splice(i, 1);
          }
          resolve(outcome);
        },
      };
      const budgetMs = Math.max(1, q.timeoutMs) + Math.max(0, q.lingerMs ?? 0);
      timer = setTimeout(() => {
        this.placeCounters.expired++;
        w.settle(`no query socket free within ${Math.round(budgetMs)} ms (${this.maxSockets} in use)`);
      }, Math.ceil(budgetMs));
      q.signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(w);
      // The oldest lingering query makes room (its place goes to the oldest waiter).
      const first = this.lingering.values().next();
      if (!first.done) first.value.yieldPlace();
    });
  }

  /** A query gives its place back: straight to the oldest waiter, else free. */
  private releaseSocketPlace(): void {
    const w = this.waiting.shift();
    if (w) w.settle(true);
    else this.sockets--;
  }

  /**
   * One UDP exchange, on a socket of its own, in two phases. Until `timeoutMs` the
   * returned promise waits for the answer. Then, if `lingerMs` is set, it resolves
   * with a timeout that carries `late`: the socket keeps listening for this query's
   * answer for `lingerMs` more, so a server that is merely slow is still heard while
   * the next server is tried.
   */
  private async udp(q: UpstreamQuestion, family: 4 | 6): Promise<UpstreamOutcome> {
    const stats = this.o.stats;
    // A free place is taken at once (no promise on the common path); otherwise wait in order.
    if (this.sockets < this.maxSockets && this.waiting.length === 0 && !this.closed && !q.signal?.aborted) {
      this.sockets++;
    } else {
      const placed = await this.waitForSocketPlace(q);
      if (placed !== true) {
        if (this.closed || q.signal?.aborted) return { kind: 'error', code: 'CLOSED', detail: placed };
        return { kind: 'error', code: 'NO_SOCKET', detail: placed };
      }
      // Handed a place as the transport closed or the query was cancelled: send nothing, pass it on.
      if (this.closed || q.signal?.aborted) {
        this.releaseSocketPlace();
        return { kind: 'error', code: 'CLOSED', detail: this.closed ? 'transport closed' : 'query cancelled' };
      }
    }
    const id = randomId();
    const wireName = this.o.use0x20 ? randomCase(q.name) : q.name;
    let packet: Buffer;
    try {
      packet = buildQuery({
        id, name: wireName, type: q.type, class: q.class, rd: q.rd === true, ednsUdpSize: q.edns ? this.o.ednsUdpSize : undefined, dnssecOk: q.edns && this.o.dnssecOk === true,
        ednsOptions: q.edns && this.o.cookies ? [this.o.cookies.optionFor(q.address)] : undefined,
      });
    } catch (e) {
      this.releaseSocketPlace();
      return { kind: 'error', code: 'NETWORK', detail: `cannot encode query: ${(e as Error).message}` };
    }
    // The socket is opened and the query sent in one step; what arrives goes through `rx`
    // to the handlers set below (nothing can arrive before this turn ends).
    let onReply: (buf: Buffer) => void = () => {};
    let onError: (message: string) => void = () => {};
    const rx: QueryReceiver = {
      onReply: (buf, address, port) => {
        // Connected, so the kernel delivers only the server's datagrams; checked again all the same.
        if (port !== q.port || !sameAddress(address, q.address)) { stats.upstreamErrors++; return; }
        onReply(buf);
      },
      onError: (message) => onError(message),
    };
    let sock: QuerySocket;
    const sentAt = performance.now();
    try {
      const opened = openQuerySocket(family, q.address, q.port, packet, this.ports, this.fast, rx);
      sock = opened instanceof Promise ? await opened : opened;
    } catch (e) {
      this.releaseSocketPlace();
      stats.upstreamErrors++;
      const err = e as NodeJS.ErrnoException & { errno?: number };
      const local = err.code === 'EMFILE' || err.code === 'ENFILE' || err.code === 'ENOBUFS' ||
        err.errno === ERRNO.EMFILE || err.errno === ERRNO.ENFILE || err.errno === ERRNO.ENOBUFS;
      return { kind: 'error', code: local ? 'NO_SOCKET' : 'NETWORK', detail: `cannot send the query: ${err.message}` };
    }
    stats.upstreamQueries++;
    if (this.closed || q.signal?.aborted) {
      sock.close();
      this.releaseSocketPlace();
      return { kind: 'error', code: 'CLOSED', detail: this.closed ? 'transport closed' : 'query cancelled' };
    }
    return new Promise((resolve) => {
      let done = false;
      // Where the outcome goes: the caller first, then (after the soft timeout) the late promise.
      let deliver: (out: UpstreamOutcome) => void = resolve;
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => finish({ kind: 'error', code: 'CLOSED', detail: 'query cancelled' });
      // Made only when the query starts lingering (most never do).
      let lingerer: { yieldPlace(): void } | undefined;
      const finish = (out: UpstreamOutcome) => {
        if (done) return;
        done = true;
        if (timer) clearTimeout(timer);
        this.open.delete(handle);
        // Emptied as well: a Set's replaced hash table, left in the old generation, may still
        // point at these until the next full GC, and must not keep this query alive through
        // it (common/churn-map.ts explains the V8 side).
        handle.abort = NOOP;
        if (lingerer) { this.lingering.delete(lingerer); lingerer.yieldPlace = NOOP; }
        q.signal?.removeEventListener('abort', onAbort);
        sock.close();
        this.releaseSocketPlace();
        deliver(out);
      };
      onReply = (buf) => {
        const verdict = matchReply(buf, id, { name: wireName, type: q.type, class: q.class }, this.o.maxRecords, this.o.use0x20 === true);
        if (verdict === 'mismatch') { stats.upstreamErrors++; return; }
        if (verdict instanceof WireError) {
          stats.upstreamErrors++;
          finish({ kind: 'error', code: 'MALFORMED', detail: `${verdict.code}: ${verdict.message}` });
          return;
        }
        // A COOKIE that is not ours: not the answer to this query (RFC 7873 section 5.3); keep waiting.
        if (this.o.cookies && !this.o.cookies.learn(q.address, verdict)) { stats.upstreamErrors++; return; }
        finish({ kind: 'answer', msg: verdict, rttMs: performance.now() - sentAt, tcp: false, bytes: buf.length });
      };
      // A refused send or an ICMP error (port unreachable) fails the query at once, not at the timeout.
      onError = (message) => {
        stats.upstreamErrors++;
        finish({ kind: 'error', code: 'NETWORK', detail: message });
      };
      const handle = { abort: () => finish({ kind: 'error', code: 'CLOSED', detail: 'transport closed' }) };
      this.open.add(handle);
      if (q.signal) q.signal.addEventListener('abort', onAbort, { once: true });
      // The timer fires in the timers phase; replies already queued in the kernel are only read in
      // the poll phase after it. Deciding in setImmediate (after poll) keeps event-loop lag from
      // turning an answer that did arrive into a timeout.
      // Even then, replies may wait in the kernel (the loop reads a bounded number per
      // wake, and a busy loop reads late): the check reads them first.
      timer = setTimeout(() => setImmediate(() => {
        if (done) return;
        if (this.fast !== null && this.fast.poll() > 0 && done) { this.placeCounters.lateReads++; return; }
        stats.upstreamTimeouts++;
        // No lingering while other queries wait for a place: the place goes to them.
        const linger = this.waiting.length > 0 ? 0 : Math.ceil(q.lingerMs ?? 0);
        if (linger <= 0) { finish({ kind: 'timeout', tcp: false }); return; }
        const late = new Promise<UpstreamOutcome>((r) => { deliver = r; });
        timer = setTimeout(() => finish({ kind: 'timeout', tcp: false }), linger);
        lingerer = { yieldPlace: () => { this.placeCounters.lingerYielded++; finish({ kind: 'timeout', tcp: false }); } };
        this.lingering.add(lingerer);
        resolve({ kind: 'timeout', tcp: false, late });
      }), Math.max(1, q.timeoutMs));
    });
  }

  private tcp(q: UpstreamQuestion): Promise<UpstreamOutcome> {
    const stats = this.o.stats;
    return new Promise((resolve) => {
      const id = randomId();
      let packet: Buffer;
      try {
        packet = buildQuery({ id, name: q.name, type: q.type, class: q.class, rd: q.rd === true, ednsUdpSize: q.edns ? this.o.ednsUdpSize : undefined, dnssecOk: q.edns && this.o.dnssecOk === true });
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
        handle.abort = NOOP; // see the UDP path
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
    for (const w of [...this.waiting]) w.settle('transport closed');
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
export function matchReply(buf: Uint8Array, id: number, q: Pick<UpstreamQuestion, 'name' | 'type' | 'class'>, maxRecords = 1000, exactCase = false): Message | 'mismatch' | WireError {
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
  if (got.type !== q.type || got.class !== q.class) return 'mismatch';
  // With 0x20 the name must come back letter for letter as it was sent.
  if (exactCase ? got.name !== q.name : lowerName(got.name) !== lowerName(q.name)) return 'mismatch';
  return msg;
}

/** The name with each ASCII letter's case flipped at random (CSPRNG), for 0x20. */
export function randomCase(name: string): string {
  const bits = Buffer.alloc(Math.ceil(name.length / 8) || 1);
  randomFill(bits);
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const letter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    out += letter && (bits[i >> 3] >> (i & 7)) & 1 ? String.fromCharCode(c ^ 0x20) : name[i];
  }
  return out;
}
