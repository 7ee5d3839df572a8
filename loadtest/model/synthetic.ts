// A synthetic topology of any size, for the benchmark and for trying the report on a
// large deployment: `sites` sites of `nodesPerSite` nodes, each site's clients made of
// /24 pools of uneven density plus a few heavy single sources (deterministic), failing
// over to the next two sites.

import type { SplitAlgorithm } from './hash.js';
import type { Topology } from './topology.js';

export interface SyntheticOptions {
  sites: number;
  nodesPerSite: number;
  /** Client addresses per site, in /24 pools (rounded up to a multiple of 256). */
  addressesPerSite: number;
  /** Mean qps per site; sites range from 0.6x to 1.4x of it. */
  qpsPerSite: number;
  capacityQps: number;
  algorithm: SplitAlgorithm;
  overload?: number;
}

export function syntheticTopology(o: SyntheticOptions): Topology {
  let seed = 0x2545f491;
  const rand = (): number => {
    // xorshift32: deterministic, so bench runs are comparable.
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const pools = Math.ceil(o.addressesPerSite / 256);
  const sites = Array.from({ length: o.sites }, (_, si) => {
    const siteQps = o.qpsPerSite * (0.6 + (0.8 * si) / Math.max(1, o.sites - 1));
    const weights = Array.from({ length: pools }, () => 0.2 + rand() ** 2 * 3);
    const sum = weights.reduce((a, b) => a + b, 0);
    // 4% of each site's load comes from 4 single addresses (forwarders, NAT), which is
    // what makes CEF uneven when every /24 pool alone would split evenly.
    const heavy = Array.from({ length: 4 }, (_, h) => ({ base: (0x64400000 + si * 256 + Math.floor(rand() * 250) + h) >>> 0, count: 1, qps: siteQps * 0.01 }));
    const clients = [
      ...weights.map((w, p) => ({
        // 10.0.0.0/8 carved per site: site si owns 10.(si*16 ..).x.0/24 pools.
        base: (0x0a000000 + si * 16 * 65536 + p * 256) >>> 0,
        count: 256,
        qps: (siteQps * 0.96 * w) / sum,
      })),
      ...heavy,
    ];
    return {
      name: `site${String(si + 1).padStart(2, '0')}`,
      clients,
      failover: o.sites > 1 ? [...new Set([(si + 1) % o.sites, (si + 2) % o.sites])].filter((x) => x !== si).map((x) => `site${String(x + 1).padStart(2, '0')}`) : [],
      nodes: Array.from({ length: o.nodesPerSite }, (_, ni) => ({
        name: `site${String(si + 1).padStart(2, '0')}-dns${String(ni + 1).padStart(2, '0')}`,
        site: `site${String(si + 1).padStart(2, '0')}`,
        address: (0xac100000 + si * 256 + ni + 1) >>> 0,
        capacityQps: o.capacityQps,
      })),
    };
  });
  return { file: `synthetic-${o.sites}x${o.nodesPerSite}`, vip: 0xc0000235, algorithm: o.algorithm, overload: o.overload ?? 1, id: 0, sites, warnings: [] };
}
