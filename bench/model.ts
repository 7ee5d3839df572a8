// The loadtest model at the scale: 16 sites x 16 nodes (256), 2^20 client
// addresses (~10^6), every single-site and single-node failure (272 scenarios), the
// planner, the growth-headroom search and the full report. The anchor is the obvious
// implementation (walk every address in every step of every scenario), timed on one
// step and extrapolated; the ratio says what bucketing by 16-bit CEF key buys.

import { performance } from 'node:perf_hooks';
import {
  buildPlanReport,
  FailoverModel,
  flowKey,
  growthHeadroom,
  planCapacity,
  syntheticTopology,
  tableRows,
  type CefAlgorithm,
  type SplitAlgorithm,
  type Topology,
} from '../loadtest/model/index.js';
import { renderHtml } from '../loadtest/report/index.js';
import type { BenchOptions, BenchReport } from './types.js';

function time<T>(fn: () => T): [T, number] {
  const t0 = performance.now();
  const v = fn();
  return [v, performance.now() - t0];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** One step of the naive model: every address hashed to its node, nothing failed. */
function naiveStep(topo: Topology): number {
  const alg = topo.algorithm as SplitAlgorithm;
  let sink = 0;
  for (const site of topo.sites) {
    const n = site.nodes.length;
    const b = tableRows(n);
    const load = new Float64Array(n);
    for (const g of site.clients) {
      const q = g.qps / g.count;
      for (let i = 0; i < g.count; i++) {
        if (alg === 'even' || alg === 'include-ports') load[i % n] += q;
        else load[(flowKey(alg as CefAlgorithm, { src: (g.base + i) >>> 0, dst: topo.vip, id: topo.id }) % b) % n] += q;
      }
    }
    sink += load[0];
  }
  return sink;
}

export async function bench(opts: BenchOptions): Promise<BenchReport> {
  const algorithms: SplitAlgorithm[] = opts.quick ? ['seed-xor'] : ['seed-xor', 'universal', 'even'];
  const repeats = opts.quick ? 1 : 3;
  const rows: BenchReport['rows'] = [];
  const notes: string[] = [];
  for (const algorithm of algorithms) {
    const topo = syntheticTopology({ sites: 16, nodesPerSite: 16, addressesPerSite: 65536, qpsPerSite: 160000, capacityQps: 20000, algorithm });
    const addresses = topo.sites.reduce((a, s) => a + s.clients.reduce((b, c) => b + c.count, 0), 0);
    const t = { bucket: [] as number[], baseline: [] as number[], all: [] as number[], plan: [] as number[], headroom: [] as number[], report: [] as number[], naive: [] as number[] };
    let scenarios = 0;
    let steps = 0;
    let cascaded = 0;
    for (let r = 0; r < repeats; r++) {
      const [model, bucketMs] = time(() => new FailoverModel(topo));
      t.bucket.push(bucketMs);
      t.baseline.push(time(() => model.simulate([]))[1]);
      const [m, allMs] = time(() => model.allSingle());
      t.all.push(allMs);
      scenarios = m.total;
      cascaded = m.cascaded;
      steps = m.scenarios.reduce((a, s) => a + s.steps.length, 0);
      t.plan.push(time(() => planCapacity(topo))[1]);
      t.headroom.push(time(() => growthHeadroom(model))[1]);
      t.report.push(time(() => renderHtml(buildPlanReport(topo)))[1]);
      t.naive.push(time(() => naiveStep(topo))[1]);
    }
    const oursAll = median(t.bucket) + median(t.all);
    const naiveAll = median(t.naive) * steps;
    rows.push({
      algorithm,
      addresses,
      nodes: 256,
      'bucket ms': +median(t.bucket).toFixed(1),
      'baseline ms': +median(t.baseline).toFixed(2),
      'all-single ms': +median(t.all).toFixed(1),
      scenarios,
      cascading: cascaded,
      'plan ms': +median(t.plan).toFixed(1),
      'headroom ms': +median(t.headroom).toFixed(1),
      'report ms': +median(t.report).toFixed(1),
      'naive all-single ms (est)': Math.round(naiveAll),
      'naive / ours': +(naiveAll / oursAll).toFixed(1),
    });
  }
  notes.push(
    'Synthetic topology: 16 sites x 16 nodes, 256 /24 pools plus 4 heavy single sources per site (2^20 + 64 addresses), failing over to the next two sites; loads set so some single failures cascade.',
    '"bucket" builds the per-site 16-bit key histograms (one pass over the addresses); "all-single" then runs all 272 single failures step by step on those histograms.',
    '"report" is buildPlanReport (baseline, all-single, worst scenario, planner with its own all-single check, growth-headroom binary search) plus rendering report.html.',
    '"naive" times one step that walks every address to its node and multiplies by the total number of steps in all-single: what iterating per address per scenario would cost.',
    `Median of ${repeats} run(s); Node ${process.version}.`,
  );
  return { title: 'loadtest model: 16 sites, 256 nodes, 10^6 client addresses', rows, notes };
}
