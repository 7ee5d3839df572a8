// A Map for entries that live a few milliseconds (queries in flight, clients
// waiting for one answer), built so that a finished entry's objects die young.
//
// Why not a plain Map: V8 keeps a Map's entries in a hash table that it replaces
// as the Map grows and shrinks, and it allocates the replacement in the same
// generation as the table it replaces. Once a long-lived Map's table has reached
// the old generation (any full GC that finds it live moves it there), every later
// table is allocated there too, and each table it replaces stays in the old
// generation, still holding the values that were live when it was replaced, until
// the next full GC. A young-generation GC cannot tell that such a table is dead: it
// keeps whatever the table points to alive, and after two of them those objects are
// promoted. For a table of queries in flight that is a whole resolution's objects
// (its promise, its result, the waiting clients' state, the parsed reply), so most
// queries' garbage ended in the old generation, to be found by full GCs only.
//
// Measured on the resolver's miss path (resolver/README.md, "Memory: what a miss
// leaves behind"): the flight table alone kept ~500 bytes per query alive into the
// old generation; boxing its values cut that to ~110 (the boxes and key strings).
//
// Here each value sits in a small box, and delete() empties the box before it
// removes the entry: an old table can then keep only the box and the key alive,
// never the value's object graph. Keys should be strings or numbers: an object
// key would be kept alive by an old table just as a value would.

interface Box<V> {
  v: V | undefined;
}

export class ChurnMap<K extends string | number, V> {
  private readonly map = new Map<K, Box<V>>();

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    return this.map.get(key)?.v;
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  set(key: K, value: V): this {
    const b = this.map.get(key);
    if (b !== undefined) b.v = value;
    else this.map.set(key, { v: value });
    return this;
  }

  delete(key: K): boolean {
    const b = this.map.get(key);
    if (b === undefined) return false;
    b.v = undefined;
    this.map.delete(key);
    return true;
  }

  clear(): void {
    for (const b of this.map.values()) b.v = undefined;
    this.map.clear();
  }

  /** Values in insertion order (oldest first). */
  *values(): IterableIterator<V> {
    for (const b of this.map.values()) yield b.v as V;
  }

  /** Entries in insertion order (oldest first). */
  *entries(): IterableIterator<[K, V]> {
    for (const [k, b] of this.map) yield [k, b.v as V];
  }
}
