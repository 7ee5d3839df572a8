// Background probes of dead servers. The infra cache (infra.ts) marks a server
// dead after consecutive timeouts and lets it be tried again after a back-off
// (1 s doubling to 30 s). Before this module, the question that came along after
// the back-off carried that try: into a zone whose servers were all still dead
// it waited out the try's timeout and then its whole budget (a repeat 8 s after
// the first failure waited 4.02 s). Now select() hands the due server here and
// the question goes on as if it were dead: with every server of the zone dead it
// is answered SERVFAIL (EDE 22) at once, while this probe finds out, in the
// background, whether the server has come back.
//
// One probe per server per back-off period: the infra cache's `probing` flag is
// set when select() hands the server over and cleared by the verdict below, and
// a failed probe doubles the back-off. The probe asks the zone's apex NS (the
// smallest question the server must be able to answer; nothing of the client's
// leaves with it), and any reply at all, even REFUSED, proves the server alive,
// as for any other query (infra.onAnswer). Probes are demand-driven: a dead
// server nobody needs is never probed, so a node that once saw 10,000 dead
// servers does not keep asking them.
// unbound has no background probe: one client query at a time is let through to
// a server past its probe delay and waits for it (infra.c, "probedelay").

import { CLASS, TYPE } from '../../dns/constants.js';
import type { ResolverStats } from '../stats.js';
import { Canceller, type Upstream } from '../transport/upstream.js';
import type { InfraCache } from './infra.js';

export interface ProberOptions {
  upstream: Upstream;
  infra: InfraCache;
  stats: ResolverStats;
  /** Port authoritative servers listen on (cfg.upstream.port). */
  port: number;
  /** Cap on a probe's timeout (cfg.upstream.timeoutMs); the server's RTO below it. */
  timeoutMs: number;
  /** The infra cache's clock (ms). */
  now: () => number;
  /** Probes outstanding at once at most; a due server past the cap waits for the next question. */
  maxInflight?: number;
}

export const DEFAULT_MAX_PROBES_INFLIGHT = 256;

export class DeadServerProber {
  private readonly o: ProberOptions;
  private readonly cancel = new Canceller();
  private inflight = 0;
  private closed = false;

  constructor(o: ProberOptions) {
    this.o = o;
  }

  /** Probes outstanding now. */
  get pending(): number {
    return this.inflight;
  }

  /** Sends one probe to `address` for `zone` (called by InfraCache.select; never throws). */
  probe(address: string, zone: string): void {
    const { infra, upstream, stats } = this.o;
    if (this.closed || this.inflight >= (this.o.maxInflight ?? DEFAULT_MAX_PROBES_INFLIGHT)) {
      infra.releaseProbe(address);
      return;
    }
    this.inflight++;
    stats.upstreamProbes++;
    const rtoMs = infra.rtoMs(address);
    const timeoutMs = Math.max(1, Math.ceil(Math.min(rtoMs, this.o.timeoutMs)));
    const sentAtMs = this.o.now();
    let sent: ReturnType<Upstream['query']>;
    try {
      sent = upstream.query({
        address, port: this.o.port, name: zone, type: TYPE.NS, class: CLASS.IN,
        timeoutMs, tcpTimeoutMs: timeoutMs, edns: !infra.noEdns(address), lingerMs: 0, signal: this.cancel.signal,
      });
    } catch {
      sent = Promise.resolve({ kind: 'error', code: 'NETWORK', detail: 'send failed' });
    }
    sent.then(
      (out) => {
        if (out.kind === 'answer') infra.onAnswer(address, out.rttMs);
        else if (out.kind === 'timeout' || out.code === 'NETWORK') infra.onTimeout(address, rtoMs, sentAtMs);
        else infra.releaseProbe(address); // our own trouble (no socket, closing): no verdict on the server
      },
      () => infra.releaseProbe(address),
    ).finally(() => { this.inflight--; });
  }

  close(): void {
    this.closed = true;
    this.cancel.abort();
  }
}
