// Backing memory for cached answers. Each cached answer's bytes (message, TTL
// offsets) are carved from a large slab instead of getting a Buffer of their own:
// one heap object per entry instead of three, and no pinning of Node's shared
// 8 KB Buffer pool (a long-lived slice keeps a whole pool chunk, full of garbage
// reply buffers, alive — that made RSS 8x the cache's own count).
//
// A slab is freed by the GC once no entry points into it. Entries are evicted
// roughly in the order they were written, so old slabs empty out; a hot entry that
// lives in an old slab is moved to the current one when it is next used (see
// AnswerCache), so a few hot answers cannot pin many old slabs.

export const SLAB_BYTES = 256 * 1024;
/** Allocations above this get a buffer of their own. */
const MAX_IN_SLAB = SLAB_BYTES / 8;

export class SlabAllocator {
  /** The slab allocations come from now. */
  current: Buffer;
  /** Generation of `current`; it goes up by one per slab. */
  generation = 0;
  private used = 0;
  /** Where the last allocation landed: `buffer`[`offset`..]. */
  buffer: Buffer;
  offset = 0;

  constructor(private readonly slabBytes = SLAB_BYTES) {
    this.current = Buffer.allocUnsafeSlow(slabBytes);
    this.buffer = this.current;
  }

  /** Reserves `n` bytes; read the place from `buffer` and `offset` (no object per call). */
  alloc(n: number): void {
    if (n > MAX_IN_SLAB) {
      this.buffer = Buffer.allocUnsafeSlow(n);
      this.offset = 0;
      return;
    }
    if (this.used + n > this.slabBytes) {
      this.current = Buffer.allocUnsafeSlow(this.slabBytes);
      this.generation++;
      this.used = 0;
    }
    this.buffer = this.current;
    this.offset = this.used;
    // Keep allocations 8-byte aligned; the waste is small against answer sizes.
    this.used += (n + 7) & ~7;
  }
}
