// --threads N: N worker threads, each a LoadEngine with its own sockets and a share of
// the load (window, rate, count and source addresses split evenly), merged into one
// result. One Node thread tops out near 100k queries/s; more threads let the generator
// use more cores, so it does not become the bottleneck against a big server.

import { Worker } from 'node:worker_threads';
import { DriverError, isDriverErrorCode } from './errors.js';
import { readRcvbufErrors } from './kernel-stats.js';
import { DEFAULT_CLIENTS, runMeta, type Progress, type RunOptions } from './options.js';
import { histFrom, type HistState, type RawRun, buildRunResult } from './merge.js';
import { LatencyHistogram } from './histogram.js';
import type { RunResult } from './results.js';

/** Splits n into k near-equal whole parts (the first ones get the remainder). */
export function splitEven(n: number, k: number): number[] {
  const base = Math.floor(n / k);
  return Array.from({ length: k }, (_, i) => base + (i < n % k ? 1 : 0));
}

export async function runParallel(opts: RunOptions): Promise<RunResult> {
  let threads = Math.max(1, Math.floor(opts.threads ?? 1));
  const openLoop = opts.qps !== undefined;
  const clients = opts.clients ?? DEFAULT_CLIENTS;
  if (!openLoop) threads = Math.min(threads, clients);
  if (opts.count !== undefined) threads = Math.min(threads, opts.count);
  if (opts.sources?.length) threads = Math.min(threads, opts.sources.length);
  const clientShare = splitEven(clients, threads);
  const countShare = opts.count === undefined ? undefined : splitEven(opts.count, threads);
  const rcvBefore = opts.tcp ? null : readRcvbufErrors();
  const cpu0 = process.cpuUsage();
  const workers: Worker[] = [];
  const pending = new Map<number, Array<{ p: Progress; hist: HistState }>>();
  const emitProgress = (seq: number) => {
    const parts = pending.get(seq)!;
    pending.delete(seq);
    const h = new LatencyHistogram();
    for (const part of parts) h.merge(histFrom(part.hist));
    const sum = (f: (p: Progress) => number) => parts.reduce((a, x) => a + f(x.p), 0);
    const answered = sum((p) => p.intervalCompleted + p.intervalLost);
    const p99 = h.quantileUs(0.99);
    opts.onProgress?.({
      elapsedS: Math.max(...parts.map((x) => x.p.elapsedS)),
      sent: sum((p) => p.sent),
      completed: sum((p) => p.completed),
      lost: sum((p) => p.lost),
      inFlight: sum((p) => p.inFlight),
      rateQps: sum((p) => p.rateQps),
      lossPct: answered ? (100 * sum((p) => p.intervalLost)) / answered : 0,
      p99Ms: Number.isNaN(p99) ? null : p99 / 1000,
      intervalCompleted: sum((p) => p.intervalCompleted),
      intervalLost: sum((p) => p.intervalLost),
    });
  };
  const results = await Promise.all(Array.from({ length: threads }, (_, i) => new Promise<RawRun>((resolve, reject) => {
    const { queries, onProgress, onProgressHist, signal, ...rest } = opts;
    void onProgressHist;
    const share = {
      ...rest,
      threads: 1,
      clients: clientShare[i],
      qps: openLoop ? opts.qps! / threads : undefined,
      count: countShare?.[i],
      sources: opts.sources?.filter((_, j) => j % threads === i),
      // A counted run: thread i sends the queries that follow thread i-1's, so together they
      // send exactly what one thread would. A timed run: threads start spread over the file.
      startAt: (opts.startAt ?? 0) + (countShare
        ? countShare.slice(0, i).reduce((a, b) => a + b, 0)
        : Math.floor((i * queries.order.length) / threads)),
    };
    const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: { opts: share, queries, progress: !!onProgress } });
    workers.push(worker);
    let seq = 0;
    worker.on('message', (m: { type: string; raw?: RawRun; p?: Progress; hist?: HistState; message?: string; code?: string }) => {
      if (m.type === 'progress') {
        const k = seq++;
        const list = pending.get(k) ?? [];
        list.push({ p: m.p!, hist: m.hist! });
        pending.set(k, list);
        if (list.length === threads) emitProgress(k);
      } else if (m.type === 'done') {
        resolve(m.raw!);
      } else if (m.type === 'error') {
        reject(new DriverError(isDriverErrorCode(m.code) ? m.code : 'WORKER', m.message ?? 'generator thread failed'));
      }
    });
    worker.on('error', (err) => reject(new DriverError('WORKER', `generator thread failed: ${err.message}`)));
    signal?.addEventListener('abort', () => worker.postMessage('stop'));
  })).map((p) => p.catch((err: Error) => {
    for (const w of workers) w.postMessage('stop');
    throw err;
  })));
  const rcvAfter = rcvBefore === null ? null : readRcvbufErrors();
  const rcvbuf = rcvBefore === null || rcvAfter === null ? null : rcvAfter - rcvBefore;
  const cpu = process.cpuUsage(cpu0);
  return buildRunResult(results, runMeta(opts, rcvbuf, (cpu.user + cpu.system) / 1e6, threads));
}
