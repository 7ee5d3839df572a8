// Types of the operations layer (reload, control, warm start) that other modules
// name: the cache operations and the counters in ResolverStats. No imports, so
// api.ts and stats.ts can use them without a cycle.

export type CacheOp =
  | { op: 'flush'; name: string }
  | { op: 'flush-zone'; name: string }
  | { op: 'flush-negative' }
  | { op: 'dump-cache'; file: string }
  | { op: 'load-cache'; file: string };

export interface CacheOpResult {
  ok: boolean;
  /** One line for the operator. */
  message: string;
  /** Entries flushed, written or loaded. */
  count: number;
}

/** Counters of reloads, flushes and warm start (ResolverStats.ops). */
export interface OpsStats {
  /** Config reloads that took effect (SIGHUP or `control reload`). */
  reloads: number;
  /** Reloads refused because the file had errors (the running config stayed). */
  reloadFailures: number;
  /** Cache entries removed by flush commands (answer cache and RRset cache). */
  flushedEntries: number;
  /** Answers put in the cache from a dump (at start or by `control load-cache`). */
  dumpEntriesLoaded: number;
  /** Dumps rejected as damaged, truncated or of another format version. */
  dumpsRejected: number;
  /** Answers written by the last dump. */
  dumpEntriesWritten: number;
  /** Names resolved while warming from the names file. */
  warmNamesResolved: number;
  /** Gauge: 1 while warming (the node stays out of service), else 0. */
  warming: number;
}

export function emptyOpsStats(): OpsStats {
  return { reloads: 0, reloadFailures: 0, flushedEntries: 0, dumpEntriesLoaded: 0, dumpsRejected: 0, dumpEntriesWritten: 0, warmNamesResolved: 0, warming: 0 };
}

/** Adds `s` into `into` (counters and the warming gauge alike: a sum over workers). */
export function addOpsStats(into: OpsStats, s: OpsStats | undefined): void {
  if (!s) return;
  for (const k of Object.keys(into) as Array<keyof OpsStats>) into[k] += s[k] ?? 0;
}

/** What a reload did (SIGHUP, `anycast-kit control reload`). */
export interface ReloadReport {
  ok: boolean;
  /** One line for the log and the control client. */
  message: string;
  changed: string[];
  needRestart: string[];
}
