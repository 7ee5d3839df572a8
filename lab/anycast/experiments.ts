// The experiments: each runs on a built AnycastLab and returns predicted beside measured.
import { writeFileSync } from 'node:fs';
import { unlinkSync } from 'node:fs';
import { drainWindowS, withdrawalWindowS } from './track.js';
import { calibrate, parseExactRouteCapture } from '../../loadtest/model/calibrate.js';
import { cefDistribution } from '../../loadtest/model/cef.js';
import { parseIPv4 } from '../../loadtest/model/ipv4.js';
import type { AnycastLab, LoadResult, SwitchEvent } from './run.js';

export interface SharesResult {
  switch: string;
  sources: number;
  queries: number;
  maxErrorPct: number;
  nodes: Array<{ name: string; predictedPct: number; measuredPct: number; sourcesMapped: number; responses: number }>;
  /** How the prediction was made. */
  method: string;
  exactRouteCapture: string;
  /**
   * Context: the CEF model's own hash (Cisco's algorithm, not the kernel's) for the same
   * sources, and how often each of its algorithms names the kernel's next hop.
   */
  modelHash: { algorithm: string; nodes: Array<{ name: string; pct: number }>; agreement: Array<{ algorithm: string; exactPct: number; bestOrderPct: number }>; chancePct: number };
}

/** What a node-loss or drain experiment measured about one node's withdrawal. */
export interface WithdrawalResult {
  node: string;
  lostQueries: number;
  sent: number;
  withdrawnAfterS: number | null;
  predictedWindowS: [number, number];
  inWindow: boolean;
}

export interface NodeLossResult extends WithdrawalResult {
  othersTookLoad: boolean;
  /** qps × the node's share × the window: the queries a dead node should lose. */
  predictedLostRange: [number, number];
}

export interface DrainResult extends WithdrawalResult {
  /** The same drain on a node answering REFUSED, judged by a switch that counts any reply as success. */
  refusedOnLenientSwitch?: { node: string; withdrawn: boolean; waitedS: number };
}

export interface FailOpenResult {
  withoutFailOpen: { blackholedQueries: number; sent: number };
  withFailOpen: { blackholedQueries: number; sent: number };
  blackholedQueries: number;
}

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const lost = (r: LoadResult) => r.lost + Object.values(r.unsent ?? {}).reduce((a, b) => a + b, 0);

/** The switch the client's traffic enters with nothing failed: the lowest site cost. */
function preferred(lab: AnycastLab) {
  return [...lab.plan.switches].sort((a, b) => a.sw.cost - b.sw.cost || a.index - b.index)[0];
}

export async function shares(lab: AnycastLab, qps: number, durationS: number): Promise<SharesResult> {
  const s = preferred(lab);
  const table = await lab.exactRoutes(s);
  const capture = [...table].map(([src, node]) => {
    const addr = s.nodes.find((n) => n.node.name === node)!.node.address;
    return `${src} -> ${lab.plan.vip} => IP adj out of ${s.nodes.find((n) => n.node.name === node)!.swDev}, addr ${addr}`;
  }).join('\n');
  const before = await lab.nodeResponses();
  const r = await lab.load(qps, durationS);
  await sleep(300);
  const after = await lab.nodeResponses();
  const delta = s.nodes.map((n) => Math.max(0, (after.get(n.node.name) ?? 0) - (before.get(n.node.name) ?? 0)));
  const total = delta.reduce((a, b) => a + b, 0) || 1;
  // Prediction: each source sends the same share (the generator spreads queries evenly over
  // its sources), and each source goes where the kernel's exact-route table says.
  const perSource = new Map<string, number>();
  for (const src of r.sources ?? []) perSource.set(src.address, src.sent);
  const totalSent = [...table.keys()].reduce((a, src) => a + (perSource.get(src) ?? 1), 0) || 1;
  const nodes = s.nodes.map((n, i) => {
    const mapped = [...table].filter(([, v]) => v === n.node.name).map(([k]) => k);
    const predicted = (100 * mapped.reduce((a, src) => a + (perSource.get(src) ?? 1), 0)) / totalSent;
    return { name: n.node.name, predictedPct: round(predicted, 2), measuredPct: round((100 * delta[i]) / total, 2), sourcesMapped: mapped.length, responses: delta[i] };
  });
  const endpoints = s.nodes.map((n) => ({ address: parseIPv4(n.node.address)!, label: n.node.address }));
  const vipNum = parseIPv4(lab.plan.vip)!;
  // The inventory's `original` is the model's seed-xor (the legacy algorithm).
  const inAlg = lab.opts.inventory.routing.cef.algorithm;
  const alg = inAlg === 'original' ? 'seed-xor' : inAlg;
  const groups = [...table.keys()].map((src) => ({ base: parseIPv4(src)!, count: 1, qps: perSource.get(src) ?? 1 }));
  const dist = cefDistribution(groups, { vip: vipNum, endpoints, algorithm: alg });
  const cal = calibrate(parseExactRouteCapture('kernel', capture), { endpoints });
  const modelHash = {
    algorithm: alg,
    nodes: dist.endpoints.map((e) => ({ name: s.nodes.find((n) => n.node.address === e.endpoint)?.node.name ?? e.endpoint, pct: round(100 * e.share, 2) })),
    agreement: cal.algorithms.map((a) => ({ algorithm: a.algorithm, exactPct: round(100 * a.agreement, 1), bestOrderPct: round(100 * a.bestOrderAgreement, 1) })),
    chancePct: round(100 * cal.chance, 1),
  };
  return {
    modelHash,
    switch: s.sw.name,
    sources: table.size,
    queries: r.sent,
    maxErrorPct: round(Math.max(...nodes.map((n) => Math.abs(n.predictedPct - n.measuredPct))), 2),
    nodes,
    method: 'measured exact-route table (ip route get VIP from SRC iif cl, the kernel\'s answer as show ip cef exact-route) fed to the model as per-source next hops, weighted by each source\'s sent queries',
    exactRouteCapture: capture,
  };
}

function firstEvent(lab: AnycastLab, since: number, pred: (e: SwitchEvent) => boolean): SwitchEvent | undefined {
  return lab.switchEvents.find((e) => e.t >= since && pred(e));
}

const routesWithout = (node: string) => (e: SwitchEvent) => e.ev === 'routes' && Array.isArray(e.up) && !(e.up as string[]).includes(node);
const routesWith = (node: string) => (e: SwitchEvent) => e.ev === 'routes' && Array.isArray(e.up) && (e.up as string[]).includes(node);

export async function nodeLoss(lab: AnycastLab, qps: number): Promise<NodeLossResult> {
  const inv = lab.opts.inventory;
  const s = preferred(lab);
  const victim = s.nodes[0];
  const p = inv.service.probe;
  const window = withdrawalWindowS({ frequencyMs: p.frequencyS * 1000, timeoutMs: p.timeoutMs }, inv.service.track.delayDownS * 1000);
  const durationS = Math.ceil(window[1] + 4);
  // The victim's share of the switch's clients, from the kernel's exact-route table.
  const table = await lab.exactRoutes(s);
  const victimShare = [...table.values()].filter((v) => v === victim.node.name).length / Math.max(1, table.size);
  const before = await lab.nodeResponses();
  const loadP = lab.load(qps, durationS);
  await sleep(1500);
  const killedAt = lab.killNode(victim.node.name);
  const r = await loadP;
  const after = await lab.nodeResponses();
  const ev = firstEvent(lab, killedAt, routesWithout(victim.node.name));
  const withdrawnAfterS = ev ? round((ev.t - killedAt) / 1000, 2) : null;
  const others = s.nodes.slice(1).every((n) => (after.get(n.node.name) ?? 0) > (before.get(n.node.name) ?? 0));
  // Bring it back for the next experiments.
  const restart = Date.now();
  await lab.startNode(victim);
  await lab.waitFor(() => !!firstEvent(lab, restart, routesWith(victim.node.name)), 30_000, `${victim.node.name} back in the route`);
  return {
    node: victim.node.name, lostQueries: lost(r), sent: r.sent, withdrawnAfterS, predictedWindowS: window,
    // 0.25 s for the emulator's route update and event delivery.
    inWindow: withdrawnAfterS !== null && withdrawnAfterS >= window[0] - 0.05 && withdrawnAfterS <= window[1] + 0.25,
    othersTookLoad: others,
    predictedLostRange: [Math.round(qps * victimShare * window[0]), Math.round(qps * victimShare * window[1])],
  };
}

export async function drain(lab: AnycastLab, qps: number, lenientCheck: boolean): Promise<DrainResult> {
  const inv = lab.opts.inventory;
  const s = preferred(lab);
  const target = lab.nodes.find((n) => n.ln === s.nodes[1 % s.nodes.length])!;
  const p = inv.service.probe;
  // The node notices its drain file within one health interval (node.yaml: max(1, floor(F / 3)) s).
  const window = drainWindowS({ frequencyMs: p.frequencyS * 1000, timeoutMs: p.timeoutMs }, inv.service.track.delayDownS * 1000, Math.max(1, Math.floor(p.frequencyS / 3)) * 1000);
  const durationS = Math.ceil(window[1] + 3);
  const loadP = lab.load(qps, durationS);
  await sleep(1000);
  const at = Date.now();
  writeFileSync(target.drainFile, '');
  const r = await loadP;
  const ev = firstEvent(lab, at, routesWithout(target.ln.node.name));
  unlinkSync(target.drainFile);
  const back = Date.now();
  await lab.waitFor(() => !!firstEvent(lab, back, routesWith(target.ln.node.name)), 30_000, `${target.ln.node.name} back after drain`);
  const wS = ev ? round((ev.t - at) / 1000, 2) : null;
  const out: DrainResult = { node: target.ln.node.name, lostQueries: lost(r), sent: r.sent, withdrawnAfterS: wS, predictedWindowS: window, inWindow: wS !== null && wS >= window[0] - 0.05 && wS <= window[1] + 0.25 };
  if (lenientCheck) {
    // A switch that counts any reply as success, and a node that answers REFUSED while drained.
    const refusing = lab.nodes.find((n) => lab.opts.refusedOnDrain?.includes(n.ln.node.name) && s.nodes.includes(n.ln));
    if (refusing) {
      lab.send(s.index, { cmd: 'errorReply', value: 'ok' });
      const t = Date.now();
      writeFileSync(refusing.drainFile, '');
      const waitS = Math.ceil(window[1] + 2);
      await sleep(waitS * 1000);
      const withdrawn = !!firstEvent(lab, t, routesWithout(refusing.ln.node.name));
      unlinkSync(refusing.drainFile);
      lab.send(s.index, { cmd: 'errorReply', value: 'fail' });
      const b = Date.now();
      if (withdrawn) await lab.waitFor(() => !!firstEvent(lab, b, routesWith(refusing.ln.node.name)), 30_000, 'back after drain');
      else await sleep(500);
      out.refusedOnLenientSwitch = { node: refusing.ln.node.name, withdrawn, waitedS: waitS };
    }
  }
  return out;
}

/** Every probe fails at once (the probe name broken on every node), with and without fail-open. */
export async function failOpen(lab: AnycastLab, qps: number): Promise<FailOpenResult> {
  const inv = lab.opts.inventory;
  const p = inv.service.probe;
  const window = withdrawalWindowS({ frequencyMs: p.frequencyS * 1000, timeoutMs: p.timeoutMs }, inv.service.track.delayDownS * 1000);
  const phase = async (on: boolean) => {
    lab.failOpen = on;
    for (const s of lab.plan.switches) lab.send(s.index, { cmd: 'failOpen', value: on });
    await sleep(300);
    const durationS = Math.ceil(window[1] + 3);
    const loadP = lab.load(qps, durationS);
    await sleep(500);
    for (const s of lab.plan.switches) lab.send(s.index, { cmd: 'break', value: true });
    const r = await loadP;
    for (const s of lab.plan.switches) lab.send(s.index, { cmd: 'break', value: false });
    const t = Date.now();
    await lab.waitFor(() => lab.plan.switches.every((s) => (lab.switchUp.get(s.index) ?? []).length === s.nodes.length), 30_000, 'every node back');
    void t;
    return { blackholedQueries: lost(r), sent: r.sent };
  };
  const without = await phase(false);
  const withFo = await phase(true);
  lab.failOpen = inv.service.failOpen;
  for (const s of lab.plan.switches) lab.send(s.index, { cmd: 'failOpen', value: lab.failOpen });
  return { withoutFailOpen: without, withFailOpen: withFo, blackholedQueries: withFo.blackholedQueries };
}

export interface CascadeRun {
  offeredQps: number;
  predicted: boolean;
  /** Model: the failover site's hottest node against its limit, before any withdrawal. */
  predictedHottestUtilization: number;
  measured: boolean;
  withdrawn: string[];
  lostQueries: number;
  sent: number;
  /** The failover site's failed probes during the run, by outcome (timeout = no answer in time; error-reply = the node's own health said no). */
  probeFailures: Record<string, number>;
}

export interface CascadeResult {
  failedSite: string;
  failoverSite: string;
  quotaPct: number;
  capacityQps: number | null;
  capacityNote: string;
  runs: CascadeRun[];
  predicted: boolean;
  measured: boolean;
  detail: string;
}

/**
 * Site loss and cascade: the failover site's nodes are capped with a cgroup CPU quota, one
 * is measured with loadtest capacity, the failover model predicts whether losing the first
 * site cascades at two load levels (one it should survive, one it should not), and the lab
 * fails that site (its switch's probes all fail) under each load and watches the next site.
 */
export async function cascade(lab: AnycastLab, quotaPct: number, loads: [number, number]): Promise<CascadeResult> {
  const { FailoverModel } = await import('../../loadtest/model/failover.js');
  const { parseTopologyText } = await import('../../loadtest/model/topology.js');
  const sws = [...lab.plan.switches].sort((a, b) => a.sw.cost - b.sw.cost || a.index - b.index);
  const first = sws[0];
  const next = sws.find((s) => s.sw.siteName !== first.sw.siteName);
  if (!next) throw new Error('the cascade experiment needs two sites');
  for (const n of next.nodes) await lab.capNode(n.node.name, Math.max(1000, Math.round(quotaPct * 1000)));
  await sleep(500);
  // The node's limit as the switch sees it: loss, or replies slower than the probe timeout
  // (not loadtest capacity's default p99 limit: a CPU-throttled node crosses that long before
  // its probes fail).
  const cap = await lab.capacity(next.nodes[0].node.name, 20, lab.opts.inventory.service.probe.timeoutMs);
  const capacityQps = cap.capacityQps === null ? null : Math.round(cap.capacityQps);
  const capacityNote = cap.lowerBoundOnly ? `a lower bound (the search stopped on ${cap.limitedBy})` : `the search stopped on ${cap.limitedBy}`;
  const runs: CascadeRun[] = [];
  for (const frac of loads) {
    const limit = capacityQps ?? 500;
    const q = Math.max(50, Math.round(frac * limit * next.nodes.length));
    // The model: clients homed at the first site fail over to the next; capacities as measured.
    const yaml = [
      `vip: ${lab.plan.vip}`,
      'model: { algorithm: even, overload: 1.0 }',
      'sites:',
      `  - name: ${first.sw.siteName}`,
      `    clients: [ { cidr: 10.99.0.0/24, qps: ${q} } ]`,
      `    failover: [${next.sw.siteName}]`,
      '    nodes:',
      ...first.nodes.map((n) => `      - { name: ${n.node.name}, address: ${n.node.address}, capacity: 1000000 }`),
      `  - name: ${next.sw.siteName}`,
      '    clients: []',
      '    nodes:',
      ...next.nodes.map((n) => `      - { name: ${n.node.name}, address: ${n.node.address}, capacity: ${limit} }`),
    ].join('\n');
    const model = new FailoverModel(parseTopologyText('lab-cascade.yaml', yaml));
    const sim = model.simulate([first.sw.siteName], 'site');
    const predicted = sim.cascaded;
    const firstStep = sim.steps[0]?.sites.find((x) => x.site === next.sw.siteName);
    // The lab: fail the first site under load, watch the next site's switch.
    const durationS = 12;
    const loadP = lab.load(q, durationS);
    await sleep(1000);
    const t = Date.now();
    lab.send(first.index, { cmd: 'break', value: true });
    const r = await loadP;
    const withdrawn = new Set<string>();
    const probeFailures: Record<string, number> = {};
    for (const e of lab.switchEvents) {
      if (e.t >= t && e.ev === 'probe' && e.switch === next.sw.name && e.outcome !== 'ok') probeFailures[String(e.outcome)] = (probeFailures[String(e.outcome)] ?? 0) + 1;
      if (e.t >= t && e.ev === 'track' && e.up === false && e.switch === next.sw.name && typeof e.node === 'string') withdrawn.add(e.node);
    }
    lab.send(first.index, { cmd: 'break', value: false });
    // The first site comes back after delay up; a capped node may still be flapping: go on.
    await lab.waitFor(() => (lab.switchUp.get(first.index) ?? []).length === first.nodes.length, 30_000, 'the failed site back').catch(() => undefined);
    await lab.waitFor(() => lab.plan.switches.every((s) => (lab.switchUp.get(s.index) ?? []).length === s.nodes.length), 15_000, 'every node back').catch(() => undefined);
    runs.push({ offeredQps: q, predicted, predictedHottestUtilization: round(firstStep?.hottestUtilization ?? 0, 2), measured: withdrawn.size > 0, withdrawn: [...withdrawn], lostQueries: lost(r), sent: r.sent, probeFailures });
  }
  lab.uncapNodes();
  const agree = runs.every((x) => x.predicted === x.measured);
  return {
    failedSite: first.sw.siteName,
    failoverSite: next.sw.siteName,
    quotaPct,
    capacityQps,
    capacityNote,
    runs,
    predicted: runs.some((x) => x.predicted),
    measured: runs.some((x) => x.measured),
    detail: runs.map((x) => `${x.offeredQps} q/s: model ${x.predicted ? 'cascade' : 'survives'} (hottest ${Math.round(100 * x.predictedHottestUtilization)}%), lab ${x.measured ? `cascade (${x.withdrawn.join(', ')} withdrawn)` : 'survived'}`).join('; ') + (agree ? '; the lab matches the model' : '; the lab does NOT match the model'),
  };
}
