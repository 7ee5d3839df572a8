// What a run is asked to do (RunOptions), what it reports while running (Progress),
// the defaults, and the fixed facts a result is built from (runMeta). Shared by the
// single-thread engine (engine.ts) and the thread fan-out (parallel.ts).

import type { HistState, RunMeta } from './merge.js';
import type { QuerySet } from './queryfile.js';

export interface Progress {
  elapsedS: number;
  sent: number;
  completed: number;
  lost: number;
  inFlight: number;
  /** Answers per second over the last interval. */
  rateQps: number;
  /** Timeouts / (answers + timeouts) over the last interval, in %. */
  lossPct: number;
  /** p99 latency over the last interval, ms (null when nothing completed). */
  p99Ms: number | null;
  /** Answers and timeouts in the last interval. */
  intervalCompleted: number;
  intervalLost: number;
}

export interface RunOptions {
  server: { host: string; port: number };
  queries: QuerySet;
  /** Stop sending after this many seconds. */
  durationS?: number;
  /** Stop sending after this many queries. */
  count?: number;
  /** Hard limit on the sending time when only `count` is given (default 600 s). */
  maxTimeS?: number;
  /** Open loop at this rate (queries/s). */
  qps?: number;
  /** Closed loop: queries in flight (default 100). Ignored in open loop. */
  clients?: number;
  /** Local source addresses; default one unspecified source. */
  sources?: string[];
  /** A query unanswered this long is lost (default 2000 ms). */
  timeoutMs?: number;
  tcp?: boolean;
  /** Sockets or connections per source (default: UDP 4 without sources, else 1). */
  channelsPerSource?: number;
  onProgress?: (p: Progress) => void;
  /** Like onProgress, with the interval's latency histogram (for merging threads). */
  onProgressHist?: (p: Progress, hist: HistState) => void;
  progressIntervalMs?: number;
  /** Generator threads (default 1); each drives its own sockets with a share of the load. */
  threads?: number;
  /** Position in the replay order of the first query (default 0, the file's first line). */
  startAt?: number;
  /** Stops sending early; the run still waits for answers in flight and returns results. */
  signal?: AbortSignal;
}

export const DEFAULT_TIMEOUT_MS = 2000;
export const DEFAULT_CLIENTS = 100;
export const DEFAULT_DURATION_S = 10;
export const DEFAULT_MAX_TIME_S = 600;

/** The fixed facts of a run, for buildRunResult. */
export function runMeta(opts: RunOptions, udpRcvbufErrors: number | null, cpuS: number, threads = 1): RunMeta {
  return {
    server: opts.server,
    tcp: !!opts.tcp,
    qps: opts.qps,
    clients: opts.clients ?? DEFAULT_CLIENTS,
    timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    queriesFile: opts.queries.source,
    queryLines: opts.queries.order.length,
    distinctQueries: opts.queries.text.length,
    sourceOrder: opts.sources ?? [],
    udpRcvbufErrors,
    threads,
    cpuS,
  };
}
