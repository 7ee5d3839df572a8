// The resolver's front: everything between a client packet and the iterator.
// Order per query (see DESIGN.md):
//   1. readQuery: header, question and OPT straight from the Buffer (drop QR=1).
//   2. ACL: clients outside --allow get REFUSED, no data. The one exception is the
//      health probe name: a switch's `ip sla ... dns` probe comes from the switch's
//      own address, which is seldom a client network. It is a fixed local answer of
//      a few bytes (no recursion, no cache), so it opens nothing to outsiders.
//   3. malformed / unsupported: FORMERR, NOTIMP, BADVERS, REFUSED without decoding.
//   4. fastpath: a cache hit is rendered from stored bytes and sent. Nothing else runs.
//   5. local answers (CHAOS, probe name, special-use zones, ANY).
//   6. inflight: identical misses join one resolution; the first starts the iterator.
//   7. the result is encoded once, cached, and rendered for every waiting client.
// The hit path allocates only the reply buffer and the key string, and creates no closures.

import { RCODE } from '../dns/constants.js';
import { readName, lowerName } from '../dns/name.js';
import type { ResolverConfig } from './config.js';
import { DEFAULT_MAX_INFLIGHT } from './config.js';
import { Acl } from './acl.js';
import { AnswerCache } from './fastpath/cache.js';
import { AnswerEntry, buildEntry, buildOpt, nsidOption, render, type AnswerInit } from './fastpath/entry.js';
import { Inflight, type Pending } from './inflight.js';
import { LocalAnswers, PROBE_SILENT } from './local.js';
import { MAX_KEY_LEN, QS, QueryInfo, readQuery, type QueryStatus } from './listener/query.js';
import type { Resolution, ResolveResult } from './iterator/types.js';
import { emptyStats, LATENCY_BUCKETS_MS, QTYPE_CLASSES, RCODE_LABELS, type ResolverStats } from './stats.js';
import type { ProbeAnswerMode } from './api.js';
import type { UdpReplySocket as UdpSocket } from './listener/udp.js';

/** Largest UDP reply we send, whatever the client advertises (DNS flag day 2020). */
export const MAX_UDP_REPLY = 1232;
const CLASSIC_UDP = 512;

/** Where a TCP reply goes; implemented by the TCP listener. */
export interface TcpReplier {
  /**
   * Sends one framed reply (the 2-byte length is already in place). `deferred` is
   * true for answers to queries onTcp reported as pending.
   */
  reply(framed: Buffer, deferred: boolean): void;
}

/** A client waiting for a resolution. */
class Waiter {
  constructor(
    readonly query: Buffer,
    readonly hasOpt: boolean,
    readonly dnssecOk: boolean,
    readonly nsid: boolean,
    readonly limit: number,
    readonly t0: number,
    readonly sock: UdpSocket | null,
    readonly port: number,
    readonly address: string,
    readonly conn: TcpReplier | null,
  ) {}
}

// Counter slots (one Float64Array: cheap to bump, no hidden-class churn).
const C_UDP = 0, C_TCP = 1, C_HITS = 2, C_MISSES = 3, C_DROPPED = 4, C_REFUSED_ACL = 5, C_LAT_SUM = 6, C_LAT_COUNT = 7;
const C_RCODE = 8; // 7 slots, RCODE_LABELS order
const C_QTYPE = C_RCODE + RCODE_LABELS.length;
const C_LAT = C_QTYPE + QTYPE_CLASSES.length;
const C_SIZE = C_LAT + LATENCY_BUCKETS_MS.length + 1;

/** The rcode for a query readQuery rejected. */
function statusRcode(st: QueryStatus): number {
  return st === QS.NOTIMP ? RCODE.NOTIMP : st === QS.BADVERS ? RCODE.BADVERS : st === QS.REFUSED ? RCODE.REFUSED : RCODE.FORMERR;
}

const QTYPE_INDEX = (() => {
  const t = new Uint8Array(65536).fill(QTYPE_CLASSES.indexOf('other'));
  const byName: Record<string, number> = { A: 1, AAAA: 28, PTR: 12, MX: 15, TXT: 16, NS: 2, SOA: 6, CNAME: 5, SRV: 33, HTTPS: 65, ANY: 255 };
  for (const [name, num] of Object.entries(byName)) t[num] = QTYPE_CLASSES.indexOf(name as (typeof QTYPE_CLASSES)[number]);
  return t;
})();

export interface FrontOptions {
  cfg: ResolverConfig;
  resolution: Resolution;
  /** Object the back bumps (upstream counters); folded into stats(). */
  backStats?: ResolverStats;
  /** Monotonic clock in ms. Tests inject one. */
  now?: () => number;
  log?: (msg: string) => void;
}

export class Front {
  readonly cache: AnswerCache;
  readonly local: LocalAnswers;
  private readonly acl: Acl;
  private readonly inflight: Inflight<Waiter>;
  private readonly resolution: Resolution;
  private readonly backStats: ResolverStats;
  private readonly now: () => number;
  private readonly log: (msg: string) => void;
  private readonly cfg: ResolverConfig;
  private readonly q = new QueryInfo();
  private readonly keyBuf = Buffer.allocUnsafe(MAX_KEY_LEN + 4);
  private readonly c = new Float64Array(C_SIZE);
  /** OPT records by (DO ? 1 : 0) | (NSID ? 2 : 0). */
  private readonly opts: Buffer[];
  private readonly nsid: Buffer;
  private sweepTimer: NodeJS.Timeout | undefined;
  private closing = false;
  private lastErrorLogMs = -Infinity;
  /** Clock reading shared by the packets of one event-loop turn (see batchNow). */
  private batchMs = 0;
  private batchValid = false;
  private readonly endBatch = (): void => { this.batchValid = false; };

  constructor(o: FrontOptions) {
    this.cfg = o.cfg;
    this.resolution = o.resolution;
    this.backStats = o.backStats ?? emptyStats();
    this.now = o.now ?? (() => performance.now());
    this.log = o.log ?? (() => {});
    this.acl = new Acl(o.cfg.allow);
    this.cache = new AnswerCache(o.cfg.cache.maxBytes);
    this.inflight = new Inflight<Waiter>(o.cfg.maxInflight ?? DEFAULT_MAX_INFLIGHT);
    this.local = new LocalAnswers({ identity: o.cfg.identity, probeName: o.cfg.probe.name, nodefault: o.cfg.localZonesNodefault });
    this.nsid = nsidOption(o.cfg.identity);
    this.opts = [
      buildOpt(MAX_UDP_REPLY, false), buildOpt(MAX_UDP_REPLY, true),
      buildOpt(MAX_UDP_REPLY, false, [this.nsid]), buildOpt(MAX_UDP_REPLY, true, [this.nsid]),
    ];
  }

  /** Starts the deadline sweep that answers resolutions the back never finished. */
  start(): void {
    const graceMs = this.cfg.upstream.resolutionTimeoutMs + 1000;
    this.sweepTimer = setInterval(() => this.sweep(graceMs), 250);
    this.sweepTimer.unref();
  }

  setProbeMode(mode: ProbeAnswerMode): void {
    this.local.probeMode = mode;
  }

  get probeMode(): ProbeAnswerMode {
    return this.local.probeMode;
  }

  /** New queries are ignored from now on; answers still in flight are still sent. */
  stopAccepting(): void {
    this.closing = true;
  }

  get pendingResolutions(): number {
    return this.inflight.size;
  }

  /** Answers everything still pending with SERVFAIL and stops the sweep. */
  abandonPending(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    const now = this.now();
    for (const p of this.inflight.all()) this.answerWaiters(this.inflight.settle(p), this.servfailEntry(p, now), now);
  }

  // ------------------------------------------------------------ hot path

  /**
   * The clock as of the first packet of this event-loop turn. libuv reads up to 32
   * datagrams per turn; they all arrived before the first is handled, so this is a
   * truer receipt time for the later ones than a fresh reading, and it saves one
   * clock call per packet. TTLs count in whole seconds, so a turn's age is harmless.
   */
  private batchNow(): number {
    if (!this.batchValid) {
      this.batchMs = this.now();
      this.batchValid = true;
      setImmediate(this.endBatch);
    }
    return this.batchMs;
  }

  /** One UDP datagram from `address`:`port`, received on `sock`. */
  onUdp(sock: UdpSocket, msg: Buffer, address: string, port: number): void {
    if (this.closing) return;
    const t0 = this.batchNow();
    const q = this.q;
    const st = readQuery(msg, q, this.keyBuf);
    const c = this.c;
    if (st === QS.DROP) { c[C_DROPPED]++; return; }
    c[C_UDP]++;
    if (!this.acl.allows(address)) {
      if (st === QS.OK && this.probeFromOutside(msg, t0, sock, port, address, null)) return;
      c[C_REFUSED_ACL]++;
      if (st !== QS.OK) { c[C_DROPPED]++; return; }
      this.sendUdp(sock, this.errorReply(msg, q, RCODE.REFUSED, 0, false), port, address, RCODE.REFUSED, t0);
      return;
    }
    if (st !== QS.OK) {
      const rcode = statusRcode(st);
      this.sendUdp(sock, this.errorReply(msg, q, rcode, 0), port, address, rcode, t0);
      return;
    }
    c[C_QTYPE + QTYPE_INDEX[q.qtype]]++;
    let limit = CLASSIC_UDP;
    if (q.hasOpt) limit = q.udpSize > MAX_UDP_REPLY ? MAX_UDP_REPLY : q.udpSize < CLASSIC_UDP ? CLASSIC_UDP : q.udpSize;
    // RD=0 never reads the cache (no cache snooping); see miss().
    const e = msg[2] & 0x01 ? this.cache.lookup(q.keyHash, this.keyBuf, q.keyLen, t0) : undefined;
    if (e !== undefined) {
      c[C_HITS]++;
      const out = render(e, msg, q.hasOpt ? this.optFor(q.dnssecOk, q.nsid, e.ede) : null, limit, t0, 0);
      this.sendUdp(sock, out, port, address, e.rcode, t0);
      return;
    }
    // msg may be a view into the listener's batch slab: the waiter keeps a copy.
    this.miss(Buffer.from(msg), limit, t0, sock, port, address, null);
  }

  /**
   * One TCP query (without its length prefix). `msg` may be reused by the caller
   * after return. Returns true when the answer will come later through
   * conn.reply(..., true); false when it was sent already or the query was dropped.
   */
  onTcp(conn: TcpReplier, msg: Buffer, address: string): boolean {
    if (this.closing) return false;
    const t0 = this.batchNow();
    const q = this.q;
    const st = readQuery(msg, q, this.keyBuf);
    const c = this.c;
    if (st === QS.DROP) { c[C_DROPPED]++; return false; }
    c[C_TCP]++;
    if (!this.acl.allows(address)) {
      if (st === QS.OK && this.probeFromOutside(msg, t0, null, 0, address, conn)) return false;
      c[C_REFUSED_ACL]++;
      if (st !== QS.OK) { c[C_DROPPED]++; return false; }
      this.sendTcp(conn, this.errorReply(msg, q, RCODE.REFUSED, 2, false), RCODE.REFUSED, t0);
      return false;
    }
    if (st !== QS.OK) {
      const rcode = statusRcode(st);
      this.sendTcp(conn, this.errorReply(msg, q, rcode, 2), rcode, t0);
      return false;
    }
    c[C_QTYPE + QTYPE_INDEX[q.qtype]]++;
    const e = msg[2] & 0x01 ? this.cache.lookup(q.keyHash, this.keyBuf, q.keyLen, t0) : undefined;
    if (e !== undefined) {
      c[C_HITS]++;
      const out = render(e, msg, q.hasOpt ? this.optFor(q.dnssecOk, q.nsid, e.ede) : null, 0xffff, t0, 2);
      this.sendTcp(conn, out, e.rcode, t0);
      return false;
    }
    return this.miss(Buffer.from(msg), 0xffff, t0, null, 0, address, conn);
  }

  private sendUdp(sock: UdpSocket, out: Buffer, port: number, address: string, rcode: number, t0: number): void {
    sock.send(out, port, address);
    this.count(rcode, t0);
  }

  private sendTcp(conn: TcpReplier, out: Buffer, rcode: number, t0: number, deferred = false): void {
    conn.reply(out, deferred);
    this.count(rcode, t0);
  }

  private count(rcode: number, t0: number): void {
    const c = this.c;
    c[C_RCODE + (rcode < 6 ? rcode : 6)]++;
    const ms = this.now() - t0;
    c[C_LAT_SUM] += ms;
    c[C_LAT_COUNT]++;
    let i = 0;
    const n = LATENCY_BUCKETS_MS.length;
    while (i < n && ms > LATENCY_BUCKETS_MS[i]) i++;
    c[C_LAT + i]++;
  }

  private optFor(dnssecOk: boolean, nsid: boolean, ede: Buffer | null): Buffer {
    if (ede === null) return this.opts[(dnssecOk ? 1 : 0) | (nsid ? 2 : 0)];
    return buildOpt(MAX_UDP_REPLY, dnssecOk, nsid ? [this.nsid, ede] : [ede]);
  }

  // ------------------------------------------------------------ replies without an entry

  /**
   * Header (+ the question when it could be read, + OPT when the client sent one).
   * Never carries data. Extended rcodes (BADVERS) go into the OPT record. `ra` is
   * false for clients outside --allow: recursion is not available to them (as
   * unbound and BIND say it).
   */
  private errorReply(msg: Buffer, q: QueryInfo, rcode: number, prefix: number, ra = true): Buffer {
    const qEnd = q.qEnd;
    const opt = q.hasOpt ? buildOpt(MAX_UDP_REPLY, q.dnssecOk, [], rcode >> 4) : null;
    const body = (qEnd > 0 ? qEnd : 12) + (opt ? opt.length : 0);
    const out = Buffer.alloc(prefix + body);
    if (prefix) out.writeUInt16BE(body, 0);
    out[prefix] = msg[0];
    out[prefix + 1] = msg[1];
    out[prefix + 2] = 0x80 | (msg[2] & 0x79); // QR, opcode and RD echoed
    out[prefix + 3] = (ra ? 0x80 : 0) | (msg[3] & 0x10) | (rcode & 0xf); // RA, CD echoed
    if (qEnd > 0) {
      out[prefix + 5] = 1;
      msg.copy(out, prefix + 12, 12, qEnd);
    }
    if (opt) {
      out[prefix + 11] = 1;
      opt.copy(out, prefix + (qEnd > 0 ? qEnd : 12));
    }
    return out;
  }

  /**
   * The probe name asked by a client outside --allow (a switch's IP SLA): answered
   * locally, like any allowed client gets it. Returns false for every other name.
   * Runs only on the refused path, so allowed traffic pays nothing for it.
   */
  private probeFromOutside(msg: Buffer, t0: number, sock: UdpSocket | null, port: number, address: string, conn: TcpReplier | null): boolean {
    const q = this.q;
    const name = readName(msg, 12).name;
    const lower = lowerName(name);
    if (!this.local.isProbe(lower)) return false;
    const local = this.local.answer(name, lower, q.qtype, q.qclass);
    if (local === null) return false;
    if (local === PROBE_SILENT) return true; // drained: no reply at all
    this.c[C_QTYPE + QTYPE_INDEX[q.qtype]]++;
    let limit = CLASSIC_UDP;
    if (q.hasOpt) limit = q.udpSize > MAX_UDP_REPLY ? MAX_UDP_REPLY : q.udpSize < CLASSIC_UDP ? CLASSIC_UDP : q.udpSize;
    const w = new Waiter(msg, q.hasOpt, q.dnssecOk, q.nsid, limit, t0, sock, port, address, conn);
    this.deliver(w, buildEntry(local, t0, 0), t0, false);
    return true;
  }

  // ------------------------------------------------------------ miss path

  /** Returns true when a waiter was queued (the answer comes later). */
  private miss(msg: Buffer, limit: number, t0: number, sock: UdpSocket | null, port: number, address: string, conn: TcpReplier | null): boolean {
    const q = this.q;
    const key = this.keyBuf.toString('latin1', 0, q.keyLen);
    const name = readName(msg, 12).name;
    const local = this.local.answer(name, lowerName(name), q.qtype, q.qclass);
    if (local === PROBE_SILENT) return false; // drained: no reply at all
    const w = new Waiter(msg, q.hasOpt, q.dnssecOk, q.nsid, limit, t0, sock, port, address, conn);
    if (local !== null) {
      this.deliver(w, buildEntry(local, t0, 0), t0, false);
      return false;
    }
    if ((msg[2] & 0x01) === 0) {
      // Not a recursive query: local data only, as unbound does for "allow" clients.
      // Answering it from the cache would let anyone probe what this node's clients asked.
      const out = this.errorReply(msg, q, RCODE.REFUSED, conn !== null ? 2 : 0);
      if (conn !== null) this.sendTcp(conn, out, RCODE.REFUSED, t0);
      else if (sock !== null) this.sendUdp(sock, out, port, address, RCODE.REFUSED, t0);
      return false;
    }
    this.c[C_MISSES]++;
    const j = this.inflight.join(key, w, t0);
    if (j.kind === 'joined') return true;
    if (j.kind === 'full') { this.c[C_DROPPED]++; return false; }
    const p = j.pending;
    p.hash = q.keyHash;
    const type = q.qtype;
    const cls = q.qclass;
    let promise: Promise<ResolveResult>;
    try {
      promise = this.resolution.resolve({ name, type, class: cls });
    } catch (err) {
      promise = Promise.reject(err);
    }
    promise.then(
      (res) => this.finish(p, name, type, cls, res),
      (err: unknown) => {
        this.logError(`resolving ${name}/${type}: ${(err as Error)?.message ?? String(err)}`);
        const now = this.now();
        this.answerWaiters(this.inflight.settle(p), this.servfailEntry(p, now, name, type, cls), now);
      },
    );
    return true;
  }

  private finish(p: Pending<Waiter>, name: string, type: number, cls: number, res: ResolveResult): void {
    const now = this.now();
    const waiters = this.inflight.settle(p);
    let e: AnswerEntry;
    try {
      e = this.entryFromResult(name, type, cls, res, now);
    } catch (err) {
      this.logError(`encoding the answer for ${name}/${type}: ${(err as Error).message}`);
      e = this.servfailEntry(p, now, name, type, cls);
    }
    this.cache.store(p.hash, e, now);
    this.answerWaiters(waiters, e, now);
  }

  /** Applies the cache policy: TTL clamps, RFC 2308 negative TTL, brief SERVFAIL memory. */
  entryFromResult(name: string, type: number, cls: number, res: ResolveResult, now: number): AnswerEntry {
    const cc = this.cfg.cache;
    const rcode = res.rcode;
    const cacheTtl = Math.max(0, Math.floor(res.cacheTtl));
    let ttl = 0;
    let recordTtl: (t: number) => number;
    if (rcode === RCODE.NOERROR && res.answers.length > 0) {
      ttl = Math.min(Math.max(cacheTtl, cc.minTtl), cc.maxTtl);
      recordTtl = (t) => (t & 0x80000000 ? cc.minTtl : Math.min(Math.max(t, cc.minTtl), cc.maxTtl));
    } else if (rcode === RCODE.NOERROR || rcode === RCODE.NXDOMAIN) {
      ttl = Math.min(cacheTtl, cc.maxNegativeTtl);
      const cap = ttl;
      recordTtl = (t) => (t & 0x80000000 ? 0 : Math.min(t, cap));
    } else {
      if (rcode === RCODE.SERVFAIL) ttl = cc.servfailTtl;
      recordTtl = (t) => (t & 0x80000000 ? 0 : Math.min(t, cc.maxTtl));
    }
    const init: AnswerInit = {
      name, type, class: cls, rcode,
      answers: res.answers, authority: res.authority, additional: res.additional, ede: res.ede,
    };
    return buildEntry(init, now, ttl, recordTtl, ttl > 0 ? this.cache.slabs : undefined);
  }

  /** SERVFAIL for a resolution that failed or overran; never cached. */
  private servfailEntry(p: Pending<Waiter>, now: number, name?: string, type?: number, cls?: number): AnswerEntry {
    if (name === undefined || type === undefined || cls === undefined) {
      // Only the question's length matters: render copies each waiter's own question in.
      const w = p.waiters[0];
      const r = w ? readName(w.query, 12) : { name: '', end: 12 };
      name = r.name;
      type = w ? w.query.readUInt16BE(r.end) : 1;
      cls = w ? w.query.readUInt16BE(r.end + 2) : 1;
    }
    return buildEntry({ name, type, class: cls, rcode: RCODE.SERVFAIL, answers: [], authority: [], additional: [] }, now, 0);
  }

  private answerWaiters(waiters: Waiter[], e: AnswerEntry, now: number): void {
    for (const w of waiters) this.deliver(w, e, now);
  }

  private deliver(w: Waiter, e: AnswerEntry, now: number, deferred = true): void {
    const opt = w.hasOpt ? this.optFor(w.dnssecOk, w.nsid, e.ede) : null;
    if (w.conn !== null) {
      this.sendTcp(w.conn, render(e, w.query, opt, 0xffff, now, 2), e.rcode, w.t0, deferred);
    } else if (w.sock !== null) {
      try {
        this.sendUdp(w.sock, render(e, w.query, opt, w.limit, now, 0), w.port, w.address, e.rcode, w.t0);
      } catch (err) {
        // The socket was closed under us (shutdown): nothing to send it on.
        this.logError(`sending to ${w.address}:${w.port}: ${(err as Error).message}`);
      }
    }
  }

  private sweep(graceMs: number): void {
    const now = this.now();
    for (const p of this.inflight.overdue(now - graceMs)) {
      const w = p.waiters[0];
      this.logError(`no result for ${w ? readName(w.query, 12).name : '?'} after ${graceMs} ms; answered SERVFAIL`);
      this.answerWaiters(this.inflight.settle(p), this.servfailEntry(p, now), now);
    }
  }

  private logError(msg: string): void {
    const now = this.now();
    if (now - this.lastErrorLogMs < 10_000) return;
    this.lastErrorLogMs = now;
    this.log(msg);
  }

  // ------------------------------------------------------------ stats

  stats(): ResolverStats {
    const s = emptyStats();
    const c = this.c;
    RCODE_LABELS.forEach((k, i) => { s.answersByRcode[k] = c[C_RCODE + i]; });
    QTYPE_CLASSES.forEach((k, i) => { s.queriesByQtype[k] = c[C_QTYPE + i]; });
    s.queriesByProtocol.udp = c[C_UDP];
    s.queriesByProtocol.tcp = c[C_TCP];
    s.cacheHits = c[C_HITS];
    s.cacheMisses = c[C_MISSES];
    s.cacheStale = this.backStats.cacheStale;
    s.upstreamQueries = this.backStats.upstreamQueries;
    s.upstreamTimeouts = this.backStats.upstreamTimeouts;
    s.upstreamErrors = this.backStats.upstreamErrors;
    s.dropped = c[C_DROPPED];
    s.refusedAcl = c[C_REFUSED_ACL];
    s.inflight = this.inflight.size;
    s.cacheEntries = this.cache.entries;
    s.cacheBytes = this.cache.bytes;
    for (let i = 0; i <= LATENCY_BUCKETS_MS.length; i++) s.latency.counts[i] = c[C_LAT + i];
    s.latency.sumMs = c[C_LAT_SUM];
    s.latency.count = c[C_LAT_COUNT];
    s.workers = 1;
    return s;
  }
}
