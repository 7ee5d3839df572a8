// The small interface through which other parts (healthcheck, lab, tests) see a
// running resolver. They never reach into the resolver's insides.

import type { Resolution } from './iterator/types.js';
import type { ResolverStats } from './stats.js';
import type { CacheOp, CacheOpResult, ReloadReport } from './control/types.js';
import type { LivenessEvent } from './selection/infra.js';
export type { ReloadReport } from './control/types.js';

/** How the resolver answers the health probe name (see healthcheck/README.md). */
export type ProbeAnswerMode = 'healthy' | 'refused' | 'silent';

export interface ResolverHandle {
  /** Bound service addresses (after port 0 was resolved), one entry per listen socket. */
  readonly listening: Array<{ address: string; port: number; family: 4 | 6 }>;
  /** Counters summed over all workers. */
  stats(): Promise<ResolverStats>;
  /**
   * Sets how the probe name is answered: NOERROR with its TXT record while 'healthy',
   * REFUSED when 'refused', and no reply at all when 'silent' (drain and lameduck by default:
   * every platform counts a timeout as a failure, not every one may count an error reply),
   * so a switch's `ip sla ... dns` probe agrees with GET /health.
   */
  setProbeMode(mode: ProbeAnswerMode): void;
  /** Stops listening and ends every worker. Resolves when all sockets are closed. */
  close(): Promise<void>;
  /**
   * Reload: `load` builds the new config (it throws ConfigError for a bad file, and
   * then the running config stays). Applied in place without touching the cache, the
   * sockets or the resolutions in flight (resolver/control/reload.ts). Optional so
   * test doubles need not have it.
   */
  reload?(load: () => ResolverConfigObject): Promise<ReloadReport>;
  /** Cache operations of `anycast-kit control` (every worker with --workers). */
  control?(op: CacheOp): Promise<CacheOpResult>;
  /** Resolves when warm start (dump load, names) has ended or hit its time limit; at once without one. */
  warmed?(): Promise<void>;
}

/**
 * A ResolverConfig (config.ts). Named structurally here: config.ts sits above
 * local.ts, which needs ProbeAnswerMode from this file.
 */
export type ResolverConfigObject = object;

/** A Resolution the resolver closes when it stops. */
export type ClosableResolution = Resolution & { close?(): Promise<void> };

export interface StartOptions {
  /** Resolution to use instead of the iterator (tests; a worker's parent never passes it). */
  resolution?: ClosableResolution;
  /** Log sink; default: stderr lines prefixed "anycast-kit resolver:". */
  log?: (msg: string) => void;
  /** Share each listen address with other processes (SO_REUSEPORT). Set by workers. */
  reusePort?: boolean;
  /** Monotonic clock, ms (tests). */
  now?: () => number;
  /** How long close() waits for resolutions in flight before answering SERVFAIL, ms. Default 2000. */
  closeGraceMs?: number;
  /** Write the cache dump (ops.dumpFile) in close(). Default true; workers leave it to the primary. */
  dumpOnClose?: boolean;
  /**
   * After the warm-up, give start-up's memory back (a memory-reducing GC and malloc_trim:
   * resolver/startup-memory.ts). Set by the processes that only run a resolver (the CLI,
   * a worker, a node); off by default, since in a process that embeds the resolver (tests)
   * the GC would also walk the embedder's heap.
   */
  releaseStartupMemory?: boolean;
  /**
   * Dead and revived servers shared with the other --workers processes: `publish`
   * gets what this process learns, `subscribe` what the others learnt (resolver/workers.ts).
   */
  liveness?: { publish(ev: LivenessEvent): void; subscribe(apply: (ev: LivenessEvent) => void): void };
}
