// After the start-up warm-up (resolver/warmup.ts) and before the listeners bind:
// give back what start-up used and will not use again (issue 16, "RSS right after
// start"). Measured in resolver/README.md ("Memory", "Where it went").
//
// Anonymous memory (75-81 -> 63 MiB). The warm-up's throwaway instance, its caches
// and its garbage are dead by then, but V8 kept the young generation at the size
// the warm-up grew it to (both semi-spaces resident) and glibc kept in its arenas
// what the warm-up's buffers freed, so RSS stayed where the warm-up peaked.
// 1. A memory-reducing full GC (V8's "last resort" flavour: it collects until
//    nothing more dies, shrinks the young generation to its minimum and releases
//    pooled pages). It is the collection a busy resolver never gets; at start,
//    with a ~10 MiB heap, it takes 40-120 ms on the 2-core box. gc() is reached
//    without --expose-gc on the command line (the flag is set at run time and the
//    function taken from a fresh context), so it works with ANYCAST_KIT_NO_REEXEC
//    too and is not a global for other code. The compiled miss path is kept. Its
//    price was the young generation: shrunk to V8's 1 MiB minimum, the first burst
//    of misses ran ~29 scavenges and 3 mark-compacts per 5,000 names instead of
//    11 and 0, +~40% CPU per answer once the warm-up really compiled the miss
//    path. The long-running commands therefore start with the young generation's
//    minimum equal to its maximum (common/runtime.ts): the GC still returns its
//    pages (they fault back in under load) but keeps its size.
// 2. malloc_trim(0) through the fastudp addon (native/fastudp.c), which returns
//    the free pages of glibc's arenas. Neither alone did much (-3 MiB each): the
//    GC frees the buffers whose pages the trim returns.
//
// File-backed memory (63 -> 35 MiB). Node alone maps ~34 MiB of its 120 MB
// executable; after loading, parsing and compiling the resolver's ~200 modules
// and the warm-up, ~48 MiB. Those are clean pages of read-only file mappings:
// they stay in the kernel's page cache (shared with every other process running
// the same binary) whatever we do, but they count in this process's RSS for as
// long as its page tables map them. 3. drops the mapping of every read-only file
// mapping that holds no private (copy-on-write) page, with madvise(MADV_DONTNEED):
// the code the resolver keeps running faults back in from the page cache (minor
// faults, no I/O, the same bytes), what only start-up ran does not. After the
// first 5,000 misses the file-backed part was 28 MiB rather than 48, and the CPU
// per answer did not change measurably (272 vs 268 us, 4 alternating rounds).
// Writable mappings, anonymous memory, relocated (copy-on-write) pages and
// anything that is not a regular file are never touched.

import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { fastUdp } from '../native/index.js';

type Gc = (o?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async'; flavor?: 'regular' | 'last-resort' }) => void;

export interface StartupRelease {
  /** Milliseconds spent in all three steps. */
  ms: number;
  /** Whether the GC ran. */
  gc: boolean;
  /** malloc_trim's result: 1 memory returned, 0 none, -1 no glibc, null no addon (or one built without trim). */
  trim: number | null;
  /** Bytes of read-only file mappings whose pages were unmapped (null: no addon to do it with). */
  droppedBytes: number | null;
}

export interface CleanMapping {
  start: number;
  end: number;
  path: string;
}

/**
 * The mappings of a /proc/PID/smaps text that may be dropped: not writable, backed
 * by a regular file (an absolute path, not under /dev, not deleted) and without a
 * single anonymous (copy-on-write) page, so that every resident page equals the file.
 */
export function cleanFileMappings(smaps: string): CleanMapping[] {
  const out: CleanMapping[] = [];
  for (const block of smaps.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) ([rwxsp-]{4}) [0-9a-f]+ [0-9a-f:]+ (\d+) +(.*)$/m.exec(block);
    if (!m) continue;
    const [, start, end, perms, inode, path] = m;
    if (perms.includes('w') || inode === '0' || !path.startsWith('/') || path.startsWith('/dev/') || path.endsWith(' (deleted)')) continue;
    const anon = /^Anonymous:\s+(\d+) kB/m.exec(block);
    if (!anon || anon[1] !== '0') continue;
    out.push({ start: parseInt(start, 16), end: parseInt(end, 16), path });
  }
  return out;
}

/** Runs the memory-reducing GC, malloc_trim and the file-page drop. Never throws: what is unavailable only costs RSS. */
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
  let droppedBytes: number | null = null;
  try {
    const addon = fastUdp();
    trim = addon?.trim?.() ?? null;
    if (addon?.dropPages) {
      droppedBytes = 0;
      for (const m of cleanFileMappings(readFileSync('/proc/self/smaps', 'utf8'))) {
        if (addon.dropPages(m.start, m.end - m.start) === 0) droppedBytes += m.end - m.start;
      }
    }
  } catch { /* no addon or no /proc: nothing more released */ }
  return { ms: performance.now() - t0, gc: gcRan, trim, droppedBytes };
}
