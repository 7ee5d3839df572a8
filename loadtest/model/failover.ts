// Cascading failover, step by step until nothing changes:
//  1. Each site's clients go to their own site while it has a node up, else to the first
//     site in their failover list that has a node up, else they are dropped.
//  2. A site splits its offered load over its up nodes by the algorithm (even, or the CEF
//     table over the clients' hash keys to the VIP).
//  3. Every node whose load exceeds capacity x overload fails its SLA check and is
//     withdrawn, all in the same step. Withdrawn nodes stay down for the scenario.
// Client populations are bucketed once per site (KeyHistogram), so a step costs a pass
// over at most 16 table rows per site and home site, whatever the number of addresses.

import { histogramFor } from './cef.js';
import { formatIPv4 } from './ipv4.js';
import { KeyHistogram, splitAcrossPaths } from './keyhist.js';
import type { Topology, TopologyNode } from './topology.js';

/**
 * Relative tolerance on "load exceeds capacity": a load equal to the capacity, up to
 * floating-point rounding of summed per-address shares, is not an overload.
 */
export const LOAD_EPSILON = 1e-9;

/** ok: no node lost beyond the initial failure; degraded: some withdrawn, some up; lost: all withdrawn by the cascade; failed: failed at the start. */
export type SiteState = 'ok' | 'degraded' | 'lost' | 'failed';

export interface StepSite {
  site: string;
  offeredQps: number;
  nodesUp: number;
  /** Sum of capacity x overload over up nodes. */
  limitQps: number;
  hottestNode?: string;
  hottestQps: number;
  /** Hottest node's load over its own capacity x overload; above 1 means it is withdrawn. */
  hottestUtilization: number;
  /** Home sites whose clients this site serves in this step. */
  serving: string[];
}

export interface Step {
  step: number;
  sites: StepSite[];
  /** Nodes that fail their SLA check in this step (empty in the final, stable step). */
  withdrawn: string[];
  droppedQps: number;
}

export interface NodeOutcome {
  node: string;
  site: string;
  address: string;
  qps: number;
  limitQps: number;
  utilization: number;
  state: 'up' | 'failed' | 'withdrawn';
  withdrawnAtStep?: number;
}

export interface SiteOutcome {
  site: string;
  state: SiteState;
  nodesTotal: number;
  nodesUp: number;
  nodesFailed: number;
  nodesWithdrawn: number;
  offeredQps: number;
  hottestUtilization: number;
  /** Where this site's own clients ended up (null: dropped). */
  clientsServedBy: string | null;
}

export interface ScenarioSummary {
  name: string;
  kind: 'none' | 'site' | 'node' | 'custom';
  failed: string[];
  steps: Step[];
  offeredQps: number;
  servedQps: number;
  droppedQps: number;
  /** True when anything beyond the initial failure was withdrawn. */
  cascaded: boolean;
  /** Withdrawn by the cascade, in order. */
  withdrawn: string[];
  sites: SiteOutcome[];
}

export interface ScenarioResult extends ScenarioSummary {
  nodes: NodeOutcome[];
}

export interface SurvivalMatrix {
  sites: string[];
  scenarios: ScenarioSummary[];
  total: number;
  cascaded: number;
  withDrops: number;
}

export class FailoverModel {
  readonly topology: Topology;
  private readonly nodes: TopologyNode[] = [];
  private readonly nodeSite: Int32Array;
  private readonly siteStart: number[] = [];
  private readonly siteEnd: number[] = [];
  private readonly hists: KeyHistogram[];
  private readonly failoverIdx: number[][];
  private readonly byName = new Map<string, { kind: 'site' | 'node'; index: number }>();
  private readonly limit: Float64Array;
  private loadScale = 1;

  constructor(topology: Topology) {
    this.topology = topology;
    const siteIdx = new Map(topology.sites.map((s, i) => [s.name, i]));
    topology.sites.forEach((s, si) => {
      this.byName.set(s.name, { kind: 'site', index: si });
      this.siteStart.push(this.nodes.length);
      for (const n of [...s.nodes].sort((a, b) => a.address - b.address)) {
        this.byName.set(n.name, { kind: 'node', index: this.nodes.length });
        this.nodes.push(n);
      }
      this.siteEnd.push(this.nodes.length);
    });
    this.nodeSite = new Int32Array(this.nodes.length);
    topology.sites.forEach((_, si) => this.nodeSite.fill(si, this.siteStart[si], this.siteEnd[si]));
    this.limit = Float64Array.from(this.nodes, (n) => n.capacityQps * topology.overload);
    this.hists = topology.sites.map((s) => histogramFor(s.clients, { vip: topology.vip, algorithm: topology.algorithm, id: topology.id }));
    this.failoverIdx = topology.sites.map((s) => s.failover.map((f) => siteIdx.get(f)!));
  }

  /**
   * Multiplies every client's qps by `k` (for "how much can load grow"). Splits depend only
   * on which nodes are up, so scaling the load is the same as dividing every limit by k.
   */
  setLoadScale(k: number): void {
    if (!(k > 0) || !Number.isFinite(k)) throw new RangeError(`load scale must be a positive number, got ${k}`);
    this.loadScale = k;
  }

  /** Names --fail accepts. */
  names(): { sites: string[]; nodes: string[] } {
    return { sites: this.topology.sites.map((s) => s.name), nodes: this.nodes.map((n) => n.name) };
  }

  /** Runs one scenario: `fail` lists sites and nodes lost at the start. */
  simulate(fail: readonly string[], kind: ScenarioSummary['kind'] = fail.length ? 'custom' : 'none'): ScenarioResult {
    const nNodes = this.nodes.length;
    const nSites = this.topology.sites.length;
    const up = new Uint8Array(nNodes).fill(1);
    const failedAtStart = new Uint8Array(nNodes);
    for (const name of fail) {
      const hit = this.byName.get(name);
      if (!hit) throw new RangeError(`--fail "${name}" is neither a site nor a node in ${this.topology.file ?? 'the topology'} (sites: ${this.names().sites.join(', ')})`);
      if (hit.kind === 'site') for (let i = this.siteStart[hit.index]; i < this.siteEnd[hit.index]; i++) failedAtStart[i] = 1;
      else failedAtStart[hit.index] = 1;
    }
    for (let i = 0; i < nNodes; i++) if (failedAtStart[i]) up[i] = 0;
    const withdrawnAt = new Int32Array(nNodes).fill(-1);
    const load = new Float64Array(nNodes);
    const upCount = new Int32Array(nSites);
    const target = new Int32Array(nSites);
    const steps: Step[] = [];
    const withdrawnOrder: string[] = [];
    const buf = new Float64Array(Math.max(1, nNodes));
    const k = this.loadScale;
    const totals = this.hists.map((h) => h.totalQps * k);

    for (let step = 0; ; step++) {
      upCount.fill(0);
      for (let i = 0; i < nNodes; i++) if (up[i]) upCount[this.nodeSite[i]]++;
      let dropped = 0;
      const serving: number[][] = Array.from({ length: nSites }, () => []);
      for (let h = 0; h < nSites; h++) {
        let t = upCount[h] > 0 ? h : -1;
        if (t < 0) for (const f of this.failoverIdx[h]) if (upCount[f] > 0) { t = f; break; }
        target[h] = t;
        if (t >= 0) { if (totals[h] > 0) serving[t].push(h); }
        else dropped += totals[h];
      }
      load.fill(0);
      const sites: StepSite[] = [];
      const over: number[] = [];
      for (let t = 0; t < nSites; t++) {
        const nUp = upCount[t];
        let offered = 0;
        for (const h of serving[t]) offered += totals[h];
        const s: StepSite = { site: this.topology.sites[t].name, offeredQps: offered, nodesUp: nUp, limitQps: 0, hottestQps: 0, hottestUtilization: 0, serving: serving[t].map((h) => this.topology.sites[h].name) };
        if (nUp > 0) {
          const paths = serving[t].length ? splitAcrossPaths(this.topology.algorithm, serving[t].map((h) => this.hists[h]), nUp, buf.subarray(0, nUp)) : buf.subarray(0, nUp).fill(0);
          let p = 0;
          for (let i = this.siteStart[t]; i < this.siteEnd[t]; i++) {
            if (!up[i]) continue;
            const q = paths[p++] * k;
            load[i] = q;
            s.limitQps += this.limit[i];
            const u = q / this.limit[i];
            if (s.hottestNode === undefined || u > s.hottestUtilization) {
              s.hottestNode = this.nodes[i].name;
              s.hottestQps = q;
              s.hottestUtilization = u;
            }
            if (q > this.limit[i] * (1 + LOAD_EPSILON)) over.push(i);
          }
        }
        sites.push(s);
      }
      steps.push({ step, sites, withdrawn: over.map((i) => this.nodes[i].name), droppedQps: dropped });
      if (!over.length) {
        return this.finish(fail, kind, steps, up, failedAtStart, withdrawnAt, load, target, withdrawnOrder, upCount);
      }
      for (const i of over) {
        up[i] = 0;
        withdrawnAt[i] = step;
        withdrawnOrder.push(this.nodes[i].name);
      }
    }
  }

  private finish(
    fail: readonly string[], kind: ScenarioSummary['kind'], steps: Step[], up: Uint8Array, failedAtStart: Uint8Array,
    withdrawnAt: Int32Array, load: Float64Array, target: Int32Array, withdrawn: string[], upCount: Int32Array,
  ): ScenarioResult {
    const last = steps[steps.length - 1];
    let offered = 0;
    for (const h of this.hists) offered += h.totalQps * this.loadScale;
    const dropped = last.droppedQps;
    const nodes: NodeOutcome[] = this.nodes.map((n, i) => ({
      node: n.name,
      site: n.site,
      address: formatIPv4(n.address),
      qps: up[i] ? load[i] : 0,
      limitQps: this.limit[i],
      utilization: up[i] ? load[i] / this.limit[i] : 0,
      state: up[i] ? 'up' : failedAtStart[i] ? 'failed' : 'withdrawn',
      ...(withdrawnAt[i] >= 0 ? { withdrawnAtStep: withdrawnAt[i] } : {}),
    }));
    const sites: SiteOutcome[] = this.topology.sites.map((s, si) => {
      let failed = 0;
      let wd = 0;
      for (let i = this.siteStart[si]; i < this.siteEnd[si]; i++) {
        if (failedAtStart[i]) failed++;
        else if (!up[i]) wd++;
      }
      const total = this.siteEnd[si] - this.siteStart[si];
      const state: SiteState = failed === total ? 'failed' : upCount[si] === 0 ? 'lost' : wd > 0 ? 'degraded' : 'ok';
      return {
        site: s.name,
        state,
        nodesTotal: total,
        nodesUp: upCount[si],
        nodesFailed: failed,
        nodesWithdrawn: wd,
        offeredQps: last.sites[si].offeredQps,
        hottestUtilization: last.sites[si].hottestUtilization,
        clientsServedBy: target[si] >= 0 ? this.topology.sites[target[si]].name : null,
      };
    });
    return {
      name: fail.length ? fail.join('+') : 'none',
      kind,
      failed: [...fail],
      steps,
      offeredQps: offered,
      servedQps: offered - dropped,
      droppedQps: dropped,
      cascaded: withdrawn.length > 0,
      withdrawn,
      sites,
      nodes,
    };
  }

  /**
   * Every single-site and every single-node failure. With `base` (sites or nodes already
   * out, e.g. for maintenance), each scenario is base + one more failure.
   */
  allSingle(base: readonly string[] = []): SurvivalMatrix {
    const out = new Set<string>(base);
    for (const name of base) {
      const hit = this.byName.get(name);
      if (hit?.kind === 'site') for (let i = this.siteStart[hit.index]; i < this.siteEnd[hit.index]; i++) out.add(this.nodes[i].name);
    }
    const scenarios: ScenarioSummary[] = [];
    for (const s of this.topology.sites) if (!out.has(s.name)) scenarios.push(summary(this.simulate([...base, s.name], 'site')));
    for (const n of this.nodes) if (!out.has(n.name)) scenarios.push(summary(this.simulate([...base, n.name], 'node')));
    return {
      sites: this.topology.sites.map((s) => s.name),
      scenarios,
      total: scenarios.length,
      cascaded: scenarios.filter((s) => s.cascaded).length,
      withDrops: scenarios.filter((s) => s.droppedQps > 0).length,
    };
  }
}

function summary(r: ScenarioResult): ScenarioSummary {
  const { nodes: _nodes, ...rest } = r;
  return rest;
}

/**
 * The scenario a planner should look at first: most qps dropped, then most nodes lost to
 * the cascade, then the hottest surviving node.
 */
export function worstScenario(m: SurvivalMatrix): ScenarioSummary | undefined {
  const peak = (s: ScenarioSummary) => Math.max(0, ...s.sites.map((x) => (x.state === 'ok' || x.state === 'degraded' ? x.hottestUtilization : 0)));
  let worst: ScenarioSummary | undefined;
  for (const s of m.scenarios) {
    if (!worst) { worst = s; continue; }
    const a = [s.droppedQps, s.withdrawn.length, peak(s)];
    const b = [worst.droppedQps, worst.withdrawn.length, peak(worst)];
    for (let i = 0; i < 3; i++) {
      if (a[i] > b[i] + 1e-9) { worst = s; break; }
      if (a[i] < b[i] - 1e-9) break;
    }
  }
  return worst;
}
