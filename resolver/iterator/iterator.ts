// The iterator: resolves one question from the root as an explicit state machine,
// in the manner of unbound's iterator (one function per state, one loop that
// dispatches on the state). This file holds the machine; what it works with lives
// beside it: delegation points and server choice in delegpt.ts, merging of
// resolutions and deadlock detection in flights.ts, TTLs in ../ttl-policy.ts,
// scrubbing in scrub.ts, response kinds in classify.ts.
//
//   init ──► findZoneCut ──────────► queryTargets ──► handleResponse ──► finished
//    ▲            │                   ▲    ▲   │             │
//    │            └─(no cut)─► prime ─┘    │   └─(no server)─┼──► finished (SERVFAIL)
//    │                                     └──(referral, lame, timeout, error)
//    └───────────────(CNAME/DNAME to a name we must ask afresh)
//
//   priming resolution (RFC 8109), started by prime, one at a time:
//     [delegation point = root hints] queryTargets ──► primeResponse ──► finished
//                                         ▲                 │
//                                         └─(anything but the root NS answer)
//
// Sub-questions (addresses of NS names for glueless delegations) run as
// resolutions of their own through the same machine, merged with any identical
// resolution in flight (flights.ts). Every resolution has one Budget: a deadline
// and a query count, set when the client's question arrives and shared by its
// sub-questions; it is the resolver's only deadline (the front has none).

import { performance } from 'node:perf_hooks';
import { CLASS, FLAG, RCODE, TYPE } from '../../dns/constants.js';
import type { ResourceRecord } from '../../dns/message.js';
import { isSubdomain, lowerName, nameEquals, parentName } from '../../dns/name.js';
import { rdataName } from '../../dns/rdata.js';
import type { ResolverConfig } from '../config.js';
import type { ResolverStats } from '../stats.js';
import { groupRRsets, RRsetCache, TRUST, type Delegation, type Trust } from '../cache/rrset-cache.js';
import { TtlPolicy } from '../ttl-policy.js';
import { rrsetMinTtls } from '../cache/rrset-group.js';
import type { InfraCache } from '../selection/infra.js';
import { Canceller, type Upstream } from '../transport/upstream.js';
import { classifyResponse } from './classify.js';
import {
  addParentSideAddresses, addressText, delegationAddresses, hasUnresolvedNames, hintsDelegation, leave, referralDelegationPoint, rootDelegation,
  selectAddress, toDelegationPoint, unresolvedNames, usableDelegation, type AskedQuestion, type DelegationPoint, type SentQuery,
} from './delegpt.js';
import { MinimisedQuestion, minimisedReply, nextQuestion, type Minimisation } from './qmin.js';
import { detachedFlight, FlightTable, flightKey, withDeadline, type Flight } from './flights.js';
import type { RootHints } from './roothints.js';
import { dnameAbove, nsTargets, scrubResponse, type Scrubbed } from './scrub.js';
import type { Message } from '../../dns/message.js';
import type { ResolveRequest, ResolveResult } from './types.js';
import { forwardDelegationPoint, forwardedView, type ForwardTable } from '../forward/forward.js';
import type { NegativeQuota } from '../defence/negative-quota.js';

/** EDE info codes used (RFC 8914). */
export const EDE = { OTHER: 0, NO_REACHABLE_AUTHORITY: 22, NETWORK_ERROR: 23 } as const;

/** Glueless lookups nested deeper than this give up (unbound uses a similar small bound). */
const DEFAULT_MAX_DEPENDENCY_DEPTH = 4;
/** NS names resolved at once for a glueless delegation. */
const PARALLEL_TARGET_LOOKUPS = 3;

export type IteratorState = 'init' | 'findZoneCut' | 'prime' | 'queryTargets' | 'handleResponse' | 'primeResponse' | 'finished';

export interface IteratorDeps {
  cfg: ResolverConfig;
  stats: ResolverStats;
  upstream: Upstream;
  hints: RootHints;
  cache: RRsetCache;
  /** TTL clamps for the result (the same policy the RRset cache applies). */
  ttl: TtlPolicy;
  infra: InfraCache;
  maxDependencyDepth?: number;
  random?: () => number;
  /** The infra cache's clock (ms), to date queries for it. */
  now: () => number;
  /** forward_zones: names under these go to forwarders (resolver/forward/). */
  forwards?: ForwardTable;
  /** flood.max_negative_per_zone for the RRset cache's negative entries (defence/negative-quota.ts). */
  negativeQuota?: NegativeQuota<string>;
}

interface Budget {
  /** performance.now() value after which the resolution gives up. */
  deadlineMs: number;
  queries: number;
  maxQueries: number;
}

/** The state of one resolution (unbound: the module's per-query state). */
interface Task {
  qname: string;
  qtype: number;
  qclass: number;
  /** CNAME/DNAME chain and final RRset gathered so far. */
  chain: ResourceRecord[];
  /** DNSSEC (validation on): RRSIGs of the chain's RRsets, and denial records (NSEC, NSEC3, their RRSIGs). */
  sigs: ResourceRecord[];
  proof: ResourceRecord[];
  /** Validation retry: the cache is not read, and these addresses are never asked. */
  refetch?: { avoid: readonly string[] };
  /** Servers whose responses went into the answer (validation on). */
  servers: string[];
  /** Names visited along the chain (lower case), for loop detection. */
  seen: Set<string>;
  cnames: number;
  referrals: number;
  dp?: DelegationPoint;
  /** The response being handled, who sent it, and the question it answers. */
  response?: { msg: Message; address: string; edns: boolean; asked: AskedQuestion; rd: boolean };
  /** The state a response goes to: handleResponse, or primeResponse for the priming resolution. */
  onResponse: 'handleResponse' | 'primeResponse';
  result?: ResolveResult;
  depth: number;
  /** Keys of this resolution and every resolution waiting on it through sub-questions. */
  ancestors: Set<string>;
  budget: Budget;
  flight: Flight;
  /** QNAME minimisation progress at the current delegation point (qmin.ts). */
  qmin: Minimisation;
  /** forward_first: the forwarders failed, resolve from the root instead. */
  noForward?: boolean;
}

export function servfail(text: string, code: number = EDE.NO_REACHABLE_AUTHORITY): ResolveResult {
  return { rcode: RCODE.SERVFAIL, answers: [], authority: [], additional: [], cacheTtl: 0, ede: { code, text } };
}

export class Iterator {
  private readonly d: IteratorDeps;
  private readonly flights = new FlightTable();
  private readonly maxDepth: number;
  private closed = false;
  /** The priming resolution in progress, if any (one at a time). */
  private priming: Promise<Delegation | undefined> | undefined;

  constructor(deps: IteratorDeps) {
    this.d = deps;
    this.maxDepth = deps.maxDependencyDepth ?? DEFAULT_MAX_DEPENDENCY_DEPTH;
  }

  /**
   * Resolves a client question. Never rejects: failures are SERVFAIL with an EDE.
   * The Budget made here (upstream.resolutionTimeoutMs from now) is the resolver's
   * one deadline: shared by every sub-question, checked between states, and
   * bounding every wait inside (upstream tries and their lingering, joins, priming),
   * so the result comes by then; the front keeps no timer of its own.
   */
  resolve(req: ResolveRequest): Promise<ResolveResult> {
    // Not an async function: it hands back the flight's own promise, where an async
    // function would wrap it in one more (and two more microtask turns per miss).
    try {
      return this.resolveNow(req);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  private resolveNow(req: ResolveRequest): Promise<ResolveResult> {
    if (this.closed) return Promise.resolve(servfail('resolver shutting down', EDE.OTHER));
    if (req.class !== CLASS.IN) {
      return Promise.resolve({ rcode: RCODE.REFUSED, answers: [], authority: [], additional: [], cacheTtl: 0 });
    }
    const budget = this.newBudget();
    if (req.refetch) {
      // A validation retry is its own resolution: never merged with one that may carry the bad data.
      return this.startFlight(`${flightKey(req.name, req.type, req.class)}|refetch|${Math.random()}`, req, undefined, budget).promise;
    }
    const key = flightKey(req.name, req.type, req.class);
    const existing = this.flights.get(key);
    // A client joining a resolution in flight keeps its own deadline.
    if (existing) return this.flights.join(existing, undefined, budget.deadlineMs, servfail(`resolution of ${req.name} timed out`));
    return this.startFlight(key, req, undefined, budget).promise;
  }

  close(): void {
    this.closed = true;
  }

  /** Number of resolutions in flight (top-level and sub). */
  get flightCount(): number {
    return this.flights.size;
  }

  /** A new budget: the deadline and query allowance of one client question. */
  private newBudget(): Budget {
    const up = this.d.cfg.upstream;
    return { deadlineMs: performance.now() + up.resolutionTimeoutMs, queries: 0, maxQueries: up.maxQueriesPerResolution };
  }

  /**
   * A sub-question of `parent` (an NS name's address): joins an identical
   * resolution in flight or starts one (flights.ts), on the parent's budget.
   * Joining one that (transitively) waits on the parent would deadlock, so that is
   * refused as a dependency cycle.
   */
  private resolveSub(req: ResolveRequest, parent: Task): Promise<ResolveResult> {
    const key = flightKey(req.name, req.type, req.class);
    if (parent.ancestors.has(key)) return Promise.resolve(servfail(`dependency cycle at ${req.name}`));
    const existing = this.flights.get(key);
    if (existing) {
      if (this.flights.wouldDeadlock(existing, parent.flight)) return Promise.resolve(servfail(`dependency cycle at ${req.name}`));
      return this.flights.join(existing, parent.flight, parent.budget.deadlineMs, servfail(`resolution of ${req.name} timed out`));
    }
    return this.startFlight(key, req, parent, parent.budget).promise;
  }

  /** Starts a resolution of `req` in the flight table, at INIT. */
  private startFlight(key: string, req: ResolveRequest, parent: Task | undefined, budget: Budget): Flight {
    return this.flights.start(key, (flight) => this.run({
      qname: req.name, qtype: req.type, qclass: req.class,
      chain: [], sigs: [], proof: [], servers: [], refetch: req.refetch, seen: new Set([lowerName(req.name)]), cnames: 0, referrals: 0,
      depth: parent ? parent.depth + 1 : 0,
      ancestors: new Set(parent ? [...parent.ancestors, key] : [key]),
      budget, flight, onResponse: 'handleResponse', qmin: this.newMinimisation(),
    }));
  }

  /** Minimisation state for a new resolution: as configured, nothing established yet. */
  private newMinimisation(): Minimisation {
    return { mode: this.d.cfg.upstream.qnameMinimisation, labels: 0, iterations: 0, timeouts: 0, lastName: undefined, full: false };
  }

  /** The dispatch loop: one call per state until the task is finished. */
  private async run(task: Task, first: IteratorState = 'init'): Promise<ResolveResult> {
    let state = first;
    try {
      while (state !== 'finished') {
        if (this.closed) return servfail('resolver shutting down', EDE.OTHER);
        if (performance.now() >= task.budget.deadlineMs) return servfail(`resolution of ${task.qname} timed out`);
        switch (state) {
          case 'init': state = this.processInit(task); break;
          case 'findZoneCut': state = this.processFindZoneCut(task); break;
          case 'prime': state = await this.processPrime(task); break;
          case 'queryTargets': state = await this.processQueryTargets(task); break;
          case 'handleResponse': state = this.processHandleResponse(task); break;
          case 'primeResponse': state = this.processPrimeResponse(task); break;
        }
      }
      return task.result ?? servfail('no result', EDE.OTHER);
    } catch (e) {
      return servfail(`internal error: ${(e as Error).message}`, EDE.OTHER);
    } finally {
      leave(task.dp);
    }
  }

  // ---------------------------------------------------------------------------
  // States
  // ---------------------------------------------------------------------------

  /**
   * INIT: answer from the RRset cache if it can (positive RRset of answer trust, a
   * cached CNAME to follow, or a cached NXDOMAIN/NODATA); otherwise go and find the
   * zone cut. Entered again after every CNAME/DNAME restart.
   */
  private processInit(t: Task): IteratorState {
    const cache = this.d.cache;
    if (t.cnames > this.d.cfg.upstream.maxCnameChain) return this.fail(t, `CNAME chain longer than ${this.d.cfg.upstream.maxCnameChain}`, EDE.OTHER);
    // One cache lookup for the name: the RRset, else a CNAME to follow, else NXDOMAIN/NODATA.
    // ANY is never answered from here (the cache cannot know it holds every type).
    // A validation retry reads nothing from the cache: what is there failed.
    if (t.refetch) return 'findZoneCut';
    const found = cache.lookupName(t.qname, t.qtype === TYPE.ANY ? -1 : t.qtype, t.qclass, TRUST.ANSWER);
    if (found.rrset) {
      t.chain.push(...found.rrset.records);
      if (this.dnssec) t.sigs.push(...cache.getSigs(found.rrset.records[0].name, found.rrset.records[0].type, t.qclass));
      return this.finish(t, RCODE.NOERROR);
    }
    if (found.cname && found.cname.records.length) {
      t.chain.push(found.cname.records[0]);
      if (this.dnssec) t.sigs.push(...cache.getSigs(found.cname.records[0].name, TYPE.CNAME, t.qclass));
      t.cnames++;
      let target: string;
      try { target = rdataName(found.cname.records[0].rdata); } catch { return this.fail(t, 'unreadable cached CNAME', EDE.OTHER); }
      return this.followChain(t, target);
    }
    if (found.negative) {
      if (found.negative.proof) t.proof.push(...found.negative.proof);
      return this.finish(t, found.negative.rcode, { soa: found.negative.soa, ttl: found.negative.ttl });
    }
    return 'findZoneCut';
  }

  /**
   * FIND_ZONE_CUT: the deepest delegation cached at or above the name (DS lives at
   * the parent, so DS questions start one label up). A cut is skipped if it has no
   * addresses left and all its NS names lie inside it (they could only be found
   * through itself); the parent is asked again and supplies fresh glue. With no cut
   * cached, go and prime the root; with only a root NS set whose servers have no
   * address, use the hints' addresses for them.
   */
  private processFindZoneCut(t: Task): IteratorState {
    const start = t.qtype === TYPE.DS && t.qname !== '' ? (parentName(t.qname) ?? '') : t.qname;
    const cache = this.d.cache;
    const fwd = t.noForward ? undefined : this.d.forwards?.match(start);
    if (fwd) { this.enter(t, forwardDelegationPoint(fwd)); return 'queryTargets'; }
    let d = cache.findDelegation(start, t.qclass, usableDelegation);
    if (!d) {
      // A root NS set is cached but none of its servers has an address (a priming
      // answer without glue): the hints supply them, as unbound's "safety belt".
      // Priming again would only bring the same answer.
      const rootNs = cache.getRRset('', TYPE.NS, t.qclass);
      if (!rootNs) return 'prime';
      d = rootDelegation(cache.delegationFrom(rootNs.records, t.qclass), this.d.hints);
    }
    this.enter(t, toDelegationPoint(d));
    return 'queryTargets';
  }

  /**
   * PRIME (RFC 8109): no cut is cached, not even the root's. Waits, within this
   * resolution's budget, for the priming resolution (started here unless one is
   * running), then starts from the root NS set it cached, or from the hints as
   * they are if priming failed.
   */
  private async processPrime(t: Task): Promise<IteratorState> {
    const d = await this.primeRoot(t);
    this.enter(t, toDelegationPoint(d ?? hintsDelegation(this.d.hints)));
    return 'queryTargets';
  }

  /**
   * QUERY_TARGETS: pick a server of the current delegation (infra cache: RTT,
   * lameness, dead with back-off) and send the question. When the server's RTO
   * passes without an answer, the next server (or the same one again, up to
   * MAX_TRIES_PER_ADDRESS) is tried while the earlier queries keep listening until
   * the budget ends: the first answer from any of them is taken, so a server that
   * has merely turned slow is still heard. With no address left, NS names without
   * one are resolved (glueless delegation). Every outcome feeds the infra cache.
   */
  private async processQueryTargets(t: Task): Promise<IteratorState> {
    const dp = t.dp!;
    const { cfg, infra, upstream } = this.d;
    for (;;) {
      if (this.closed) return this.fail(t, 'resolver shutting down', EDE.OTHER);
      const leftMs = t.budget.deadlineMs - performance.now();
      if (leftMs <= 0) return this.fail(t, `resolution of ${t.qname} timed out`);

      if (!dp.current) {
        let address: string | undefined;
        let edns = true;
        const retryNoEdns = [...dp.noEdnsRetry][0];
        if (retryNoEdns !== undefined) {
          dp.noEdnsRetry.delete(retryNoEdns);
          address = retryNoEdns;
          edns = false;
        } else {
          // Untried addresses first; then NS names without addresses (glueless); then
          // the addresses the parent gave for this delegation (last resort, once: the
          // child's own view of its servers may be broken); then retries.
          const families = this.families;
          address = selectAddress(dp, infra, false, families);
          if (address === undefined && hasUnresolvedNames(dp) && await this.lookupTargets(t, dp)) continue;
          if (address === undefined && addParentSideAddresses(dp, this.d.cache, t.qclass)) continue;
          address ??= selectAddress(dp, infra, true, families);
          if (address !== undefined) edns = !infra.noEdns(address);
        }
        let rd = dp.forward !== undefined;
        if (address === undefined) {
          // Out of addresses: look up NS names that have none (even with queries still
          // listening: the servers we have may be dead), then wait for what is in flight.
          if (await this.lookupTargets(t, dp)) continue;
          if (dp.sent.length === 0) {
            // Only servers that answered as recursive servers are left: ask one with RD=1.
            address = dp.recLame?.shift();
            if (address === undefined) return this.failNoAuthority(t, dp);
            rd = true;
          }
        }
        if (address !== undefined) {
          if (t.budget.queries >= t.budget.maxQueries) {
            infra.releaseProbe(address);
            if (dp.sent.length === 0) return this.fail(t, `more than ${t.budget.maxQueries} upstream queries`, EDE.OTHER);
          } else {
            t.budget.queries++;
            dp.tries.set(address, (dp.tries.get(address) ?? 0) + 1);
            const rtoMs = infra.rtoMs(address);
            // Whole milliseconds: Node keeps one timer list per distinct duration.
            const timeoutMs = Math.max(1, Math.ceil(Math.min(rtoMs, leftMs)));
            dp.abort ??= new Canceller();
            const asked = this.questionFor(t);
            const q: SentQuery = {
              address, asked, edns, rtoMs, timeoutMs, sentAtMs: this.d.now(), lingering: false, rd,
              promise: upstream.query({
                address, port: dp.forward?.ports.get(address) ?? cfg.upstream.port, rd, name: asked.name, type: asked.type, class: asked.class,
                timeoutMs, lingerMs: Math.max(0, Math.floor(leftMs - timeoutMs)), signal: dp.abort.signal,
                tcpTimeoutMs: Math.max(1, Math.ceil(Math.min(cfg.upstream.timeoutMs, leftMs))), edns, zone: dp.zone,
              }),
            };
            dp.current = q;
            dp.sent.push(q);
          }
        }
      }

      // One query out (the usual case): wait for it alone, without a race.
      const { q, out } = dp.sent.length === 1 ? { q: dp.sent[0], out: await dp.sent[0].promise }
        : await Promise.race(dp.sent.map((x) => x.promise.then((o) => ({ q: x, out: o }))));
      dp.sent.splice(dp.sent.indexOf(q), 1);
      if (dp.current === q) dp.current = undefined;
      if (out.kind === 'answer') {
        infra.onAnswer(q.address, out.rttMs);
        t.response = { msg: out.msg, address: q.address, edns: q.edns, asked: q.asked, rd: q.rd };
        return t.onResponse;
      }
      if (out.kind === 'timeout') {
        if (q.lingering) continue; // its timeout was counted when it moved on
        // The timeout that makes relaxed minimisation give up says only that the
        // minimised questions went unanswered: it does not count towards the server
        // being dead (infra's limit is also three in a row), or the full question,
        // the one it may well answer, could never be sent to a zone's only server.
        const wasFull = t.qmin.full;
        if (q.asked instanceof MinimisedQuestion) minimisedReply(t.qmin, 'timeout');
        const gaveUpMinimising = !wasFull && t.qmin.full;
        // A timeout cut short by the budget says nothing about the server.
        if ((q.timeoutMs >= q.rtoMs || out.tcp) && !gaveUpMinimising) infra.onTimeout(q.address, q.rtoMs, q.sentAtMs);
        else infra.releaseProbe(q.address);
        if (out.late) {
          q.lingering = true;
          q.promise = out.late;
          dp.sent.push(q);
        }
        continue;
      }
      switch (out.code) {
        case 'CLOSED': if (this.closed) return this.fail(t, 'resolver shutting down', EDE.OTHER); break;
        case 'LOCAL_REFUSED': case 'BAD_DESTINATION': dp.tries.set(q.address, Infinity); break;
        case 'NO_SOCKET': infra.releaseProbe(q.address); break; // our own shortage, not the server's fault: try again
        case 'ZONE_LIMIT': // the zone has too many queries out (resolver/defence/zone-limit.ts): send no more
          infra.releaseProbe(q.address);
          if (dp.sent.length === 0) return this.fail(t, `zone query limit: ${out.detail}`, EDE.OTHER);
          dp.current = dp.sent[0]; // wait for this resolution's own queries already out
          break;
        case 'NETWORK': if (!q.lingering) infra.onTimeout(q.address, q.rtoMs, q.sentAtMs); dp.tries.set(q.address, Infinity); break;
        default: infra.markLame(q.address, dp.zone); break; // malformed or broken TCP: avoid for this zone
      }
    }
  }

  /**
   * HANDLE_RESPONSE: scrub the response to the server's bailiwick, classify it, put
   * what survived in the cache, and move on: finish (answer, NXDOMAIN, NODATA),
   * restart at INIT for a CNAME target, descend on a referral, or go back to
   * QUERY_TARGETS after a lame or failing server.
   */
  private processHandleResponse(t: Task): IteratorState {
    const { address, edns, asked, rd } = t.response!;
    const dp = t.dp!;
    const msg = dp.forward ? forwardedView(t.response!.msg) : t.response!.msg;
    t.response = undefined;
    const { cache, infra, stats, cfg } = this.d;
    const s = scrubResponse(msg, asked, dp.zone, { looseGlue: !cfg.upstream.hardenGlue });
    const kind = classifyResponse(msg, s, dp.zone, rd && !dp.forward);
    const aa = (msg.flags & 0x0400) !== 0;

    // A reply to a minimised question is read by handleMinimised, except a referral
    // (descend as usual) and, in strict mode, a failing server (counted as usual).
    if (asked instanceof MinimisedQuestion && kind !== 'referral' &&
        !(t.qmin.mode === 'strict' && (kind === 'lame' || kind === 'formerr' || kind === 'server-error'))) {
      return this.handleMinimised(t, asked, kind, s, aa, address);
    }

    switch (kind) {
      case 'lame':
        stats.upstreamErrors++;
        infra.markLame(address, dp.zone);
        dp.tries.set(address, Infinity);
        if (!rd && isRecursiveAnswer(msg)) (dp.recLame ??= []).push(address);
        return 'queryTargets';
      case 'formerr':
        stats.upstreamErrors++;
        if (edns) { infra.markNoEdns(address); dp.noEdnsRetry.add(address); }
        else dp.tries.set(address, Infinity);
        return 'queryTargets';
      case 'server-error':
        stats.upstreamErrors++;
        return 'queryTargets';
      case 'yxdomain':
        t.chain.push(...s.answers);
        return this.finish(t, RCODE.YXDOMAIN);
      case 'referral': {
        const cut = s.ns[0].name;
        if (t.qtype === TYPE.DS && nameEquals(cut, t.qname)) {
          // DS is answered by the parent; a referral into the child cannot help.
          stats.upstreamErrors++;
          infra.markLame(address, dp.zone);
          return 'queryTargets';
        }
        if (++t.referrals > cfg.upstream.maxReferrals) return this.fail(t, `more than ${cfg.upstream.maxReferrals} referrals`, EDE.OTHER);
        // A referral to a minimised question carries no chain of the client's.
        if (!(asked instanceof MinimisedQuestion)) {
          const next = this.appendChain(t, s);
          if (next) return next;
        }
        // The NS set at referral trust (never above an authoritative answer's); the
        // glue only on the parent side, filed under this delegation. Loose glue
        // (harden_glue off) serves this delegation point alone and is not kept.
        cache.putRRset(s.ns, TRUST.REFERRAL);
        for (const set of groupRRsets(s.glue)) cache.putParentSide(cut, set);
        if (this.dnssec) this.cacheReferralDs(cut, s);
        this.enter(t, referralDelegationPoint(cache.delegationFrom(s.ns, s.ns[0].class), [...s.glue, ...s.looseGlue]));
        return 'queryTargets';
      }
      case 'answer':
        this.cacheAnswer(s, aa);
        if (this.dnssec) t.servers.push(address);
        t.chain.push(...s.answers);
        t.sigs.push(...s.sigs);
        t.proof.push(...s.proof);
        t.cnames += s.answers.filter((r) => r.type === TYPE.CNAME).length;
        if (t.cnames > cfg.upstream.maxCnameChain) return this.fail(t, `CNAME chain longer than ${cfg.upstream.maxCnameChain}`, EDE.OTHER);
        return this.finish(t, RCODE.NOERROR);
      case 'cname': {
        this.cacheAnswer(s, aa);
        if (this.dnssec) t.servers.push(address);
        t.sigs.push(...s.sigs);
        t.proof.push(...s.proof);
        const next = this.appendChain(t, s);
        if (next) return next;
        return 'init';
      }
      case 'nxdomain': case 'nodata': {
        this.cacheAnswer(s, aa);
        if (this.dnssec) t.servers.push(address);
        t.sigs.push(...s.sigs);
        t.proof.push(...s.proof);
        const next = this.appendChain(t, s);
        if (next) return next;
        const rcode = kind === 'nxdomain' ? RCODE.NXDOMAIN : RCODE.NOERROR;
        const ttl = TtlPolicy.negativeFromSoa(s.soa);
        if (t.qtype !== TYPE.ANY) this.putNegative(t, true, t.qname, t.qtype, t.qclass, rcode, s.soa, ttl, s.proof);
        return this.finish(t, rcode, { soa: s.soa, ttl });
      }
    }
  }

  /**
   * A reply to a minimised question (RFC 9156), other than a referral (which
   * descends as usual): what it says about the name asked goes to the cache, and
   * minimisation moves on (qmin.ts decides: next labels, the full question, or, in
   * strict mode, the end). Nothing of it joins the client's answer, and in relaxed
   * mode a server that mishandles the minimised question is not held to it: the
   * full question goes to the same servers before anything is marked lame.
   * The server answered, and the next question is a new one: its sends so far do
   * not count against it (MAX_TRIES_PER_ADDRESS bounds retries of one question;
   * otherwise a zone with one server could take only four minimised steps).
   */
  private handleMinimised(t: Task, asked: MinimisedQuestion, kind: ReturnType<typeof classifyResponse>, s: Scrubbed, aa: boolean, address: string): IteratorState {
    const { cache, stats } = this.d;
    switch (kind) {
      case 'answer': case 'cname':
        this.cacheAnswer(s, aa);
        break;
      case 'nodata': case 'nxdomain':
        if (s.answers.length === 0) this.putNegative(t, false, asked.name, asked.type, asked.class, kind === 'nxdomain' ? RCODE.NXDOMAIN : RCODE.NOERROR, s.soa, TtlPolicy.negativeFromSoa(s.soa), s.proof);
        break;
      default:
        stats.upstreamErrors++;
        break;
    }
    const next = minimisedReply(t.qmin, kind === 'answer' || kind === 'cname' || kind === 'nodata' ? 'exists' : kind === 'nxdomain' ? 'nxdomain' : 'broken', asked);
    if (next === 'nxdomain') {
      // Strict: no name below one that does not exist (RFC 8020).
      if (t.qtype !== TYPE.ANY) this.putNegative(t, true, t.qname, t.qtype, t.qclass, RCODE.NXDOMAIN, s.soa, TtlPolicy.negativeFromSoa(s.soa));
      return this.finish(t, RCODE.NXDOMAIN, { soa: s.soa, ttl: TtlPolicy.negativeFromSoa(s.soa) });
    }
    if (next === 'fail') return this.fail(t, `the servers of ${t.dp!.zone === '' ? '.' : t.dp!.zone} failed a minimised question (strict QNAME minimisation)`);
    t.dp!.tries.delete(address);
    return 'queryTargets';
  }

  /**
   * PRIME_RESPONSE (the priming resolution's own response state, as unbound's
   * PRIME_RESP_STATE): only the root NS answer is taken, scrubbed and cached with
   * its addresses; anything else counts as an upstream error and the next hints
   * server is asked.
   */
  private processPrimeResponse(t: Task): IteratorState {
    const { msg, asked } = t.response!;
    t.response = undefined;
    const dp = t.dp!;
    const s = scrubResponse(msg, asked, dp.zone);
    if (classifyResponse(msg, s, dp.zone) === 'answer') {
      this.cacheAnswer(s, (msg.flags & 0x0400) !== 0);
      return this.finish(t, RCODE.NOERROR);
    }
    this.d.stats.upstreamErrors++;
    return 'queryTargets';
  }

  // ---------------------------------------------------------------------------
  // Helpers
  // ---------------------------------------------------------------------------

  /**
   * Adds the chain part of a response (CNAMEs, DNAMEs: everything before the final
   * RRset) to the task and moves the question to the chain's end. Returns
   * 'finished' if a limit or a loop ended the resolution.
   */
  private appendChain(t: Task, s: Scrubbed): IteratorState | undefined {
    if (s.answers.length === 0) return undefined;
    const cfg = this.d.cfg.upstream;
    for (const r of s.answers) {
      t.chain.push(r);
      if (r.type === TYPE.CNAME) t.cnames++;
    }
    if (t.cnames > cfg.maxCnameChain) return this.fail(t, `CNAME chain longer than ${cfg.maxCnameChain}`, EDE.OTHER);
    if (s.stop === 'loop') return this.fail(t, `CNAME loop at ${s.finalName}`, EDE.OTHER);
    const key = lowerName(s.finalName);
    if (t.seen.has(key)) return this.fail(t, `CNAME loop at ${s.finalName}`, EDE.OTHER);
    t.seen.add(key);
    t.qname = s.finalName;
    return undefined;
  }

  /** Moves the question to a CNAME target found in the cache. */
  private followChain(t: Task, target: string): IteratorState {
    const key = lowerName(target);
    if (t.seen.has(key)) return this.fail(t, `CNAME loop at ${target}`, EDE.OTHER);
    t.seen.add(key);
    t.qname = target;
    return 'init';
  }

  /**
   * Stores the scrubbed answer chain. The authority section's NS set is not stored:
   * an answer's server could otherwise replace the delegation its parent gave (a
   * non-AA answer carrying "example.com NS a-name-I-control" was enough), which is
   * the cache poisoning of Deckard's iter_ns_spoof. NS sets enter the cache only from
   * referrals (parent side) and as the answer to an NS question (child side), as in
   * unbound since it stopped keeping such "promiscuous" RRsets. Additional-section
   * addresses are kept only for an NS answer's own servers, on the parent side,
   * filed under that NS set's zone.
   */
  private cacheAnswer(s: Scrubbed, aa: boolean): void {
    const cache = this.d.cache;
    const trust: Trust = aa ? TRUST.ANSWER_AA : TRUST.ANSWER;
    // Synthesised CNAMEs (from a DNAME) are not stored: the DNAME is.
    const real = s.answers.filter((r, i) => !(r.type === TYPE.CNAME && dnameAbove(s.answers, i) !== undefined));
    for (const set of groupRRsets(real)) {
      const sigs = s.sigs.length ? s.sigs.filter((g) => g.rdata.readUInt16BE(0) === set[0].type && nameEquals(g.name, set[0].name)) : undefined;
      cache.putRRset(set, trust, sigs);
    }
    const nsAnswer = s.answered ? real.filter((r) => r.type === TYPE.NS) : [];
    if (nsAnswer.length) {
      const targets = new Set(nsTargets(nsAnswer));
      for (const set of groupRRsets(s.glue)) if (targets.has(lowerName(set[0].name))) cache.putParentSide(nsAnswer[0].name, set);
    }
  }

  /** DNSSEC validation is on: upstream queries carry DO, and signatures and proofs are kept. */
  private get dnssec(): boolean {
    return this.d.cfg.validator?.enabled === true;
  }

  /**
   * A signed referral's DS set (with its RRSIGs), or the NSEC/NSEC3 records that deny
   * it, is cached as the answer to "cut DS", so the validator need not ask for it
   * again (as unbound takes the DS from the referral).
   */
  private cacheReferralDs(cut: string, s: Scrubbed): void {
    if (s.proof.length === 0) return;
    const ds = s.proof.filter((r) => r.type === TYPE.DS && nameEquals(r.name, cut));
    const sigs = s.proof.filter((r) => r.type === TYPE.RRSIG && r.rdata.readUInt16BE(0) === TYPE.DS && nameEquals(r.name, cut));
    if (ds.length) { this.d.cache.putRRset(ds, TRUST.ANSWER, sigs); return; }
    const denial = s.proof.filter((r) => r.type !== TYPE.DS && !(r.type === TYPE.RRSIG && r.rdata.readUInt16BE(0) === TYPE.DS));
    if (!denial.some((r) => r.type === TYPE.NSEC || r.type === TYPE.NSEC3)) return;
    let ttl = Infinity;
    for (const r of denial) ttl = Math.min(ttl, r.ttl);
    this.d.cache.putDsDenial(cut, s.ns[0].class, denial, ttl);
  }

  /** Moves the resolution to another delegation point, leaving the one it was at. */
  private enter(t: Task, dp: DelegationPoint): void {
    leave(t.dp);
    t.dp = dp;
    if (t.refetch) for (const a of t.refetch.avoid) dp.tries.set(a, Infinity);
    // Minimisation starts again below the new cut (full stays full).
    t.qmin.labels = 0;
    t.qmin.lastName = undefined;
  }

  /**
   * The question put to a server of the current delegation point: the one place
   * that decides what name and type leave this resolver. With QNAME minimisation
   * (RFC 9156, qmin.ts) only as many labels as the cut needs, type A; names below
   * the cut that the cache already knows to exist (so hold no cut of their own, or
   * findZoneCut would have started there) are skipped without a query.
   */
  private questionFor(t: Task): AskedQuestion {
    const full: AskedQuestion = { name: t.qname, type: t.qtype, class: t.qclass };
    if (t.dp!.forward) return full; // a forwarder resolves the whole name itself
    return nextQuestion(t.qmin, full, t.dp!.zone, (name) => this.knownToExist(name, t.qclass)) ?? full;
  }

  /** The cache holds an answer, or NODATA, for `name`: it exists inside the zone asked. */
  private knownToExist(name: string, cls: number): boolean {
    const found = this.d.cache.lookupName(name, TYPE.A, cls, TRUST.ANSWER);
    return found.rrset !== undefined || found.cname !== undefined || (found.negative !== undefined && found.negative.rcode === RCODE.NOERROR);
  }

  /** Address families queries may go to (upstream.ipv4 / ipv6). */
  private get families(): { v4: boolean; v6: boolean } {
    return { v4: this.d.cfg.upstream.ipv4, v6: this.d.cfg.upstream.ipv6 };
  }

  /**
   * Glueless delegation: resolves addresses of NS names that have none, up to
   * PARALLEL_TARGET_LOOKUPS at once, and returns as soon as one yields an address
   * (the others carry on and fill the delegation in as they finish). False when
   * there is nothing left to look up or none of them produced an address.
   */
  private async lookupTargets(t: Task, dp: DelegationPoint): Promise<boolean> {
    const missing = unresolvedNames(dp);
    if (missing.length === 0) return false;
    // Addresses that arrived in the cache meanwhile (another resolution found them).
    let found = false;
    for (const n of missing) {
      const ips = this.d.cache.addressesOf(n, t.qclass);
      if (ips.length) { dp.addresses.set(n, ips); dp.lookedUp.add(n); found = true; }
    }
    if (found) return true;
    if (t.depth + 1 > this.maxDepth) return false;
    // Prefer names outside the zone being resolved: names inside it can only be found through it.
    const order = shuffle(missing, this.d.random ?? Math.random).sort((a, b) => Number(isSubdomain(a, dp.zone)) - Number(isSubdomain(b, dp.zone)));
    const batch = order.slice(0, PARALLEL_TARGET_LOOKUPS);
    for (const n of batch) dp.lookedUp.add(n);
    return firstTrue(batch.map(async (n) => {
      const ips = await this.lookupAddresses(t, n);
      if (ips.length) dp.addresses.set(n, ips);
      return ips.length > 0;
    }));
  }

  /** A, then AAAA if there is no A, for an NS name, as sub-resolutions (only the families in use). */
  private async lookupAddresses(t: Task, name: string): Promise<string[]> {
    const out: string[] = [];
    const types = [...(this.d.cfg.upstream.ipv4 ? [TYPE.A] : []), ...(this.d.cfg.upstream.ipv6 ? [TYPE.AAAA] : [])];
    for (const type of types) {
      const r = await this.resolveSub({ name, type, class: t.qclass }, t);
      if (r.rcode === RCODE.NOERROR) {
        for (const rr of r.answers) {
          if (rr.type !== type) continue;
          const ip = addressText(type, rr.rdata);
          if (ip && !out.includes(ip)) out.push(ip);
        }
      }
      if (out.length) break;
    }
    return out;
  }

  /**
   * Priming (RFC 8109): asks a hints server for the root NS set and caches it with
   * its addresses, as a resolution of its own that starts at QUERY_TARGETS with the
   * hints as its delegation point and takes its response in PRIME_RESPONSE. One
   * priming runs at a time; every resolution that needs it waits within its own
   * budget. Resolves to the root delegation cached, or undefined (hints stay in use).
   */
  private primeRoot(t: Task): Promise<Delegation | undefined> {
    if (!this.priming) {
      const primed = detachedFlight('priming', (flight) => this.run({
        qname: '', qtype: TYPE.NS, qclass: CLASS.IN, chain: [], sigs: [], proof: [], servers: [], seen: new Set(['']), cnames: 0, referrals: 0,
        depth: t.depth + 1, ancestors: new Set(['priming']), flight, onResponse: 'primeResponse', qmin: this.newMinimisation(),
        budget: this.newBudget(), dp: toDelegationPoint(hintsDelegation(this.d.hints)),
      }, 'queryTargets'));
      this.priming = primed.promise
        .then(() => this.d.cache.findDelegation('', CLASS.IN, usableDelegation))
        .finally(() => { this.priming = undefined; });
    }
    return withDeadline(this.priming, t.budget.deadlineMs, undefined);
  }

  /**
   * No server of the delegation left to ask and nothing in flight. When the infra
   * cache knows every one of them dead, this is a dead zone: the question is
   * answered now (EDE 22) while background probes (selection/prober.ts) find out
   * when a server returns.
   */
  private failNoAuthority(t: Task, dp: DelegationPoint): IteratorState {
    const zone = dp.zone === '' ? '.' : dp.zone;
    if (this.d.infra.allDead(delegationAddresses(dp, this.families))) {
      this.d.stats.deadZoneServfails++;
      return this.fail(t, `every server of ${zone} is unreachable (known dead; probed in the background)`);
    }
    return this.fail(t, `no reachable authority for ${zone}`);
  }

  private fail(t: Task, text: string, code: number = EDE.NO_REACHABLE_AUTHORITY): IteratorState {
    if (t.dp?.forward?.zone.first && !t.noForward) { t.noForward = true; return 'findZoneCut'; } // forward_first
    t.result = servfail(text, code);
    // The front holds the zone's cached failures to flood.max_negative_per_zone.
    if (t.dp) t.result.zone = t.dp.zone;
    return 'finished';
  }

  /**
   * A negative answer into the RRset cache, within flood.max_negative_per_zone for
   * the zone whose servers gave it: past the quota, the zone's oldest negative name
   * makes room (defence/negative-quota.ts), so random names under one zone cannot
   * fill the cache that also holds every delegation.
   */
  private putNegative(t: Task, leaf: boolean, name: string, type: number, cls: number, rcode: number, soa: ResourceRecord | undefined, ttl: number, proof?: ResourceRecord[]): void {
    const { cache, negativeQuota } = this.d;
    cache.putNegative(name, type, cls, rcode, soa, ttl, proof);
    if (negativeQuota === undefined || t.dp === undefined || t.depth > 0 || this.d.ttl.negative(ttl) <= 0) return;
    // Only what random names leave: the client's own name (depth 0, not a name server's
    // address), and a minimised name above it only when it does not exist. A NODATA
    // above it (an empty non-terminal, or a child zone's apex that the parent's servers
    // also serve) is shared by every question below it: recycled with the flood's names
    // it was asked again every `max` names (QNAME minimisation), and a 5,000 qps flood
    // fell to a third of its answers. Names at or above the zone's apex never count.
    if (!leaf && rcode !== RCODE.NXDOMAIN) return;
    const zone = t.dp.zone;
    const lower = lowerName(name);
    if (lower === zone || !isSubdomain(lower, zone)) return;
    const drop = negativeQuota.stored(zone, lower);
    if (drop !== undefined) {
      cache.dropNegatives(drop, cls);
      this.d.stats.defence.negativeQuotaRecycledRRset++;
    }
  }

  /**
   * FINISHED: builds the result. TTLs follow the TTL policy (resolver/ttl-policy.ts),
   * as the cache applies it; a negative answer (NXDOMAIN, NODATA) carries its SOA
   * with the negative TTL, and cacheTtl is the smallest TTL of everything in the answer.
   */
  private finish(t: Task, rcode: number, negative?: { soa: ResourceRecord | undefined; ttl: number }): IteratorState {
    const policy = this.d.ttl;
    // One TTL per RRset, the smallest (RFC 2181 section 5.2), clamped as the cache clamps.
    const rrsetTtl = rrsetMinTtls(t.chain);
    const answers = t.chain.map((r, i) => ({ ...r, ttl: policy.positive(rrsetTtl[i]) }));
    let cacheTtl = Infinity;
    for (const r of answers) cacheTtl = Math.min(cacheTtl, r.ttl);
    const authority: ResourceRecord[] = [];
    if (negative) {
      const ttl = policy.negative(negative.ttl);
      if (negative.soa) authority.push({ ...negative.soa, ttl });
      // Without an SOA the TTL policy gives its short no-SOA TTL (ttl-policy.ts).
      cacheTtl = Math.min(cacheTtl, ttl);
    }
    if (!Number.isFinite(cacheTtl)) cacheTtl = 0;
    t.result = { rcode, answers, authority, additional: [], cacheTtl };
    // The front holds the zone's cached negative answers to flood.max_negative_per_zone.
    if (negative && t.dp) t.result.zone = t.dp.zone;
    if (this.dnssec) { t.result.sigs = t.sigs; t.result.proof = t.proof; t.result.servers = t.servers; }
    return 'finished';
  }
}

function firstTrue(ps: Array<Promise<boolean>>): Promise<boolean> {
  return new Promise((resolve) => {
    let left = ps.length;
    if (left === 0) { resolve(false); return; }
    for (const p of ps) {
      p.then((v) => { if (v) resolve(true); else if (--left === 0) resolve(false); }, () => { if (--left === 0) resolve(false); });
    }
  });
}

function shuffle<T>(a: T[], random: () => number): T[] {
  const out = [...a];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** A recursive server's reply to a question sent without RD: RA set, AA clear, data or a negative answer. */
function isRecursiveAnswer(msg: Message): boolean {
  return (msg.flags & FLAG.RA) !== 0 && (msg.flags & FLAG.AA) === 0 && (msg.rcode === RCODE.NOERROR || msg.rcode === RCODE.NXDOMAIN);
}
