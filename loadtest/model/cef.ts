// `loadtest cef`: how one switch's CEF table spreads a client population over its
// equal-cost endpoints, and which endpoint a single source reaches (like exact-route).

import { flowKey, MAX_PATHS, tableRows, type CefAlgorithm } from './hash.js';
import { formatIPv4 } from './ipv4.js';
import { KeyHistogram, splitAcrossPaths } from './keyhist.js';
import { totalAddresses, type ClientGroup } from './clients.js';

/** universal hashes every address; past this many the model refuses rather than hang. */
export const MAX_HASHED_ADDRESSES = 2 ** 26;

export interface Endpoint {
  /** 32-bit address; the order of paths is the order of addresses. */
  address: number;
  /** What to print: the dotted address, or "path3" when only a count was given. */
  label: string;
}

export interface CefOptions {
  vip: number;
  endpoints: readonly Endpoint[];
  algorithm: CefAlgorithm;
  id?: number;
}

export interface EndpointShare {
  path: number;
  endpoint: string;
  /** Table rows that serve this path. */
  rows: number;
  qps: number;
  /** Fraction of all qps, 0..1. */
  share: number;
  /** qps divided by a fair share (total / N): 1.0 is perfectly even. */
  ratioToFair: number;
}

export interface CefDistribution {
  algorithm: CefAlgorithm;
  vip: string;
  id: number;
  paths: number;
  tableRows: number;
  addresses: number;
  totalQps: number;
  endpoints: EndpointShare[];
  hottest: { endpoint: string; ratioToFair: number };
  coldest: { endpoint: string; ratioToFair: number };
  /** The load-share table: row r serves path r mod N. */
  table: Array<{ row: number; path: number; endpoint: string; qps: number }>;
  warnings: string[];
}

/** Paths are the endpoints sorted by address (numerically, so 10.0.0.9 < 10.0.0.10). */
export function sortEndpoints(endpoints: readonly Endpoint[]): Endpoint[] {
  const sorted = [...endpoints].sort((a, b) => a.address - b.address);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].address === sorted[i - 1].address) throw new RangeError(`endpoint ${sorted[i].label} is listed twice`);
  }
  if (!sorted.length) throw new RangeError('at least one endpoint is needed');
  return sorted;
}

/** N synthetic endpoints (path0..pathN-1) for `--endpoints N`. */
export function syntheticEndpoints(n: number): Endpoint[] {
  return Array.from({ length: n }, (_, i) => ({ address: i, label: `path${i}` }));
}

export function histogramFor(clients: readonly ClientGroup[], opts: { vip: number; algorithm: CefAlgorithm | 'even'; id?: number }): KeyHistogram {
  if (opts.algorithm === 'universal' && totalAddresses(clients) > MAX_HASHED_ADDRESSES) {
    throw new RangeError(`universal hashes every client address; ${totalAddresses(clients)} addresses is more than the model's limit of ${MAX_HASHED_ADDRESSES}`);
  }
  const h = new KeyHistogram(opts.algorithm, opts.vip, opts.id ?? 0);
  for (const g of clients) h.addRange(g.base, g.count, g.count ? g.qps / g.count : 0);
  return h;
}

export function cefDistribution(clients: readonly ClientGroup[], opts: CefOptions): CefDistribution {
  const eps = sortEndpoints(opts.endpoints);
  const n = eps.length;
  const b = tableRows(n);
  const hist = histogramFor(clients, opts);
  const perPath = splitAcrossPaths(opts.algorithm, [hist], n);
  const rows = hist.rows(b);
  const total = hist.totalQps;
  const fair = total / n;
  const endpoints: EndpointShare[] = eps.map((e, p) => ({
    path: p,
    endpoint: e.label,
    rows: Math.floor(b / n) + (p < b % n ? 1 : 0),
    qps: perPath[p],
    share: total > 0 ? perPath[p] / total : 0,
    ratioToFair: fair > 0 ? perPath[p] / fair : 0,
  }));
  let hot = endpoints[0];
  let cold = endpoints[0];
  for (const e of endpoints) {
    if (e.qps > hot.qps) hot = e;
    if (e.qps < cold.qps) cold = e;
  }
  const warnings: string[] = [];
  if (n > MAX_PATHS) warnings.push(`${n} endpoints: one switch installs at most ${MAX_PATHS} equal-cost paths; the model assumes one table row per path beyond that`);
  if (opts.algorithm === 'include-ports') warnings.push('include-ports: each source is assumed to use many random source ports, so its queries spread over the whole table');
  return {
    algorithm: opts.algorithm,
    vip: formatIPv4(opts.vip),
    id: opts.id ?? 0,
    paths: n,
    tableRows: b,
    addresses: totalAddresses(clients),
    totalQps: total,
    endpoints,
    hottest: { endpoint: hot.endpoint, ratioToFair: hot.ratioToFair },
    coldest: { endpoint: cold.endpoint, ratioToFair: cold.ratioToFair },
    table: Array.from(rows, (qps, r) => ({ row: r, path: r % n, endpoint: eps[r % n].label, qps })),
    warnings,
  };
}

export interface ExactRoute {
  src: string;
  srcPort?: number;
  dst: string;
  algorithm: CefAlgorithm;
  key: number;
  row: number;
  path: number;
  endpoint: string;
}

/** Which endpoint one source reaches, as `show ip cef exact-route SRC VIP` would say. */
export function exactRoute(opts: CefOptions, src: number, srcPort?: number, dstPort = 53): ExactRoute {
  const eps = sortEndpoints(opts.endpoints);
  const key = flowKey(opts.algorithm, { src, dst: opts.vip, id: opts.id ?? 0, srcPort, dstPort });
  const row = key % tableRows(eps.length);
  const path = row % eps.length;
  return { src: formatIPv4(src), srcPort, dst: formatIPv4(opts.vip), algorithm: opts.algorithm, key, row, path, endpoint: eps[path].label };
}
