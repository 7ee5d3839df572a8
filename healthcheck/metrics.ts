// GET /metrics in the Prometheus text exposition format (version 0.0.4).
// Every family is always present (zero when nothing happened), so dashboards and
// alerts never see a metric appear out of nowhere. With --workers N the resolver's
// stats() already sums all workers.

import { QTYPE_CLASSES, RCODE_LABELS, type ResolverStats } from '../resolver/stats.js';
import type { LoadFigures } from './load.js';
import { renderDefenceMetrics } from './defence-metrics.js';
import { HEALTH_STATES, type HealthState } from './state.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface MetricsInput {
  stats: ResolverStats;
  health: {
    state: HealthState;
    serving: boolean;
    degraded: boolean;
    draining: boolean;
    transitions: number;
    probesOk: number;
    probesFailed: number;
    lastProbeRttMs?: number;
  };
  canaries: Array<{ name: string; ok: number; failed: number; lastOk?: boolean }>;
  load: LoadFigures;
  eventLoopDelayP99Ms?: number;
  startedAtMs: number;
  nowMs: number;
  identity: string;
  version: string;
}

export function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function fmt(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

class Out {
  lines: string[] = [];
  family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  }
  sample(name: string, value: number, labels?: Record<string, string>): void {
    const l = labels ? `{${Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}` : '';
    this.lines.push(`${name}${l} ${fmt(value)}`);
  }
  one(name: string, type: 'counter' | 'gauge', help: string, value: number): void {
    this.family(name, type, help);
    this.sample(name, value);
  }
}

export function renderMetrics(m: MetricsInput): string {
  const o = new Out();
  const s = m.stats;
  const P = 'anycastkit_';

  o.family(`${P}info`, 'gauge', 'Constant 1, labelled with the node identity and version.');
  o.sample(`${P}info`, 1, { identity: m.identity, version: m.version });
  o.one(`${P}start_time_seconds`, 'gauge', 'Unix time the node started.', Math.round(m.startedAtMs / 1000));
  o.one(`${P}workers`, 'gauge', 'Resolver workers whose figures are included.', s.workers);

  // Queries
  o.family(`${P}queries_total`, 'counter', 'DNS queries received, by transport protocol.');
  for (const p of ['udp', 'tcp'] as const) o.sample(`${P}queries_total`, s.queriesByProtocol[p], { protocol: p });
  o.family(`${P}queries_by_qtype_total`, 'counter', 'DNS queries received, by query type class (uncommon types are "other").');
  for (const q of QTYPE_CLASSES) o.sample(`${P}queries_by_qtype_total`, s.queriesByQtype[q] ?? 0, { qtype: q });
  o.family(`${P}responses_total`, 'counter', 'DNS responses sent, by rcode.');
  for (const r of RCODE_LABELS) o.sample(`${P}responses_total`, s.answersByRcode[r] ?? 0, { rcode: r });
  o.one(`${P}dropped_total`, 'counter', 'Queries given no answer at all: the sum of dropped_by_reason_total (malformed, in-flight limits, client rate limit).', s.dropped);
  o.one(`${P}refused_acl_total`, 'counter', 'Queries refused because the client is outside --allow.', s.refusedAcl);
  o.one(`${P}udp_replies_unsent_total`, 'counter', 'UDP replies made but not sent: the socket buffer was full or the send failed.', s.udpRepliesUnsent ?? 0);
  o.one(`${P}inflight_queries`, 'gauge', 'Resolutions in flight now.', s.inflight);
  renderDefenceMetrics(o, P, s.defence);

  // Cache
  o.one(`${P}cache_hits_total`, 'counter', 'Answers served from the cache.', s.cacheHits);
  o.one(`${P}cache_misses_total`, 'counter', 'Queries the cache could not answer.', s.cacheMisses);
  o.one(`${P}cache_stale_total`, 'counter', 'Answers served from expired data with EDE 3 because the authorities failed or were slow (serve-stale, RFC 8767).', s.cacheStale);
  o.one(`${P}cache_prefetches_total`, 'counter', 'Background refreshes of answers asked for in the last 10% of their TTL.', s.cachePrefetches ?? 0);
  o.one(`${P}cache_entries`, 'gauge', 'Entries in the answer cache.', s.cacheEntries);
  o.one(`${P}cache_bytes`, 'gauge', 'Bytes held by the answer cache.', s.cacheBytes);

  // Upstream
  o.one(`${P}upstream_queries_total`, 'counter', 'Queries sent to authoritative servers.', s.upstreamQueries);
  o.one(`${P}upstream_timeouts_total`, 'counter', 'Upstream queries that timed out.', s.upstreamTimeouts);
  o.one(`${P}upstream_errors_total`, 'counter', 'Upstream answers that were malformed, mismatched, lame or unusable.', s.upstreamErrors);
  o.one(`${P}upstream_probes_total`, 'counter', 'Background probes sent to dead authoritative servers (one per server per back-off period).', s.upstreamProbes ?? 0);
  o.one(`${P}dead_zone_servfails_total`, 'counter', 'Questions answered SERVFAIL (EDE 22) at once because every server of the zone was known dead.', s.deadZoneServfails ?? 0);

  // Reload, control and warm start (resolver/control/)
  const ops = s.ops;
  o.family(`${P}config_reloads_total`, 'counter', 'Config reloads (SIGHUP or anycast-kit control reload), by result; failed ones left the running config in force.');
  o.sample(`${P}config_reloads_total`, ops.reloads, { result: 'ok' });
  o.sample(`${P}config_reloads_total`, ops.reloadFailures, { result: 'failed' });
  o.one(`${P}cache_flushed_entries_total`, 'counter', 'Cache entries removed by anycast-kit control flush, flush-zone and flush-negative.', ops.flushedEntries);
  o.one(`${P}cache_dump_entries_loaded_total`, 'counter', 'Answers loaded from a cache dump (warm start or load-cache), summed over workers.', ops.dumpEntriesLoaded);
  o.one(`${P}cache_dumps_rejected_total`, 'counter', 'Cache dumps rejected as damaged, truncated or of another format version (the node started cold).', ops.dumpsRejected);
  o.one(`${P}cache_dump_entries_written`, 'gauge', 'Answers written by the last cache dump.', ops.dumpEntriesWritten);
  o.one(`${P}warm_names_resolved_total`, 'counter', 'Names resolved while warming from warm_start.names_file, summed over workers.', ops.warmNamesResolved);
  o.one(`${P}warming`, 'gauge', '1 while warm start is in progress (the node stays out of service), else 0.', ops.warming);

  // Latency histogram (stats keep per-bucket counts in ms; Prometheus wants cumulative seconds)
  const h = `${P}response_duration_seconds`;
  o.family(h, 'histogram', 'Time from receiving a query to sending its answer.');
  let cum = 0;
  s.latency.bucketsMs.forEach((le, i) => {
    cum += s.latency.counts[i] ?? 0;
    o.sample(`${h}_bucket`, cum, { le: String(le / 1000) });
  });
  cum += s.latency.counts[s.latency.bucketsMs.length] ?? 0;
  o.sample(`${h}_bucket`, cum, { le: '+Inf' });
  o.sample(`${h}_sum`, s.latency.sumMs / 1000);
  o.sample(`${h}_count`, s.latency.count);

  // Load over the recent window (also in /health/detail)
  const l = m.load;
  o.one(`${P}load_window_seconds`, 'gauge', 'Width of the window the load figures cover.', l.windowS);
  o.one(`${P}load_queries_per_second`, 'gauge', 'Queries per second over the load window.', l.queriesPerSecond);
  o.family(`${P}load_latency_seconds`, 'gauge', 'Response latency quantiles over the load window (bucket-interpolated).');
  for (const [q, v] of [['0.5', l.latencyMs.p50], ['0.9', l.latencyMs.p90], ['0.99', l.latencyMs.p99]] as const) {
    o.sample(`${P}load_latency_seconds`, v === undefined ? NaN : v / 1000, { quantile: q });
  }
  if (m.eventLoopDelayP99Ms !== undefined) {
    o.one(`${P}event_loop_delay_p99_seconds`, 'gauge', 'p99 event-loop delay of the node process (health, metrics, SNMP).', m.eventLoopDelayP99Ms / 1000);
  }

  // Health
  const hs = m.health;
  o.family(`${P}health_state`, 'gauge', 'Health state: 1 for the current state, 0 for the others.');
  for (const st of HEALTH_STATES) o.sample(`${P}health_state`, st === hs.state ? 1 : 0, { state: st });
  o.one(`${P}health_serving`, 'gauge', '1 when /health answers 200 and the probe name answers NOERROR.', hs.serving ? 1 : 0);
  o.one(`${P}health_degraded`, 'gauge', '1 when a canary (recursion check) failed its latest check.', hs.degraded ? 1 : 0);
  o.one(`${P}health_draining`, 'gauge', '1 while drained by the drain file or SIGUSR1.', hs.draining ? 1 : 0);
  o.one(`${P}health_transitions_total`, 'counter', 'Health state changes since start.', hs.transitions);
  o.family(`${P}health_probes_total`, 'counter', 'Self-probes through the node\'s own listener, by outcome.');
  o.sample(`${P}health_probes_total`, hs.probesOk, { result: 'ok' });
  o.sample(`${P}health_probes_total`, hs.probesFailed, { result: 'failed' });
  o.one(`${P}health_probe_rtt_seconds`, 'gauge', 'Round trip of the latest answered self-probe.', hs.lastProbeRttMs === undefined ? NaN : hs.lastProbeRttMs / 1000);
  o.family(`${P}health_canary_checks_total`, 'counter', 'Canary recursion checks, by name and outcome.');
  for (const c of m.canaries) {
    o.sample(`${P}health_canary_checks_total`, c.ok, { name: c.name, result: 'ok' });
    o.sample(`${P}health_canary_checks_total`, c.failed, { name: c.name, result: 'failed' });
  }
  return o.lines.join('\n') + '\n';
}
