// --workers N: N processes, each with its own UDP and TCP sockets on every listen
// address (SO_REUSEPORT, so the kernel spreads flows across them by hash) and its
// own cache and iterator. This process (the primary) serves no DNS: it starts,
// restarts and stops the workers, merges their stats and broadcasts the probe mode.
// Workers ignore SIGTERM/SIGINT: a `node` lameduck must keep them answering until
// the primary says close. If the primary dies, they see the IPC channel close and exit.

import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { fileURLToPath } from 'node:url';
import { heapFlags } from '../common/runtime.js';
import { releaseStartupMemory } from './startup-memory.js';
import type { ProbeAnswerMode, ResolverHandle, StartOptions } from './api.js';
import { defaultTcpSettings, type ResolverConfig } from './config.js';
import { bindUdp } from './listener/udp.js';
import { TcpListener } from './listener/tcp.js';
import { emptyStats, mergeStats, type ResolverStats } from './stats.js';
import type { CacheOp, CacheOpResult } from './control/types.js';
import { workersControl, type WorkerCall } from './control/workers.js';
import type { LivenessEvent } from './selection/infra.js';

/** Messages between the primary and a worker. */
export type ToWorker =
  | { type: 'start'; cfg: ResolverConfig; index: number; probeMode: ProbeAnswerMode }
  | { type: 'stats'; id: number }
  | { type: 'probe'; mode: ProbeAnswerMode }
  | { type: 'close' }
  | { type: 'liveness'; ev: LivenessEvent }
  | WorkerCall;
export type FromWorker =
  | { type: 'ready'; listening: ResolverHandle['listening'] }
  | { type: 'failed'; message: string }
  | { type: 'stats'; id: number; stats: ResolverStats }
  | { type: 'reply'; id: number; result: CacheOpResult }
  | { type: 'warmed' }
  | { type: 'liveness'; ev: LivenessEvent };

const START_TIMEOUT_MS = 20_000;
const STATS_TIMEOUT_MS = 1_000;
const CLOSE_TIMEOUT_MS = 10_000;

/** The worker entry script, from dist/ (also when tests run the TypeScript sources). */
export function workerScript(): string {
  const here = fileURLToPath(import.meta.url);
  const js = here.replace(/workers\.(ts|js)$/, 'worker-main.js');
  if (here.endsWith('.js')) return js;
  const dist = fileURLToPath(new URL('../dist/resolver/worker-main.js', import.meta.url));
  if (!existsSync(dist)) throw new Error(`--workers needs the build: ${dist} is missing (npm run build)`);
  return dist;
}

/** Zeroes the gauges of a stopped worker's last figures, keeping its counters. */
function retire(s: ResolverStats): ResolverStats {
  return { ...s, inflight: 0, cacheEntries: 0, cacheBytes: 0, workers: 0 };
}

class Worker {
  child: ChildProcess | undefined;
  last: ResolverStats | undefined;
  ready = false;
  restarts = 0;
  constructor(readonly index: number) {}
}

/** Binds UDP+TCP with SO_REUSEPORT on port 0 to find a port free for both; holds it while workers join. */
async function reservePort(host: string, log: (m: string) => void): Promise<{ port: number; release: () => Promise<void> }> {
  const noop = { handle() {} };
  for (let i = 0; i < 20; i++) {
    const udp = await bindUdp({ host, port: 0, reusePort: true, log }, noop);
    const port = udp.address().port;
    try {
      const tcp = await TcpListener.listen({ host, port, reusePort: true, settings: defaultTcpSettings(), log }, noop);
      return { port, release: async () => { udp.close(); await tcp.close(); } };
    } catch {
      await new Promise<void>((r) => udp.close(() => r()));
    }
  }
  throw new Error(`no port free for both UDP and TCP on ${host}`);
}

export interface WorkersHandle extends ResolverHandle {
  /** Process ids of the live workers (logs, tests). */
  pids(): number[];
}

export async function startWorkers(cfgIn: ResolverConfig, o: StartOptions = {}): Promise<WorkersHandle> {
  const log = o.log ?? ((m: string) => process.stderr.write(`anycast-kit resolver: ${m}\n`));
  const script = workerScript();
  const cfg = structuredClone(cfgIn);
  const reserved: Array<() => Promise<void>> = [];
  try {
    for (const l of cfg.listen) {
      if (l.port !== 0) continue;
      const r = await reservePort(l.host, log);
      l.port = r.port;
      reserved.push(r.release);
    }
  } catch (err) {
    for (const rel of reserved) await rel();
    throw err;
  }
  const workerCfg: ResolverConfig = { ...cfg, workers: 1 };
  const workers = Array.from({ length: cfg.workers }, (_, i) => new Worker(i));
  let probeMode: ProbeAnswerMode = 'healthy';
  let closing = false;
  let retired = emptyStats();
  retired.workers = 0;
  let statsId = 0;
  const statsWaiters = new Map<number, { pending: Set<number>; done: () => void }>();

  // Reload, cache operations and warm start across the workers (resolver/control/workers.ts).
  const calls = workersControl({
    cfg, workerCfg, log,
    live: () => workers.filter((w) => w.child && w.ready).map((w) => ({ index: w.index, send: (m: ToWorker) => send(w, m) })),
  });

  function spawnWorker(w: Worker): Promise<void> {
    // A 16 MB young generation: V8 otherwise grows it to 128 MB under a query flood,
    // which is most of the RSS and buys no measurable speed here (resolver/README.md).
    const child = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: heapFlags() });
    w.child = child;
    w.ready = false;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`worker ${w.index} did not start within ${START_TIMEOUT_MS} ms`)); }, START_TIMEOUT_MS);
      child.on('message', (m: FromWorker) => {
        if (m.type === 'ready') { w.ready = true; clearTimeout(timer); resolve(); }
        else if (m.type === 'failed') { clearTimeout(timer); reject(new Error(`worker ${w.index}: ${m.message}`)); }
        else if (m.type === 'reply' || m.type === 'warmed') calls.onMessage(w.index, m);
        // A server this worker found dead (or back): the others skip (or use) it at once.
        else if (m.type === 'liveness') {
          for (const other of workers) if (other !== w && other.child && other.ready) { try { other.child.send(m); } catch { /* exiting */ } }
        }
        else if (m.type === 'stats') {
          w.last = m.stats;
          const sw = statsWaiters.get(m.id);
          if (sw) { sw.pending.delete(w.index); if (sw.pending.size === 0) sw.done(); }
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (w.child !== child) return;
        w.child = undefined;
        const wasReady = w.ready;
        w.ready = false;
        if (w.last) { retired = mergeStats([retired, retire(w.last)]); w.last = undefined; }
        for (const sw of statsWaiters.values()) { sw.pending.delete(w.index); if (sw.pending.size === 0) sw.done(); }
        calls.onExit(w.index);
        if (!wasReady) { reject(new Error(`worker ${w.index} exited during start (${signal ?? code})`)); return; }
        if (closing) return;
        const delayMs = Math.min(30_000, 500 * 2 ** Math.min(w.restarts, 6));
        w.restarts++;
        log(`worker ${w.index} exited (${signal ?? `code ${code}`}); restarting in ${delayMs} ms`);
        setTimeout(() => {
          if (closing) return;
          spawnWorker(w).then(
            () => log(`worker ${w.index} restarted`),
            (err: Error) => log(`worker ${w.index} restart failed: ${err.message}`),
          );
        }, delayMs).unref();
      });
      const msg: ToWorker = { type: 'start', cfg: { ...workerCfg, listen: cfg.listen }, index: w.index, probeMode };
      child.send(msg);
    });
  }

  try {
    await Promise.all(workers.map((w) => spawnWorker(w)));
  } catch (err) {
    closing = true;
    for (const w of workers) w.child?.kill('SIGKILL');
    throw err;
  } finally {
    for (const rel of reserved) await rel();
  }
  // The primary serves no DNS: what loading the resolver left behind can go (resolver/startup-memory.ts).
  if (o.releaseStartupMemory) releaseStartupMemory();

  const send = (w: Worker, m: ToWorker) => {
    try { w.child?.send(m); } catch { /* exiting */ }
  };

  async function stats(): Promise<ResolverStats> {
    const id = ++statsId;
    const live = workers.filter((w) => w.child && w.ready);
    await new Promise<void>((resolve) => {
      const pending = new Set(live.map((w) => w.index));
      if (pending.size === 0) { resolve(); return; }
      const timer = setTimeout(() => { statsWaiters.delete(id); resolve(); }, STATS_TIMEOUT_MS);
      statsWaiters.set(id, { pending, done: () => { clearTimeout(timer); statsWaiters.delete(id); resolve(); } });
      for (const w of live) send(w, { type: 'stats', id });
    });
    // A worker that did not answer in time contributes its last figures.
    const parts = workers.filter((w) => w.child && w.last).map((w) => w.last!);
    return calls.decorate(mergeStats([retired, ...parts]));
  }

  let closed: Promise<void> | undefined;
  async function close(): Promise<void> {
    if (o.dumpOnClose !== false) await calls.dumpOnClose();
    closing = true;
    await Promise.all(workers.map((w) => new Promise<void>((resolve) => {
      const child = w.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) { resolve(); return; }
      const t = setTimeout(() => child.kill('SIGKILL'), CLOSE_TIMEOUT_MS);
      child.once('exit', () => { clearTimeout(t); resolve(); });
      send(w, { type: 'close' });
    })));
  }

  return {
    listening: cfg.listen.map((l) => ({ address: l.host, port: l.port, family: isIPv6(l.host) ? 6 : 4 })),
    stats,
    pids: () => workers.flatMap((w) => (w.child?.pid !== undefined && w.child.exitCode === null ? [w.child.pid] : [])),
    setProbeMode(mode: ProbeAnswerMode) {
      probeMode = mode;
      for (const w of workers) send(w, { type: 'probe', mode });
    },
    close: () => (closed ??= close()),
    reload: (load) => calls.reload(load),
    control: (op: CacheOp) => calls.control(op),
    warmed: () => calls.warmed,
  };
}
