// --workers N: reload, cache operations and warm start reach every worker.
// The primary sends each call to every live worker and waits for all replies (a
// worker that does not answer within CALL_TIMEOUT_MS, or exits, counts as failed).
// A cache dump is written by each worker to a part file of its own, then merged
// into the one dump file here; a load is done by every worker from that one file.
// Reload updates the config restarted workers get, too.

import { keepGeneratedSecret } from '../defence/guard.js';
import { unlinkSync } from 'node:fs';
import type { ReloadReport } from './types.js';
import type { ResolverConfig } from '../config.js';
import type { ResolverStats } from '../stats.js';
import { encodeDump, mergeDumps, readDumpFile, writeFileAtomic, type ParsedDump } from '../cache/dump.js';
import type { CacheOp, CacheOpResult } from './types.js';
import { applyInPlace, describeApply, refusedMessage } from './reload.js';

export type WorkerCall =
  | { type: 'reload'; id: number; cfg: ResolverConfig }
  | { type: 'control'; id: number; op: CacheOp };

interface LiveWorker { index: number; send: (m: WorkerCall) => void }

const CALL_TIMEOUT_MS = 10_000;

export function workersControl(o: {
  cfg: ResolverConfig;
  workerCfg: ResolverConfig;
  log: (m: string) => void;
  live: () => LiveWorker[];
}) {
  let nextId = 0;
  const pending = new Map<number, { waiting: Set<number>; results: CacheOpResult[]; done: () => void }>();
  const counters = { reloads: 0, reloadFailures: 0, dumpEntriesWritten: 0 };
  const unwarmed = new Set(Array.from({ length: o.cfg.workers }, (_, i) => i));
  let warmedDone: () => void = () => {};
  const warmed = new Promise<void>((r) => { warmedDone = r; });
  const checkWarm = () => { if (unwarmed.size === 0) warmedDone(); };

  function call(make: (id: number) => WorkerCall): Promise<CacheOpResult[]> {
    const id = ++nextId;
    const live = o.live();
    return new Promise((resolve) => {
      const entry = { waiting: new Set(live.map((w) => w.index)), results: [] as CacheOpResult[], done: () => {} };
      const timer = setTimeout(() => finish(), CALL_TIMEOUT_MS);
      const finish = () => {
        clearTimeout(timer);
        pending.delete(id);
        for (const i of entry.waiting) entry.results.push({ ok: false, message: `worker ${i} did not answer`, count: 0 });
        resolve(entry.results);
      };
      entry.done = finish;
      pending.set(id, entry);
      if (live.length === 0) { finish(); return; }
      for (const w of live) w.send(make(id));
    });
  }

  const sum = (rs: CacheOpResult[]) => rs.reduce((n, r) => n + r.count, 0);

  async function control(op: CacheOp): Promise<CacheOpResult> {
    if (op.op === 'dump-cache') {
      const results = await call((id) => ({ type: 'control', id, op: { op: 'dump-cache', file: `${op.file}.part${id}-${Math.random().toString(36).slice(2, 8)}` } }));
      // Each worker's reply names its part file in its message; read them back from there.
      const parts: ParsedDump[] = [];
      const files = results.flatMap((r) => (r.ok ? [/ to (.+)$/.exec(r.message)?.[1]].filter((f): f is string => !!f) : []));
      try {
        for (const f of files) parts.push(readDumpFile(f));
        const wall = Date.now();
        const entries = mergeDumps(parts, wall);
        writeFileAtomic(op.file, encodeDump(entries, wall));
        counters.dumpEntriesWritten = entries.length;
        const failed = results.filter((r) => !r.ok);
        return { ok: failed.length === 0, message: `wrote ${entries.length} answers from ${parts.length} workers to ${op.file}${failed.length ? `; ${failed.map((f) => f.message).join('; ')}` : ''}`, count: entries.length };
      } catch (err) {
        return { ok: false, message: `merging the workers' dumps: ${(err as Error).message}`, count: 0 };
      } finally {
        for (const f of files) { try { unlinkSync(f); } catch { /* gone */ } }
      }
    }
    const results = await call((id) => ({ type: 'control', id, op }));
    const failed = results.filter((r) => !r.ok);
    const first = (failed[0] ?? results[0])?.message ?? 'no worker running';
    return { ok: results.length > 0 && failed.length === 0, message: `${first}${results.length > 1 ? ` (worker 0; ${sum(results)} in total over ${results.length} workers)` : ''}`, count: sum(results) };
  }

  async function reload(load: () => object): Promise<ReloadReport> {
    let next: ResolverConfig;
    try {
      next = load() as ResolverConfig;
    } catch (err) {
      counters.reloadFailures++;
      return { ok: false, message: refusedMessage(err), changed: [], needRestart: [] };
    }
    keepGeneratedSecret(o.cfg, next);
    const r = applyInPlace(o.cfg, next);
    // What restarted workers get: the same values, their own workers/listen.
    applyInPlace(o.workerCfg, { ...next, workers: 1, listen: o.workerCfg.listen });
    const results = await call((id) => ({ type: 'reload', id, cfg: structuredClone(o.workerCfg) }));
    counters.reloads++;
    const failed = results.filter((x) => !x.ok);
    return {
      ok: failed.length === 0,
      message: `reloaded: ${describeApply(r)}${failed.length ? `; ${failed.map((f) => f.message).join('; ')}` : ''}`,
      ...r,
    };
  }

  return {
    control,
    reload,
    warmed,
    onMessage(index: number, m: { type: 'reply'; id: number; result: CacheOpResult } | { type: 'warmed' }) {
      if (m.type === 'warmed') { unwarmed.delete(index); checkWarm(); return; }
      const p = pending.get(m.id);
      if (!p || !p.waiting.delete(index)) return;
      p.results.push(m.result);
      if (p.waiting.size === 0) p.done();
    },
    onExit(index: number) {
      unwarmed.delete(index);
      checkWarm();
      for (const p of pending.values()) {
        if (p.waiting.delete(index)) {
          p.results.push({ ok: false, message: `worker ${index} exited`, count: 0 });
          if (p.waiting.size === 0) p.done();
        }
      }
    },
    async dumpOnClose() {
      const file = o.cfg.ops?.dumpFile;
      if (!file) return;
      const r = await control({ op: 'dump-cache', file });
      o.log(`warm start: ${r.ok ? r.message : `cache dump failed: ${r.message}`}`);
    },
    decorate(s: ResolverStats): ResolverStats {
      // Reloads happen once for the node, not once per worker.
      s.ops.reloads = counters.reloads;
      s.ops.reloadFailures = counters.reloadFailures;
      s.ops.dumpEntriesWritten = counters.dumpEntriesWritten;
      s.ops.warming = unwarmed.size > 0 ? 1 : 0;
      return s;
    },
  };
}
