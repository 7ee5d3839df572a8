// Client load bucketed by 16-bit CEF key. Built once per client population (a pass over
// the addresses), then split across any number of paths with a pass over 65536 keys, and
// across N paths for any N with a pass over at most 16 table rows. This is what keeps a
// 256-node, 10^6-address model with every single failure to a fraction of a second.

import { KEY_SPACE, tableRows, universalKey, type SplitAlgorithm } from './hash.js';

export class KeyHistogram {
  /** qps per 16-bit key. */
  readonly byKey = new Float64Array(KEY_SPACE);
  /** qps spread evenly over every key (include-ports: random source ports reach every row). */
  uniformPerKey = 0;
  totalQps = 0;
  private readonly rowCache = new Map<number, Float64Array>();

  constructor(
    readonly algorithm: SplitAlgorithm,
    /** Destination (the anycast VIP) as a 32-bit number. */
    readonly dst: number,
    /** Router universal id, used by universal and include-ports. */
    readonly id = 0,
  ) {}

  /**
   * Adds `count` consecutive addresses from `base`, each sending `qpsPerAddress`.
   * seed-xor: whole runs of 65536 addresses cover every key once, so only the remainder
   * is walked. universal hashes every address. include-ports and even need no keys.
   */
  addRange(base: number, count: number, qpsPerAddress: number): void {
    this.rowCache.clear();
    this.totalQps += count * qpsPerAddress;
    if (qpsPerAddress === 0 || count === 0) return;
    const h = this.byKey;
    switch (this.algorithm) {
      case 'seed-xor': {
        const cycles = Math.floor(count / KEY_SPACE);
        this.uniformPerKey += cycles * qpsPerAddress;
        const rest = count - cycles * KEY_SPACE;
        const d = this.dst & 0xffff;
        let low = (base + cycles * KEY_SPACE) & 0xffff;
        for (let i = 0; i < rest; i++) {
          h[low ^ d] += qpsPerAddress;
          low = (low + 1) & 0xffff;
        }
        return;
      }
      case 'universal': {
        const dst = this.dst;
        const id = this.id;
        for (let i = 0; i < count; i++) h[universalKey((base + i) >>> 0, dst, id)] += qpsPerAddress;
        return;
      }
      case 'include-ports':
      case 'even':
        this.uniformPerKey += (count * qpsPerAddress) / KEY_SPACE;
        return;
    }
  }

  /** Adds one flow's qps at a known key (used by tests and exact-route style inputs). */
  addKey(key: number, qps: number): void {
    this.rowCache.clear();
    this.byKey[key & 0xffff] += qps;
    this.totalQps += qps;
  }

  /** qps per row of a B-row table: row r takes every key k with k mod B = r. Cached per B. */
  rows(tableSize: number): Float64Array {
    const hit = this.rowCache.get(tableSize);
    if (hit) return hit;
    const rows = new Float64Array(tableSize);
    const h = this.byKey;
    let r = 0;
    for (let k = 0; k < KEY_SPACE; k++) {
      rows[r] += h[k];
      if (++r === tableSize) r = 0;
    }
    if (this.uniformPerKey !== 0) {
      const per = Math.floor(KEY_SPACE / tableSize);
      const extra = KEY_SPACE % tableSize;
      for (let i = 0; i < tableSize; i++) rows[i] += this.uniformPerKey * (per + (i < extra ? 1 : 0));
    }
    this.rowCache.set(tableSize, rows);
    return rows;
  }
}

/**
 * qps reaching each of N paths when the populations in `hists` share one load-share table.
 * 'even' ignores the table and splits the total equally.
 */
export function splitAcrossPaths(algorithm: SplitAlgorithm, hists: readonly KeyHistogram[], paths: number, out = new Float64Array(paths)): Float64Array {
  out.fill(0);
  if (paths === 0) return out;
  if (algorithm === 'even') {
    let total = 0;
    for (const h of hists) total += h.totalQps;
    out.fill(total / paths);
    return out;
  }
  const b = tableRows(paths);
  for (const h of hists) {
    const rows = h.rows(b);
    for (let r = 0; r < b; r++) out[r % paths] += rows[r];
  }
  return out;
}
