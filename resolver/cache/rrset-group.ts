// Grouping records into RRsets (owner compared case-insensitively, type, class)
// without building a string key per record. A cold miss groups a handful of
// records several times (the answer to cache, the glue, the TTLs of the answer
// given back), and a key like `${lowerName(name)}\0${type}\0${class}` per record,
// hashed into a Map, was a visible share of its CPU (string concatenation,
// number-to-string, hashing). Small lists are compared pairwise; long ones (a
// large response) still go through a Map, so the work stays linear.

import type { ResourceRecord } from '../../dns/message.js';
import { lowerName, nameEquals } from '../../dns/name.js';

/** Up to this many records, pairwise comparison beats building keys. */
const PAIRWISE_MAX = 32;

/** The two records belong to the same RRset. */
export function sameRRset(a: ResourceRecord, b: ResourceRecord): boolean {
  return a.type === b.type && a.class === b.class && (a.name === b.name || nameEquals(a.name, b.name));
}

function rrsetKey(r: ResourceRecord): string {
  return `${lowerName(r.name)}\u0000${r.type}\u0000${r.class}`;
}

/** Groups records into RRsets, keeping order: sets by first appearance, records as given. */
export function groupRRsets(records: readonly ResourceRecord[]): ResourceRecord[][] {
  if (records.length > PAIRWISE_MAX) {
    const map = new Map<string, ResourceRecord[]>();
    for (const r of records) {
      const k = rrsetKey(r);
      const list = map.get(k);
      if (list) list.push(r); else map.set(k, [r]);
    }
    return [...map.values()];
  }
  const groups: ResourceRecord[][] = [];
  next: for (const r of records) {
    for (const g of groups) {
      if (sameRRset(g[0], r)) { g.push(r); continue next; }
    }
    groups.push([r]);
  }
  return groups;
}

/** For each record, the smallest TTL of its RRset within `records` (RFC 2181 section 5.2). */
export function rrsetMinTtls(records: readonly ResourceRecord[]): number[] {
  const n = records.length;
  const out: number[] = new Array(n);
  if (n > PAIRWISE_MAX) {
    const min = new Map<string, number>();
    const keys = records.map(rrsetKey);
    for (let i = 0; i < n; i++) min.set(keys[i], Math.min(min.get(keys[i]) ?? Infinity, records[i].ttl));
    for (let i = 0; i < n; i++) out[i] = min.get(keys[i])!;
    return out;
  }
  for (let i = 0; i < n; i++) {
    let m = records[i].ttl;
    for (let j = 0; j < n; j++) if (j !== i && records[j].ttl < m && sameRRset(records[i], records[j])) m = records[j].ttl;
    out[i] = m;
  }
  return out;
}
