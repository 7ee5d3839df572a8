// The answer cache, keyed by the 30-bit hash of the question (lower-cased wire
// name, qtype, qclass) and verified byte for byte against the stored question,
// so a hash collision costs a cache slot, never a wrong answer.
//
// Entries live as records in a ring of slabs outside V8's heap (slab.ts). The one
// structure on the heap is a Map from hash to locator (two small integers per
// entry), which hits read. The byte bound covers the slabs as allocated (records,
// the space left by replaced or relocated ones, the unwritten end of the newest
// slab) plus the index.
//
// Eviction is by slab, oldest first: when the bound is reached, or when the oldest
// slab holds no record the index still points to (each slab counts its live
// bytes), it leaves the ring and its records leave the index. A hit refreshes its record at
// most once a second; if the record then sits in the older half of the ring it is
// copied to the newest slab, so an answer that is used survives and one that is not
// goes with its slab (a second-chance FIFO: the LRU order to within half a ring).
// Expiry is checked against the record's own deadline, so a DNS TTL of 0 never
// means "forever".

import { AnswerEntry } from './entry.js';
import { FLAG_PREFETCHED, FLAG_STALE, H, recordBytes, type Slab, SlabRing } from './slab.js';

/** How often (ms) a hit refreshes its record's place in the eviction order. */
const TOUCH_INTERVAL_MS = 1000;
/**
 * Bytes the index spends per entry (a Map of small integers: key, value and chain
 * per entry plus buckets, up to twice that just after it grows). Measured with
 * resolver/memory-accounting.ts.
 */
export const INDEX_OVERHEAD = 40;
const U32_MAX = 0xffffffff;

export class AnswerCache {
  /** hash → locator (slab.ts) of the record that answers it. */
  private readonly index = new Map<number, number>();
  private readonly ring: SlabRing;
  private readonly maxBytes: number;
  /** One huge answer must not flush the whole cache. */
  private readonly maxRecordBytes: number;

  /**
   * How long (ms) an expired entry is kept for serve-stale (resolver/stale/): a hit
   * never sees it, a miss may answer from it (peekExpired). 0: dropped on expiry.
   */
  private readonly keepExpiredMs: number;

  constructor(maxBytes: number, keepExpiredMs = 0) {
    this.maxBytes = maxBytes;
    this.keepExpiredMs = keepExpiredMs;
    this.maxRecordBytes = Math.max(1024, Math.floor(maxBytes / 8));
    this.ring = new SlabRing(maxBytes);
  }

  /**
   * The entry whose question is key[0..keyLen) (hash `hash`), if it may still be
   * served at `nowMs`.
   */
  lookup(hash: number, key: Uint8Array, keyLen: number, nowMs: number, variant = 0): AnswerEntry | undefined {
    const loc = this.find(hash, key, keyLen, variant);
    if (loc < 0) return undefined;
    let s = this.ring.slabAt(loc)!;
    let off = this.ring.offsetOf(loc);
    const inserted = s.f64[(off + H.INSERTED) >> 3];
    const expires = inserted + s.u32[(off + H.EXPIRES) >> 2];
    if (nowMs >= expires) {
      // Kept a while for serve-stale; the byte bound and eviction order still apply to it.
      if (nowMs >= expires + this.keepExpiredMs) this.delete(hash);
      return undefined;
    }
    if (nowMs - (inserted + s.u32[(off + H.TOUCHED) >> 2]) >= TOUCH_INTERVAL_MS) {
      s.u32[(off + H.TOUCHED) >> 2] = clampU32(nowMs - inserted);
      const moved = this.relocateIfOld(hash, s, off);
      if (moved >= 0) {
        s = this.ring.slabAt(moved)!;
        off = this.ring.offsetOf(moved);
      }
    }
    return materialize(s, off);
  }

  /**
   * The expired entry for this question still kept for serve-stale, if any (the
   * miss path asks; a hit never returns an expired entry).
   */
  peekExpired(hash: number, key: Uint8Array, keyLen: number, nowMs: number, variant = 0): AnswerEntry | undefined {
    const loc = this.find(hash, key, keyLen, variant);
    if (loc < 0) return undefined;
    const s = this.ring.slabAt(loc)!;
    const off = this.ring.offsetOf(loc);
    const expires = s.f64[(off + H.INSERTED) >> 3] + s.u32[(off + H.EXPIRES) >> 2];
    if (nowMs < expires || nowMs >= expires + this.keepExpiredMs) return undefined;
    return materialize(s, off);
  }

  /** The locator of the record stored for this question and variant, expired or not; -1 if none. */
  private find(hash: number, key: Uint8Array, keyLen: number, variant: number): number {
    const loc = this.index.get(hash);
    if (loc === undefined) return -1;
    return matches(this.ring.slabAt(loc)!, this.ring.offsetOf(loc), key, keyLen, variant) ? loc : -1;
  }

  /**
   * A record in the older half of the ring is copied to the newest slab, so a used
   * answer is not evicted with its slab. Returns the new locator, or -1 if it stayed.
   */
  private relocateIfOld(hash: number, s: Slab, off: number): number {
    const ring = this.ring;
    if (s === ring.current) return -1;
    const oldest = ring.oldestGeneration;
    if ((s.generation - oldest) * 2 >= ring.newestGeneration - oldest) return -1;
    const n = recordSize(s, off);
    const loc = this.reserve(n);
    const d = ring.slabAt(loc)!;
    s.buf.copy(d.buf, ring.offsetOf(loc), off, off + n);
    // The old copy is dead (if its slab was not just evicted to make room).
    if (this.index.get(hash) !== undefined) s.live -= n;
    d.live += n;
    this.index.set(hash, loc);
    this.trim();
    // The trim may have evicted the newest record's slab only if the bound is below one slab.
    return this.index.get(hash) === loc ? loc : -1;
  }

  /** Stores an entry under the hash of its question (a copy of its bytes); ignored when it has no lifetime left. */
  store(hash: number, e: AnswerEntry, nowMs: number): void {
    if (e.expiresMs <= nowMs) return;
    const edeLen = e.ede === null ? 0 : e.ede.length;
    const n = recordBytes(e.len, e.ttlCount, edeLen);
    // What was stored under this hash is replaced (or, if the new one is too big to keep, dropped).
    this.delete(hash);
    if (n > this.maxRecordBytes) return;
    const loc = this.reserve(n);
    const s = this.ring.slabAt(loc)!;
    const off = this.ring.offsetOf(loc);
    const inserted = e.insertedMs;
    s.u32[(off + H.HASH) >> 2] = hash >>> 0;
    const o2 = off >> 1;
    s.u16[o2 + (H.LEN >> 1)] = e.len;
    s.u16[o2 + (H.QEND >> 1)] = e.qEnd;
    s.u16[o2 + (H.ADDSTART >> 1)] = e.addStart;
    s.u16[o2 + (H.ARCOUNT >> 1)] = e.arCount;
    s.u16[o2 + (H.TTLCOUNT >> 1)] = e.ttlCount;
    s.u16[o2 + (H.EDELEN >> 1)] = edeLen;
    const b = s.buf;
    b[off + H.RCODE] = e.rcode;
    b[off + H.VARIANT] = e.variant;
    b[off + H.FLAGS] = e.stale ? FLAG_STALE : 0;
    b[off + H.FLAGS + 1] = 0;
    s.u32[(off + H.EXPIRES) >> 2] = clampU32(e.expiresMs - inserted);
    s.u32[(off + H.TOUCHED) >> 2] = clampU32(nowMs - inserted);
    s.u32[(off + H.ORIGIN) >> 2] = e.stale ? clampU32(inserted - e.originMs) : 0;
    s.f64[(off + H.INSERTED) >> 3] = inserted;
    const body = e.storedBytes;
    e.slab.copy(b, off + H.SIZE, e.start, e.start + body);
    if (e.ede !== null) e.ede.copy(b, off + H.SIZE + body);
    s.live += n;
    this.index.set(hash, loc);
    this.trim();
  }

  /** The entry stored under `hash`, expired or not, without touching it (flood.max_negative_per_zone). */
  peek(hash: number): AnswerEntry | undefined {
    const loc = this.index.get(hash);
    return loc === undefined ? undefined : materialize(this.ring.slabAt(loc)!, this.ring.offsetOf(loc));
  }

  /** Drops whatever is stored under `hash` (its bytes go with their slab). */
  delete(hash: number): void {
    const loc = this.index.get(hash);
    if (loc === undefined) return;
    const s = this.ring.slabAt(loc)!;
    s.live -= recordSize(s, this.ring.offsetOf(loc));
    this.index.delete(hash);
  }

  clear(): void {
    this.index.clear();
    this.ring.clear();
  }

  /** Every entry with its hash, most recently stored or used first (cache dumps, flushes). */
  *all(): Generator<[number, AnswerEntry]> {
    const ring = this.ring;
    for (const s of ring.newestFirst()) {
      const offsets: number[] = [];
      for (let off = 0; off < s.used; off += recordSize(s, off)) offsets.push(off);
      for (let i = offsets.length - 1; i >= 0; i--) {
        const off = offsets[i];
        const hash = s.u32[(off + H.HASH) >> 2];
        if (this.index.get(hash) === ring.locator(s, off)) yield [hash, materialize(s, off)];
      }
    }
  }

  get entries(): number {
    return this.index.size;
  }

  /** What the cache holds: its slabs as allocated plus the index. */
  get bytes(): number {
    return this.ring.bytes + this.index.size * INDEX_OVERHEAD;
  }

  /** Room for a record of `n` bytes; returns its locator. */
  private reserve(n: number): number {
    const ring = this.ring;
    while (ring.count >= ring.slotCount) this.evictOldest();
    return ring.reserve(n);
  }

  /**
   * Evicts the oldest slabs while the cache is over its bound, or while the oldest
   * holds nothing live (a flood's negative answers, replaced under the per-zone cap,
   * must not keep the cache at its bound). Never the only slab.
   */
  private trim(): void {
    const ring = this.ring;
    while (ring.count > 1 && (this.bytes > this.maxBytes || ring.oldest()!.live === 0)) this.evictOldest();
  }

  private evictOldest(): void {
    const ring = this.ring;
    const s = ring.evictOldest();
    if (s === undefined) return;
    const index = this.index;
    for (let off = 0; off < s.used; off += recordSize(s, off)) {
      const hash = s.u32[(off + H.HASH) >> 2];
      if (index.get(hash) === ring.locator(s, off)) index.delete(hash);
    }
  }
}

function clampU32(v: number): number {
  return v <= 0 ? 0 : v >= U32_MAX ? U32_MAX : Math.floor(v);
}

function recordSize(s: Slab, off: number): number {
  const o2 = off >> 1;
  return recordBytes(s.u16[o2 + (H.LEN >> 1)], s.u16[o2 + (H.TTLCOUNT >> 1)], s.u16[o2 + (H.EDELEN >> 1)]);
}

/** True if the record at `off` answers key[0..keyLen) for `variant`. */
function matches(s: Slab, off: number, key: Uint8Array, keyLen: number, variant: number): boolean {
  const b = s.buf;
  if (b[off + H.VARIANT] !== variant) return false;
  if (s.u16[(off + H.QEND) >> 1] - 12 !== keyLen) return false;
  const q = off + H.SIZE + 12;
  for (let i = 0; i < keyLen; i++) if (b[q + i] !== key[i]) return false;
  return true;
}

/** An entry object for the record at `off` (its bytes stay in the slab). */
function materialize(s: Slab, off: number): AnswerEntry {
  const u16 = s.u16;
  const o2 = off >> 1;
  const len = u16[o2 + (H.LEN >> 1)];
  const ttlCount = u16[o2 + (H.TTLCOUNT >> 1)];
  const edeLen = u16[o2 + (H.EDELEN >> 1)];
  const start = off + H.SIZE;
  const b = s.buf;
  const inserted = s.f64[(off + H.INSERTED) >> 3];
  const edeAt = start + len + 2 * ttlCount;
  const e = new AnswerEntry(
    b, start, len, u16[o2 + (H.QEND >> 1)], u16[o2 + (H.ADDSTART >> 1)], u16[o2 + (H.ARCOUNT >> 1)], ttlCount,
    b[off + H.RCODE], inserted, inserted + s.u32[(off + H.EXPIRES) >> 2],
    edeLen === 0 ? null : b.subarray(edeAt, edeAt + edeLen),
  );
  e.variant = b[off + H.VARIANT];
  e.touchedMs = inserted + s.u32[(off + H.TOUCHED) >> 2];
  const flags = b[off + H.FLAGS];
  e.prefetched = (flags & FLAG_PREFETCHED) !== 0;
  if ((flags & FLAG_STALE) !== 0) {
    e.stale = true;
    e.originMs = inserted - s.u32[(off + H.ORIGIN) >> 2];
  }
  e.resident = true;
  return e;
}
