// anycast-kit loadtest plan: the capacity-planning report. Runs the model (no failure,
// every single failure, the planner, growth headroom) and writes report.html (inline
// SVG, no network fetches) and optionally its Markdown twin.

import { renameSync, writeFileSync } from 'node:fs';
import { parseFlags, UsageError } from '../common/args.js';
import { applyCapacities, buildPlanReport, loadTopology, readCapacityResult, type CapacityAssignment } from '../loadtest/model/index.js';
import { fmtPct, fmtQps, textTable } from '../loadtest/model/format.js';
import { renderHtml, renderMarkdown } from '../loadtest/report/index.js';

const HELP = `usage: anycast-kit loadtest plan --topology FILE --out report.html [--markdown FILE]
         [--capacity-from [SITE_OR_NODE=]RESULTS.json ...] [--allow-unsaturated] [--json]

Writes the capacity-planning report: load against capacity per site, the per-node
distribution under the topology's split algorithm, the survival matrix of every single
site and node failure, the cascade timeline of the worst one, and the smallest number of
nodes per site that survives any single failure without a cascade (flagging sites that
pass 16 equal-cost paths and need another switch).

  --topology FILE        topology YAML (see loadtest/examples/topology.yaml)
  --out FILE             report.html: one self-contained file with inline SVG charts
  --markdown FILE        the same tables as Markdown, for tickets and wikis
  --capacity-from [NAME=]FILE
                         take node capacity from a 'loadtest capacity --json' result
                         (top-level "capacityQps") or a 'loadtest run --json' result
                         ("achievedQps"); NAME limits it to one site or node, otherwise
                         it applies to every node (repeatable; node beats site beats all).
                         A result that never saturated the node (a smoke run, a run
                         the node kept up with, a capacity search that is a lower
                         bound) is refused, saying why
  --allow-unsaturated    use such a result anyway; the report marks it NOT saturated
  --json                 print the report data as JSON on stdout
`;

interface Flags {
  topology?: string;
  out?: string;
  markdown?: string;
  'capacity-from'?: string[];
  'allow-unsaturated'?: boolean;
  json?: boolean;
}

export async function run(argv: string[]): Promise<number> {
  const { values: f, help } = parseFlags<Flags>(argv, {
    topology: { type: 'string' },
    out: { type: 'string' },
    markdown: { type: 'string' },
    'capacity-from': { type: 'string', multiple: true },
    'allow-unsaturated': { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!f.topology) throw new UsageError('--topology FILE is required (see --help)');
  if (!f.out && !f.markdown && !f.json) throw new UsageError('--out report.html is required (or --markdown FILE, or --json)');
  let topo = loadTopology(f.topology);
  let capacitySources: string[] = [];
  const assignments: CapacityAssignment[] = (f['capacity-from'] ?? []).map((spec) => {
    const eq = spec.indexOf('=');
    const target = eq > 0 ? spec.slice(0, eq) : undefined;
    const file = eq > 0 ? spec.slice(eq + 1) : spec;
    return { target, measured: readCapacityResult(file, undefined, { allowUnsaturated: f['allow-unsaturated'] === true }) };
  });
  if (assignments.length) {
    const applied = applyCapacities(topo, assignments);
    topo = applied.topology;
    capacitySources = applied.notes;
  }
  const report = buildPlanReport(topo, { capacitySources });
  if (f.out) writeAtomic(f.out, renderHtml(report));
  if (f.markdown) writeAtomic(f.markdown, renderMarkdown(report));
  if (f.json) {
    process.stdout.write(JSON.stringify(report, (_k, v) => (v === Infinity ? 'Infinity' : v), 2) + '\n');
    return 0;
  }
  const m = report.matrix;
  const hf = report.headroom.factor;
  const lines = [
    `topology ${report.topologyFile}: ${report.totals.sites} sites, ${report.totals.nodes} nodes, ${fmtQps(report.totals.offeredQps)} qps of ${fmtQps(report.totals.limitQps)} qps capacity; split ${report.algorithm}`,
    ...report.warnings.map((w) => `warning: ${w}`),
    ...capacitySources.map((c) => `capacity: ${c}`),
    `single failures: ${m.total - m.cascaded} of ${m.total} survive without a cascade${m.cascaded ? `; ${m.cascaded} CASCADE (worst: lose ${report.worst?.failed.join(', ')})` : ''}`,
    `growth headroom: ${!Number.isFinite(hf) ? 'unbounded' : hf >= 1 ? `+${((hf - 1) * 100).toFixed(0)}% load before a single failure cascades` : `load must fall ${((1 - hf) * 100).toFixed(0)}% before every single failure is survived`}${report.headroom.firstToCascade ? ` (first: ${report.headroom.firstToCascade})` : ''}`,
    '',
    textTable(
      ['site', 'nodes', 'recommended', 'change', 'hardest case', 'hottest then', 'note'],
      report.plan.sites.map((p) => [p.site, p.currentNodes, p.recommendedNodes ?? '-', p.change === null ? '-' : p.change > 0 ? `+${p.change}` : String(p.change), p.worstScenario, fmtPct(p.worstUtilization), p.note ?? '']),
    ),
    '',
    report.plan.verification.cascaded === 0
      ? `plan verified: the planned topology survives all ${report.plan.verification.scenarios} single failures`
      : `plan check: the planned topology still cascades in ${report.plan.verification.cascaded} of ${report.plan.verification.scenarios} single failures`,
    ...(f.out ? [`wrote ${f.out}`] : []),
    ...(f.markdown ? [`wrote ${f.markdown}`] : []),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

/** Write to a temporary file and rename, so an interrupted run never leaves half a report. */
function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } catch (err) {
    throw new Error(`cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
