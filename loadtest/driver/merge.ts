// What one engine (one thread) measured, in a form that crosses a worker boundary,
// and the merge of one or more of them into the RunResult users see.

import { LatencyHistogram, summarize } from './histogram.js';
import { rcodeCounts, type RunResult, type SourceResult, type StopReason } from './results.js';

export interface HistState {
  counts: Float64Array;
  count: number;
  sumUs: number;
  minUs: number;
  maxUs: number;
}

export function histState(h: LatencyHistogram): HistState {
  return { counts: h.counts, count: h.count, sumUs: h.sumUs, minUs: h.minUs, maxUs: h.maxUs };
}

export function histFrom(s: HistState): LatencyHistogram {
  const h = new LatencyHistogram();
  h.counts.set(s.counts);
  h.count = s.count;
  h.sumUs = s.sumUs;
  h.minUs = s.minUs;
  h.maxUs = s.maxUs;
  return h;
}

export interface RawSource {
  /** '' when no --sources were given. */
  address: string;
  sent: number;
  completed: number;
  lost: number;
  hist: HistState;
}

export interface RawRun {
  startedAtMs: number;
  durationS: number;
  /** First send to last answer. */
  activeS: number;
  elapsedS: number;
  stoppedBy: StopReason;
  sent: number;
  completed: number;
  lost: number;
  truncated: number;
  unmatched: number;
  malformed: number;
  unsentNoId: number;
  unsentNoConn: number;
  unsentBehind: number;
  /** Native UDP: queries given up after the kernel refused them (send buffer full) for a whole timeout. */
  unsentSendBuf: number;
  /** Native UDP: queries the kernel refused once (send buffer full) and that went out again. */
  resent: number;
  /** How UDP was sent and read; null for TCP. */
  udpPath: 'native' | 'dgram' | null;
  rcodes: number[];
  errors: Record<string, number>;
  channels: number;
  /** Datagrams dropped at this thread's own sockets; null when unknown. */
  ownDrops: number | null;
  sources: RawSource[];
}

export interface RunMeta {
  server: { host: string; port: number };
  tcp: boolean;
  qps?: number;
  clients: number;
  timeoutMs: number;
  queriesFile: string;
  queryLines: number;
  distinctQueries: number;
  /** Source addresses in the order the user gave them (empty without --sources). */
  sourceOrder: string[];
  udpRcvbufErrors: number | null;
  threads: number;
  /** CPU seconds (user + system) the generator process used during the run. */
  cpuS: number;
}

const STOP_RANK: StopReason[] = ['interrupted', 'time-limit', 'duration', 'count'];

export function buildRunResult(raws: RawRun[], meta: RunMeta): RunResult {
  const sum = (f: (r: RawRun) => number) => raws.reduce((a, r) => a + f(r), 0);
  const durationS = Math.max(1e-6, ...raws.map((r) => r.durationS));
  const activeS = Math.max(durationS, ...raws.map((r) => r.activeS));
  const sent = sum((r) => r.sent);
  const completed = sum((r) => r.completed);
  const lost = sum((r) => r.lost);
  const unsent = {
    noFreeId: sum((r) => r.unsentNoId), noConnection: sum((r) => r.unsentNoConn), behindSchedule: sum((r) => r.unsentBehind),
    sendBufferFull: sum((r) => r.unsentSendBuf ?? 0),
  };
  const resent = sum((r) => r.resent ?? 0);
  const rcodes = new Array<number>(16).fill(0);
  const errors: Record<string, number> = {};
  for (const r of raws) {
    r.rcodes.forEach((v, i) => { rcodes[i] += v; });
    for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
  }
  const total = new LatencyHistogram();
  const bySource = new Map<string, { sent: number; completed: number; lost: number; hist: LatencyHistogram }>();
  for (const r of raws) {
    for (const s of r.sources) {
      const h = histFrom(s.hist);
      total.merge(h);
      const acc = bySource.get(s.address) ?? { sent: 0, completed: 0, lost: 0, hist: new LatencyHistogram() };
      acc.sent += s.sent;
      acc.completed += s.completed;
      acc.lost += s.lost;
      acc.hist.merge(h);
      bySource.set(s.address, acc);
    }
  }
  let sources: SourceResult[] | undefined;
  if (meta.sourceOrder.length) {
    sources = meta.sourceOrder.map((address) => {
      const s = bySource.get(address) ?? { sent: 0, completed: 0, lost: 0, hist: new LatencyHistogram() };
      return {
        address, sent: s.sent, completed: s.completed, lost: s.lost,
        lossPct: s.sent ? (100 * s.lost) / s.sent : 0,
        achievedQps: s.completed / activeS,
        latencyMs: summarize(s.hist),
      };
    });
  }
  const warnings: string[] = [];
  if (unsent.noFreeId > 0) warnings.push(`${unsent.noFreeId} queries not sent: every query ID was in flight (server too slow for the rate × timeout)`);
  if (unsent.noConnection > 0) warnings.push(`${unsent.noConnection} queries not sent: no usable TCP connection`);
  if (unsent.sendBufferFull > 0) warnings.push(`${unsent.sendBufferFull} queries not sent: the kernel refused them (socket send buffer full) for longer than the timeout`);
  if (resent > 0) warnings.push(`${resent} sends were refused by the kernel (socket send buffer full) and made again on the next tick; their latency counts from the send that went out`);
  if (unsent.behindSchedule > 0) warnings.push(`${unsent.behindSchedule} queries not sent: the generator fell behind its schedule (it is the bottleneck at this rate; try --threads)`);
  const own = raws.some((r) => r.ownDrops === null) ? null : sum((r) => r.ownDrops!);
  if (own) warnings.push(`${own} answers were dropped by the kernel at the generator's own sockets (receive buffer full): the generator could not read fast enough, so part of the loss is ours; try --threads or raise net.core.rmem_max`);
  if (meta.udpRcvbufErrors) warnings.push(`the kernel dropped ${meta.udpRcvbufErrors} UDP datagrams for full receive buffers during the run (system-wide count; the server's socket, ours or another program's)`);
  const { host, port } = meta.server;
  const openLoop = meta.qps !== undefined;
  // The run stopped for the reason that ended the last thread.
  const stoppedBy = raws.map((r) => r.stoppedBy).sort((a, b) => STOP_RANK.indexOf(a) - STOP_RANK.indexOf(b))[0] ?? 'duration';
  return {
    kind: 'anycast-kit.loadtest.run',
    version: 1,
    server: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
    transport: meta.tcp ? 'tcp' : 'udp',
    udpPath: meta.tcp ? null : (raws.find((r) => r.udpPath)?.udpPath ?? null),
    mode: openLoop ? 'open-loop' : 'closed-loop',
    targetQps: openLoop ? meta.qps! : null,
    clients: openLoop ? null : meta.clients,
    timeoutMs: meta.timeoutMs,
    queriesFile: meta.queriesFile,
    queryLines: meta.queryLines,
    distinctQueries: meta.distinctQueries,
    threads: meta.threads,
    channels: sum((r) => r.channels),
    startedAt: new Date(Math.min(...raws.map((r) => r.startedAtMs))).toISOString(),
    durationS,
    elapsedS: Math.max(...raws.map((r) => r.elapsedS)),
    stoppedBy,
    sent,
    completed,
    lost,
    lossPct: sent ? (100 * lost) / sent : 0,
    unsent,
    resent,
    sentQps: sent / durationS,
    achievedQps: completed / activeS,
    rcodes: rcodeCounts(rcodes),
    truncated: sum((r) => r.truncated),
    unmatched: sum((r) => r.unmatched),
    malformed: sum((r) => r.malformed),
    errors,
    latencyMs: summarize(total),
    ...(sources ? { sources } : {}),
    udpRcvbufErrors: meta.udpRcvbufErrors,
    ownSocketDrops: raws.some((r) => r.ownDrops === null) ? null : sum((r) => r.ownDrops!),
    generatorCpuS: meta.cpuS,
    warnings,
  };
}
