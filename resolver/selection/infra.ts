// Infra cache: what the resolver has learned about each authoritative server
// address. It drives server choice (lowest smoothed RTT, with randomness among the
// near-best so load and spoofing chances spread), the per-try timeout, and two
// kinds of avoidance:
//   - lame for a zone (REFUSED, an upward or sideways referral, a recursive server
//     answering without AA): avoided for that zone until lameTtlMs passes, and used
//     as a last resort if nothing else is left;
//   - dead (consecutive timeouts): skipped, but probed again after a back-off that
//     doubles from deadBackoffMinMs up to deadBackoffMaxMs. Any answer brings it back
//     at once, so a server is never held down long after its outage ends.
//     With a background prober attached (setProber; the iterator attaches
//     selection/prober.ts), a question never carries the probe itself: select()
//     hands the due server to the prober, one probe per server per back-off
//     period, and treats it as dead meanwhile. A zone whose servers are all dead
//     then gets its SERVFAIL at once instead of waiting out a probe's timeout.
// RTO follows RFC 6298 (srtt + 4 * rttvar), doubles on each timeout, and is clamped
// to [minRtoMs, maxRtoMs].

import { LRUCache } from 'lru-cache';

export interface InfraOptions {
  /** Monotonic milliseconds. */
  now: () => number;
  /** Upper bound for a per-try timeout (cfg.upstream.timeoutMs). */
  maxRtoMs: number;
  /** Lower bound for a per-try timeout: event-loop lag must not look like loss. */
  minRtoMs?: number;
  /** Timeout for a server never heard from (unbound uses 376 ms). */
  initialRtoMs?: number;
  /** Consecutive timeouts after which a server counts as dead. */
  deadAfterTimeouts?: number;
  deadBackoffMinMs?: number;
  deadBackoffMaxMs?: number;
  /** How long a server stays lame for a zone. */
  lameTtlMs?: number;
  /** Servers remembered (LRU). */
  maxHosts?: number;
  /** Random source in [0,1) (tests make it fixed). */
  random?: () => number;
}

interface HostInfo {
  srttMs: number;
  rttvarMs: number;
  /** Current timeout, including back-off from timeouts. */
  rtoMs: number;
  known: boolean;
  consecutiveTimeouts: number;
  /** While > now, the server is dead and skipped. */
  deadUntilMs: number;
  /** Back-off used for the last dead period. */
  deadBackoffMs: number;
  /** A probe of a dead server is in flight (only one at a time). */
  probing: boolean;
  /** The server answered FORMERR/NOTIMP to EDNS. */
  noEdns: boolean;
  /** When the last answer arrived (infra clock). */
  lastAnswerAtMs: number;
}

export type ServerState = 'up' | 'lame' | 'probe' | 'dead';

/** Starts a background probe of a dead server that is due for one (selection/prober.ts). */
export type ProbeStarter = (address: string, zone: string) => void;

export interface HostSnapshot {
  address: string;
  srttMs: number;
  rtoMs: number;
  state: 'up' | 'dead';
  consecutiveTimeouts: number;
}

/**
 * A server's liveness as one process learnt it, for the other --workers processes
 * (resolver/workers.ts relays it): dead for `forMs` more with this back-off, or
 * alive again. Durations, not clock readings: each process has its own clock.
 */
export type LivenessEvent =
  | { address: string; dead: true; forMs: number; backoffMs: number }
  | { address: string; dead: false };

/** Near-best servers within this many ms of the best RTO are picked at random. */
const RTO_BAND_MS = 400;

export class InfraCache {
  private readonly hosts: LRUCache<string, HostInfo>;
  private readonly lame: LRUCache<string, number>;
  private readonly o: Required<InfraOptions>;
  private prober: ProbeStarter | undefined;
  private publish: ((ev: LivenessEvent) => void) | undefined;

  constructor(opts: InfraOptions) {
    const defaults: Omit<Required<InfraOptions>, 'now' | 'maxRtoMs'> = {
      minRtoMs: 120, initialRtoMs: 376, deadAfterTimeouts: 3, deadBackoffMinMs: 1000,
      deadBackoffMaxMs: 30_000, lameTtlMs: 60_000, maxHosts: 10_000, random: Math.random,
    };
    // An option passed as undefined keeps its default.
    const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
    this.o = { ...defaults, ...given } as Required<InfraOptions>;
    // Bounded by count through maxSize (each entry counts 1), not `max`: with `max`
    // lru-cache preallocates its bookkeeping for every slot at start (1.3 MiB here).
    // Estimated ~240 bytes a host and ~130 a lame entry: about 7.5 MiB when both are full.
    const one = () => 1;
    this.hosts = new LRUCache({ maxSize: this.o.maxHosts, sizeCalculation: one });
    this.lame = new LRUCache({ maxSize: this.o.maxHosts * 4, sizeCalculation: one });
  }

  /**
   * Attaches a background prober: from now on a dead server due for its probe is
   * handed to it by select() instead of being returned to the question.
   */
  setProber(p: ProbeStarter | undefined): void {
    this.prober = p;
  }

  /**
   * Tells `publish` each time a server is found dead, or alive again after being
   * dead: the other workers then skip it (or use it) at once instead of each paying
   * the whole budget to learn it (resolver/workers.ts).
   */
  shareLiveness(publish: ((ev: LivenessEvent) => void) | undefined): void {
    this.publish = publish;
  }

  /** What another worker learnt (shareLiveness); never published again. */
  applyLiveness(ev: LivenessEvent): void {
    if (typeof ev?.address !== 'string') return;
    if (ev.dead) {
      if (!(ev.forMs > 0) || !(ev.backoffMs > 0)) return;
      const h = this.host(ev.address);
      const until = this.o.now() + Math.min(ev.forMs, this.o.deadBackoffMaxMs);
      if (h.deadUntilMs >= until) return;
      h.deadUntilMs = until;
      h.deadBackoffMs = Math.max(h.deadBackoffMs, Math.min(ev.backoffMs, this.o.deadBackoffMaxMs));
      h.consecutiveTimeouts = Math.max(h.consecutiveTimeouts, this.o.deadAfterTimeouts);
      return;
    }
    const h = this.hosts.peek(ev.address);
    if (!h || h.deadUntilMs === 0) return;
    h.rtoMs = h.known ? this.rtoFromRtt(h) : this.clampRto(this.o.initialRtoMs);
    this.revive(h);
  }

  /** RFC 6298: srtt + 4 * rttvar (at least 10 ms of variance), clamped. */
  private rtoFromRtt(h: HostInfo): number {
    return this.clampRto(h.srttMs + Math.max(10, 4 * h.rttvarMs));
  }

  /** Clears a server's timeouts and dead state; true if it was dead. */
  private revive(h: HostInfo): boolean {
    const wasDead = h.deadUntilMs > 0;
    h.consecutiveTimeouts = 0;
    h.deadUntilMs = 0;
    h.deadBackoffMs = 0;
    h.probing = false;
    return wasDead;
  }

  private host(address: string): HostInfo {
    let h = this.hosts.get(address);
    if (!h) {
      const rto = this.clampRto(this.o.initialRtoMs);
      h = { srttMs: 0, rttvarMs: 0, rtoMs: rto, known: false, consecutiveTimeouts: 0, deadUntilMs: 0, deadBackoffMs: 0, probing: false, noEdns: false, lastAnswerAtMs: -Infinity };
      this.hosts.set(address, h);
    }
    return h;
  }

  private clampRto(ms: number): number {
    return Math.max(Math.min(this.o.minRtoMs, this.o.maxRtoMs), Math.min(this.o.maxRtoMs, ms));
  }

  /** Per-try timeout for this server now, ms. */
  rtoMs(address: string): number {
    return this.host(address).rtoMs;
  }

  /** Smoothed RTT in ms, or undefined before the first answer. */
  srttMs(address: string): number | undefined {
    const h = this.hosts.peek(address);
    return h && h.known ? h.srttMs : undefined;
  }

  /** Any answer (even an error rcode) proves the server is alive. */
  onAnswer(address: string, rttMs: number): void {
    const h = this.host(address);
    const r = Math.max(0, rttMs);
    if (!h.known) {
      h.srttMs = r;
      h.rttvarMs = r / 2;
      h.known = true;
    } else {
      h.rttvarMs = 0.75 * h.rttvarMs + 0.25 * Math.abs(h.srttMs - r);
      h.srttMs = 0.875 * h.srttMs + 0.125 * r;
    }
    h.rtoMs = this.rtoFromRtt(h);
    const wasDead = this.revive(h);
    h.lastAnswerAtMs = this.o.now();
    if (wasDead && this.publish) this.publish({ address, dead: false });
  }

  /**
   * No answer within the timeout: back off, and after enough in a row mark dead.
   * Timeouts of queries that were in flight together count once (the RTO they
   * used has already been doubled by the first of them), and a timeout of a query
   * sent before the server's latest answer does not count towards "dead": a burst
   * the server shed (e.g. response rate limiting) is load, not an outage.
   * `usedRtoMs` and `sentAtMs` describe the query that timed out; omit them for a
   * standalone timeout.
   */
  onTimeout(address: string, usedRtoMs?: number, sentAtMs?: number): void {
    const h = this.host(address);
    if (sentAtMs !== undefined && h.lastAnswerAtMs > sentAtMs) { h.probing = false; return; }
    if (usedRtoMs !== undefined && usedRtoMs < h.rtoMs && h.rtoMs < this.o.maxRtoMs && !h.probing) return;
    h.rtoMs = this.clampRto(Math.max(h.rtoMs, usedRtoMs ?? 0) * 2);
    h.consecutiveTimeouts++;
    const wasProbe = h.probing;
    h.probing = false;
    if (h.consecutiveTimeouts >= this.o.deadAfterTimeouts || wasProbe) {
      h.deadBackoffMs = h.deadBackoffMs ? Math.min(this.o.deadBackoffMaxMs, h.deadBackoffMs * 2) : this.o.deadBackoffMinMs;
      h.deadUntilMs = this.o.now() + h.deadBackoffMs;
      if (this.publish) this.publish({ address, dead: true, forMs: h.deadBackoffMs, backoffMs: h.deadBackoffMs });
    }
  }

  /** Marks a server lame for one zone. */
  markLame(address: string, zone: string): void {
    this.lame.set(lameKey(address, zone), this.o.now() + this.o.lameTtlMs);
  }

  isLame(address: string, zone: string): boolean {
    // Nothing lame (the usual case): no key to build for every candidate of every query.
    if (this.lame.size === 0) return false;
    const key = lameKey(address, zone);
    const until = this.lame.get(key);
    if (until === undefined) return false;
    if (until <= this.o.now()) { this.lame.delete(key); return false; }
    return true;
  }

  markNoEdns(address: string): void { this.host(address).noEdns = true; }
  noEdns(address: string): boolean { return this.hosts.peek(address)?.noEdns ?? false; }

  /** How a server stands for a zone right now. */
  state(address: string, zone: string): ServerState {
    const h = this.hosts.peek(address);
    if (h && h.deadUntilMs > 0) {
      if (h.deadUntilMs > this.o.now() || h.probing) return 'dead';
      return 'probe';
    }
    if (this.isLame(address, zone)) return 'lame';
    return 'up';
  }

  /**
   * Picks one address to query for `zone` among `candidates`, or undefined if every
   * one is dead and not yet due for a probe. Order of preference: live servers
   * (random among those within RTO_BAND_MS of the fastest), a dead server due for
   * its probe, then lame servers as a last resort.
   */
  select(candidates: string[], zone: string): string | undefined {
    const up: string[] = [];
    const probe: string[] = [];
    const lame: string[] = [];
    for (const a of candidates) {
      const s = this.state(a, zone);
      if (s === 'up') up.push(a);
      else if (s === 'probe') probe.push(a);
      else if (s === 'lame') lame.push(a);
    }
    if (probe.length && this.prober) {
      // Every due server gets its one background probe (even beside live ones, so
      // its state stays true); the question goes on without it.
      for (const a of probe) {
        this.host(a).probing = true;
        this.prober(a, zone);
      }
      probe.length = 0;
    }
    if (up.length) {
      let best = Infinity;
      for (const a of up) best = Math.min(best, this.rtoMs(a));
      const near = up.filter((a) => this.rtoMs(a) <= best + RTO_BAND_MS);
      return near[Math.floor(this.o.random() * near.length) % near.length];
    }
    if (probe.length) {
      const a = probe[Math.floor(this.o.random() * probe.length) % probe.length];
      this.host(a).probing = true;
      return a;
    }
    if (lame.length) return lame[Math.floor(this.o.random() * lame.length) % lame.length];
    return undefined;
  }

  /**
   * True when there is at least one candidate and every one is dead (probed in the
   * background or waiting out its back-off): a zone that cannot be answered now.
   */
  allDead(candidates: readonly string[]): boolean {
    if (candidates.length === 0) return false;
    const now = this.o.now();
    for (const a of candidates) {
      const h = this.hosts.peek(a);
      if (!h || h.deadUntilMs === 0) return false;
      if (h.deadUntilMs <= now && !h.probing) return false;
    }
    return true;
  }

  /** A query to a server chosen for a probe ended without a verdict (e.g. budget ran out). */
  releaseProbe(address: string): void {
    const h = this.hosts.peek(address);
    if (h) h.probing = false;
  }

  snapshot(): HostSnapshot[] {
    const out: HostSnapshot[] = [];
    const now = this.o.now();
    for (const [address, h] of this.hosts.entries()) {
      out.push({ address, srttMs: h.srttMs, rtoMs: h.rtoMs, state: h.deadUntilMs > now ? 'dead' : 'up', consecutiveTimeouts: h.consecutiveTimeouts });
    }
    return out;
  }
}

function lameKey(address: string, zone: string): string {
  return `${address}\u0000${zone.toLowerCase()}`;
}
