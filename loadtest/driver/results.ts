// The results object of `loadtest run` and `loadtest capacity`, the JSON written by
// --json / --out (shape documented in loadtest/README.md), and the text summary.

import { rcodeName } from '../../dns/index.js';
import type { LatencySummaryMs } from './histogram.js';

export interface SourceResult {
  address: string;
  sent: number;
  completed: number;
  lost: number;
  lossPct: number;
  achievedQps: number;
  latencyMs: LatencySummaryMs;
}

export interface UnsentCounts {
  /** Every query ID of every socket was in flight (raise --timeout's budget or add sources). */
  noFreeId: number;
  /** TCP only: no open connection (refused, closed, or the server stopped reading). */
  noConnection: number;
  /** Open loop only: the generator fell more than 250 ms behind its schedule and skipped ahead. */
  behindSchedule: number;
  /** Native UDP only: the kernel refused the query (socket send buffer full) for longer than the timeout. */
  sendBufferFull: number;
}

export type StopReason = 'duration' | 'count' | 'time-limit' | 'interrupted';

export interface RunResult {
  kind: 'anycast-kit.loadtest.run';
  version: 1;
  server: string;
  transport: 'udp' | 'tcp';
  /** How UDP was sent and read: 'native' (the fastudp addon: recvmmsg/sendmmsg) or 'dgram' (node:dgram); null for TCP. */
  udpPath: 'native' | 'dgram' | null;
  mode: 'open-loop' | 'closed-loop';
  /** --qps (open loop), else null. */
  targetQps: number | null;
  /** In-flight window (closed loop), else null. */
  clients: number | null;
  timeoutMs: number;
  queriesFile: string;
  queryLines: number;
  distinctQueries: number;
  /** Generator threads (--threads). */
  threads: number;
  /** Sockets (UDP) or connections (TCP) used, over all threads. */
  channels: number;
  startedAt: string;
  /** Sending period: first send to the end of sending, in seconds. */
  durationS: number;
  /** Including the wait for the last answers or timeouts. */
  elapsedS: number;
  stoppedBy: StopReason;
  sent: number;
  completed: number;
  /** Sent and not answered within the timeout. */
  lost: number;
  /** lost / sent × 100. */
  lossPct: number;
  unsent: UnsentCounts;
  /** Native UDP: sends the kernel refused (socket send buffer full) that were made again on the next tick. */
  resent: number;
  /** sent / durationS. */
  sentQps: number;
  /** completed / max(durationS, time from first send to last answer). */
  achievedQps: number;
  /** Answers by the header rcode (4 bits), by mnemonic. */
  rcodes: Record<string, number>;
  /** Answers with TC set (counted in rcodes too). */
  truncated: number;
  /** Answers whose ID or question matched no query in flight (late answers after a timeout land here). */
  unmatched: number;
  /** Datagrams too short to be DNS or without QR set. */
  malformed: number;
  /** Socket errors by code, e.g. ECONNREFUSED from ICMP port unreachable. */
  errors: Record<string, number>;
  latencyMs: LatencySummaryMs;
  /** Per source address, present when --sources was given. */
  sources?: SourceResult[];
  /** Linux /proc/net/snmp Udp RcvbufErrors during the run, system-wide (server side included); null if unknown. */
  udpRcvbufErrors: number | null;
  /**
   * Datagrams the kernel dropped at the generator's own UDP sockets (full receive
   * buffer): answers that arrived and were never read. 0 means no loss is the tool's own.
   * null when unknown (not Linux); 0 for TCP.
   */
  ownSocketDrops: number | null;
  /** CPU seconds (user + system) the generator used during the run, all its threads. */
  generatorCpuS: number;
  warnings: string[];
}

export interface CapacityStep {
  offeredQps: number;
  sentQps: number;
  achievedQps: number;
  lossPct: number;
  p50Ms: number | null;
  p99Ms: number | null;
  sent: number;
  completed: number;
  lost: number;
  pass: boolean;
  /** Why the step failed: "loss", "p99", "generator" (could not send the offered rate), "no-answers". */
  failedOn: string[];
}

export interface CapacityResult {
  kind: 'anycast-kit.loadtest.capacity';
  version: 1;
  server: string;
  transport: 'udp' | 'tcp';
  queriesFile: string;
  limits: { maxLossPct: number; maxP99Ms: number };
  stepS: number;
  /** Highest achieved rate among steps inside both limits; null when even the lowest step failed. */
  capacityQps: number | null;
  /** The offered rate of that step. */
  capacityOfferedQps: number | null;
  /**
   * What ended the search. "loss" / "p99": a limit was crossed (capacityQps is the server's);
   * "generator", "max-qps", "time": the search stopped first, so capacityQps is a lower bound.
   */
  limitedBy: 'loss' | 'p99' | 'generator' | 'max-qps' | 'time' | 'interrupted';
  lowerBoundOnly: boolean;
  /** Every step, in the order run. */
  steps: CapacityStep[];
  /** Steps sorted by offered rate: the capacity curve. */
  curve: Array<Pick<CapacityStep, 'offeredQps' | 'achievedQps' | 'lossPct' | 'p99Ms' | 'pass'>>;
  startedAt: string;
  elapsedS: number;
  warnings: string[];
}

export function rcodeCounts(counts: ArrayLike<number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < counts.length; i++) if (counts[i] > 0) out[rcodeName(i)] = counts[i];
  return out;
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const pct = (n: number): string => `${n.toFixed(2)}%`;
const msText = (n: number | null): string => (n === null ? '-' : n < 10 ? n.toFixed(3) : n.toFixed(1));

/** Human summary of a run, in the spirit of dnsperf's "Statistics" block. */
export function formatRun(r: RunResult): string {
  const lines: string[] = [];
  const mode = r.mode === 'open-loop' ? `open loop at ${int(r.targetQps ?? 0)} q/s` : `closed loop, ${r.clients} in flight`;
  const threads = r.threads > 1 ? ` in ${r.threads} threads` : '';
  const io = r.udpPath ? ` (${r.udpPath === 'native' ? 'recvmmsg/sendmmsg' : 'node:dgram'})` : '';
  lines.push(`anycast-kit loadtest run: ${r.server} over ${r.transport.toUpperCase()}, ${mode}, ${r.channels} ${r.transport === 'udp' ? 'socket' : 'connection'}${r.channels === 1 ? '' : 's'}${io}${threads}`);
  lines.push(`  queries file     ${r.queriesFile} (${int(r.queryLines)} lines, ${int(r.distinctQueries)} distinct)`);
  lines.push(`  run time         ${r.durationS.toFixed(3)} s sending, ${r.elapsedS.toFixed(3)} s total (stopped by ${r.stoppedBy})`);
  lines.push(`  queries sent     ${int(r.sent)}  (${int(r.sentQps)} q/s)`);
  lines.push(`  completed        ${int(r.completed)}  (${pct(r.sent ? (100 * r.completed) / r.sent : 0)})`);
  const own = r.ownSocketDrops === null || r.transport === 'tcp' ? '' : `; ${int(r.ownSocketDrops)} of them dropped at our own sockets`;
  lines.push(`  lost             ${int(r.lost)}  (${pct(r.lossPct)}, no answer within ${r.timeoutMs} ms${own})`);
  const unsent = r.unsent.noFreeId + r.unsent.noConnection + r.unsent.behindSchedule + r.unsent.sendBufferFull;
  if (unsent > 0) lines.push(`  not sent         ${int(unsent)}  (no free ID ${int(r.unsent.noFreeId)}, no connection ${int(r.unsent.noConnection)}, behind schedule ${int(r.unsent.behindSchedule)}, send buffer full ${int(r.unsent.sendBufferFull)})`);
  if (r.resent > 0) lines.push(`  re-sent          ${int(r.resent)}  (the kernel refused them once: socket send buffer full)`);
  lines.push(`  achieved         ${int(r.achievedQps)} q/s`);
  const rc = Object.entries(r.rcodes).map(([k, v]) => `${k} ${int(v)} (${pct(r.completed ? (100 * v) / r.completed : 0)})`).join(', ');
  lines.push(`  response codes   ${rc || '-'}`);
  lines.push(`  truncated (TC)   ${int(r.truncated)}`);
  if (r.unmatched || r.malformed) lines.push(`  unmatched        ${int(r.unmatched)} (ID or question not in flight), malformed ${int(r.malformed)}`);
  const l = r.latencyMs;
  lines.push(`  latency (ms)     min ${msText(l.min)}  p50 ${msText(l.p50)}  p90 ${msText(l.p90)}  p99 ${msText(l.p99)}  p99.9 ${msText(l.p999)}  max ${msText(l.max)}  mean ${msText(l.mean)}`);
  const errs = Object.entries(r.errors);
  if (errs.length) lines.push(`  socket errors    ${errs.map(([k, v]) => `${k} ${int(v)}`).join(', ')}`);
  if (r.completed > 0) lines.push(`  generator CPU    ${r.generatorCpuS.toFixed(2)} s (${((r.generatorCpuS / r.completed) * 1e6).toFixed(1)} µs per answer)`);
  if (r.udpRcvbufErrors) lines.push(`  kernel UDP receive-buffer drops during the run (system-wide): ${int(r.udpRcvbufErrors)}`);
  if (r.sources) {
    lines.push(`  per source (${r.sources.length}):`);
    const shown = r.sources.length > 32 ? r.sources.slice(0, 32) : r.sources;
    lines.push(`    ${'address'.padEnd(40)} ${'sent'.padStart(10)} ${'completed'.padStart(10)} ${'lost'.padStart(8)} ${'q/s'.padStart(9)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}`);
    for (const s of shown) {
      lines.push(`    ${s.address.padEnd(40)} ${int(s.sent).padStart(10)} ${int(s.completed).padStart(10)} ${int(s.lost).padStart(8)} ${int(s.achievedQps).padStart(9)} ${msText(s.latencyMs.p50).padStart(8)} ${msText(s.latencyMs.p99).padStart(8)}`);
    }
    if (shown.length < r.sources.length) lines.push(`    ... ${r.sources.length - shown.length} more in --json output`);
  }
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  return lines.join('\n');
}

export function formatCapacity(r: CapacityResult): string {
  const lines: string[] = [];
  lines.push(`anycast-kit loadtest capacity: ${r.server} over ${r.transport.toUpperCase()}, limits loss <= ${r.limits.maxLossPct}% and p99 <= ${r.limits.maxP99Ms} ms, ${r.stepS} s per step`);
  lines.push(`  ${'offered q/s'.padStart(12)} ${'achieved q/s'.padStart(13)} ${'loss'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}  result`);
  for (const s of r.steps) {
    lines.push(`  ${int(s.offeredQps).padStart(12)} ${int(s.achievedQps).padStart(13)} ${pct(s.lossPct).padStart(8)} ${msText(s.p50Ms).padStart(8)} ${msText(s.p99Ms).padStart(8)}  ${s.pass ? 'inside limits' : 'over: ' + s.failedOn.join(', ')}`);
  }
  if (r.capacityQps === null) {
    lines.push(`  capacity: none found (even the lowest step crossed a limit)`);
  } else {
    const bound = r.lowerBoundOnly ? ` (a LOWER BOUND: the search stopped on ${r.limitedBy}, not on a server limit)` : ` (next step over ${r.limitedBy})`;
    lines.push(`  capacity: ${int(r.capacityQps)} q/s answered at ${int(r.capacityOfferedQps ?? 0)} q/s offered${bound}`);
  }
  lines.push(`  elapsed ${r.elapsedS.toFixed(1)} s`);
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  return lines.join('\n');
}
