// The Markdown twin of report.html: the same tables, for tickets and wikis.

import type { PlanReport, ScenarioSummary, SiteOutcome } from '../model/index.js';
import { fmtPct, fmtQps } from '../model/format.js';
import { usable } from './svg.js';

function mdEsc(s: string | number): string {
  return String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function mdTable(header: string[], rows: Array<Array<string | number>>, right: number[] = []): string {
  const sep = header.map((_, i) => (right.includes(i) ? '---:' : '---'));
  return [header, sep, ...rows.map((r) => r.map(mdEsc))].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

function cell(s: SiteOutcome): string {
  switch (s.state) {
    case 'failed':
      return 'failed';
    case 'lost':
      return '**LOST**';
    case 'degraded':
      return `**${s.nodesUp}/${s.nodesTotal}**`;
    case 'ok':
      return `hottest ${(s.hottestUtilization * 100).toFixed(0)}%`;
  }
}

function matrix(sites: string[], sc: ScenarioSummary[]): string {
  return mdTable(
    ['lose', ...sites, 'cascade', 'withdrawn', 'dropped (qps)'],
    sc.map((s) => [s.failed[s.failed.length - 1], ...s.sites.map(cell), s.cascaded ? '**yes**' : 'no', s.withdrawn.length, fmtQps(s.droppedQps)]),
    [sites.length + 2, sites.length + 3],
  );
}

export function renderMarkdown(r: PlanReport): string {
  const out: string[] = [];
  const hf = r.headroom.factor;
  out.push(`# Anycast DNS capacity plan`, '');
  out.push(`${r.topologyFile} · VIP ${r.vip} · ${r.totals.sites} sites, ${r.totals.nodes} nodes, ${r.totals.addresses.toLocaleString('en-US')} client addresses · split: ${r.algorithm}${r.algorithm === 'even' ? '' : ' (CEF model)'} · withdrawn above capacity × ${r.overload} · ${r.generatedAt}`, '');
  out.push('## Summary', '');
  out.push(`- **Single failures:** ${r.matrix.cascaded ? `${r.matrix.cascaded} of ${r.matrix.total} cascade` : `all ${r.matrix.total} survive without a cascade`}${r.matrix.withDrops ? `; ${r.matrix.withDrops} drop traffic` : ''}.`);
  out.push(`- **Growth headroom:** ${!Number.isFinite(hf) ? 'no load level cascades' : hf >= 1 ? `+${((hf - 1) * 100).toFixed(0)}% load before a single failure cascades (first: ${r.headroom.firstToCascade})` : `today's load must fall ${((1 - hf) * 100).toFixed(0)}% before every single failure is survived (first to cascade: ${r.headroom.firstToCascade})`}.`);
  out.push(`- **Load / capacity:** ${fmtQps(r.totals.offeredQps)} qps of ${fmtQps(r.totals.limitQps)} qps (${fmtPct(r.totals.limitQps ? r.totals.offeredQps / r.totals.limitQps : 0, 0)}).`);
  const added = r.plan.sites.reduce((a, p) => a + Math.max(0, p.change ?? 0), 0);
  out.push(`- **Plan:** ${!r.plan.achievable ? 'not reachable by adding nodes (see notes)' : added ? `add ${added} node(s)` : 'no nodes needed'}; ${r.plan.sites.filter((p) => p.exceedsPathLimit).length} site(s) need another switch.`);
  for (const w of r.warnings) out.push(`- Warning: ${w}`);
  out.push('', '## Load against capacity per site', '');
  out.push(
    mdTable(
      ['site', 'nodes', 'clients', 'load (qps)', 'capacity (qps)', 'site load / site capacity', 'hottest node (its load / its limit)', 'hottest vs fair', 'usable (qps)', 'worst single failure (qps)', 'fails over to'],
      r.sites.map((s) => [
        s.site, s.nodes, s.addresses.toLocaleString('en-US'), fmtQps(s.offeredQps), fmtQps(s.limitQps), fmtPct(s.utilization),
        `${s.hottestNode} (${fmtPct(s.hottestUtilization)})`, `${s.imbalance.toFixed(3)}x`, fmtQps(usable(s)),
        `${fmtQps(s.worstFailoverQps)} (${s.worstFailoverScenario})`, s.failover.join(' → ') || '—',
      ]),
      [1, 2, 3, 4, 5, 7, 8],
    ),
  );
  out.push('', '"usable" is the site load at which its hottest node reaches its limit: CEF does not split evenly.', '');
  out.push('## Per-node distribution (nothing failed)', '');
  out.push(
    mdTable(
      ['site', 'node', 'address (path order)', 'load (qps)', 'limit (qps)', 'load vs limit'],
      r.baseline.nodes.map((n) => [n.site, n.node, n.address, fmtQps(n.qps), fmtQps(n.limitQps), fmtPct(n.utilization)]),
      [3, 4, 5],
    ),
  );
  out.push('', '## Survival matrix', '', 'Cell: the site at the end: "hottest NN%" is the hottest node\'s load against that node\'s limit when ok (not the site\'s load against site capacity, shown as "site load / site capacity" above), **up/total** when the cascade withdrew some nodes, **LOST** when it withdrew all, failed for the initial failure.', '');
  out.push('### Site failures', '', matrix(r.matrix.sites, r.matrix.scenarios.filter((s) => s.kind === 'site')), '');
  out.push('### Node failures', '', matrix(r.matrix.sites, r.matrix.scenarios.filter((s) => s.kind === 'node')), '');
  out.push('## Cascade timeline of the worst scenario', '');
  const w = r.worst;
  if (w) {
    out.push(w.cascaded ? `Lose **${w.failed.join(', ')}**: ${w.withdrawn.length} more node(s) withdrawn over ${w.steps.length - 1} step(s); ${fmtQps(w.droppedQps)} qps dropped.` : `No single failure cascades; the hardest is losing **${w.failed.join(', ')}**.`, '');
    out.push(
      mdTable(
        ['step', 'withdrawn in this step', ...w.steps[0].sites.map((s) => `${s.site} (qps · up · hottest)`), 'dropped (qps)'],
        w.steps.map((st) => [
          st.step,
          st.withdrawn.length ? st.withdrawn.join(', ') : st.step === w.steps.length - 1 ? 'stable' : '—',
          ...st.sites.map((s) => (s.nodesUp ? `${fmtQps(s.offeredQps)} · ${s.nodesUp} · ${fmtPct(s.hottestUtilization, 0)}` : '—')),
          fmtQps(st.droppedQps),
        ]),
        [0, w.steps[0].sites.length + 2],
      ),
    );
  }
  out.push('', '## Capacity plan', '', 'Smallest number of nodes per site that survives any single site failure and any single node failure without a cascade.', '');
  out.push(
    mdTable(
      ['site', 'nodes now', 'recommended', 'change', 'per-node capacity (qps)', 'hardest case', 'hottest node then', 'switches', 'note'],
      r.plan.sites.map((p) => [
        p.site, p.currentNodes, p.recommendedNodes ?? '—', p.change === null ? '—' : p.change > 0 ? `+${p.change}` : p.change,
        fmtQps(p.nodeCapacityQps), `${p.worstScenario} (${fmtQps(p.worstOfferedQps)} qps)`, fmtPct(p.worstUtilization),
        p.exceedsPathLimit ? `**${p.switchesNeeded}** (over 16 paths)` : p.switchesNeeded, p.note ?? '',
      ]),
      [1, 2, 3, 4, 6],
    ),
  );
  const v = r.plan.verification;
  out.push('', v.cascaded === 0 ? `Verified: the planned topology survives all ${v.scenarios} single failures without a cascade.` : `Check: the planned topology still cascades in ${v.cascaded} of ${v.scenarios} single failures.`, '');
  out.push('## Assumptions', '', ...r.assumptions.map((a) => `- ${a}`), '');
  if (r.capacitySources.length) out.push('### Measured capacities', '', ...r.capacitySources.map((c) => `- ${c}`), '');
  return out.join('\n');
}
