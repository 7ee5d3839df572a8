// Warm start: the answer cache written to a file on shutdown and read back on
// start, TTLs reduced by the time that passed in between (resolver/README.md,
// "Warm start"). The file is checked as a whole before a single entry is used:
// magic, format version, a SHA-256 over everything, and a strict walk of every
// stored message. A dump that fails any check is rejected with one log line and
// the node starts cold; nothing half-read is ever put in the cache.
//
// Layout (big-endian):
//   0   8  magic "AKCDUMP\0"
//   8   2  format version (DUMP_FORMAT_VERSION)
//   10  2  reserved, 0
//   12  8  wall-clock time of the dump, ms since the epoch (float64)
//   20  4  entry count
//   24  .. entries, most recently used first:
//          u32 ms of life left, u32 ms since the answer was stored,
//          u16 EDE option length, u16 message length, EDE option bytes, message bytes
//   end-32  SHA-256 of every byte before it
//
// Stored messages are the answer cache's own form (fastpath/entry.ts): no OPT,
// ID 0, QR set, question lower-cased; TTLs as they were when the answer was
// stored. Loading keeps them and back-dates the entry's insertion time, so the
// TTL countdown at render time gives exactly the TTL left.

import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { AnswerEntry, sharedEde, withTtlOffsets } from '../fastpath/entry.js';
import type { AnswerCache } from '../fastpath/cache.js';
import { MAX_KEY_LEN, QS, QueryInfo, readQuery } from '../listener/query.js';

export const DUMP_MAGIC = Buffer.from('AKCDUMP\0', 'latin1');
/** Bump when the layout or the meaning of a stored message changes. */
export const DUMP_FORMAT_VERSION = 1;
const HEADER = 24;
const TRAILER = 32;
const ENTRY_HEADER = 12;
/** More entries than a 64 GiB cache could hold means the count field is garbage. */
const MAX_ENTRIES = 100_000_000;

/** One answer as it travels through a dump; times relative to `createdWallMs` of its dump. */
export interface DumpEntry {
  remainingMs: number;
  ageMs: number;
  ede: Buffer | null;
  wire: Buffer;
}

export interface ParsedDump {
  createdWallMs: number;
  entries: DumpEntry[];
}

/** DumpError's machine code (a closed set of one; see docs/errors.md). */
export type DumpErrorCode = 'CACHE_DUMP';

/** A cache dump that cannot be used: bad magic, another format version, damaged or truncated. */
export class DumpError extends Error {
  readonly code: DumpErrorCode = 'CACHE_DUMP';
  constructor(message: string) {
    super(message);
    this.name = 'DumpError';
  }
}

/** Where a stored message's parts are; computed by walking it, never trusted from the file. */
interface Shape {
  qEnd: number;
  addStart: number;
  arCount: number;
  ttlOffsets: number[];
}

/**
 * Walks a stored answer strictly: header counts, the question, every record within
 * bounds, names as labels or pointers to earlier bytes, and nothing after the last
 * record. Throws DumpError naming what is wrong.
 */
export function walkStored(wire: Buffer): Shape {
  const len = wire.length;
  if (len < 17) throw new DumpError(`message of ${len} bytes is shorter than a header and a question`);
  if ((wire[2] & 0x80) === 0) throw new DumpError('stored message is not a response (QR clear)');
  const qd = wire.readUInt16BE(4), an = wire.readUInt16BE(6), ns = wire.readUInt16BE(8), ar = wire.readUInt16BE(10);
  if (qd !== 1) throw new DumpError(`stored message has ${qd} questions`);
  const skip = (p: number): number => {
    let total = 0;
    for (;;) {
      if (p >= len) throw new DumpError(`name runs past the end at ${p}`);
      const l = wire[p];
      if (l === 0) return p + 1;
      if ((l & 0xc0) === 0xc0) {
        if (p + 1 >= len) throw new DumpError(`pointer cut short at ${p}`);
        if ((((l & 0x3f) << 8) | wire[p + 1]) >= p) throw new DumpError(`pointer at ${p} points forward`);
        return p + 2;
      }
      if (l > 63) throw new DumpError(`bad label length ${l} at ${p}`);
      total += l + 1;
      if (total > 255) throw new DumpError(`name at ${p} longer than 255 bytes`);
      p += l + 1;
    }
  };
  // The question name: plain labels only.
  let p = 12;
  for (;;) {
    if (p >= len) throw new DumpError('question runs past the end');
    const l = wire[p];
    if (l === 0) { p++; break; }
    if (l > 63) throw new DumpError('question name is not plain labels');
    p += l + 1;
  }
  if (p - 12 > 255) throw new DumpError('question name longer than 255 bytes');
  if (p + 4 > len) throw new DumpError('question cut short');
  const qEnd = p + 4;
  p = qEnd;
  const ttlOffsets: number[] = [];
  let addStart = len;
  const total = an + ns + ar;
  for (let i = 0; i < total; i++) {
    if (i === an + ns) addStart = p;
    p = skip(p);
    if (p + 10 > len) throw new DumpError(`record ${i} cut short`);
    ttlOffsets.push(p + 4);
    const rdlen = wire.readUInt16BE(p + 8);
    p += 10 + rdlen;
    if (p > len) throw new DumpError(`record ${i} data runs past the end`);
  }
  if (p !== len) throw new DumpError(`${len - p} bytes after the last record`);
  if (ar === 0) addStart = len;
  return { qEnd, addStart, arCount: ar, ttlOffsets };
}

/** Serialises entries (most recently used first) taken at wall-clock `wallMs`. */
export function encodeDump(entries: Iterable<DumpEntry>, wallMs: number): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(HEADER);
  DUMP_MAGIC.copy(head, 0);
  head.writeUInt16BE(DUMP_FORMAT_VERSION, 8);
  head.writeDoubleBE(wallMs, 12);
  parts.push(head);
  let count = 0;
  for (const e of entries) {
    const h = Buffer.alloc(ENTRY_HEADER);
    h.writeUInt32BE(Math.max(0, Math.min(0xffffffff, Math.floor(e.remainingMs))), 0);
    h.writeUInt32BE(Math.max(0, Math.min(0xffffffff, Math.floor(e.ageMs))), 4);
    h.writeUInt16BE(e.ede ? e.ede.length : 0, 8);
    h.writeUInt16BE(e.wire.length, 10);
    parts.push(h);
    if (e.ede) parts.push(e.ede);
    parts.push(e.wire);
    count++;
  }
  head.writeUInt32BE(count, 20);
  const body = Buffer.concat(parts);
  const sum = createHash('sha256').update(body).digest();
  return Buffer.concat([body, sum]);
}

/** Checks and decodes a whole dump. Throws DumpError with a one-line reason; returns nothing partial. */
export function decodeDump(buf: Buffer): ParsedDump {
  if (buf.length < DUMP_MAGIC.length || !buf.subarray(0, DUMP_MAGIC.length).equals(DUMP_MAGIC)) {
    throw new DumpError('not an anycast-kit cache dump (bad magic)');
  }
  if (buf.length < HEADER + TRAILER) throw new DumpError(`truncated: ${buf.length} bytes, shorter than header and checksum`);
  const version = buf.readUInt16BE(8);
  if (version !== DUMP_FORMAT_VERSION) {
    throw new DumpError(`dump format version ${version}, this build reads version ${DUMP_FORMAT_VERSION}`);
  }
  const body = buf.subarray(0, buf.length - TRAILER);
  const sum = createHash('sha256').update(body).digest();
  if (!sum.equals(buf.subarray(buf.length - TRAILER))) throw new DumpError('damaged or truncated: checksum mismatch');
  const createdWallMs = buf.readDoubleBE(12);
  if (!Number.isFinite(createdWallMs)) throw new DumpError('bad creation time');
  const count = buf.readUInt32BE(20);
  if (count > MAX_ENTRIES) throw new DumpError(`implausible entry count ${count}`);
  const entries: DumpEntry[] = [];
  let p = HEADER;
  for (let i = 0; i < count; i++) {
    if (p + ENTRY_HEADER > body.length) throw new DumpError(`entry ${i} of ${count} cut short`);
    const remainingMs = body.readUInt32BE(p);
    const ageMs = body.readUInt32BE(p + 4);
    const edeLen = body.readUInt16BE(p + 8);
    const wireLen = body.readUInt16BE(p + 10);
    p += ENTRY_HEADER;
    if (p + edeLen + wireLen > body.length) throw new DumpError(`entry ${i} of ${count} cut short`);
    // Copies: the entries outlive the file buffer only as long as the load takes.
    // Shared, never a slice of Node's Buffer pool: an entry held outside the cache keeps it (fastpath/entry.ts, edeOption).
    const ede = edeLen ? sharedEde(body.subarray(p, p + edeLen)) : null;
    p += edeLen;
    const wire = Buffer.from(body.subarray(p, p + wireLen));
    p += wireLen;
    if (ede && (ede.length < 6 || ede.readUInt16BE(0) !== 15 || ede.readUInt16BE(2) !== ede.length - 4)) {
      throw new DumpError(`entry ${i}: bad EDE option`);
    }
    try { walkStored(wire); } catch (err) { throw new DumpError(`entry ${i}: ${(err as Error).message}`); }
    entries.push({ remainingMs, ageMs, ede, wire });
  }
  if (p !== body.length) throw new DumpError(`${body.length - p} bytes after the last entry`);
  return { createdWallMs, entries };
}

/** The answer cache's live entries as dump entries, at monotonic `nowMs`. */
export function* cacheEntries(cache: AnswerCache, nowMs: number): Generator<DumpEntry> {
  for (const [, e] of cache.all()) {
    if (e.expiresMs <= nowMs) continue;
    // Only plain answers: a DNSSEC variant (DO/CD/AD, validation on) carries RRSIGs or
    // AD and is keyed apart; the dump has no variant field, so it would load as plain.
    if (e.variant !== 0) continue;
    yield { remainingMs: e.expiresMs - nowMs, ageMs: Math.max(0, nowMs - e.insertedMs), ede: e.ede, wire: Buffer.from(e.wire) };
  }
}

/**
 * Merges several dumps (one per worker) into one, all times moved to `wallMs`.
 * Entries already expired at `wallMs` are left out.
 */
export function mergeDumps(dumps: ParsedDump[], wallMs: number): DumpEntry[] {
  const out: DumpEntry[] = [];
  for (const d of dumps) {
    const passed = Math.max(0, wallMs - d.createdWallMs);
    for (const e of d.entries) {
      if (e.remainingMs <= passed) continue;
      out.push({ ...e, remainingMs: e.remainingMs - passed, ageMs: e.ageMs + passed });
    }
  }
  return out;
}

export interface LoadResult {
  loaded: number;
  /** Entries whose TTL ran out while the node was down. */
  expired: number;
}

/**
 * Puts a decoded dump into the cache: each entry keeps its stored TTLs and is
 * back-dated by its age plus the time since the dump, so clients see the TTL
 * left. The least recently used go in first, so the hottest end up most recent.
 */
export function loadIntoCache(target: AnswerCache | ((wire: Buffer) => AnswerCache), dump: ParsedDump, nowMs: number, wallMs: number): LoadResult {
  // A clock that went backwards must not lengthen anything.
  const passed = Math.max(0, wallMs - dump.createdWallMs);
  const q = new QueryInfo();
  const key = Buffer.allocUnsafe(MAX_KEY_LEN + 4);
  let loaded = 0, expired = 0;
  for (let i = dump.entries.length - 1; i >= 0; i--) {
    const d = dump.entries[i];
    const left = d.remainingMs - passed;
    if (left < 1000) { expired++; continue; }
    const shape = walkStored(d.wire);
    // The cache key comes from the same reader clients' queries go through.
    const query = Buffer.alloc(shape.qEnd);
    d.wire.copy(query, 12, 12, shape.qEnd);
    query[2] = 0x01;
    query[5] = 1;
    if (readQuery(query, q, key) !== QS.OK) { expired++; continue; }
    const cache = typeof target === 'function' ? target(d.wire) : target;
    const inserted = Math.floor(nowMs) - d.ageMs - passed;
    const e = new AnswerEntry(withTtlOffsets(d.wire, shape.ttlOffsets), 0, d.wire.length, shape.qEnd, shape.addStart,
      shape.arCount, shape.ttlOffsets.length, d.wire[3] & 0x0f, inserted, Math.floor(nowMs) + left, d.ede);
    cache.store(q.keyHash, e, nowMs);
    loaded++;
  }
  return { loaded, expired };
}

/** Writes a file atomically (temporary file, fsync, rename), readable by its owner only. */
export function writeFileAtomic(path: string, data: Buffer): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try { renameSync(tmp, path); } catch (err) { try { unlinkSync(tmp); } catch { /* gone */ } throw err; }
}

/** Reads and checks a dump file; throws DumpError (or the fs error) with the reason. */
export function readDumpFile(path: string): ParsedDump {
  return decodeDump(readFileSync(path));
}
