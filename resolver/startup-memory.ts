// After the start-up warm-up (resolver/warmup.ts) and before the listeners bind:
// give back what start-up used and will not use again (issue 16, "RSS right after
// start"). The warm-up's throwaway instance, its caches and its garbage are dead
// by then, but V8 keeps the young generation at the size the warm-up grew it to
// (both semi-spaces resident) and the pages its old generation freed, and glibc
// keeps in its arenas what the warm-up's buffers and sockets freed, so RSS stayed
// where the warm-up peaked. Measured in resolver/README.md ("Memory", "Where it
// went"): 75 -> 63 MiB, all of it anonymous memory.
//
// 1. A memory-reducing full GC (V8's "last resort" flavour: it collects until
//    nothing more dies, shrinks the young generation to its minimum and releases
//    pooled pages). It is the collection a busy resolver never gets; at start,
//    with a ~10 MiB heap, it takes 40-120 ms on the 2-core box. gc() is reached
//    without --expose-gc on the command line (the flag is set at run time and the
//    function taken from a fresh context), so it works with ANYCAST_KIT_NO_REEXEC
//    too and is not a global for other code. Its price: the young generation
//    grows back under the first burst of misses (+~7% CPU per answer over the
//    first 5,000 names in alternating runs); the compiled miss path is kept.
// 2. malloc_trim(0) through the fastudp addon (native/fastudp.c), which returns
//    the free pages of glibc's arenas; skipped when the addon is not built.
// Neither alone does much (-3 MiB each): the GC frees the buffers whose memory
// the trim then returns.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { fastUdp } from '../native/index.js';

type Gc = (o?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async'; flavor?: 'regular' | 'last-resort' }) => void;

export interface StartupRelease {
  /** Milliseconds spent in the GC and the trim. */
  ms: number;
  /** Whether the GC ran. */
  gc: boolean;
  /** malloc_trim's result: 1 memory returned, 0 none, -1 no glibc, null no addon (or one built without trim). */
  trim: number | null;
}

/** Runs the memory-reducing GC and malloc_trim. Never throws: when either is unavailable it only costs RSS. */
export function releaseStartupMemory(): StartupRelease {
  const t0 = performance.now();
  let gcRan = false;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as Gc;
    gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    gcRan = true;
  } catch { /* no gc: nothing released */ }
  let trim: number | null = null;
  try { trim = fastUdp()?.trim?.() ?? null; } catch { trim = null; }
  return { ms: performance.now() - t0, gc: gcRan, trim };
}
