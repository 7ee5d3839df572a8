// `loadtest capacity`: find the highest rate a server answers inside a loss and a
// p99 limit, like resperf but by steps. Each step is an open-loop run at a fixed
// offered rate. The rate doubles from --start until a step crosses a limit, then the
// search bisects between the last good and the first bad rate until they are within
// a few percent. Total time is bounded by --max-time: a step that would not fit is
// not started, and the result then says it is only a lower bound.

import type { Progress } from './options.js';
import { runLoad } from './run.js';
import type { QuerySet } from './queryfile.js';
import type { CapacityResult, CapacityStep, RunResult } from './results.js';

export interface CapacityOptions {
  server: { host: string; port: number };
  queries: QuerySet;
  sources?: string[];
  tcp?: boolean;
  threads?: number;
  timeoutMs?: number;
  /** Loss above this (percent of queries sent) fails a step (default 1). */
  maxLossPct?: number;
  /** p99 latency above this fails a step (default 100 ms). */
  maxP99Ms?: number;
  /** First offered rate (default 1000 q/s). */
  startQps?: number;
  /** Highest offered rate to try (default 1,000,000 q/s). */
  maxQps?: number;
  /** Seconds per step (default 5). */
  stepS?: number;
  /** Upper bound on the whole search, seconds (default 180). */
  maxTimeS?: number;
  /** Bisection stops when the gap between good and bad is below this percent (default 5). */
  precisionPct?: number;
  /** Idle time between steps so the server drains its queues (default 500 ms). */
  pauseMs?: number;
  /** A step that sends less than this share of its offered rate is generator-limited (default 0.97). */
  minSentShare?: number;
  onStep?: (s: CapacityStep, r: RunResult) => void;
  onProgress?: (p: Progress, offeredQps: number) => void;
  signal?: AbortSignal;
}

export const CAPACITY_DEFAULTS = {
  maxLossPct: 1, maxP99Ms: 100, startQps: 1000, maxQps: 1_000_000, stepS: 5, maxTimeS: 180, precisionPct: 5, pauseMs: 500,
  minSentShare: 0.97,
} as const;
/** Halvings tried below --start when even the first step fails. */
const MAX_HALVINGS = 4;

/** Judges one step against the limits. */
export function judgeStep(r: RunResult, offeredQps: number, maxLossPct: number, maxP99Ms: number, minSentShare: number = CAPACITY_DEFAULTS.minSentShare): CapacityStep {
  const failedOn: string[] = [];
  const p99 = r.latencyMs.p99;
  if (r.completed === 0) failedOn.push('no-answers');
  if (r.lossPct > maxLossPct) failedOn.push('loss');
  if (p99 !== null && p99 > maxP99Ms) failedOn.push('p99');
  if (r.sentQps < offeredQps * minSentShare) failedOn.push('generator');
  return {
    offeredQps,
    sentQps: r.sentQps,
    achievedQps: r.achievedQps,
    lossPct: r.lossPct,
    p50Ms: r.latencyMs.p50,
    p99Ms: p99,
    sent: r.sent,
    completed: r.completed,
    lost: r.lost,
    pass: failedOn.length === 0,
    failedOn,
  };
}

const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));

export async function findCapacity(opts: CapacityOptions): Promise<CapacityResult> {
  const o = { ...CAPACITY_DEFAULTS, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) } as Required<CapacityOptions>;
  const timeoutMs = opts.timeoutMs ?? 2000;
  const t0 = performance.now();
  const startedAt = new Date();
  const steps: CapacityStep[] = [];
  const warnings: string[] = [];
  let limitedBy: CapacityResult['limitedBy'] = 'time';
  let stopNote = '';
  const stepCostS = o.stepS + timeoutMs / 1000 + o.pauseMs / 1000;
  const fits = () => (performance.now() - t0) / 1000 + stepCostS <= o.maxTimeS;

  const runStep = async (offered: number): Promise<CapacityStep> => {
    if (steps.length > 0 && o.pauseMs > 0) await sleep(o.pauseMs);
    const r = await runLoad({
      server: o.server, queries: o.queries, sources: opts.sources, tcp: opts.tcp, threads: opts.threads, timeoutMs,
      qps: offered, durationS: o.stepS, signal: opts.signal,
      onProgress: opts.onProgress ? (p) => opts.onProgress!(p, offered) : undefined,
    });
    const s = judgeStep(r, offered, o.maxLossPct, o.maxP99Ms, o.minSentShare);
    steps.push(s);
    opts.onStep?.(s, r);
    return s;
  };
  const aborted = () => opts.signal?.aborted === true;
  const serverFailure = (s: CapacityStep) => s.failedOn.some((f) => f !== 'generator');

  let good: CapacityStep | null = null;
  let bad: CapacityStep | null = null;
  let rate = Math.max(1, Math.round(o.startQps));

  // Phase 1: double until a limit is crossed.
  for (;;) {
    if (aborted()) { limitedBy = 'interrupted'; break; }
    if (!fits()) { limitedBy = 'time'; break; }
    const s = await runStep(rate);
    if (s.pass) {
      good = s;
      if (rate >= o.maxQps) { limitedBy = 'max-qps'; break; }
      rate = Math.min(o.maxQps, rate * 2);
      continue;
    }
    if (!serverFailure(s)) { limitedBy = 'generator'; break; }
    bad = s;
    break;
  }

  // Even the first step failed: look below it.
  if (!good && bad && !aborted()) {
    for (let i = 0; i < MAX_HALVINGS && !good; i++) {
      rate = Math.max(1, Math.round(rate / 2));
      if (!fits()) { limitedBy = 'time'; break; }
      const s = await runStep(rate);
      if (s.pass) good = s;
      else if (serverFailure(s)) bad = s;
      else { limitedBy = 'generator'; break; }
      if (aborted()) break;
      if (rate === 1) break;
    }
  }

  // Phase 2: bisect between the last good and the first bad rate.
  if (good && bad) {
    while (!aborted() && (bad.offeredQps - good.offeredQps) / good.offeredQps > o.precisionPct / 100) {
      if (!fits()) { stopNote = 'out of --max-time'; break; }
      const mid = Math.round((good.offeredQps + bad.offeredQps) / 2);
      if (mid === good.offeredQps || mid === bad.offeredQps) break;
      const s = await runStep(mid);
      if (s.pass) good = s;
      else if (serverFailure(s)) bad = s;
      else { stopNote = 'the generator could not send the next rate'; break; }
    }
  }
  // A crossed limit brackets the capacity between the last good and first bad step;
  // without one, the search stopped for its own reasons and the figure is a lower bound.
  const gapOpen = good && bad && (bad.offeredQps - good.offeredQps) / good.offeredQps > o.precisionPct / 100;
  if (aborted()) limitedBy = 'interrupted';
  else if (bad) limitedBy = bad.failedOn.includes('loss') || bad.failedOn.includes('no-answers') ? 'loss' : 'p99';
  if (gapOpen && !aborted()) warnings.push(`stopped before narrowing the capacity to ${o.precisionPct}% (${stopNote || 'interrupted'}): it lies between ${good!.offeredQps} and ${bad!.offeredQps} q/s offered`);
  const passing = steps.filter((s) => s.pass);
  const best = passing.reduce<CapacityStep | null>((a, s) => (!a || s.achievedQps > a.achievedQps ? s : a), null);
  const lowerBoundOnly = !bad;
  if (!bad && limitedBy === 'generator') warnings.push('the generator could not send the next rate; the server\'s capacity is higher than reported (use --sources, more cores or several generators)');
  if (!best && bad) warnings.push(`even ${bad.offeredQps} q/s crossed a limit (${bad.failedOn.join(', ')})`);
  const { host, port } = o.server;
  return {
    kind: 'anycast-kit.loadtest.capacity',
    version: 1,
    server: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
    transport: opts.tcp ? 'tcp' : 'udp',
    queriesFile: o.queries.source,
    limits: { maxLossPct: o.maxLossPct, maxP99Ms: o.maxP99Ms },
    stepS: o.stepS,
    capacityQps: best ? best.achievedQps : null,
    capacityOfferedQps: best ? best.offeredQps : null,
    limitedBy,
    lowerBoundOnly,
    steps,
    curve: [...steps].sort((a, b) => a.offeredQps - b.offeredQps)
      .map((s) => ({ offeredQps: s.offeredQps, achievedQps: s.achievedQps, lossPct: s.lossPct, p99Ms: s.p99Ms, pass: s.pass })),
    startedAt: startedAt.toISOString(),
    elapsedS: (performance.now() - t0) / 1000,
    warnings,
  };
}
