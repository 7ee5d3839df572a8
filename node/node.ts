// The deployable unit: the resolver, the health endpoint, the metrics and the SNMP
// agent under one config. startNode() is the node's composition root: it starts the
// resolver and hands it to the healthcheck part, which sees it only through
// ResolverHandle (resolver/api.ts: listening, stats, setProbeMode, close). It lives
// here, above both parts, so that healthcheck/ never starts or imports the resolver.

import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { ResolverHandle } from '../resolver/api.js';
import type { ResolverConfig } from '../resolver/config.js';
import { emptyStats, QTYPE_CLASSES, RCODE_LABELS, type ResolverStats } from '../resolver/stats.js';
import { startHttpServer, type HttpHandler, type HttpRequest, type HttpResponse, type HttpServerHandle } from '../healthcheck/http.js';
import { PROMETHEUS_CONTENT_TYPE, renderMetrics } from '../healthcheck/metrics.js';
import { HealthMonitor, probeModeFor, withTimeout } from '../healthcheck/monitor.js';
import { startSnmpAgent, type SnmpAgentHandle } from '../healthcheck/snmp/agent.js';
import { healthStateNumber, type HealthState } from '../healthcheck/state.js';
import { defenceSnmpValues } from '../healthcheck/defence-metrics.js';
import type { NodeConfig } from './config.js';

export interface NodeDeps {
  /** Defaults to resolver/index.js startResolver. */
  startResolver?: (cfg: ResolverConfig) => Promise<ResolverHandle>;
  log?: (line: string) => void;
  now?: () => number;
}

export interface NodeHandle {
  readonly config: NodeConfig;
  readonly resolver: ResolverHandle;
  readonly monitor: HealthMonitor;
  /** Current health state. */
  readonly health: HealthState;
  readonly serving: boolean;
  readonly http: { address: string; port: number };
  readonly metricsHttp?: { address: string; port: number };
  readonly snmp?: { address: string; port: number };
  /** The JSON served at /health/detail. */
  detail(): Record<string, unknown>;
  /** SIGUSR1: toggles drain; returns whether drain (by signal) is now on. */
  toggleDrain(): boolean;
  /**
   * Lameduck: /health answers 503 and the probe name gets no answer (or REFUSED, per
   * health.drainProbeAnswer) at once, DNS goes on
   * answering for the lameduck time so switches withdraw the route, then everything
   * closes. Calling it again returns the same promise.
   */
  shutdown(): Promise<void>;
  /** Closes everything now (no lameduck). */
  close(): Promise<void>;
}

function packageVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'anycast-kit' && pkg.version) return pkg.version;
    } catch { /* try the next */ }
  }
  return 'unknown';
}

async function defaultStartResolver(cfg: ResolverConfig): Promise<ResolverHandle> {
  const mod = await import('../resolver/index.js');
  return mod.startResolver(cfg, { releaseStartupMemory: true });
}

/**
 * The resolver config a node runs: the node answers health.probeName. Reload
 * (cli/node.ts) builds the new one the same way.
 */
export function nodeResolverConfig(cfg: NodeConfig): ResolverConfig {
  return { ...cfg.resolver, probe: { ...cfg.resolver.probe, name: cfg.health.probeName } };
}

export async function startNode(cfg: NodeConfig, deps: NodeDeps = {}): Promise<NodeHandle> {
  const log = deps.log ?? ((l: string) => process.stderr.write(`node: ${l}\n`));
  const now = deps.now ?? Date.now;
  const startedAtMs = now();
  const version = packageVersion();
  const health = cfg.health;
  if (!health.listen) throw new Error('health.listen is not set (give --health-listen ADDR:PORT)');

  // The resolver must answer the probe name locally: that is what keeps an upstream
  // outage from withdrawing every node at once.
  const resolverCfg = nodeResolverConfig(cfg);
  const resolver = await (deps.startResolver ?? defaultStartResolver)(resolverCfg);

  const monitor = new HealthMonitor({ resolver, settings: health, now, log });
  // Warm start (resolver/control/): until the resolver says it is warm, or the time
  // limit passes, the monitor does not run, so the node stays "starting" and out of
  // service (/health 503 "warming", the probe name REFUSED with EDE 14 "warming").
  let warming = resolver.warmed !== undefined;
  const warmLimitMs = (resolverCfg.ops?.warmTimeLimitMs ?? 30_000) + 5_000;
  const machine = monitor.machine;
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  // p99 over the load window, refreshed every interval (the histogram restarts each window).
  let loopDelayP99Ms: number | undefined;
  let loopWindowStart = now();
  const loopTimer = setInterval(() => {
    if (loopDelay.count > 0) loopDelayP99Ms = loopDelay.percentile(99) / 1e6;
    if (now() - loopWindowStart >= health.loadWindowMs) { loopDelay.reset(); loopWindowStart = now(); }
  }, health.intervalMs);
  loopTimer.unref();

  let snmpAgent: SnmpAgentHandle | undefined;
  let httpMain: HttpServerHandle | undefined;
  let httpMetrics: HttpServerHandle | undefined;

  const statsNow = async (): Promise<ResolverStats> => {
    try {
      const s = await withTimeout(resolver.stats(), 1000);
      if (s) return s;
    } catch { /* fall back to the last sample */ }
    return monitor.latestStats() ?? emptyStats();
  };

  const detail = (): Record<string, unknown> => {
    const snap = machine.snapshot();
    const load = monitor.load.figures();
    const lastWarning = monitor.recentProbes.at(-1)?.warning;
    const lameduckLeftMs = snap.lameduckSinceMs === undefined ? undefined : Math.max(0, snap.lameduckSinceMs + health.lameduckMs - now());
    return {
      state: snap.state,
      warming,
      serving: snap.serving,
      httpStatus: snap.serving ? 200 : 503,
      since: new Date(snap.sinceMs).toISOString(),
      reasons: [snap.reason, ...snap.degradedReasons.filter((r) => !snap.reason.includes(r)), ...(lastWarning ? [`warning: ${lastWarning}`] : [])],
      degraded: snap.degraded,
      drain: { file: snap.drain.file, signal: snap.drain.signal, path: health.drainFile ?? null },
      lameduck: { active: snap.lameduckSinceMs !== undefined, durationS: health.lameduckMs / 1000, source: health.lameduckSource, remainingS: lameduckLeftMs === undefined ? null : Math.round(lameduckLeftMs / 100) / 10 },
      probe: {
        name: health.probeName,
        targets: monitor.targets(),
        intervalS: health.intervalMs / 1000,
        timeoutMs: health.probeTimeoutMs,
        rise: snap.rise, fall: snap.fall,
        okStreak: snap.okStreak, failStreak: snap.failStreak,
        answerMode: probeModeFor(snap.state, health.drainProbeAnswer),
        recent: monitor.recentProbes.map((p) => ({ at: new Date(p.at).toISOString(), ok: p.ok, rttMs: p.rttMs, rcode: p.rcode, error: p.error, warning: p.warning })),
      },
      canaries: monitor.canaries.map((c) => ({
        name: c.name, ok: c.ok, failed: c.failed,
        last: c.last ? { at: new Date(c.last.at).toISOString(), asked: c.last.asked, ok: c.last.ok, rttMs: c.last.rttMs, rcode: c.last.rcode, error: c.last.error } : null,
      })),
      withdrawOnDegraded: health.withdrawOnDegraded,
      load: { ...load, eventLoopDelayP99Ms: loopDelayP99Ms === undefined ? null : Math.round(loopDelayP99Ms * 1000) / 1000 },
      counts: snap.counts,
      identity: cfg.resolver.identity,
      version,
      uptimeS: Math.round((now() - startedAtMs) / 1000),
    };
  };

  const healthResponse = (): HttpResponse => {
    const snap = machine.snapshot();
    if (warming && snap.state === 'starting') return { status: 503, body: 'UNAVAILABLE warming: warm start in progress (cache dump, names file)\n' };
    if (snap.serving) {
      return { status: 200, body: snap.degraded ? `OK up (degraded: ${snap.degradedReasons.join('; ')})\n` : 'OK up\n' };
    }
    return { status: 503, body: `UNAVAILABLE ${snap.reason}\n` };
  };

  const metricsResponse = async (): Promise<HttpResponse> => {
    const stats = await statsNow();
    const snap = machine.snapshot();
    const body = renderMetrics({
      stats,
      health: {
        state: snap.state, serving: snap.serving, degraded: snap.degraded, draining: machine.draining,
        transitions: snap.counts.transitions, probesOk: snap.counts.probesOk, probesFailed: snap.counts.probesFailed,
        lastProbeRttMs: monitor.lastRttMs(),
      },
      canaries: monitor.canaries.map((c) => ({ name: c.name, ok: c.ok, failed: c.failed, lastOk: c.last?.ok })),
      load: monitor.load.figures(),
      eventLoopDelayP99Ms: loopDelayP99Ms,
      startedAtMs, nowMs: now(), identity: cfg.resolver.identity, version,
    });
    return { status: 200, body, contentType: PROMETHEUS_CONTENT_TYPE };
  };

  const metricsOnMain = cfg.metrics.enabled && !cfg.metrics.listen;
  const mainHandler: HttpHandler = (req: HttpRequest) => {
    switch (req.path) {
      case '/health': return healthResponse();
      case '/health/detail': return { status: 200, body: JSON.stringify(detail(), null, 2) + '\n', contentType: 'application/json' };
      case '/metrics': return metricsOnMain ? metricsResponse() : { status: 404, body: 'metrics are served elsewhere or disabled\n' };
      case '/': return { status: 200, body: `anycast-kit node ${cfg.resolver.identity}\n/health\n/health/detail\n${metricsOnMain ? '/metrics\n' : ''}` };
      default: return { status: 404, body: 'not found\n' };
    }
  };

  const pushSnmp = (): void => {
    if (!snmpAgent) return;
    const s = monitor.latestStats() ?? emptyStats();
    const snap = machine.snapshot();
    const load = monitor.load.figures();
    const usec = (ms: number | undefined) => (ms === undefined ? 0 : ms * 1000);
    snmpAgent.update({
      akNodeIdentity: cfg.resolver.identity,
      akNodeVersion: version,
      akNodeWorkers: s.workers,
      akNodeUptimeSeconds: (now() - startedAtMs) / 1000,
      akHealthState: healthStateNumber(snap.state),
      akHealthServing: snap.serving ? 1 : 2,
      akHealthDegraded: snap.degraded ? 1 : 2,
      akHealthDraining: machine.draining ? 1 : 2,
      akHealthReason: snap.reason,
      akHealthTransitions: snap.counts.transitions,
      akHealthProbesOk: snap.counts.probesOk,
      akHealthProbesFailed: snap.counts.probesFailed,
      akHealthProbeRttUsec: usec(monitor.lastRttMs()),
      akHealthStateAgeSeconds: (now() - snap.sinceMs) / 1000,
      akQueriesUdp: s.queriesByProtocol.udp,
      akQueriesTcp: s.queriesByProtocol.tcp,
      akQueriesDropped: s.dropped,
      akQueriesRefusedAcl: s.refusedAcl,
      akQueriesInflight: s.inflight,
      akQueriesPerSecond: load.queriesPerSecond,
      akQueriesUdpRepliesUnsent: s.udpRepliesUnsent ?? 0,
      akCacheHits: s.cacheHits,
      akCacheMisses: s.cacheMisses,
      akCacheStale: s.cacheStale,
      akCacheEntries: s.cacheEntries,
      akCacheKibibytes: s.cacheBytes / 1024,
      akCachePrefetches: s.cachePrefetches ?? 0,
      akUpstreamQueries: s.upstreamQueries,
      akUpstreamTimeouts: s.upstreamTimeouts,
      akUpstreamErrors: s.upstreamErrors,
      akUpstreamProbes: s.upstreamProbes ?? 0,
      akUpstreamDeadZoneServfails: s.deadZoneServfails ?? 0,
      akLatencyP50Usec: usec(load.latencyMs.p50),
      akLatencyP90Usec: usec(load.latencyMs.p90),
      akLatencyP99Usec: usec(load.latencyMs.p99),
      akLatencyMeanUsec: usec(load.latencyMs.mean),
      akLatencyWindowSeconds: load.windowS,
      akLatencyResponses: s.latency.count,
      ...defenceSnmpValues(s.defence),
      akOpsReloads: s.ops.reloads,
      akOpsReloadFailures: s.ops.reloadFailures,
      akOpsFlushedEntries: s.ops.flushedEntries,
      akOpsDumpEntriesLoaded: s.ops.dumpEntriesLoaded,
      akOpsDumpsRejected: s.ops.dumpsRejected,
      akOpsDumpEntriesWritten: s.ops.dumpEntriesWritten,
      akOpsWarmNamesResolved: s.ops.warmNamesResolved,
      akOpsWarming: s.ops.warming ? 1 : 2,
    }, {
      akRcodeTable: RCODE_LABELS.map((r) => s.answersByRcode[r] ?? 0),
      akQtypeTable: QTYPE_CLASSES.map((q) => s.queriesByQtype[q] ?? 0),
    });
  };

  let closed: Promise<void> | undefined;
  let snmpTimer: NodeJS.Timeout | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      monitor.stop();
      clearInterval(loopTimer);
      if (snmpTimer) clearInterval(snmpTimer);
      loopDelay.disable();
      await Promise.allSettled([httpMain?.close(), httpMetrics?.close(), snmpAgent?.close()]);
      await resolver.close();
    })();
    return closed;
  };

  try {
    httpMain = await startHttpServer(health.listen, mainHandler);
    if (cfg.metrics.enabled && cfg.metrics.listen) {
      httpMetrics = await startHttpServer(cfg.metrics.listen, (req) => (req.path === '/metrics' ? metricsResponse() : { status: 404, body: 'not found\n' }));
    }
    if (cfg.snmp.listen) {
      snmpAgent = await startSnmpAgent({ listen: cfg.snmp.listen, settings: cfg.snmp, log: (l) => log(`snmp: ${l}`) });
      pushSnmp();
      snmpTimer = setInterval(pushSnmp, health.intervalMs);
      machine.onChange(() => { pushSnmp(); snmpAgent?.notifyHealthChange(); });
    }
  } catch (err) {
    await close();
    throw err;
  }
  if (!warming) monitor.start();
  else {
    let limit: NodeJS.Timeout | undefined;
    void Promise.race([
      resolver.warmed!(),
      new Promise<void>((r) => { limit = setTimeout(() => { log(`warm start: still warming after ${warmLimitMs / 1000} s; serving anyway`); r(); }, warmLimitMs); }),
    ]).then(() => {
      clearTimeout(limit);
      warming = false;
      if (!closed) monitor.start();
    });
  }

  let shuttingDown: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    shuttingDown ??= (async () => {
      machine.lameduck(`shutting down; DNS answers for ${health.lameduckMs / 1000} s more so switches can withdraw the route`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, health.lameduckMs);
        // close() during lameduck (a second signal) ends the wait early.
        waitAbort = () => { clearTimeout(t); resolve(); };
      });
      await close();
    })();
    return shuttingDown;
  };
  let waitAbort: (() => void) | undefined;

  return {
    config: cfg,
    resolver,
    monitor,
    get health() { return machine.state; },
    get serving() { return machine.serving; },
    http: { address: httpMain.address, port: httpMain.port },
    metricsHttp: httpMetrics ? { address: httpMetrics.address, port: httpMetrics.port } : undefined,
    snmp: snmpAgent ? { address: snmpAgent.address, port: snmpAgent.port } : undefined,
    detail,
    toggleDrain: () => machine.toggleDrainSignal(),
    shutdown,
    close: () => { waitAbort?.(); return close(); },
  };
}
