// anycast-kit loadtest failover: simulate site and node failures on a topology and the
// cascade that follows, step by step; --all-single prints the survival matrix.

import { parseFlags, UsageError } from '../common/args.js';
import {
  FailoverModel,
  loadTopology,
  offeredQps,
  type ScenarioResult,
  type ScenarioSummary,
  type SiteOutcome,
  type SurvivalMatrix,
  type Topology,
} from '../loadtest/model/index.js';
import { fmtPct, fmtQps, textTable } from '../loadtest/model/format.js';

const HELP = `usage: anycast-kit loadtest failover --topology FILE [--fail NAME ...] [--all-single] [--json]

Simulates losing sites or nodes and the cascade that follows:
  1. a site's clients go to the site while it has a node up, else to the first site in
     its failover list with a node up, else they are dropped;
  2. a site splits its load over its up nodes (even, or the CEF model);
  3. every node above capacity x overload fails its SLA check and is withdrawn, all in
     the same step; repeat until nothing changes.

  --topology FILE   topology YAML (vip, model, sites; see loadtest/examples/topology.yaml)
  --fail NAME       a site or node lost at the start (repeatable)
  --all-single      run every single-site and single-node failure (on top of any --fail)
                    and print the survival matrix
  --json            machine-readable output
`;

interface Flags {
  topology?: string;
  fail?: string[];
  'all-single'?: boolean;
  json?: boolean;
}

export async function run(argv: string[]): Promise<number> {
  const { values: f, help } = parseFlags<Flags>(argv, {
    topology: { type: 'string' },
    fail: { type: 'string', multiple: true },
    'all-single': { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!f.topology) throw new UsageError('--topology FILE is required (see --help)');
  const topo = loadTopology(f.topology);
  const model = new FailoverModel(topo);
  const fail = (f.fail ?? []).flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean);
  const head = topologyHead(topo);

  if (f['all-single']) {
    const t0 = performance.now();
    const m = model.allSingle(fail);
    const ms = performance.now() - t0;
    if (f.json) {
      process.stdout.write(JSON.stringify({ topology: head, base: fail, matrix: m, modelMs: Math.round(ms) }, null, 2) + '\n');
      return 0;
    }
    process.stdout.write([describeTopology(topo), ...topo.warnings.map((w) => `warning: ${w}`), '', ...matrixText(m, fail), '', `(${m.total} scenarios in ${ms.toFixed(0)} ms)`].join('\n') + '\n');
    return 0;
  }

  const r = model.simulate(fail);
  if (f.json) {
    process.stdout.write(JSON.stringify({ topology: head, scenario: r }, null, 2) + '\n');
    return 0;
  }
  process.stdout.write([describeTopology(topo), ...topo.warnings.map((w) => `warning: ${w}`), '', ...scenarioText(r)].join('\n') + '\n');
  return 0;
}

function topologyHead(t: Topology) {
  return {
    file: t.file,
    sites: t.sites.length,
    nodes: t.sites.reduce((a, s) => a + s.nodes.length, 0),
    offeredQps: offeredQps(t),
    algorithm: t.algorithm,
    overload: t.overload,
    id: t.id,
    warnings: t.warnings,
  };
}

function describeTopology(t: Topology): string {
  const h = topologyHead(t);
  return `topology ${t.file}: ${h.sites} sites, ${h.nodes} nodes, ${fmtQps(h.offeredQps)} qps offered; split ${t.algorithm}${t.algorithm === 'even' ? '' : ' (CEF model)'}, withdrawn above capacity x ${t.overload}`;
}

export function scenarioText(r: ScenarioResult): string[] {
  const out = [`scenario: ${r.failed.length ? `lose ${r.failed.join(', ')}` : 'nothing failed'}`];
  for (const s of r.steps) {
    out.push('', s.withdrawn.length ? `step ${s.step}: ${s.withdrawn.length} withdrawn: ${s.withdrawn.join(', ')}` : `step ${s.step}: stable`);
    out.push(
      textTable(
        ['site', 'offered qps', 'nodes up', 'limit qps', 'hottest node', 'hottest qps', 'util', ''],
        s.sites.map((x) => [
          x.site,
          fmtQps(x.offeredQps),
          x.nodesUp,
          fmtQps(x.limitQps),
          x.hottestNode ?? '-',
          x.nodesUp ? fmtQps(x.hottestQps) : '-',
          x.nodesUp ? fmtPct(x.hottestUtilization) : '-',
          x.nodesUp && x.hottestUtilization > 1 + 1e-9 ? 'OVER' : x.nodesUp === 0 && x.offeredQps === 0 ? 'down' : '',
        ]),
      ).replace(/^/gm, '  '),
    );
    if (s.droppedQps > 0) out.push(`  dropped: ${fmtQps(s.droppedQps)} qps (no site with a node up)`);
  }
  out.push('');
  out.push(
    r.cascaded
      ? `result: CASCADE: ${r.withdrawn.length} node(s) withdrawn beyond the initial failure (${r.withdrawn.join(', ')})`
      : 'result: no cascade (nothing withdrawn beyond the initial failure)',
  );
  out.push(`served ${fmtQps(r.servedQps)} qps, dropped ${fmtQps(r.droppedQps)} qps (${fmtPct(r.offeredQps ? r.droppedQps / r.offeredQps : 0)}) of ${fmtQps(r.offeredQps)} offered`);
  const hot = r.nodes.filter((n) => n.state === 'up').sort((a, b) => b.utilization - a.utilization).slice(0, 5);
  if (hot.length) out.push(`hottest nodes: ${hot.map((n) => `${n.node} ${fmtQps(n.qps)} (${fmtPct(n.utilization)})`).join(', ')}`);
  return out;
}

function cell(s: SiteOutcome): string {
  switch (s.state) {
    case 'failed':
      return 'failed';
    case 'lost':
      return 'LOST';
    case 'degraded':
      return `DEGRADED ${s.nodesUp}/${s.nodesTotal}`;
    case 'ok':
      return `ok ${fmtPct(s.hottestUtilization, 0)}`;
  }
}

export function matrixText(m: SurvivalMatrix, base: string[] = []): string[] {
  const title = `survival matrix: ${m.total} single failures${base.length ? ` on top of ${base.join(', ')}` : ''}: ${m.total - m.cascaded} without cascade, ${m.cascaded} cascade, ${m.withDrops} drop traffic`;
  const rows = m.scenarios.map((s: ScenarioSummary) => [
    `${s.kind === 'site' ? 'site' : 'node'} ${s.failed[s.failed.length - 1]}`,
    ...s.sites.map(cell),
    s.cascaded ? 'YES' : 'no',
    fmtQps(s.droppedQps),
  ]);
  return [
    title,
    'cell: the site at the end (ok + its hottest node\'s load vs capacity; DEGRADED up/total; LOST; failed)',
    '',
    textTable(['lose', ...m.sites, 'cascade', 'dropped qps'], rows),
  ];
}
