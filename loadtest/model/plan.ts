// Capacity planning: the smallest number of nodes per site that survives any single
// site failure and any single node failure without a cascade, and the data the report
// draws. Pure computation over the FailoverModel.

import { readFileSync } from 'node:fs';
import { ConfigError } from '../../common/yaml-source.js';
import { histogramFor } from './cef.js';
import { MAX_PATHS } from './hash.js';
import { KeyHistogram, splitAcrossPaths } from './keyhist.js';
import { FailoverModel, LOAD_EPSILON, worstScenario, type ScenarioResult, type SurvivalMatrix } from './failover.js';
import type { Topology, TopologyNode } from './topology.js';
import { totalAddresses } from './clients.js';
import { formatIPv4 } from './ipv4.js';

// ---- measured capacity (--capacity-from) -------------------------------------------

export interface MeasuredCapacity {
  capacityQps: number;
  /** Which field it came from: capacityQps (a `loadtest capacity` result) or achievedQps (a `loadtest run` result). */
  field: 'capacityQps' | 'achievedQps';
  file: string;
  /** What the result says about itself (server, lower bound, loss), for the report. */
  detail?: string;
}

/**
 * Reads a `loadtest capacity --json` or `loadtest run --json` result (kind
 * "anycast-kit.loadtest.capacity" / "anycast-kit.loadtest.run"). Without a kind, a
 * top-level number `capacityQps` or else `achievedQps` is accepted. A run result is a
 * capacity only if the run drove the node to saturation; a capacity search that stopped
 * before a limit (lowerBoundOnly) gives a lower bound, which keeps the plan conservative.
 */
/** Below this many queries a run is a smoke test, not a measurement. */
export const MIN_SATURATION_QUERIES = 1000;
/** Below this many seconds of sending a run is too short to be a capacity. */
export const MIN_SATURATION_SECONDS = 2;
/** Loss (percent) from which an open-loop run shows the node's limit. */
export const SATURATION_LOSS_PCT = 1;

/**
 * Why a driver result does not show the node at its limit, or undefined when it does.
 * A capacity search is saturated when it stopped on a loss or p99 limit (not a lower
 * bound). A run is saturated only when it is long enough and shows the node falling behind
 * a rate the generator really sent: loss of at least 1 %, or under 95 % of that rate answered.
 */
export function saturationProblem(obj: Record<string, unknown>): string | undefined {
  const num = (k: string): number | undefined => (typeof obj[k] === 'number' && Number.isFinite(obj[k]) ? (obj[k] as number) : undefined);
  if (obj.kind === 'anycast-kit.loadtest.capacity') {
    if (obj.lowerBoundOnly === true) return `the capacity search stopped on ${String(obj.limitedBy ?? 'its limits')} before the node crossed its loss or p99 limit, so ${num('capacityQps')} qps is only a lower bound`;
    return undefined;
  }
  if (obj.kind !== 'anycast-kit.loadtest.run') return undefined;
  const sent = num('sent');
  const dur = num('durationS');
  const loss = num('lossPct') ?? 0;
  const achieved = num('achievedQps') ?? 0;
  if (sent === undefined || sent < MIN_SATURATION_QUERIES) return `only ${sent ?? 'an unknown number of'} queries were sent (at least ${MIN_SATURATION_QUERIES} needed): a smoke run, not a measurement of the node's limit`;
  if (dur === undefined || dur < MIN_SATURATION_SECONDS) return `the run sent for ${dur ?? '?'} s (at least ${MIN_SATURATION_SECONDS} s needed)`;
  if (obj.mode === 'open-loop') {
    const target = num('targetQps');
    const sentQps = num('sentQps');
    if (target && sentQps !== undefined && sentQps < 0.95 * target) return `the generator sent only ${Math.round(sentQps)} of the ${Math.round(target)} q/s asked for: the generator, not the node, was the limit`;
    if (loss >= SATURATION_LOSS_PCT) return undefined;
    if (target && achieved < 0.95 * target) return undefined;
    return `the node answered ${Math.round(achieved)} of ${Math.round(target ?? achieved)} q/s offered with ${loss.toFixed(2)}% loss: it kept up, so this is a rate it handled, not its limit`;
  }
  if (loss >= SATURATION_LOSS_PCT) return undefined;
  return `a closed-loop run with ${loss.toFixed(2)}% loss: achievedQps follows the in-flight window and the latency, and nothing shows the node at its limit`;
}

export interface ReadCapacityOptions {
  /** Accept a result that never reached saturation (--allow-unsaturated); the report says so. */
  allowUnsaturated?: boolean;
}

export function readCapacityResult(file: string, text?: string, opts: ReadCapacityOptions = {}): MeasuredCapacity {
  const fail = (message: string): never => {
    throw new ConfigError([{ file, line: 0, field: '', message }]);
  };
  let raw = text;
  if (raw === undefined) {
    try {
      raw = readFileSync(file, 'utf8');
    } catch (err) {
      return fail(`cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch (err) {
    return fail(`not JSON: ${(err as Error).message}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return fail('expected a JSON object from `loadtest capacity --json` or `loadtest run --json`');
  const obj = data as Record<string, unknown>;
  const positive = (field: string): number => {
    const v = obj[field];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      return fail(`${field}: must be a number above 0, got ${JSON.stringify(v)}${obj.kind === 'anycast-kit.loadtest.capacity' && v === null ? ' (the capacity search found no step inside its limits)' : ''}`);
    }
    return v;
  };
  const server = typeof obj.server === 'string' ? ` against ${obj.server}` : '';
  const unsaturated = saturationProblem(obj);
  if (unsaturated && (obj.kind === 'anycast-kit.loadtest.capacity' ? typeof obj.capacityQps === 'number' : typeof obj.achievedQps === 'number') && !opts.allowUnsaturated) {
    return fail(`not a capacity: ${unsaturated}. Measure with \`anycast-kit loadtest capacity\` until a limit is crossed, or pass --allow-unsaturated to use it anyway`);
  }
  const forced = unsaturated ? `; NOT saturated (${unsaturated}), used because of --allow-unsaturated` : '';
  if (obj.kind === 'anycast-kit.loadtest.capacity' || (obj.kind === undefined && obj.capacityQps !== undefined)) {
    const q = positive('capacityQps');
    const lower = obj.lowerBoundOnly === true ? `; a lower bound only (search stopped by ${String(obj.limitedBy ?? 'its limits')})` : '';
    return { capacityQps: q, field: 'capacityQps', file, detail: `capacity search${server}${lower}${forced}` };
  }
  if (obj.kind === 'anycast-kit.loadtest.run' || (obj.kind === undefined && obj.achievedQps !== undefined)) {
    const q = positive('achievedQps');
    const loss = typeof obj.lossPct === 'number' && obj.lossPct > 0 ? `, ${obj.lossPct.toFixed(2)}% lost` : '';
    return { capacityQps: q, field: 'achievedQps', file, detail: `run${server}${loss}${forced || '; saturated: the node fell behind the offered rate'}` };
  }
  if (obj.kind !== undefined) return fail(`kind "${String(obj.kind)}" is not a loadtest run or capacity result`);
  return fail('no top-level "capacityQps" (from loadtest capacity) or "achievedQps" (from loadtest run)');
}

export interface CapacityAssignment {
  /** A site or node name; undefined applies to every node. */
  target?: string;
  measured: MeasuredCapacity;
}

/** Returns a copy of the topology with measured capacities applied (node beats site beats all). */
export function applyCapacities(topo: Topology, assignments: readonly CapacityAssignment[]): { topology: Topology; notes: string[] } {
  const siteNames = new Set(topo.sites.map((s) => s.name));
  const nodeNames = new Set(topo.sites.flatMap((s) => s.nodes.map((n) => n.name)));
  for (const a of assignments) {
    if (a.target !== undefined && !siteNames.has(a.target) && !nodeNames.has(a.target)) {
      throw new RangeError(`--capacity-from ${a.target}=${a.measured.file}: "${a.target}" is neither a site nor a node`);
    }
  }
  const pick = (n: TopologyNode): CapacityAssignment | undefined =>
    assignments.find((a) => a.target === n.name) ?? assignments.find((a) => a.target === n.site) ?? assignments.find((a) => a.target === undefined);
  const notes = assignments.map((a) => `${a.target ?? 'every node'}: ${Math.round(a.measured.capacityQps)} qps, ${a.measured.field} in ${a.measured.file}${a.measured.detail ? ` (${a.measured.detail})` : ''}`);
  const topology: Topology = {
    ...topo,
    sites: topo.sites.map((s) => ({ ...s, nodes: s.nodes.map((n) => ({ ...n, capacityQps: pick(n)?.measured.capacityQps ?? n.capacityQps })) })),
  };
  return { topology, notes };
}

// ---- planner ----------------------------------------------------------------------

export interface SitePlan {
  site: string;
  currentNodes: number;
  /** Capacity assumed for every node of the planned site: the site's smallest node. */
  nodeCapacityQps: number;
  /** Smallest count that survives every single failure without a cascade; null if none does. */
  recommendedNodes: number | null;
  /** recommended - current (negative: the site has spare nodes). */
  change: number | null;
  /** The single failure that loads this site's hottest node most at the recommended count. */
  worstScenario: string;
  worstOfferedQps: number;
  /** Hottest node's load / (capacity x overload) in that scenario, at the recommended count. */
  worstUtilization: number;
  /** More than 16 paths: one switch cannot hold them; the site needs another switch. */
  exceedsPathLimit: boolean;
  switchesNeeded: number;
  note?: string;
}

export interface CapacityPlan {
  sites: SitePlan[];
  achievable: boolean;
  /** The planned topology's own --all-single run: it must show no cascade. */
  verification: { scenarios: number; cascaded: number; withDrops: number };
}

const MAX_PLANNED_NODES = 4096;

/**
 * Per site, the smallest n >= 2 (a one-node site does not survive losing its node) such
 * that, with n nodes of the site's smallest capacity:
 *  - no failure, and every single-site failure whose clients fail over here first, leave
 *    the hottest node within capacity x overload; and
 *  - with n-1 nodes (a single node lost here) the site's own load fits.
 * While nothing cascades, each site's load in a single-failure scenario does not depend
 * on other sites' node counts, so sites are planned independently; the result is then
 * checked by running every single failure on the planned topology.
 */
export function planCapacity(topo: Topology): CapacityPlan {
  const hists = topo.sites.map((s) => histogramFor(s.clients, { vip: topo.vip, algorithm: topo.algorithm, id: topo.id }));
  const sitePlans = topo.sites.map((site, t) => {
    if (!site.nodes.length) throw new RangeError(`site ${site.name} has no nodes: the planner takes a site's node capacity from its nodes`);
    const nodeCap = Math.min(...site.nodes.map((n) => n.capacityQps));
    const lim = nodeCap * topo.overload;
    const mixes: Array<{ name: string; hists: KeyHistogram[]; total: number }> = [{ name: 'no failure', hists: [hists[t]], total: hists[t].totalQps }];
    topo.sites.forEach((x, xi) => {
      if (xi !== t && x.failover[0] === site.name) mixes.push({ name: `site ${x.name} lost`, hists: [hists[t], hists[xi]], total: hists[t].totalQps + hists[xi].totalQps });
    });
    const hottest = (hs: KeyHistogram[], n: number): number => Math.max(...splitAcrossPaths(topo.algorithm, hs, n));
    const evaluate = (n: number): { ok: boolean; worst: string; worstQps: number; worstUtil: number } => {
      let worst = '';
      let worstQps = 0;
      let worstUtil = -1;
      const consider = (name: string, hs: KeyHistogram[], total: number, paths: number): void => {
        const u = hottest(hs, paths) / lim;
        if (u > worstUtil) {
          worstUtil = u;
          worst = name;
          worstQps = total;
        }
      };
      for (const m of mixes) consider(m.name, m.hists, m.total, n);
      if (n >= 2) consider('one node lost here', [hists[t]], hists[t].totalQps, n - 1);
      return { ok: worstUtil <= 1 + LOAD_EPSILON, worst, worstQps, worstUtil };
    };
    const peak = Math.max(...mixes.map((m) => m.total));
    // At least 2: a site with one node does not survive losing it (its clients move away).
    const lower = Math.max(2, Math.ceil(peak / lim - LOAD_EPSILON));
    let found: number | null = null;
    let result = evaluate(lower);
    for (let n = lower; n <= Math.min(MAX_PLANNED_NODES, lower + 64); n++) {
      result = evaluate(n);
      if (result.ok) {
        found = n;
        break;
      }
    }
    const plan: SitePlan = {
      site: site.name,
      currentNodes: site.nodes.length,
      nodeCapacityQps: nodeCap,
      recommendedNodes: found,
      change: found === null ? null : found - site.nodes.length,
      worstScenario: result.worst,
      worstOfferedQps: result.worstQps,
      worstUtilization: result.worstUtil,
      exceedsPathLimit: (found ?? 0) > MAX_PATHS,
      switchesNeeded: Math.max(1, Math.ceil((found ?? site.nodes.length) / MAX_PATHS)),
    };
    if (found === null) {
      plan.note = `no node count up to ${Math.min(MAX_PLANNED_NODES, lower + 64)} fits: a single hash bucket carries more than one node's capacity (large sources such as NAT or forwarders); consider include-ports, or splitting those sources`;
    } else if (plan.exceedsPathLimit) {
      plan.note = `${found} nodes is more than ${MAX_PATHS} equal-cost paths: the site needs ${plan.switchesNeeded} switches`;
    }
    if (site.nodes.some((n) => n.capacityQps !== nodeCap)) {
      plan.note = [plan.note, `nodes differ in capacity; planned with the smallest (${Math.round(nodeCap)} qps)`].filter(Boolean).join('; ');
    }
    return plan;
  });
  const planned = plannedTopology(topo, sitePlans);
  const m = new FailoverModel(planned).allSingle();
  return {
    sites: sitePlans,
    achievable: sitePlans.every((p) => p.recommendedNodes !== null),
    verification: { scenarios: m.total, cascaded: m.cascaded, withDrops: m.withDrops },
  };
}

/**
 * The topology with each site resized to its recommended count, every node at the
 * site's smallest capacity. Existing nodes keep their names and addresses; added nodes
 * get the next free addresses after the site's highest.
 */
export function plannedTopology(topo: Topology, plans: readonly SitePlan[]): Topology {
  const used = new Set(topo.sites.flatMap((s) => s.nodes.map((n) => n.address)));
  return {
    ...topo,
    sites: topo.sites.map((s, i) => {
      const p = plans[i];
      const want = p.recommendedNodes ?? s.nodes.length;
      const nodes = s.nodes.slice(0, want).map((n) => ({ ...n, capacityQps: p.nodeCapacityQps }));
      let next = Math.max(...s.nodes.map((n) => n.address));
      for (let k = nodes.length; k < want; k++) {
        do next = (next + 1) >>> 0; while (used.has(next));
        used.add(next);
        nodes.push({ name: `${s.name}-plan${k + 1}`, site: s.name, address: next, capacityQps: p.nodeCapacityQps });
      }
      return { ...s, nodes };
    }),
  };
}

// ---- growth headroom ----------------------------------------------------------------

export interface GrowthHeadroom {
  /**
   * Largest factor every client's qps can be multiplied by while no single failure (and
   * nothing at all) causes a cascade; below 1 means today's load already cascades.
   */
  factor: number;
  /** The single failure that cascades first just above `factor`. */
  firstToCascade: string;
}

/**
 * Binary search on a uniform load multiplier. More load never withdraws fewer nodes
 * (splits depend only on which nodes are up), so "no single failure cascades" is
 * monotone in the multiplier.
 */
export function growthHeadroom(model: FailoverModel, precision = 0.001): GrowthHeadroom {
  const survives = (k: number): string | undefined => {
    model.setLoadScale(k);
    if (model.simulate([]).cascaded) return 'no failure';
    const m = model.allSingle();
    return m.scenarios.find((s) => s.cascaded)?.name;
  };
  try {
    let lo = 0;
    let hi = 1;
    let first = survives(hi);
    while (!first && hi < 1e6) {
      lo = hi;
      hi *= 2;
      first = survives(hi);
    }
    if (!first) return { factor: Infinity, firstToCascade: '' };
    while ((hi - lo) / hi > precision) {
      const mid = (lo + hi) / 2;
      const f = survives(mid);
      if (f) {
        hi = mid;
        first = f;
      } else lo = mid;
    }
    return { factor: lo, firstToCascade: first };
  } finally {
    model.setLoadScale(1);
  }
}

// ---- report data --------------------------------------------------------------------

export interface SiteReport {
  site: string;
  nodes: number;
  addresses: number;
  /** qps of this site's own clients. */
  clientsQps: number;
  /** Offered load with nothing failed. */
  offeredQps: number;
  /** Sum of capacity x overload. */
  limitQps: number;
  /** offered / limit. */
  utilization: number;
  hottestNode: string;
  /** Hottest node's load over its capacity x overload. */
  hottestUtilization: number;
  /** Hottest node's load over the site's mean node load (1.0 = perfectly even). */
  imbalance: number;
  /** The largest load any single site failure throws at this site before anything cascades. */
  worstFailoverQps: number;
  worstFailoverScenario: string;
  failover: string[];
  plan: SitePlan;
}

export interface PlanReport {
  title: string;
  generatedAt: string;
  topologyFile: string;
  vip: string;
  algorithm: Topology['algorithm'];
  overload: number;
  id: number;
  totals: { sites: number; nodes: number; addresses: number; offeredQps: number; limitQps: number };
  sites: SiteReport[];
  baseline: ScenarioResult;
  matrix: SurvivalMatrix;
  /** The single failure with the worst outcome, with its full step-by-step timeline. */
  worst?: ScenarioResult;
  plan: CapacityPlan;
  headroom: GrowthHeadroom;
  capacitySources: string[];
  assumptions: string[];
  warnings: string[];
  timings: { modelMs: number };
}

export function buildPlanReport(topo: Topology, opts: { capacitySources?: string[]; now?: () => Date } = {}): PlanReport {
  const t0 = performance.now();
  const model = new FailoverModel(topo);
  const baseline = model.simulate([]);
  const matrix = model.allSingle();
  const w = worstScenario(matrix);
  const worst = w ? model.simulate(w.failed, w.kind) : undefined;
  const plan = planCapacity(topo);
  const headroom = growthHeadroom(model);
  const modelMs = performance.now() - t0;

  const sites: SiteReport[] = topo.sites.map((s, si) => {
    const step0 = baseline.steps[0].sites[si];
    const nodeLoads = baseline.nodes.filter((n) => n.site === s.name && n.state === 'up');
    const mean = nodeLoads.length ? nodeLoads.reduce((a, n) => a + n.qps, 0) / nodeLoads.length : 0;
    const hot = nodeLoads.reduce<typeof nodeLoads[number] | undefined>((h, n) => (!h || n.utilization > h.utilization ? n : h), undefined);
    let worstFailoverQps = step0.offeredQps;
    let worstFailoverScenario = 'no failure';
    for (const sc of matrix.scenarios) {
      if (sc.kind !== 'site') continue;
      const q = sc.steps[0].sites[si].offeredQps;
      if (sc.steps[0].sites[si].nodesUp > 0 && q > worstFailoverQps) {
        worstFailoverQps = q;
        worstFailoverScenario = `site ${sc.failed[0]} lost`;
      }
    }
    return {
      site: s.name,
      nodes: s.nodes.length,
      addresses: totalAddresses(s.clients),
      clientsQps: s.clients.reduce((a, c) => a + c.qps, 0),
      offeredQps: step0.offeredQps,
      limitQps: step0.limitQps,
      utilization: step0.limitQps ? step0.offeredQps / step0.limitQps : 0,
      hottestNode: hot?.node ?? '',
      hottestUtilization: hot?.utilization ?? 0,
      imbalance: mean > 0 && hot ? hot.qps / mean : 1,
      worstFailoverQps,
      worstFailoverScenario,
      failover: s.failover,
      plan: plan.sites[si],
    };
  });

  const algoText: Record<Topology['algorithm'], string> = {
    'seed-xor': 'seed-xor: the reference deployment\'s description of CEF, key = ((s3 XOR d3) << 8) | (s4 XOR d4) of source and VIP',
    universal: `universal: a documented 32-bit mixing hash of (source, VIP, id ${topo.id}) standing in for Cisco's default`,
    'include-ports': 'include-ports: each source is assumed to use many random source ports, so its queries spread over the whole table',
    even: 'even: an ideal equal split over up nodes (no hashing)',
  };
  const assumptions = [
    `Split: ${algoText[topo.algorithm]}.`,
    ...(topo.algorithm === 'even'
      ? []
      : [
          "Cisco has not published its CEF hash: the per-node split is a model. Check it against your switch with 'anycast-kit loadtest cef --calibrate' on captured 'show ip cef exact-route' output.",
          'Paths are the nodes sorted by address; the load-share table has floor(16/N)*N rows and row r serves path r mod N (3 paths: 15 rows, 5/5/5).',
        ]),
    `A node is withdrawn when its offered load exceeds capacity x ${topo.overload}; all overloaded nodes go in the same step and stay down for the scenario (no recovery, no SLA 'delay' timers).`,
    "A withdrawn site's clients all move to the first site in its failover list that still has a node up; otherwise they are dropped.",
    'Loads are steady-state queries per second; bursts, client retries and cache warm-up after a move are not modelled.',
    'The planner gives every node of a site the capacity of the site\'s smallest node and counts a site above 16 nodes as needing another switch.',
  ];
  return {
    title: `Anycast DNS capacity plan: ${topo.file ?? 'topology'}`,
    generatedAt: (opts.now?.() ?? new Date()).toISOString(),
    topologyFile: topo.file ?? '',
    vip: formatIPv4(topo.vip),
    algorithm: topo.algorithm,
    overload: topo.overload,
    id: topo.id,
    totals: {
      sites: topo.sites.length,
      nodes: topo.sites.reduce((a, s) => a + s.nodes.length, 0),
      addresses: sites.reduce((a, s) => a + s.addresses, 0),
      offeredQps: baseline.offeredQps,
      limitQps: sites.reduce((a, s) => a + s.limitQps, 0),
    },
    sites,
    baseline,
    matrix,
    worst,
    plan,
    headroom,
    capacitySources: opts.capacitySources ?? [],
    assumptions,
    warnings: [...topo.warnings],
    timings: { modelMs },
  };
}
