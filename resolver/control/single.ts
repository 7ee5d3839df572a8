// The operations layer of one resolver process (the only one, or one worker):
// warm start when it starts, the dump when it stops, reload and cache operations
// in between. resolver/server.ts calls startSingleOps once and forwards to it.

import { keepGeneratedSecret } from '../defence/guard.js';
import { performance } from 'node:perf_hooks';
import type { ReloadReport } from './types.js';
import type { ResolverConfig } from '../config.js';
import type { Front } from '../front.js';
import type { Resolution } from '../iterator/types.js';
import type { RRsetCache } from '../cache/rrset-cache.js';
import type { ResolverStats } from '../stats.js';
import { CacheOps, readNamesFile, warmFromNames, type CacheOp, type CacheOpResult, type ValidationCaches } from './ops.js';
import { applyInPlace, describeApply, refusedMessage } from './reload.js';
import { defaultOpsSettings } from './settings.js';

export interface SingleOps {
  readonly ops: CacheOps;
  /** Settles when warm start has ended. */
  readonly warmed: Promise<void>;
  reload(load: () => object): Promise<ReloadReport>;
  control(op: CacheOp): Promise<CacheOpResult>;
  /** Writes ops.dumpFile, if set (shutdown). */
  dumpOnClose(): void;
  /** Stops warming early (shutdown). */
  stopWarming(): void;
  /** Adds the ops counters to a stats snapshot. */
  decorate(s: ResolverStats): ResolverStats;
}

/** The RRset cache behind a resolution, when it is the iterator (tests may pass other resolutions). */
function rrsetsOf(resolution: Resolution): RRsetCache | undefined {
  const c = (resolution as { cache?: unknown }).cache;
  return c && typeof (c as RRsetCache).flushNames === 'function' ? (c as RRsetCache) : undefined;
}

/** The validator's caches, when validation is on (resolver/server.ts passes them beside the RRset cache). */
function validationOf(resolution: Resolution): ValidationCaches | undefined {
  const v = (resolution as { validation?: unknown }).validation;
  return v && typeof (v as ValidationCaches).flushNames === 'function' && typeof (v as ValidationCaches).flushNegative === 'function' ? (v as ValidationCaches) : undefined;
}

/**
 * Loads the dump (synchronously: before the first query is read, so no query meets
 * a half-loaded cache) and starts warming from the names file in the background.
 */
export function startSingleOps(cfg: ResolverConfig, front: Front, resolution: Resolution, log: (m: string) => void, now: () => number = () => performance.now()): SingleOps {
  const settings = () => cfg.ops ?? defaultOpsSettings();
  const ops = new CacheOps(front, rrsetsOf(resolution), now, log, validationOf(resolution));
  const s0 = settings();
  if (s0.dumpFile) {
    const r = ops.load(s0.dumpFile);
    log(`warm start: ${r.message}`);
  }
  let stop = false;
  let warmed: Promise<void> = Promise.resolve();
  if (s0.warmNamesFile) {
    let names: ReturnType<typeof readNamesFile> = [];
    try { names = readNamesFile(s0.warmNamesFile, log); } catch (err) { log(`warm start: cannot read ${s0.warmNamesFile}: ${(err as Error).message}; not warming from names`); }
    if (names.length) {
      front.local.warming = true;
      ops.counters.warming = 1;
      const t0 = now();
      log(`warm start: resolving ${names.length} names from ${s0.warmNamesFile} (at most ${s0.warmTimeLimitMs / 1000} s); the probe name answers "warming" until then`);
      // The time limit is hard: warming ends at the deadline even if a resolution is
      // still running (it finishes in the background and is cached as usual).
      let resolved = 0;
      let limitTimer: NodeJS.Timeout | undefined;
      const limit = new Promise<void>((r) => { limitTimer = setTimeout(() => { stop = true; r(); }, s0.warmTimeLimitMs); });
      warmed = Promise.race([
        warmFromNames(front, resolution, names, s0.warmConcurrency, () => !stop, now, () => { if (!stop) resolved++; }).then(() => {}),
        limit,
      ]).then(() => {
        clearTimeout(limitTimer);
        stop = true;
        ops.counters.warmNamesResolved += resolved;
        const ms = Math.round(now() - t0);
        log(`warm start: ${resolved} of ${names.length} names resolved in ${ms} ms${resolved < names.length ? ' (time limit reached or stopped)' : ''}; warming done`);
      }, (err: Error) => log(`warm start: ${err.message}`)).finally(() => {
        front.local.warming = false;
        ops.counters.warming = 0;
      });
    }
  }

  return {
    ops,
    warmed,
    async reload(load) {
      let next: ResolverConfig;
      try {
        next = load() as ResolverConfig;
      } catch (err) {
        ops.counters.reloadFailures++;
        return { ok: false, message: refusedMessage(err), changed: [], needRestart: [] };
      }
      keepGeneratedSecret(cfg, next);
      const r = applyInPlace(cfg, next);
      front.reconfigure();
      (resolution as { reconfigure?: (c: ResolverConfig) => void }).reconfigure?.(cfg);
      ops.counters.reloads++;
      return { ok: true, message: `reloaded: ${describeApply(r)}`, ...r };
    },
    async control(op) {
      return ops.run(op);
    },
    dumpOnClose() {
      const file = settings().dumpFile;
      if (!file) return;
      const r = ops.run({ op: 'dump-cache', file });
      log(`warm start: ${r.ok ? r.message : `cache dump failed: ${r.message}`}`);
    },
    stopWarming() { stop = true; },
    decorate(s) {
      Object.assign(s.ops, ops.counters);
      return s;
    },
  };
}
