// Where the answer cache keeps its entries: records in large slabs, outside V8's
// heap, in a ring that is evicted oldest slab first.
//
// A record is a fixed header followed by the stored message, its TTL offsets and
// its EDE option (entry.ts has the layout of the message). Nothing per entry lives
// on V8's heap except the index's (hash → locator) pair, so a cached answer costs
// its bytes plus ~40 bytes, against ~440 bytes of objects, views and LRU
// bookkeeping when each entry was an object (measured: see the resolver README,
// "Memory"), and a full GC no longer walks the cache.
//
// A slab is never written again once it leaves the ring: a new slab is allocated
// and the old one is freed by the GC once nothing refers to it. An entry handed to
// a caller (entry.ts, `AnswerEntry`) points into its slab, so what a caller holds
// (a stale answer waiting out its timer, a dump in progress) can never change under
// it.

/** Record header layout (bytes; records are 8-byte aligned). */
export const H = {
  HASH: 0, // u32
  LEN: 4, // u16 message length
  QEND: 6, // u16
  ADDSTART: 8, // u16
  ARCOUNT: 10, // u16
  TTLCOUNT: 12, // u16
  EDELEN: 14, // u16
  RCODE: 16, // u8
  VARIANT: 17, // u8
  FLAGS: 18, // u8
  EXPIRES: 20, // u32 ms after INSERTED
  TOUCHED: 24, // u32 ms after INSERTED
  ORIGIN: 28, // u32 ms before INSERTED: when a stale copy's real data expired
  INSERTED: 32, // f64 clock reading (ms)
  SIZE: 40,
} as const;

export const FLAG_PREFETCHED = 1;
export const FLAG_STALE = 2;

/** The largest slab (bytes); its offsets, counted in 8-byte units, take 19 bits. */
const MAX_SLAB_BYTES = 4 << 20;
const MIN_SLAB_BYTES = 4 << 10;
/** Ring slots (a power of two): slot and offset together fit a small integer (30 bits). */
export const RING_SLOTS = 2048;

export class Slab {
  readonly u16: Uint16Array;
  readonly u32: Uint32Array;
  readonly f64: Float64Array;
  /** Bytes written so far. */
  used = 0;
  /** Bytes of the records the index still points to (the rest was replaced, moved or deleted). */
  live = 0;

  constructor(readonly buf: Buffer, readonly generation: number, readonly slot: number) {
    const ab = buf.buffer;
    this.u16 = new Uint16Array(ab, buf.byteOffset, buf.length >> 1);
    this.u32 = new Uint32Array(ab, buf.byteOffset, buf.length >> 2);
    this.f64 = new Float64Array(ab, buf.byteOffset, buf.length >> 3);
  }
}

/** Slab size for a cache of `maxBytes`: about 1/256 of it, a power of two between 4 KiB and 4 MiB. */
export function slabBytesFor(maxBytes: number): number {
  let s = MIN_SLAB_BYTES;
  while (s < MAX_SLAB_BYTES && s * 2 * 256 <= maxBytes) s *= 2;
  return s;
}

/** Bytes of the record holding a message of `len` bytes with `ttlCount` TTLs and an EDE of `edeLen`, 8-byte aligned. */
export function recordBytes(len: number, ttlCount: number, edeLen: number): number {
  return (H.SIZE + len + 2 * ttlCount + edeLen + 7) & ~7;
}

/**
 * The ring of slabs. `locator` packs (slot, offset / 8) into one small integer, so
 * the index holds no object per entry.
 */
export class SlabRing {
  readonly slabBytes: number;
  private readonly shift: number;
  private readonly offsetMask: number;
  private readonly slots: (Slab | undefined)[] = new Array(RING_SLOTS).fill(undefined);
  /** Slot of the oldest slab, and how many are live. */
  private head = 0;
  count = 0;
  /** The slab new records go to (its slot is the newest), or undefined before the first. */
  current: Slab | undefined;
  private nextGeneration = 0;
  /** Bytes of every live slab. */
  bytes = 0;

  constructor(maxBytes: number) {
    this.slabBytes = slabBytesFor(maxBytes);
    this.shift = Math.log2(this.slabBytes >> 3) | 0;
    this.offsetMask = (1 << this.shift) - 1;
    if (this.shift > 19) throw new Error('slab too large for a locator');
  }

  /** How many slabs the ring can hold. */
  get slotCount(): number {
    return RING_SLOTS;
  }

  slabAt(loc: number): Slab | undefined {
    return this.slots[loc >>> this.shift];
  }

  offsetOf(loc: number): number {
    return (loc & this.offsetMask) << 3;
  }

  /** The oldest live slab. */
  oldest(): Slab | undefined {
    return this.count === 0 ? undefined : this.slots[this.head];
  }

  /** Generation of the oldest live slab. */
  get oldestGeneration(): number {
    const s = this.oldest();
    return s === undefined ? this.nextGeneration : s.generation;
  }

  get newestGeneration(): number {
    return this.nextGeneration - 1;
  }

  /**
   * Reserves `n` bytes (8-aligned) for a record and returns its locator; read the
   * slab from `current` afterwards (or `slabAt`). The caller must evict first if
   * the ring is full (`count === RING_SLOTS`).
   */
  reserve(n: number): number {
    let s = this.current;
    if (n > this.slabBytes >> 3) {
      // Large records get a slab of their own, so they do not waste the shared ones.
      const own = this.push(n);
      own.used = n;
      return this.locator(own, 0);
    }
    if (s === undefined || s.used + n > s.buf.length) {
      s = this.push(this.slabBytes);
      this.current = s;
    }
    const at = s.used;
    s.used += n;
    return this.locator(s, at);
  }

  /** The locator of the record at `offset` of slab `s`. */
  locator(s: Slab, offset: number): number {
    return (s.slot << this.shift) | (offset >>> 3);
  }

  private push(size: number): Slab {
    const slot = (this.head + this.count) & (RING_SLOTS - 1);
    const s = new Slab(Buffer.allocUnsafeSlow(size), this.nextGeneration++, slot);
    this.slots[slot] = s;
    this.count++;
    this.bytes += size;
    return s;
  }

  /** Takes the oldest slab out of the ring and returns it (its records are for the index clean-up). */
  evictOldest(): Slab | undefined {
    if (this.count === 0) return undefined;
    const slot = this.head;
    const slab = this.slots[slot]!;
    this.slots[slot] = undefined;
    this.head = (this.head + 1) & (RING_SLOTS - 1);
    this.count--;
    this.bytes -= slab.buf.length;
    if (this.current === slab) this.current = undefined;
    return slab;
  }

  /** Live slabs, newest first. */
  *newestFirst(): Generator<Slab> {
    for (let i = this.count - 1; i >= 0; i--) yield this.slots[(this.head + i) & (RING_SLOTS - 1)]!;
  }

  clear(): void {
    this.slots.fill(undefined);
    this.head = 0;
    this.count = 0;
    this.bytes = 0;
    this.current = undefined;
  }
}
