// The random-subdomain (water-torture) defence, cache side: a quota of negative
// answers per zone. A flood of random names under one zone leaves one negative
// answer per name (NXDOMAIN from a live zone, SERVFAIL from a dead one), in the
// front's answer cache and in the iterator's RRset cache. None is ever asked for
// again, yet without a quota they fill the whole negative budget (16 MiB of the
// answer cache and a good part of the RRset cache by default), and that memory stays
// resident after the flood (resolver/README.md, "Random-subdomain floods").
//
// Each cache keeps, per zone, the keys of the negative entries it stored for that
// zone, oldest first. Past `max` a zone recycles its own slice: storing a new
// negative entry drops the zone's oldest one. So one zone's random names can hold
// `max` entries at most, whatever the rate, and they push out only each other; the
// rest of the negative budget stays with every other zone. No rate detection and no
// threshold to stay under: a zone below its quota is untouched, a zone at it loses
// only its own oldest negatives.
//
// A popular negative answer of a flooded zone (a name's AAAA NODATA that clients ask
// all the time) is not dropped with the random names: the caller says which entries
// clients still use, and those go to the back of the zone's line instead.
//
// The key lists are bookkeeping only: an entry the cache evicted or replaced on its
// own stays listed until it comes round (dropping a key whose entry is gone does
// nothing), so a zone holds at most `max` entries, sometimes fewer. The lists are
// bounded too: past `maxKeys` keys in all, the zones stored into least recently are
// forgotten (their entries stay cached; their count restarts).

/** Entries in use passed over per store before the oldest is dropped regardless. */
const SECOND_CHANCES = 8;

/** One zone's stored keys, oldest first (a queue over an array). */
class ZoneKeys<K> {
  keys: K[] = [];
  head = 0;
  get size(): number { return this.keys.length - this.head; }
  push(k: K): void { this.keys.push(k); }
  shift(): K {
    const k = this.keys[this.head++];
    // Compact now and then, so the array does not keep what was taken.
    if (this.head >= 1024 && this.head * 2 >= this.keys.length) { this.keys = this.keys.slice(this.head); this.head = 0; }
    return k;
  }
}

export class NegativeQuota<K> {
  /** Zones by recency of their last store (Map order: least recent first). */
  private readonly zones = new Map<string, ZoneKeys<K>>();
  private total = 0;
  /** Entries dropped to keep a zone within its quota. */
  recycled = 0;

  constructor(
    /** Negative entries one zone may hold; 0: no quota. A function, so a reload can change it. */
    private readonly max: () => number,
    /** Keys kept in all (a bound on the bookkeeping itself). */
    private readonly maxKeys: (max: number) => number = (max) => Math.max(16 * max, 10_000),
  ) {}

  /**
   * A negative entry under `key` was stored for `zone`. Returns the key of the
   * zone's oldest entry when the zone is over its quota (the caller drops that
   * entry), else undefined.
   */
  stored(zone: string, key: K, inUse?: (key: K) => boolean): K | undefined {
    const max = this.max();
    if (max <= 0) return undefined;
    let z = this.zones.get(zone);
    if (z === undefined) z = new ZoneKeys<K>();
    else this.zones.delete(zone);
    this.zones.set(zone, z);
    z.push(key);
    this.total++;
    let drop: K | undefined;
    if (z.size > max) {
      drop = z.shift();
      // Second chance: an entry clients still use goes to the back of the line, a few
      // at most per store (a zone whose whole quota is in use drops its oldest anyway).
      for (let i = 0; i < Math.min(SECOND_CHANCES, max - 1) && inUse !== undefined && drop !== key && inUse(drop); i++) {
        z.push(drop);
        drop = z.shift();
      }
      this.total--;
      this.recycled++;
      // The same question stored again (its entry expired, or another qtype of the
      // name): its older key must not drop the entry just stored.
      if (drop === key) drop = undefined;
    }
    const cap = this.maxKeys(max);
    while (this.total > cap) {
      const [oldest, keys] = this.zones.entries().next().value as [string, ZoneKeys<K>];
      if (keys === z) break;
      this.zones.delete(oldest);
      this.total -= keys.size;
    }
    return drop;
  }

  /** Zones holding their full quota now (a gauge). */
  get zonesAtQuota(): number {
    const max = this.max();
    if (max <= 0) return 0;
    let n = 0;
    for (const z of this.zones.values()) if (z.size >= max) n++;
    return n;
  }

  /** Keys of `zone` listed now (tests). */
  heldFor(zone: string): number {
    return this.zones.get(zone)?.size ?? 0;
  }

  /** Keys listed in all. */
  get keys(): number {
    return this.total;
  }

  clear(): void {
    this.zones.clear();
    this.total = 0;
  }
}
