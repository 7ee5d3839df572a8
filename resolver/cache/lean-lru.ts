// A least-recently-used map bounded by the summed size of its values, for the
// RRset cache: the part of lru-cache's behaviour that cache uses (get, peek, set,
// delete, iteration most recent first, eviction of the least recently used until
// a new size fits, refusal of a value larger than the whole bound), and nothing
// else. A cold miss makes about ten lookups in the RRset cache, and lru-cache's
// generality (an options object destructured on every call, status tracking,
// TTL and fetch hooks, index arrays) was about a seventh of the iterator's CPU in
// a profile of fresh names. Here an entry is one Map slot and one small record on
// a doubly linked list.

interface Slot<V> {
  key: string;
  value: V;
  size: number;
  /** Towards the least recently used end. */
  older: Slot<V> | undefined;
  /** Towards the most recently used end. */
  newer: Slot<V> | undefined;
}

export class LeanLru<V> {
  private readonly map = new Map<string, Slot<V>>();
  /** Least recently used. */
  private oldest: Slot<V> | undefined;
  /** Most recently used. */
  private newest: Slot<V> | undefined;
  private total = 0;

  constructor(
    /** Sum of sizes kept at most; a value larger than this is not stored. */
    readonly maxSize: number,
    private readonly sizeOf: (value: V) => number,
  ) {
    if (!(maxSize > 0)) throw new RangeError('LeanLru: maxSize must be positive');
  }

  get size(): number {
    return this.map.size;
  }

  /** Sum of the sizes of the values held. */
  get calculatedSize(): number {
    return this.total;
  }

  /** The value, made the most recently used. */
  get(key: string): V | undefined {
    const s = this.map.get(key);
    if (s === undefined) return undefined;
    this.toNewest(s);
    return s.value;
  }

  /** The value, its place in the order left as it is. */
  peek(key: string): V | undefined {
    return this.map.get(key)?.value;
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  /**
   * Stores `value` as the most recently used, evicting the least recently used
   * values until its size fits. A value whose size is above maxSize is not stored,
   * and any value held under the key is dropped.
   */
  set(key: string, value: V): this {
    const size = this.sizeOf(value);
    if (!Number.isInteger(size) || size <= 0) throw new TypeError('LeanLru: size must be a positive integer');
    if (size > this.maxSize) {
      this.delete(key);
      return this;
    }
    let s = this.map.get(key);
    if (s === undefined) {
      s = { key, value, size: 0, older: this.newest, newer: undefined };
      if (this.newest) this.newest.newer = s; else this.oldest = s;
      this.newest = s;
      this.map.set(key, s);
    } else {
      this.toNewest(s);
      s.value = value;
      this.total -= s.size;
      s.size = 0;
    }
    // The slot is the newest: eviction from the oldest end reaches it only when
    // nothing else is left, and by then the size fits.
    while (this.total > this.maxSize - size && this.oldest !== undefined && this.oldest !== s) this.evictOldest();
    s.size = size;
    this.total += size;
    return this;
  }

  delete(key: string): boolean {
    const s = this.map.get(key);
    if (s === undefined) return false;
    this.unlink(s);
    this.map.delete(key);
    this.total -= s.size;
    return true;
  }

  clear(): void {
    this.map.clear();
    this.oldest = undefined;
    this.newest = undefined;
    this.total = 0;
  }

  /** Keys, most recently used first. */
  *keys(): IterableIterator<string> {
    for (let s = this.newest; s !== undefined; s = s.older) yield s.key;
  }

  /** Entries, most recently used first. */
  *entries(): IterableIterator<[string, V]> {
    for (let s = this.newest; s !== undefined; s = s.older) yield [s.key, s.value];
  }

  private evictOldest(): void {
    const s = this.oldest!;
    this.unlink(s);
    this.map.delete(s.key);
    this.total -= s.size;
  }

  private unlink(s: Slot<V>): void {
    if (s.older) s.older.newer = s.newer; else this.oldest = s.newer;
    if (s.newer) s.newer.older = s.older; else this.newest = s.older;
    s.older = undefined;
    s.newer = undefined;
  }

  private toNewest(s: Slot<V>): void {
    if (this.newest === s) return;
    this.unlink(s);
    s.older = this.newest;
    if (this.newest) this.newest.newer = s; else this.oldest = s;
    this.newest = s;
  }
}
