// What `anycast-kit control` and warm start do inside one resolver process:
// flushes, cache dump and load, warming from a list of names, and the counters
// they keep (ResolverStats.ops). resolver/server.ts wires one CacheOps per
// process; with --workers the primary sends each operation to every worker
// (resolver/workers.ts) and merges the results.

import { readFileSync } from 'node:fs';
import { lowerName, nameToWire, normalizeName, isSubdomain } from '../../dns/name.js';
import { parseType } from '../../dns/constants.js';
import type { Front } from '../front.js';
import type { RRsetCache } from '../cache/rrset-cache.js';
import type { Resolution } from '../iterator/types.js';
import { MAX_KEY_LEN, QS, QueryInfo, readQuery } from '../listener/query.js';
import { emptyOpsStats, type CacheOp, type CacheOpResult } from './types.js';
export type { CacheOp, CacheOpResult } from './types.js';
import { cacheEntries, DumpError, encodeDump, loadIntoCache, readDumpFile, writeFileAtomic, type LoadResult } from '../cache/dump.js';

/** A name argument as the caches store it: lower case, no trailing dot. Throws on a bad name. */
function canonical(name: string): string {
  const n = lowerName(normalizeName(name));
  return n.endsWith('.') ? n.slice(0, -1) : n;
}

/** True when the stored answer's question name (wire, from offset 12) is `target` or below it. */
function questionMatches(wire: Buffer, target: Buffer, zone: boolean): boolean {
  let p = 12;
  for (;;) {
    const rest = wire.length - p;
    if (rest >= target.length && wire.compare(target, 0, target.length, p, p + target.length) === 0) {
      // Equal only if the name ends right there.
      if (wire[p + target.length - 1] === 0) return zone || p === 12;
    }
    const l = wire[p];
    if (l === 0 || l === undefined || !zone) return false;
    p += l + 1;
  }
}

function isNegative(wire: Buffer): boolean {
  const rcode = wire[3] & 0x0f;
  return rcode === 3 || rcode === 2 || (rcode === 0 && wire.readUInt16BE(6) === 0);
}

/** The validator's caches, as the flush commands reach them (validator/validator.ts). */
export interface ValidationCaches {
  flushNames(match: (name: string) => boolean): number;
  flushNegative(): number;
}

export class CacheOps {
  readonly counters = emptyOpsStats();

  constructor(
    private readonly front: Front,
    private readonly rrsets: RRsetCache | undefined,
    private readonly now: () => number,
    private readonly log: (m: string) => void,
    private readonly validation?: ValidationCaches,
  ) {}

  run(op: CacheOp): CacheOpResult {
    try {
      switch (op.op) {
        case 'flush': return this.flush(op.name, false);
        case 'flush-zone': return this.flush(op.name, true);
        case 'flush-negative': return this.flushNegative();
        case 'dump-cache': return this.dump(op.file);
        case 'load-cache': return this.load(op.file);
      }
    } catch (err) {
      return { ok: false, message: (err as Error).message, count: 0 };
    }
  }

  private flush(name: string, zone: boolean): CacheOpResult {
    let target: string;
    try { target = canonical(name); } catch (err) { return { ok: false, message: `"${name}" is not a domain name: ${(err as Error).message}`, count: 0 }; }
    const wire = nameToWire(target === '' ? '.' : target);
    const doomed: number[] = [];
    for (const cache of this.front.answerCaches()) {
      const here: number[] = [];
      for (const [hash, e] of cache.all()) if (questionMatches(e.wire, wire, zone)) here.push(hash);
      for (const h of here) cache.delete(h);
      doomed.push(...here);
    }
    const m = zone ? (n: string) => isSubdomain(n, target) : (n: string) => n === target;
    const names = this.rrsets ? this.rrsets.flushNames(m) : 0;
    const dnssec = this.validation ? this.validation.flushNames(m) : 0;
    this.counters.flushedEntries += doomed.length + names + dnssec;
    const also = this.validation ? `, and ${dnssec} DNSSEC entries (zone keys, NSEC spans, bogus answers)` : '';
    return { ok: true, message: `flushed ${doomed.length} answers and ${names} names of RRsets ${zone ? 'at and below' : 'for'} ${target || '.'}${also}`, count: doomed.length + names + dnssec };
  }

  private flushNegative(): CacheOpResult {
    const doomed: number[] = [];
    for (const cache of this.front.answerCaches()) {
      const here: number[] = [];
      for (const [hash, e] of cache.all()) if (isNegative(e.wire)) here.push(hash);
      for (const h of here) cache.delete(h);
      doomed.push(...here);
    }
    const negs = this.rrsets ? this.rrsets.flushNegative() : 0;
    const dnssec = this.validation ? this.validation.flushNegative() : 0;
    this.counters.flushedEntries += doomed.length + negs + dnssec;
    const also = this.validation ? `, and ${dnssec} DNSSEC entries (NSEC spans, bogus answers)` : '';
    return { ok: true, message: `flushed ${doomed.length} negative or SERVFAIL answers and ${negs} negative RRset entries${also}`, count: doomed.length + negs + dnssec };
  }

  /** Writes the answer cache to `file` (atomically). */
  dump(file: string): CacheOpResult {
    const entries = this.front.answerCaches().flatMap((c) => [...cacheEntries(c, this.now())]);
    writeFileAtomic(file, encodeDump(entries, Date.now()));
    this.counters.dumpEntriesWritten = entries.length;
    return { ok: true, message: `wrote ${entries.length} answers to ${file}`, count: entries.length };
  }

  /**
   * Reads `file` into the answer cache. A damaged dump, or one of another format
   * version, is rejected as a whole: nothing of it is used.
   */
  load(file: string): CacheOpResult {
    let r: LoadResult;
    try {
      const dump = readDumpFile(file);
      r = loadIntoCache((wire) => (isNegative(wire) ? this.front.negCache : this.front.cache), dump, this.now(), Date.now());
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return { ok: false, message: `no cache dump at ${file}: starting cold`, count: 0 };
      this.counters.dumpsRejected++;
      const why = err instanceof DumpError ? err.message : (err as Error).message;
      return { ok: false, message: `cache dump ${file} rejected: ${why}; starting cold`, count: 0 };
    }
    this.counters.dumpEntriesLoaded += r.loaded;
    return { ok: true, message: `loaded ${r.loaded} answers from ${file} (${r.expired} had expired)`, count: r.loaded };
  }
}

/** One name to warm: presentation name and qtype. */
export interface WarmName { name: string; type: number }

/**
 * Reads a names file: one name per line, optionally followed by a type (default A);
 * `#` starts a comment. Bad lines are reported as FILE:LINE: name: MESSAGE and skipped.
 */
export function readNamesFile(file: string, log: (m: string) => void): WarmName[] {
  const out: WarmName[] = [];
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    const [name, typeText, ...rest] = line.split(/\s+/);
    const type = typeText === undefined ? 1 : parseType(typeText.toUpperCase());
    if (type === undefined || rest.length) { log(`${file}:${i + 1}: name: expected "NAME [TYPE]", got "${line}"; skipped`); return; }
    try { out.push({ name: normalizeName(name), type }); }
    catch (err) { log(`${file}:${i + 1}: name: "${name}" is not a domain name (${(err as Error).message}); skipped`); }
  });
  return out;
}

/**
 * Resolves `names` through the back and stores the answers in the answer cache,
 * `concurrency` at a time, while `keepGoing()` says so.
 * Returns how many were resolved.
 */
export async function warmFromNames(front: Front, resolution: Resolution, names: WarmName[], concurrency: number, keepGoing: () => boolean, now: () => number, onResolved: () => void = () => {}): Promise<number> {
  const q = new QueryInfo();
  const key = Buffer.allocUnsafe(MAX_KEY_LEN + 4);
  let next = 0, done = 0;
  const one = async (w: WarmName): Promise<void> => {
    const res = await resolution.resolve({ name: w.name, type: w.type, class: 1 });
    const t = now();
    const e = front.entryFromResult(w.name, w.type, 1, res, t);
    const labels = nameToWire(lowerName(w.name));
    const query = Buffer.alloc(12 + labels.length + 4);
    query[2] = 0x01; query[5] = 1;
    labels.copy(query, 12);
    query.writeUInt16BE(w.type, 12 + labels.length);
    query.writeUInt16BE(1, 14 + labels.length);
    if (readQuery(query, q, key) === QS.OK) front.storeAnswer(q.keyHash, e, !isNegative(e.wire), t);
    done++;
    onResolved();
  };
  const lane = async (): Promise<void> => {
    while (next < names.length && keepGoing()) {
      const w = names[next++];
      try { await one(w); } catch { /* a name that fails is just not warm */ }
      // A resolution that ends after the deadline is not counted as warming's.
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, lane));
  return done;
}
