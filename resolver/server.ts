// startResolver: config in, a running resolver out (ResolverHandle).
// It installs no signal handlers: `anycast-kit resolver` stops on SIGTERM/SIGINT,
// while `anycast-kit node` first runs its lameduck period and then calls close().

import { isIPv6 } from 'node:net';
import { withCookieSecret } from './defence/guard.js';
import type { ClosableResolution, ProbeAnswerMode, ResolverHandle, StartOptions } from './api.js';
import { DEFAULT_WARMUP_QUERIES, defaultTcpSettings, type ResolverConfig } from './config.js';
import { Front } from './front.js';
import { createIterator } from './iterator/index.js';
import { createValidator } from './validator/index.js';
import { bindUdp, udpRepliesUnsent, type UdpListenSocket } from './listener/udp.js';
import { TcpListener } from './listener/tcp.js';
import { emptyStats, type ResolverStats } from './stats.js';
import { warmUpInTwoPasses } from './warmup.js';
import { releaseStartupMemory } from './startup-memory.js';
import { startSingleOps } from './control/single.js';
import { minimalAny } from './any.js';

export function stderrLog(prefix = 'anycast-kit resolver'): (msg: string) => void {
  return (msg) => process.stderr.write(`${prefix}: ${msg}\n`);
}

/** The back: iterative resolution from the root (resolver/iterator/). */
function loadIterator(cfg: ResolverConfig, stats: ResolverStats, liveness: StartOptions['liveness']): ClosableResolution {
  const it = createIterator(cfg, stats);
  // --workers: a server one worker finds dead (or back) is dead (or back) for all of them.
  if (liveness) {
    it.infra.shareLiveness((ev) => liveness.publish(ev));
    liveness.subscribe((ev) => it.infra.applyLiveness(ev));
  }
  // DNSSEC validation (resolver/validator/): a Resolution in front of the iterator.
  const debug = cfg.validator?.debug ? stderrLog('anycast-kit validator (debug)') : undefined;
  const v = createValidator(cfg, it, debug);
  // ANY questions are answered from a CNAME resolution of the name (resolver/any.ts).
  const resolve = minimalAny(v ?? it);
  // The caches stay reachable for the control commands (flush, flush-zone, flush-negative):
  // the RRset cache behind the validator, and the validator's own state.
  return { resolve, close: () => it.close(), cache: it.cache, validation: v } as ClosableResolution;
}

interface Bound {
  host: string;
  port: number;
  udp: UdpListenSocket;
  tcp: TcpListener;
}

/** UDP and TCP on the same port; port 0 picks one free for both. */
async function bindPair(host: string, port: number, front: Front, cfg: ResolverConfig, o: StartOptions, log: (m: string) => void): Promise<Bound> {
  const settings = cfg.tcp ?? defaultTcpSettings();
  const tries = port === 0 ? 20 : 1;
  let lastErr: unknown;
  for (let i = 0; i < tries; i++) {
    const udp = await bindUdp({ host, port, reusePort: o.reusePort, log }, front);
    const actual = udp.address().port;
    try {
      const tcp = await TcpListener.listen({ host, port: actual, reusePort: o.reusePort, settings, log }, front);
      return { host, port: actual, udp, tcp };
    } catch (err) {
      lastErr = err;
      await new Promise<void>((r) => udp.close(() => r()));
    }
  }
  throw lastErr;
}

/** Runs the resolver in this process (workers > 1 is handled by resolver/workers.ts). */
export async function startResolver(cfgIn: ResolverConfig, o: StartOptions = {}): Promise<ResolverHandle> {
  // One cookie secret for every worker of this node (a random one when none is configured).
  const cfg = withCookieSecret(cfgIn, o.log ?? stderrLog());
  if (cfg.workers > 1 && !o.resolution) {
    const { startWorkers } = await import('./workers.js');
    return startWorkers(cfg, o);
  }
  return startSingle(cfg, o);
}

export async function startSingle(cfg: ResolverConfig, o: StartOptions = {}): Promise<ResolverHandle & Required<Pick<ResolverHandle, 'reload' | 'control' | 'warmed'>> & { front: Front }> {
  const log = o.log ?? stderrLog();
  if (cfg.listen.length === 0) throw new Error('no listen address configured');
  // Before the listeners bind (and so before a node's /health goes up): compile the miss path.
  const warmQueries = o.resolution ? 0 : cfg.warmupQueries ?? DEFAULT_WARMUP_QUERIES;
  if (warmQueries > 0) {
    const w = await warmUpInTwoPasses(cfg, warmQueries, log, startSingle);
    log(`warmed up: ${w.answered} of ${w.sent} synthetic queries answered in ${Math.round(w.ms)} ms (${w.noerror} NOERROR, ${w.nxdomain} NXDOMAIN, ${w.other} other; ${w.upstream} upstream queries)`);
    if (w.answered > 0 && w.upstream === 0) log('warm-up: no synthetic query reached the iterator; the first cold misses after start will be slow (resolver/warmup.ts)');
  }
  if (o.releaseStartupMemory && !o.resolution) {
    if (cfg.warmupReleaseMemory === false) {
      log('start-up memory: kept (warmup_release_memory: false): the warm-up\'s compiled code stays, RSS at start is higher');
    } else {
      const r = releaseStartupMemory();
      if (!r.gc) log('start-up memory: no memory-reducing GC (resolver/startup-memory.ts)');
    }
  }
  const backStats = emptyStats();
  const resolution = o.resolution ?? loadIterator(cfg, backStats, o.liveness);
  const front = new Front({ cfg, resolution, backStats, now: o.now, log });
  // Warm start (cache dump, names) and reload/control: resolver/control/.
  const ops = startSingleOps(cfg, front, resolution, log, o.now);
  const bound: Bound[] = [];
  try {
    for (const l of cfg.listen) bound.push(await bindPair(l.host, l.port, front, cfg, o, log));
  } catch (err) {
    for (const b of bound) { b.udp.close(); await b.tcp.close(); }
    await resolution.close?.();
    throw err;
  }
  let closing: Promise<void> | undefined;
  const graceMs = o.closeGraceMs ?? 2000;

  async function close(): Promise<void> {
    front.stopAccepting();
    for (const b of bound) b.tcp.stopAccepting();
    // Let resolutions in flight finish so their clients get answers, within a bound.
    const deadline = performance.now() + graceMs;
    while (front.pendingResolutions > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    front.abandonPending();
    ops.stopWarming();
    if (o.dumpOnClose !== false) ops.dumpOnClose();
    await Promise.all(bound.map(async (b) => {
      await new Promise<void>((r) => b.udp.close(() => r()));
      await b.tcp.close();
    }));
    await resolution.close?.();
  }

  return {
    front,
    listening: bound.map((b) => ({ address: b.host, port: b.port, family: isIPv6(b.host) ? 6 : 4 })),
    stats: async () => {
      const s = front.stats();
      for (const b of bound) s.udpRepliesUnsent += udpRepliesUnsent(b.udp);
      return ops.decorate(s);
    },
    setProbeMode: (mode: ProbeAnswerMode) => front.setProbeMode(mode),
    close: () => (closing ??= close()),
    reload: (load) => ops.reload(load),
    control: (op) => ops.control(op),
    warmed: () => ops.warmed,
  };
}
