// Daemon plumbing shared by the interop tests and the resolver bench: spawn a
// foreground daemon, keep the tail of its output for error messages, stop it,
// and read its memory from /proc. Every daemon started here is also killed when
// the Node process exits, so a crashed test run leaves nothing listening.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const LOG_TAIL_BYTES = 16 * 1024;

export interface Daemon {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Last bytes of stdout+stderr, for error messages. */
  log(): string;
  /** Set once the process has exited. */
  exited(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** SIGTERM, then SIGKILL after graceMs. Resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const c of live) {
      try { c.kill('SIGKILL'); } catch { /* already gone */ }
    }
  });
}

/** Starts `cmd args` in the foreground with piped output. Throws if the binary is missing. */
export function startDaemon(name: string, cmd: string, args: string[], env?: NodeJS.ProcessEnv): Daemon {
  installExitHook();
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
  let tail = '';
  const append = (b: Buffer) => {
    tail += b.toString('utf8');
    if (tail.length > LOG_TAIL_BYTES) tail = tail.slice(-LOG_TAIL_BYTES);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const gone = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => { exit = { code, signal }; live.delete(child); resolve(); });
    child.on('error', (err) => { spawnError = err; exit = { code: null, signal: null }; live.delete(child); resolve(); });
  });
  live.add(child);
  const d: Daemon = {
    name,
    child,
    get pid() { return child.pid ?? -1; },
    log: () => (spawnError ? `${spawnError.message}\n` : '') + tail,
    exited: () => exit,
    async stop(graceMs = 3000) {
      if (exit) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => { if (!exit) child.kill('SIGKILL'); }, graceMs);
      await gone;
      clearTimeout(timer);
    },
  };
  return d;
}

/** Throws a clear error when a Debian binary the harness needs is not installed. */
export function requireBinary(path: string, debianPackage: string): string {
  if (!existsSync(path)) {
    throw new Error(`${path} not found: install the Debian package "${debianPackage}" (CI installs it; see .ci/run)`);
  }
  return path;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Polls `probe` until it resolves true, the daemon exits, or the deadline passes.
 * Failure messages carry the daemon's output so a bad config is obvious.
 */
export async function waitReady(d: Daemon, probe: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ex = d.exited();
    if (ex) throw new Error(`${d.name} exited (code ${ex.code}, signal ${ex.signal}) before it answered:\n${d.log()}`);
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${d.name} did not answer within ${timeoutMs} ms:\n${d.log()}`);
    await sleep(100);
  }
}

/** The repository root: the nearest folder above this file holding package.json (works from TS source and from dist/). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && existsSync(join(dir, 'node_modules'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the anycast-kit repository root above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

export interface Memory {
  /** Peak resident set size, KiB (VmHWM). */
  hwmKiB: number;
  /** Current resident set size, KiB (VmRSS). */
  rssKiB: number;
  /** Processes counted (the process and its descendants). */
  processes: number;
}

function readStatusKiB(pid: number, field: string): number {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** The pid and every descendant (reads /proc/PID/task/TID/children). */
export function processTree(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length && out.length < 256) {
    const p = queue.shift()!;
    out.push(p);
    let tasks: string[] = [];
    try { tasks = readdirSync(`/proc/${p}/task`); } catch { continue; }
    for (const t of tasks) {
      try {
        const kids = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').trim();
        if (kids) for (const k of kids.split(/\s+/)) queue.push(Number(k));
      } catch { /* task ended */ }
    }
  }
  return out;
}

/** Memory of a process and its descendants, summed (a multi-worker resolver counts every worker). */
/**
 * CPU time (user + system, ms) used so far by a process and its children, from
 * /proc/PID/stat (utime and stime, in clock ticks of 10 ms on Linux). Read before
 * and after a run, it gives CPU per answer: a cost that does not swing with the
 * load on the box the way a rate does.
 */
export function cpuMsOf(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces) start after the last ')'.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch { /* gone */ }
  }
  return ticks * 10;
}

export function memoryOf(pid: number): Memory {
  const pids = processTree(pid);
  let hwm = 0, rss = 0;
  for (const p of pids) { hwm += readStatusKiB(p, 'VmHWM'); rss += readStatusKiB(p, 'VmRSS'); }
  return { hwmKiB: hwm, rssKiB: rss, processes: pids.length };
}
