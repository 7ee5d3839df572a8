// CEF per-destination load sharing, as a model. Cisco has not published its hash; the
// algorithms below are (1) the reference deployment's description, implemented exactly,
// and (2) a documented stand-in for the 'universal' family. Every algorithm reduces a
// flow to a 16-bit key; the switch's load-share table then picks row `key mod B` and row
// r serves path r mod N. Keeping the key at 16 bits lets the model bucket millions of
// client addresses into a 65536-entry histogram once and split it for any N cheaply.

export type CefAlgorithm = 'seed-xor' | 'universal' | 'include-ports';
/** How a site splits its offered load across its up nodes; 'even' is an ideal equal split. */
export type SplitAlgorithm = CefAlgorithm | 'even';

export const CEF_ALGORITHMS: readonly CefAlgorithm[] = ['seed-xor', 'universal', 'include-ports'];
export const SPLIT_ALGORITHMS: readonly SplitAlgorithm[] = ['seed-xor', 'universal', 'include-ports', 'even'];

/** A switch installs at most this many equal-cost paths (maximum-paths 16). */
export const MAX_PATHS = 16;
/** Number of distinct 16-bit keys. */
export const KEY_SPACE = 65536;

/**
 * Rows in the load-share table for N paths: floor(16/N)*N, as real routers were seen to
 * build (3 paths -> 15 rows, 5/5/5). Beyond 16 paths one switch cannot hold them; the
 * model then assumes one row per path (as if the traffic were split over more switches)
 * and the planner flags the site.
 */
export function tableRows(paths: number): number {
  if (!Number.isInteger(paths) || paths < 1) throw new RangeError(`paths must be a positive integer, got ${paths}`);
  return paths <= MAX_PATHS ? Math.floor(MAX_PATHS / paths) * paths : paths;
}

/** seed-xor: key = ((s3 ^ d3) << 8) | (s4 ^ d4), s3/s4 the third and fourth octets. */
export function seedXorKey(src: number, dst: number): number {
  return ((src ^ dst) & 0xffff) >>> 0;
}

/**
 * 32-bit integer mixer ("lowbias32", public domain, by C. Wellons): every input bit
 * affects every output bit, so neighbouring addresses land in unrelated rows.
 */
export function mix32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

const SEED = 0x9e3779b9;

/** Folds a 32-bit hash to the 16-bit key the table uses. */
function fold16(h: number): number {
  return (h ^ (h >>> 16)) & 0xffff;
}

/** universal (model): h = mix32(mix32(mix32(id ^ 0x9e3779b9) ^ src) ^ dst); key = fold16(h). */
export function universalKey(src: number, dst: number, id: number): number {
  return fold16(universalHash32(src, dst, id));
}

function universalHash32(src: number, dst: number, id: number): number {
  let h = mix32((id ^ SEED) >>> 0);
  h = mix32((h ^ src) >>> 0);
  return mix32((h ^ dst) >>> 0);
}

/** include-ports (model): the universal hash, then h = mix32(h ^ (sport << 16 | dport)). */
export function includePortsKey(src: number, dst: number, id: number, srcPort: number, dstPort: number): number {
  const h = universalHash32(src, dst, id);
  return fold16(mix32((h ^ (((srcPort & 0xffff) << 16) | (dstPort & 0xffff))) >>> 0));
}

export interface FlowSpec {
  src: number;
  dst: number;
  /** The router's universal id (`show ip cef summary`); only universal and include-ports use it. */
  id?: number;
  srcPort?: number;
  dstPort?: number;
}

/**
 * The 16-bit key of one flow. include-ports needs a source port; without one it falls
 * back to port 0, which callers avoid by asking for SRC:PORT.
 */
export function flowKey(algorithm: CefAlgorithm, f: FlowSpec): number {
  switch (algorithm) {
    case 'seed-xor':
      return seedXorKey(f.src, f.dst);
    case 'universal':
      return universalKey(f.src, f.dst, f.id ?? 0);
    case 'include-ports':
      return includePortsKey(f.src, f.dst, f.id ?? 0, f.srcPort ?? 0, f.dstPort ?? 53);
  }
}

/** Table row a key uses with N paths. */
export function rowForKey(key: number, paths: number): number {
  return key % tableRows(paths);
}

/** Path index (0..N-1, endpoints sorted by address) a key reaches with N paths. */
export function pathForKey(key: number, paths: number): number {
  return rowForKey(key, paths) % paths;
}
