// The ceiling a resolver's RSS levels off under, as a formula of its settings
// (resolver/README.md, "Memory ceiling"), from the parts measured in issue 16:
//
//   per worker:  FIXED + 2 x semi-space + GROWTH x (cache.max_bytes + RRset cache bytes)
//   in all:      workers x per worker, plus PRIMARY when --workers > 1
//
// FIXED is Node and the resolver's code (set when a process was ~57 MiB at start,
// ~66 with a YAML config; since start-up gives its memory back, resolver/startup-
// memory.ts, ~35 at start and ~43 once serving has faulted its code back in, so
// FIXED now has ~15-20 MiB of slack, left until a 1M-name curve on a quiet box)
// plus what is bounded by count rather than by the cache setting (the infra cache,
// queries in flight, malloc arenas). The young generation is two semi-spaces at
// most (common/runtime.ts: 16 MiB each by default). The caches count what they
// hold within a few per cent (test/resolver/memory.test.ts), and V8 lets the old
// generation grow to 1.5x what the last full GC kept; GROWTH covers that and the
// pages V8 keeps pooled.
// bench/memory.ts draws the ceiling beside the measured curve.

import { SEMI_SPACE_MIB } from '../common/runtime.js';

const MiB = 1024 * 1024;

/** Per worker, whatever the cache setting. */
export const FIXED_BYTES = 112 * MiB;
/** RSS per byte the caches may hold. */
export const GROWTH = 2;
/** The primary process of --workers N (it serves no DNS). */
export const PRIMARY_BYTES = 64 * MiB;

/** Bytes the RRset cache may hold by default: a quarter of the answer cache's bound, at least 1 MiB. */
export function rrsetCacheBytes(answerCacheBytes: number): number {
  return Math.max(1 << 20, Math.floor(answerCacheBytes / 4));
}

export interface CeilingInput {
  /** cache.max_bytes. */
  cacheBytes: number;
  /** --workers (each worker holds caches of its own). */
  workers: number;
  /** --max-semi-space-size in MiB, when not the default. */
  semiSpaceMiB?: number;
}

/** The RSS (bytes, summed over the process tree) the resolver levels off under with these settings. */
export function rssCeilingBytes(i: CeilingInput): number {
  const young = 2 * (i.semiSpaceMiB ?? SEMI_SPACE_MIB) * MiB;
  const perWorker = FIXED_BYTES + young + GROWTH * (i.cacheBytes + rrsetCacheBytes(i.cacheBytes));
  return i.workers * perWorker + (i.workers > 1 ? PRIMARY_BYTES : 0);
}
