// V8 settings for the long-running commands (resolver, node, lab).
//
// A cold miss leaves behind cache entries and RRsets that outlive the young
// generation, and everything in flight (waiters, upstream queries, promises) is
// copied by every scavenge it lives through. With V8's default young generation
// the cold-miss profile spent ~15% of the main thread in the scavenger, and V8
// grew it far under a flood (RSS 27-52 MiB higher); a bounded semi-space lets
// most of the in-flight garbage die before it is copied without that growth.
// 16 MiB, not the 32 first chosen: in alternating runs of the 200k-fresh-name
// bench (resolver/README.md, "Memory ceiling") the CPU per answer did not differ
// beyond the box's noise (32 was lower in the 3 rounds of one run, 16 in the 3
// of the next), while RSS after the run was 28 MiB lower (median 222 vs 250 MiB),
// inside issue 16's 259 MiB with room to spare.
//
// The young generation also starts at that size (--min-semi-space-size), rather
// than at V8's 1 MiB. Start-up's memory-reducing GC (resolver/startup-memory.ts)
// shrinks the young generation to its minimum; from 1 MiB, the first burst of
// misses after start ran ~29 scavenges and 3 mark-compacts per 5,000 names
// instead of ~11 and 0 (in-flight resolutions promoted before they died) and cost
// ~30% more CPU per answer. A 16 MiB minimum is reserved, not resident: RSS right
// after start stayed at ~40 MiB (resolver/README.md, "First burst after start").
//
// Old-generation growth is capped at 1.5x the live heap (--heap-growing-percent).
// By default V8 lets the old generation grow to up to 4x what survived the last
// full GC when its GC is fast against the mutator, and pages freed by a GC stay in
// its page pool, resident, until a memory-reducing GC that a busy resolver never
// gets. After 200k fresh names with the default cache that made RSS 548 MiB for
// about 100 MiB of live data; capped, 305 MiB at the same throughput
// (resolver/README.md, "Memory").
//
// glibc's malloc gets at most two arenas (MALLOC_ARENA_MAX=2): by default every
// thread that mallocs (V8's GC helpers) gets an arena of its own and keeps what it
// freed; with an 8 MiB cache that was about 28 MiB of RSS after 100k fresh names.
//
// The flags have to be given when Node starts, so these commands re-execute
// themselves in place with them (process.execve: same pid, no wrapper process; a
// systemd unit or a supervisor sees no difference). A flag given explicitly in
// the node flags or NODE_OPTIONS wins (only the missing ones are added), so does
// MALLOC_ARENA_MAX in the environment, and ANYCAST_KIT_NO_REEXEC=1 turns the
// re-exec off.

export const SEMI_SPACE_MIB = 16;
/** The old generation may grow to (1 + this / 100) times what the last full GC kept. */
export const HEAP_GROWING_PERCENT = 50;


/** The node flags a long-running process (or a worker it forks) should run with. */
export function heapFlags(): string[] {
  return [`--max-semi-space-size=${SEMI_SPACE_MIB}`, `--min-semi-space-size=${SEMI_SPACE_MIB}`, `--heap-growing-percent=${HEAP_GROWING_PERCENT}`];
}

/** glibc malloc arenas for the long-running commands (environment, read when a process starts). */
export const MALLOC_ARENA_MAX = '2';

/** The flags of heapFlags() not already given in `execArgv` or `nodeOptions` (by name, any value). */
export function missingHeapFlags(execArgv: readonly string[], nodeOptions: string): string[] {
  const args = [...execArgv, ...nodeOptions.split(/\s+/)];
  const given = args.map((a) => a.split('=')[0].replace(/_/g, '-'));
  // A young-generation size given explicitly is its minimum too (V8 would cap ours at it anyway).
  const maxGiven = args.find((a) => a.replace(/_/g, '-').startsWith('--max-semi-space-size='));
  return heapFlags()
    .filter((f) => !given.includes(f.split('=')[0]))
    .map((f) => (maxGiven && f.startsWith('--min-semi-space-size=') ? `--min-semi-space-size=${maxGiven.split('=')[1]}` : f));
}

/** Re-executes this process with heapFlags() when it lacks them; returns only when it does not. */
export function reexecWithHeapFlags(): void {
  // The marker guards against a loop; it is not passed on to processes this one starts.
  const reexeced = process.env.ANYCAST_KIT_REEXECED === '1';
  delete process.env.ANYCAST_KIT_REEXECED;
  if (reexeced || process.env.ANYCAST_KIT_NO_REEXEC === '1') return;
  const missing = missingHeapFlags(process.execArgv, process.env.NODE_OPTIONS ?? '');
  if (missing.length === 0 && process.env.MALLOC_ARENA_MAX !== undefined) return;
  const execve = (process as unknown as { execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never }).execve;
  if (typeof execve !== 'function') return;
  const env = { MALLOC_ARENA_MAX, ...process.env, ANYCAST_KIT_REEXECED: '1' };
  execve.call(process, process.execPath, [process.execPath, ...missing, ...process.execArgv, ...process.argv.slice(1)], env);
}
