// The answer cache: key -> AnswerEntry, bounded in bytes by lru-cache.
// Expiry is checked here against the entry's own deadline rather than with
// lru-cache's TTL machinery: a hit then costs one Map lookup and one comparison,
// and a DNS TTL of 0 can never turn into lru-cache's "ttl 0 = forever".
// Expired entries that nobody asks for again are pushed out by the LRU order
// as new answers arrive, so memory stays within maxBytes either way.

import { LRUCache } from 'lru-cache';
import type { AnswerEntry } from './entry.js';

export class AnswerCache {
  private readonly lru: LRUCache<string, AnswerEntry>;

  constructor(maxBytes: number) {
    this.lru = new LRUCache<string, AnswerEntry>({
      maxSize: maxBytes,
      // One huge answer must not flush the whole cache.
      maxEntrySize: Math.max(1024, Math.floor(maxBytes / 8)),
      sizeCalculation: (e, key) => e.size + key.length,
    });
  }

  /** The entry for `key` if it may still be served at `nowMs`. */
  get(key: string, nowMs: number): AnswerEntry | undefined {
    const e = this.lru.get(key);
    if (e === undefined) return undefined;
    if (nowMs >= e.expiresMs) {
      this.lru.delete(key);
      return undefined;
    }
    return e;
  }

  /** Stores an entry; ignored when it has no lifetime left. */
  set(key: string, e: AnswerEntry, nowMs: number): void {
    if (e.expiresMs <= nowMs) return;
    this.lru.set(key, e);
  }

  delete(key: string): void {
    this.lru.delete(key);
  }

  clear(): void {
    this.lru.clear();
  }

  get entries(): number {
    return this.lru.size;
  }

  get bytes(): number {
    return this.lru.calculatedSize;
  }
}
