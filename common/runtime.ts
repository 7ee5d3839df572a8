// V8 settings for the long-running commands (resolver, node, lab).
//
// A cold miss leaves behind cache entries and RRsets that outlive the young
// generation, and everything in flight (waiters, upstream queries, promises) is
// copied by every scavenge it lives through. With V8's default semi-space (16 MiB
// at most on 64-bit, starting far smaller) the cold-miss profile spent ~15% of
// the main thread in the scavenger; a larger, fixed young generation lets more of
// the in-flight garbage die before it is copied. Measured in bench/ (see
// resolver/README.md, "Memory and GC").
//
// The flag has to be given when Node starts, so these commands re-execute
// themselves in place with it (process.execve: same pid, no wrapper process; a
// systemd unit or a supervisor sees no difference). An explicit
// --max-semi-space-size in the node flags or NODE_OPTIONS wins, and
// ANYCAST_KIT_NO_REEXEC=1 turns the re-exec off.

export const SEMI_SPACE_MIB = 32;

const FLAG = '--max-semi-space-size';

/** The node flags a long-running process (or a worker it forks) should run with. */
export function heapFlags(): string[] {
  return [`${FLAG}=${SEMI_SPACE_MIB}`];
}

/** Re-executes this process with heapFlags() when it lacks them; returns only when it does not. */
export function reexecWithHeapFlags(): void {
  // The marker guards against a loop; it is not passed on to processes this one starts.
  const reexeced = process.env.ANYCAST_KIT_REEXECED === '1';
  delete process.env.ANYCAST_KIT_REEXECED;
  if (reexeced || process.env.ANYCAST_KIT_NO_REEXEC === '1') return;
  if (process.execArgv.some((a) => a.startsWith(FLAG)) || (process.env.NODE_OPTIONS ?? '').includes(FLAG)) return;
  const execve = (process as unknown as { execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never }).execve;
  if (typeof execve !== 'function') return;
  execve.call(process, process.execPath, [process.execPath, ...heapFlags(), ...process.execArgv, ...process.argv.slice(1)], { ...process.env, ANYCAST_KIT_REEXECED: '1' });
}
