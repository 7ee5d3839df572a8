// The resolver's front: everything between a client packet and the iterator.
// One request chain for both transports: a listener (listener/udp.ts, listener/tcp.ts)
// calls handle(query, replier) and the Replier (listener/replier.ts) carries the
// answer back. Order per query (resolver/README.md, "Front design"):
//   1. readQuery: header, question and OPT straight from the Buffer (drop QR=1);
//      the question is lower-cased into the key buffer as it is read.
//   2. ACL: clients outside --allow get REFUSED, no data. The one exception is the
//      health probe name: a switch's `ip sla ... dns` probe comes from the switch's
//      own address, which is seldom a client network. It is a fixed local answer of
//      a few bytes (no recursion, no cache), so it opens nothing to outsiders.
//   3. malformed / unsupported: FORMERR, NOTIMP, BADVERS, REFUSED without decoding.
//   4. fastpath: a cache hit is rendered from stored bytes and sent. Nothing else runs.
//   5. past the fast path the question is decoded once (decodeQuestion) and that
//      Question, with its lower-cased key, is what the rest of the chain uses.
//   6. local answers (CHAOS, probe name, special-use zones, ANY).
//   7. wait list (waitlist.ts): clients asking the same question wait in one group;
//      the first makes the one iterator call, which settles by its own deadline.
//   8. the result is encoded once, cached, and rendered for every waiting client.
// The hit path allocates only the reply buffer and creates no closures.

import { RCODE } from '../dns/constants.js';
import type { ResolverConfig } from './config.js';
import { DEFAULT_MAX_INFLIGHT } from './config.js';
import { Acl } from './acl.js';
import { AnswerCache } from './fastpath/cache.js';
import { AnswerEntry, buildEntry, buildOpt, nsidOption, render, type AnswerInit } from './fastpath/entry.js';
import { WaitList, type WaitGroup } from './waitlist.js';
import { defaultServeStaleSettings, StaleAnswers } from './stale/serve-stale.js';
import { Prefetcher } from './prefetch.js';
import { LocalAnswers, PROBE_SILENT } from './local.js';
import { TtlPolicy } from './ttl-policy.js';
import { MAX_KEY_LEN, QS, QueryInfo, decodeQuestion, readQuery, type Question, type QueryStatus } from './listener/query.js';
import type { Resolution, ResolveResult } from './iterator/types.js';
import { emptyStats, LATENCY_BUCKETS_MS, QTYPE_CLASSES, RCODE_LABELS, type ResolverStats } from './stats.js';
import type { ProbeAnswerMode } from './api.js';
import type { QueryHandler, Replier } from './listener/replier.js';
import { GV, Guard, RCODE_BADCOOKIE, type GuardVerdict } from './defence/guard.js';
import { defaultFloodSettings } from './defence/settings.js';
import { copyZoneQueueStats } from './defence/stats.js';
import { NegativeQuota } from './defence/negative-quota.js';

/**
 * A positive answer (NOERROR with records) goes to the main answer cache; NXDOMAIN,
 * NODATA and SERVFAIL go to the negative cache, so random names cannot push the
 * popular entries out (resolver/README.md, "Random-subdomain floods").
 */
export function isPositive(res: ResolveResult): boolean {
  return res.rcode === RCODE.NOERROR && res.answers.length > 0;
}

/** The answer-cache hash of a question's DNSSEC variant (validation on): apart from the plain question's. */
function variantHash(hash: number, variant: number): number {
  return (hash ^ Math.imul(variant, 0x9e3779b1)) & 0x3fffffff;
}

/** Largest UDP reply we send, whatever the client advertises (DNS flag day 2020). */
export const MAX_UDP_REPLY = 1232;
const CLASSIC_UDP = 512;

/** A client to be answered: its query, what its reply must honour, and where it goes. */
class Waiter {
  constructor(
    readonly query: Buffer,
    readonly hasOpt: boolean,
    readonly dnssecOk: boolean,
    readonly nsid: boolean,
    readonly limit: number,
    readonly t0: number,
    /** The listener's replier; replaced by its held form once the answer must wait. */
    public replier: Replier,
  ) {}
  /** The COOKIE option for this client's reply (resolver/defence/guard.ts), or null. */
  cookie: Buffer | null = null;
}

/** Largest reply a UDP client takes: its EDNS size clamped to 512..`max` (max_udp_size), or 512 without EDNS. */
function udpLimit(q: QueryInfo, max: number): number {
  if (!q.hasOpt) return CLASSIC_UDP;
  return q.udpSize > max ? max : q.udpSize < CLASSIC_UDP ? CLASSIC_UDP : q.udpSize;
}

// Counter slots (one Float64Array: cheap to bump, no hidden-class churn).
/** How long past its budget a resolution may run before its clients get SERVFAIL from the wait list's sweep. */
const OVERDUE_GRACE_MS = 1000;
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

export class Front implements QueryHandler {
  readonly cache: AnswerCache;
  /** Negative answers and SERVFAILs, in their own share of cache.max_bytes (flood.negative_cache_share). */
  readonly negCache: AnswerCache;
  /** flood.max_negative_per_zone for negCache (defence/negative-quota.ts), keyed by question hash. */
  readonly negativeQuota: NegativeQuota<number>;
  /** A negative entry a client hit in the last minute: the quota passes it over (defence/negative-quota.ts). */
  private readonly negativeInUse = (hash: number): boolean => {
    const e = this.negCache.peek(hash);
    return e !== undefined && e.touchedMs > e.insertedMs && this.now() - e.touchedMs < 60_000;
  };
  /** Rate limiting and cookies (resolver/defence/guard.ts); replaced by applyDefenceSettings(). */
  guard: Guard;
  local: LocalAnswers;
  private acl: Acl;
  private readonly waiting: WaitList<Waiter, Question>;
  private readonly resolution: Resolution;
  private readonly backStats: ResolverStats;
  private readonly now: () => number;
  private readonly log: (msg: string) => void;
  private readonly cfg: ResolverConfig;
  private readonly ttl: TtlPolicy;
  /** Serve-stale (RFC 8767): stale/serve-stale.ts. */
  readonly stale: StaleAnswers;
  /** Background refresh of answers in the last 10% of their TTL: prefetch.ts. */
  readonly prefetcher: Prefetcher;
  /** DNSSEC validation on: answers are kept per DO/CD/AD variant. */
  private readonly validating: boolean;
  private readonly q = new QueryInfo();
  private readonly keyBuf = Buffer.allocUnsafe(MAX_KEY_LEN + 4);
  private readonly c = new Float64Array(C_SIZE);
  /** OPT records by (DO ? 1 : 0) | (NSID ? 2 : 0). */
  private opts: Buffer[];
  /** max_udp_size: the largest UDP reply, and the size our OPT record advertises. */
  private maxUdp: number;
  private nsid: Buffer;
  private closing = false;
  private lastErrorLogMs = -Infinity;
  /** Clock reading shared by the packets of one event-loop turn (see batchNow). */
  private batchMs = 0;
  private batchValid = false;
  private readonly endBatch = (): void => { this.batchValid = false; };

  constructor(o: FrontOptions) {
    this.cfg = o.cfg;
    this.validating = o.cfg.validator?.enabled === true;
    this.ttl = new TtlPolicy(o.cfg.cache);
    this.resolution = o.resolution;
    this.backStats = o.backStats ?? emptyStats();
    this.now = o.now ?? (() => performance.now());
    this.log = o.log ?? (() => {});
    this.acl = new Acl(o.cfg.allow);
    this.stale = new StaleAnswers(o.cfg.serveStale ?? defaultServeStaleSettings());
    // Negative answers have a budget of their own (flood.negative_cache_share), so random names
    // cannot push popular entries out. Both keep expired entries for serve-stale (RFC 8767
    // serves negative answers stale too), within their own byte bounds.
    const negShare = (o.cfg.flood ?? defaultFloodSettings()).negativeCacheShare;
    this.cache = new AnswerCache(Math.max(64 * 1024, Math.floor(o.cfg.cache.maxBytes * (1 - negShare))), this.stale.keepExpiredMs);
    this.negCache = new AnswerCache(Math.max(16 * 1024, Math.floor(o.cfg.cache.maxBytes * negShare)), this.stale.keepExpiredMs);
    this.negativeQuota = new NegativeQuota<number>(() => (this.cfg.flood ?? defaultFloodSettings()).maxNegativePerZone);
    this.guard = new Guard(o.cfg);
    this.prefetcher = new Prefetcher(o.cfg.prefetch ?? true, Math.max(1, Math.floor((o.cfg.maxInflight ?? DEFAULT_MAX_INFLIGHT) / 10)));
    // No client left without an answer: a resolution overrunning its budget (plus a grace) is
    // answered from a stale copy if one is kept (RFC 8767), else SERVFAIL.
    this.waiting = new WaitList<Waiter, Question>(o.cfg.maxInflight ?? DEFAULT_MAX_INFLIGHT, undefined, {
      afterMs: o.cfg.upstream.resolutionTimeoutMs + OVERDUE_GRACE_MS,
      onOverdue: (g) => {
        this.logError(`resolution of ${g.question.name}/${g.question.type} overran its ${o.cfg.upstream.resolutionTimeoutMs} ms budget: answered ${this.stale.peek(g) ? 'stale' : 'SERVFAIL'}`);
        const now = this.now();
        const waiters = this.waiting.settle(g);
        if (this.answerStale(g, waiters, now)) return;
        this.answerWaiters(waiters, this.servfailEntry(g, now), now);
      },
    });
    this.local = new LocalAnswers({ identity: o.cfg.identity, probeName: o.cfg.probe.name, nodefault: o.cfg.localZonesNodefault });
    this.nsid = nsidOption(o.cfg.identity);
    this.maxUdp = o.cfg.maxUdpSize ?? MAX_UDP_REPLY;
    this.opts = this.buildOpts();
  }

  /** The OPT records of plain replies: DO clear/set, NSID without/with. */
  private buildOpts(): Buffer[] {
    const m = this.maxUdp;
    return [buildOpt(m, false), buildOpt(m, true), buildOpt(m, false, [this.nsid]), buildOpt(m, true, [this.nsid])];
  }

  /**
   * Reload (resolver/control/reload.ts updates the config object in place first):
   * rebuilds what was derived from it at start. The cache, the sockets and the
   * resolutions in flight are untouched.
   */
  reconfigure(): void {
    const cfg = this.cfg;
    this.acl = new Acl(cfg.allow);
    const old = this.local;
    this.local = new LocalAnswers({ identity: cfg.identity, probeName: cfg.probe.name, nodefault: cfg.localZonesNodefault });
    this.local.probeMode = old.probeMode;
    this.local.warming = old.warming;
    this.waiting.maxQuestions = cfg.maxInflight ?? DEFAULT_MAX_INFLIGHT;
    this.nsid = nsidOption(cfg.identity);
    this.maxUdp = cfg.maxUdpSize ?? MAX_UDP_REPLY;
    this.opts = this.buildOpts();
    // Rate limits and cookie secrets are built once from the config: rebuilt here.
    this.applyDefenceSettings(cfg);
  }

  /**
   * New rate-limit and cookie settings (a reload): the next query is screened with
   * them. Counters carry on; the rate limiter's buckets start afresh.
   */
  applyDefenceSettings(cfg: Pick<ResolverConfig, 'rateLimit' | 'cookies'>): void {
    const g = new Guard(cfg, undefined, this.guard);
    Object.assign(g.counts, this.guard.counts);
    this.guard = g;
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
    return this.waiting.size;
  }

  /** Answers everything still pending with SERVFAIL (shutdown). */
  abandonPending(): void {
    this.stale.close();
    const now = this.now();
    for (const p of this.waiting.all()) this.answerWaiters(this.waiting.settle(p), this.servfailEntry(p, now), now);
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

  /**
   * The request chain, the same for UDP and TCP (the replier says which framing
   * the reply needs). `msg` may be reused by the listener after return.
   */
  handle(msg: Buffer, r: Replier): void {
    if (this.closing) return;
    const t0 = this.batchNow();
    const q = this.q;
    const st = readQuery(msg, q, this.keyBuf);
    const c = this.c;
    if (st === QS.DROP) { c[C_DROPPED]++; this.guard.counts.droppedMalformed++; return; }
    const framing = r.framing;
    c[framing === 0 ? C_UDP : C_TCP]++;
    if (!this.acl.allows(r.address)) {
      if (st === QS.OK && this.probeFromOutside(msg, t0, r)) return;
      c[C_REFUSED_ACL]++;
      if (st !== QS.OK) { c[C_DROPPED]++; this.guard.counts.droppedMalformed++; return; }
      this.send(r, this.errorReply(msg, q, RCODE.REFUSED, framing, false), RCODE.REFUSED, t0);
      return;
    }
    if (st !== QS.OK) {
      const rcode = statusRcode(st);
      this.send(r, this.errorReply(msg, q, rcode, framing), rcode, t0);
      return;
    }
    const gv = this.guard.screen(msg, q.cookieOff, q.cookieLen, r.address, framing === 0, t0);
    if (gv !== GV.PASS) { this.screened(gv, msg, r, t0); return; }
    c[C_QTYPE + QTYPE_INDEX[q.qtype]]++;
    const limit = framing === 0 ? udpLimit(q, this.maxUdp) : 0xffff;
    // RD=0 never reads the cache (no cache snooping); see miss().
    // With validation on, DO, CD and AD answers differ (RRSIGs, AD, unchecked data): kept apart.
    const variant = this.validating ? q.variant : 0;
    const hash = variant === 0 ? q.keyHash : variantHash(q.keyHash, variant);
    const e = msg[2] & 0x01 ? (this.cache.lookup(hash, this.keyBuf, q.keyLen, t0, variant) ?? this.negCache.lookup(hash, this.keyBuf, q.keyLen, t0, variant)) : undefined;
    if (e !== undefined) {
      c[C_HITS]++;
      const out = render(e, msg, q.hasOpt ? this.optFor(q.dnssecOk, q.nsid, e.ede, this.guard.replyCookie) : null, limit, t0, framing);
      this.send(r, out, e.rcode, t0);
      if (e.ede !== null && StaleAnswers.isStale(e)) this.stale.served++;
      // In the last 10% of its TTL: refreshed in the background, once (prefetch.ts).
      else if ((t0 - e.insertedMs) * 10 >= (e.expiresMs - e.insertedMs) * 9 && this.prefetcher.due(e)) this.prefetch(msg);
      return;
    }
    // msg may be a view into the listener's batch slab or read buffer: the waiter keeps a copy.
    const question = decodeQuestion(msg, q, this.keyBuf);
    this.miss(Buffer.from(msg), variant === 0 ? question : { ...question, key: question.key + String.fromCharCode(0x100 + variant), hash, variant }, limit, t0, r);
  }

  /** A query the guard did not pass: dropped, or an empty TC=1, BADCOOKIE or FORMERR reply. */
  private screened(gv: GuardVerdict, msg: Buffer, r: Replier, t0: number): void {
    if (gv === GV.DROP) { this.c[C_DROPPED]++; return; }
    const q = this.q;
    const cookie = this.guard.replyCookie;
    const rcode = gv === GV.BADCOOKIE ? RCODE_BADCOOKIE : gv === GV.FORMERR ? RCODE.FORMERR : RCODE.NOERROR;
    const out = this.errorReply(msg, q, rcode, r.framing, true, cookie);
    if (gv === GV.TC) out[r.framing + 2] |= 0x02;
    this.send(r, out, rcode, t0);
  }

  private send(r: Replier, out: Buffer, rcode: number, t0: number): void {
    r.send(out);
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

  private optFor(dnssecOk: boolean, nsid: boolean, ede: Buffer | null, cookie: Buffer | null = null): Buffer {
    if (ede === null && cookie === null) return this.opts[(dnssecOk ? 1 : 0) | (nsid ? 2 : 0)];
    const o: Buffer[] = [];
    if (nsid) o.push(this.nsid);
    if (ede !== null) o.push(ede);
    if (cookie !== null) o.push(cookie);
    return buildOpt(this.maxUdp, dnssecOk, o);
  }

  // ------------------------------------------------------------ replies without an entry

  /**
   * Header (+ the question when it could be read, + OPT when the client sent one).
   * Never carries data. Extended rcodes (BADVERS) go into the OPT record. `ra` is
   * false for clients outside --allow: recursion is not available to them (as
   * unbound and BIND say it).
   */
  private errorReply(msg: Buffer, q: QueryInfo, rcode: number, prefix: number, ra = true, cookie: Buffer | null = null): Buffer {
    const qEnd = q.qEnd;
    const opt = q.hasOpt ? buildOpt(this.maxUdp, q.dnssecOk, cookie !== null ? [cookie] : [], rcode >> 4) : null;
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
  private probeFromOutside(msg: Buffer, t0: number, r: Replier): boolean {
    const q = this.q;
    const question = decodeQuestion(msg, q, this.keyBuf);
    if (!this.local.isProbe(question.lower)) return false;
    const local = this.local.answer(question.name, question.lower, q.qtype, q.qclass);
    if (local === null) return false;
    if (local === PROBE_SILENT) return true; // drained: no reply at all
    this.c[C_QTYPE + QTYPE_INDEX[q.qtype]]++;
    const w = new Waiter(msg, q.hasOpt, q.dnssecOk, q.nsid, r.framing === 0 ? udpLimit(q, this.maxUdp) : 0xffff, t0, r);
    w.cookie = this.guard.replyCookie;
    this.deliver(w, buildEntry(local, t0, 0), t0);
    return true;
  }

  // ------------------------------------------------------------ miss path

  /** A query the answer cache could not answer: local data, else merged into a resolution. */
  private miss(msg: Buffer, question: Question, limit: number, t0: number, r: Replier): void {
    const q = this.q;
    const { name, type, cls } = question;
    const local = this.local.answer(name, question.lower, type, cls);
    if (local === PROBE_SILENT) return; // drained: no reply at all
    const w = new Waiter(msg, q.hasOpt, q.dnssecOk, q.nsid, limit, t0, r);
    w.cookie = this.guard.replyCookie;
    if (local !== null) {
      this.deliver(w, buildEntry(local, t0, 0), t0);
      return;
    }
    if ((msg[2] & 0x01) === 0) {
      // Not a recursive query: local data only, as unbound does for "allow" clients.
      // Answering it from the cache would let anyone probe what this node's clients asked.
      this.send(r, this.errorReply(msg, q, RCODE.REFUSED, r.framing, true, w.cookie), RCODE.REFUSED, t0);
      return;
    }
    this.c[C_MISSES]++;
    const j = this.waiting.join(question, w);
    if (j.kind === 'full') { this.c[C_DROPPED]++; this.guard.counts.droppedInflight++; return; }
    // Queued: the answer comes after this call returns.
    w.replier = r.hold();
    if (j.kind === 'joined') return;
    const p = j.group;
    // An expired answer still kept: served if the authorities fail or are slow (stale/).
    const stale = this.stale.usable((this.cache.peekExpired(question.hash, this.keyBuf, q.keyLen, t0, question.variant ?? 0) ?? this.negCache.peekExpired(question.hash, this.keyBuf, q.keyLen, t0, question.variant ?? 0)), t0);
    if (stale !== undefined) this.stale.watch(p, p.question.hash, stale, () => this.serveStale(p));
    let promise: Promise<ResolveResult>;
    try {
      const v = question.variant ?? 0;
      promise = this.resolution.resolve(v === 0 ? { name, type, class: cls } : { name, type, class: cls, dnssecOk: (v & 1) !== 0, cd: (v & 2) !== 0, ad: (v & 4) !== 0 });
    } catch (err) {
      promise = Promise.reject(err);
    }
    promise.then(
      (res) => this.finish(p, res),
      (err: unknown) => {
        this.logError(`resolving ${name}/${type}: ${(err as Error)?.message ?? String(err)}`);
        const now = this.now();
        const waiters = this.waiting.settle(p);
        if (this.answerStale(p, waiters, now)) return;
        this.answerWaiters(waiters, this.servfailEntry(p, now), now);
      },
    );
  }

  /** The client-response timer ran out: the clients waiting so far get the stale answer. */
  private serveStale(p: WaitGroup<Waiter, Question>): void {
    if (p.settled) return;
    // They are taken out of the group: the resolution carries on, and its answer
    // replaces the stale one in the cache; later askers hit the stale copy meanwhile.
    this.answerStale(p, p.waiters.splice(0), this.now(), true);
  }

  /**
   * Answers `waiters` from the stale entry the resolution of `p` started with, and
   * caches the stale copy for the recheck interval. False when there is none.
   */
  private answerStale(p: WaitGroup<Waiter, Question>, waiters: Waiter[], now: number, keepWatching = false): boolean {
    const held = keepWatching ? this.stale.peek(p) : this.stale.settle(p);
    if (held === undefined) return false;
    const positive = held.entry.rcode === RCODE.NOERROR && held.entry.wire.readUInt16BE(6) > 0;
    const e = this.stale.rearm(held.entry, now);
    this.storeAnswer(held.hash, e, positive, now);
    this.stale.served += waiters.length;
    this.answerWaiters(waiters, e, now);
    return true;
  }

  /** Starts the background refresh of the entry that answered `msg` (the client was answered already). */
  private prefetch(msg: Buffer): void {
    if (this.closing) return;
    const { name, type, cls, hash } = decodeQuestion(msg, this.q, this.keyBuf);
    this.prefetcher.start({ name, type, class: cls }, this.resolution, (res) => {
      if (this.closing) return;
      const now = this.now();
      try {
        this.storeAnswer(hash, this.entryFromResult(name, type, cls, res, now), isPositive(res), now);
      } catch (err) {
        this.logError(`encoding the prefetched answer for ${name}/${type}: ${(err as Error).message}`);
      }
    }, (err) => this.logError(`prefetching ${name}/${type}: ${(err as Error)?.message ?? String(err)}`));
  }

  private finish(p: WaitGroup<Waiter, Question>, res: ResolveResult): void {
    const now = this.now();
    const waiters = this.waiting.settle(p);
    // The authorities failed: a stale answer in hand wins over SERVFAIL (RFC 8767).
    if (res.rcode === RCODE.SERVFAIL && this.answerStale(p, waiters, now)) return;
    this.stale.settle(p);
    const { name, type, cls } = p.question;
    let e: AnswerEntry;
    try {
      e = this.entryFromResult(name, type, cls, res, now);
    } catch (err) {
      this.logError(`encoding the answer for ${name}/${type}: ${(err as Error).message}`);
      e = this.servfailEntry(p, now);
    }
    e.variant = p.question.variant ?? 0;
    const positive = isPositive(res);
    this.storeAnswer(p.question.hash, e, positive, now);
    // A zone's negative answers stay within flood.max_negative_per_zone: its oldest makes
    // room. Names below the apex only (the apex's own NODATA serves every client of the zone).
    if (!positive && res.zone !== undefined && e.expiresMs > now && p.question.lower !== res.zone) {
      const drop = this.negativeQuota.stored(res.zone, p.question.hash, this.negativeInUse);
      if (drop !== undefined) this.negCache.delete(drop);
    }
    this.answerWaiters(waiters, e, now);
  }

  /** The answer caches: positive answers, then negative answers and SERVFAILs. */
  answerCaches(): AnswerCache[] {
    return [this.cache, this.negCache];
  }

  /**
   * Stores a fresh answer in its budget (positive or negative) and drops the question's
   * entry from the other one, so an older answer there can never shadow the new one.
   */
  storeAnswer(hash: number, e: AnswerEntry, positive: boolean, now: number): void {
    if (positive) {
      this.negCache.delete(hash);
      this.cache.store(hash, e, now);
    } else {
      this.cache.delete(hash);
      this.negCache.store(hash, e, now);
    }
  }

  /** Encodes a result with the TTLs the TTL policy gives it (resolver/ttl-policy.ts). */
  entryFromResult(name: string, type: number, cls: number, res: ResolveResult, now: number): AnswerEntry {
    const { ttl, recordTtl } = this.ttl.answer(res.rcode, res.answers.length > 0, res.cacheTtl);
    const init: AnswerInit = {
      name, type, class: cls, rcode: res.rcode,
      answers: res.answers, authority: res.authority, additional: res.additional, ede: res.ede, ad: res.ad,
    };
    return buildEntry(init, now, ttl, recordTtl);
  }

  /** SERVFAIL for a resolution that failed or overran; never cached. */
  private servfailEntry(p: WaitGroup<Waiter, Question>, now: number): AnswerEntry {
    const { name, type, cls } = p.question;
    return buildEntry({ name, type, class: cls, rcode: RCODE.SERVFAIL, answers: [], authority: [], additional: [] }, now, 0);
  }

  private answerWaiters(waiters: Waiter[], e: AnswerEntry, now: number): void {
    for (const w of waiters) this.deliver(w, e, now);
  }

  private deliver(w: Waiter, e: AnswerEntry, now: number): void {
    const opt = w.hasOpt ? this.optFor(w.dnssecOk, w.nsid, e.ede, w.cookie) : null;
    const r = w.replier;
    try {
      this.send(r, render(e, w.query, opt, w.limit, now, r.framing), e.rcode, w.t0);
    } catch (err) {
      // The socket was closed under us (shutdown): nothing to send it on.
      this.logError(`sending to ${r.address}: ${(err as Error).message}`);
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
    s.cacheStale = this.stale.served;
    s.cachePrefetches = this.prefetcher.started;
    s.upstreamQueries = this.backStats.upstreamQueries;
    s.upstreamTimeouts = this.backStats.upstreamTimeouts;
    s.upstreamErrors = this.backStats.upstreamErrors;
    s.upstreamProbes = this.backStats.upstreamProbes;
    s.deadZoneServfails = this.backStats.deadZoneServfails;
    s.dropped = c[C_DROPPED];
    s.refusedAcl = c[C_REFUSED_ACL];
    s.inflight = this.waiting.size;
    s.cacheEntries = this.cache.entries + this.negCache.entries;
    s.cacheBytes = this.cache.bytes + this.negCache.bytes;
    Object.assign(s.defence, this.guard.counts);
    s.defence.zoneLimited = this.backStats.defence?.zoneLimited ?? 0;
    copyZoneQueueStats(s.defence, this.backStats.defence);
    s.defence.upstreamBadcookie = this.backStats.defence?.upstreamBadcookie ?? 0;
    s.defence.negativeCacheEntries = this.negCache.entries;
    s.defence.negativeCacheBytes = this.negCache.bytes;
    s.defence.rateLimitClients = this.guard.rateLimitClients;
    s.defence.negativeQuotaRecycled = this.negativeQuota.recycled;
    s.defence.negativeQuotaRecycledRRset = this.backStats.defence?.negativeQuotaRecycledRRset ?? 0;
    s.defence.negativeQuotaZones = this.negativeQuota.zonesAtQuota;
    for (let i = 0; i <= LATENCY_BUCKETS_MS.length; i++) s.latency.counts[i] = c[C_LAT + i];
    s.latency.sumMs = c[C_LAT_SUM];
    s.latency.count = c[C_LAT_COUNT];
    s.workers = 1;
    return s;
  }
}
