// The small interface through which other parts (healthcheck, lab, tests) see a
// running resolver. They never reach into the resolver's insides.

import type { Resolution } from './iterator/types.js';
import type { ResolverStats } from './stats.js';

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
}

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
}
