// The answer cache, keyed by the 30-bit hash of the question (lower-cased wire
// name, qtype, qclass) and verified byte for byte against the stored question,
// so a hash collision costs a cache slot, never a wrong answer.
//
// Two structures: a plain Map<hash, entry> that hits read (one Map lookup on a
// small integer, no string built), and lru-cache holding the same entries, which
// owns the byte bound and the eviction order. A hit tells lru-cache about its use
// at most once a second per entry, so recency is kept to about a second at a
// fraction of the cost. Expiry is checked against the entry's own deadline rather
// than with lru-cache's TTL machinery, so a DNS TTL of 0 can never turn into
// lru-cache's "ttl 0 = forever"; entries nobody asks for again are pushed out by
// the LRU order as new answers arrive, so memory stays within maxBytes either way.

import { LRUCache } from 'lru-cache';
import type { AnswerEntry } from './entry.js';
import { SlabAllocator } from './slab.js';

/** How often (ms) a hit refreshes the entry's place in the LRU order. */
const TOUCH_INTERVAL_MS = 1000;
/** A hit moves its entry to the current slab once its own slab is this many slabs old. */
const RELOCATE_AFTER_GENERATIONS = 8;
const GET_OPTIONS = {};

export class AnswerCache {
  private readonly index = new Map<number, AnswerEntry>();
  private readonly lru: LRUCache<number, AnswerEntry>;
  /** Where cacheable answers keep their bytes (see slab.ts). */
  readonly slabs = new SlabAllocator();

  /**
   * How long (ms) an expired entry is kept for serve-stale (resolver/stale/): a hit
   * never sees it, a miss may answer from it (peekExpired). 0: dropped on expiry.
   */
  private readonly keepExpiredMs: number;

  constructor(maxBytes: number, keepExpiredMs = 0) {
    this.keepExpiredMs = keepExpiredMs;
    this.lru = new LRUCache<number, AnswerEntry>({
      // No count bound: with one, lru-cache preallocates its bookkeeping for that many
      // entries at start (5.4 MiB at the default 64 MiB, most of it before the first
      // query); without, its arrays grow with the entries they hold.
      maxSize: maxBytes,
      // One huge answer must not flush the whole cache.
      maxEntrySize: Math.max(1024, Math.floor(maxBytes / 8)),
      sizeCalculation: (e) => e.size,
      dispose: (e, hash) => {
        if (this.index.get(hash) === e) this.index.delete(hash);
      },
    });
  }

  /**
   * The entry whose question is key[0..keyLen) (hash `hash`), if it may still be
   * served at `nowMs`.
   */
  lookup(hash: number, key: Uint8Array, keyLen: number, nowMs: number, variant = 0): AnswerEntry | undefined {
    const e = this.index.get(hash);
    if (e === undefined || e.variant !== variant) return undefined;
    if (e.qEnd - 12 !== keyLen) return undefined;
    const src = e.slab;
    const q = e.start + 12;
    for (let i = 0; i < keyLen; i++) if (src[q + i] !== key[i]) return undefined;
    if (nowMs >= e.expiresMs) {
      // Kept a while for serve-stale; the byte bound and LRU order still apply to it.
      if (nowMs >= e.expiresMs + this.keepExpiredMs) this.lru.delete(hash);
      return undefined;
    }
    if (nowMs - e.touchedMs >= TOUCH_INTERVAL_MS) this.touch(hash, e, nowMs);
    return e;
  }

  /**
   * The expired entry for this question still kept for serve-stale, if any (the
   * miss path asks; a hit never returns an expired entry).
   */
  peekExpired(hash: number, key: Uint8Array, keyLen: number, nowMs: number, variant = 0): AnswerEntry | undefined {
    const e = this.index.get(hash);
    if (e === undefined || e.variant !== variant || nowMs < e.expiresMs || nowMs >= e.expiresMs + this.keepExpiredMs) return undefined;
    if (e.qEnd - 12 !== keyLen) return undefined;
    const src = e.slab;
    const q = e.start + 12;
    for (let i = 0; i < keyLen; i++) if (src[q + i] !== key[i]) return undefined;
    return e;
  }

  /** Refreshes the entry's LRU position; moves it out of an old slab so old slabs can be freed. */
  private touch(hash: number, e: AnswerEntry, nowMs: number): void {
    e.touchedMs = nowMs;
    this.lru.get(hash, GET_OPTIONS);
    const slabs = this.slabs;
    if (e.generation >= 0 && slabs.generation - e.generation >= RELOCATE_AFTER_GENERATIONS) {
      const n = e.storedBytes;
      slabs.alloc(n);
      e.slab.copy(slabs.buffer, slabs.offset, e.start, e.start + n);
      e.move(slabs.buffer, slabs.offset, slabs.buffer === slabs.current ? slabs.generation : -1);
    }
  }

  /** Stores an entry under the hash of its question; ignored when it has no lifetime left. */
  store(hash: number, e: AnswerEntry, nowMs: number): void {
    if (e.expiresMs <= nowMs) return;
    e.touchedMs = nowMs;
    this.lru.set(hash, e);
    // lru-cache refuses entries above maxEntrySize.
    if (this.lru.has(hash)) this.index.set(hash, e);
  }

  /** The entry stored under `hash`, expired or not, without touching it (flood.max_negative_per_zone). */
  peek(hash: number): AnswerEntry | undefined {
    return this.index.get(hash);
  }

  /** Drops whatever is stored under `hash`. */
  delete(hash: number): void {
    this.lru.delete(hash);
  }

  clear(): void {
    this.lru.clear();
    this.index.clear();
  }

  /** Every entry with its hash, most recently used first (cache dumps, flushes). */
  all(): IterableIterator<[number, AnswerEntry]> {
    return this.lru.entries();
  }

  get entries(): number {
    return this.lru.size;
  }

  get bytes(): number {
    return this.lru.calculatedSize;
  }
}
