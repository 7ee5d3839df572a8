// report.html: one self-contained page for a capacity planner. Inline CSS and SVG only:
// no scripts, fonts, images or links that fetch anything.

import type { PlanReport, ScenarioSummary, SiteOutcome } from '../model/index.js';
import { fmtPct, fmtQps } from '../model/format.js';
import { cascadeTimelineChart, esc, nodeDistributionCharts, siteLoadChart, usable } from './svg.js';

const CSS = `
:root { --text:#1f2933; --muted:#5f6b7a; --line:#d5dbe3; --bg:#f6f8fa; --ok:#2e8b57; --warn:#b07d00; --bad:#c0392b; --blue:#2f6db5; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color:var(--text); background:#fff; }
main { max-width: 1040px; margin: 0 auto; padding: 28px 28px 60px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 40px 0 8px; padding-top: 8px; border-top: 1px solid var(--line); }
h3 { font-size: 16px; margin: 22px 0 6px; }
p { margin: 6px 0 10px; }
.sub { color: var(--muted); margin: 0 0 20px; }
.lead { color: var(--muted); max-width: 820px; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin: 18px 0 8px; }
.card { border: 1px solid var(--line); border-left-width: 5px; border-radius: 6px; padding: 12px 14px; background: #fff; }
.card .k { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.card .v { font-size: 22px; font-weight: 650; margin: 2px 0; }
.card .d { font-size: 13px; color: var(--muted); }
.card.good { border-left-color: var(--ok); } .card.warn { border-left-color: #e0a100; } .card.bad { border-left-color: var(--bad); } .card.info { border-left-color: var(--blue); }
table { border-collapse: collapse; width: 100%; margin: 8px 0 14px; font-size: 14px; }
th, td { padding: 6px 9px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: var(--bg); font-weight: 600; font-size: 13px; }
.scroll { overflow-x: auto; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:hover { background: #fafbfc; }
.matrix td, .matrix th { text-align: center; padding: 4px 5px; font-size: 12.5px; }
.matrix td:first-child, .matrix th:first-child { text-align: left; white-space: nowrap; }
.c-ok { background: #e6f4ea; color: #1e5e3a; } .c-hot { background: #fff4d6; color: #7a5600; }
.c-degraded { background: #ffe1b3; color: #7a3e00; font-weight: 600; } .c-lost { background: var(--bad); color: #fff; font-weight: 600; }
.c-failed { background: #dfe3e8; color: #3e4a57; }
.yes { color: var(--bad); font-weight: 650; } .no { color: var(--ok); }
.bad { fill: var(--bad); color: var(--bad); } .muted { fill: var(--muted); color: var(--muted); }
.flag { display: inline-block; font-size: 12px; padding: 1px 7px; border-radius: 10px; background: #fde2e0; color: var(--bad); font-weight: 600; }
.flag.ok { background: #e6f4ea; color: var(--ok); }
svg.chart { display: block; margin: 8px 0 6px; max-width: 100%; height: auto; }
svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: var(--text); }
svg .legend { font-size: 12px; fill: var(--muted); } svg .tick { font-size: 11px; fill: var(--muted); } svg .tick.bad { fill: var(--bad); }
svg .label { font-size: 13px; font-weight: 600; } svg .value { font-size: 12px; } svg .cell { font-size: 12px; fill: #fff; font-weight: 600; }
svg .value.bad { fill: var(--bad); font-weight: 600; } svg .value.muted { fill: var(--muted); }
.multiples { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 10px 16px; }
.note { background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; font-size: 14px; }
ul.tight { margin: 6px 0; padding-left: 20px; } ul.tight li { margin: 3px 0; }
details { margin: 8px 0; } summary { cursor: pointer; color: var(--blue); }
footer { margin-top: 40px; color: var(--muted); font-size: 13px; }
@media print { h2 { break-before: auto; } .card { break-inside: avoid; } }
`;

export function renderHtml(r: PlanReport): string {
  const worstSiteLoss = r.matrix.scenarios.filter((s) => s.kind === 'site' && s.cascaded).length;
  const singles = r.matrix.total;
  const cascades = r.matrix.cascaded;
  const added = r.plan.sites.reduce((a, p) => a + Math.max(0, p.change ?? 0), 0);
  const spare = r.plan.sites.reduce((a, p) => a + Math.max(0, -(p.change ?? 0)), 0);
  const switches = r.plan.sites.filter((p) => p.exceedsPathLimit);
  const hf = r.headroom.factor;
  const cards = [
    card(cascades ? 'bad' : 'good', 'Single failures', cascades ? `${cascades} of ${singles} cascade` : `all ${singles} survive`, cascades ? `${worstSiteLoss} site loss(es) and ${cascades - worstSiteLoss} node loss(es) set off a cascade` : 'no single site or node loss withdraws anything else'),
    card(hf < 1 ? 'bad' : hf < 1.25 ? 'warn' : 'good', 'Growth headroom', !Number.isFinite(hf) ? 'unbounded' : hf >= 1 ? `+${((hf - 1) * 100).toFixed(0)}% load` : 'none', !Number.isFinite(hf) ? 'no load level cascades' : hf >= 1 ? `before a single failure cascades (first: ${r.headroom.firstToCascade})` : `a single failure already cascades; load would have to fall ${((1 - hf) * 100).toFixed(0)}% (first: ${r.headroom.firstToCascade})`),
    card('info', 'Load / capacity', `${fmtQps(r.totals.offeredQps)} qps`, `of ${fmtQps(r.totals.limitQps)} qps across ${r.totals.nodes} nodes (${fmtPct(r.totals.limitQps ? r.totals.offeredQps / r.totals.limitQps : 0, 0)})`),
    card(!r.plan.achievable || switches.length ? 'bad' : added ? 'warn' : 'good', 'Plan', !r.plan.achievable ? 'not reachable by adding nodes' : added ? `add ${added} node${added === 1 ? '' : 's'}` : 'no nodes needed', `${spare ? `${spare} spare node(s) beyond the minimum; ` : ''}${switches.length ? `${switches.length} site(s) need another switch` : 'within 16 paths per switch'}`),
  ].join('\n');

  const sitesTable = table(
    ['site', 'nodes', 'load (qps)', 'capacity (qps)', 'site load / site capacity', 'hottest node (its load / its limit)', 'hottest vs fair', 'usable (qps)', 'worst single failure (qps)', 'fails over to'],
    r.sites.map((s) => [
      `<span title="${esc(`${s.addresses.toLocaleString('en-US')} client addresses, ${fmtQps(s.clientsQps)} qps of its own`)}">${esc(s.site)}</span>`,
      num(s.nodes),
      num(fmtQps(s.offeredQps)),
      num(fmtQps(s.limitQps)),
      num(fmtPct(s.utilization)),
      `${esc(s.hottestNode)} <span class="muted">${fmtPct(s.hottestUtilization)}</span>`,
      num(`${s.imbalance.toFixed(3)}x`),
      num(fmtQps(usable(s))),
      `<span class="${s.worstFailoverQps > usable(s) + 1e-6 ? 'bad' : ''}">${fmtQps(s.worstFailoverQps)}</span> <span class="muted">${esc(s.worstFailoverScenario)}</span>`,
      esc(s.failover.join(' → ') || '—'),
    ]),
    [1, 2, 3, 4, 6, 7],
  );

  const siteScen = r.matrix.scenarios.filter((s) => s.kind === 'site');
  const nodeScen = r.matrix.scenarios.filter((s) => s.kind === 'node');
  const badNodes = nodeScen.filter((s) => s.cascaded || s.droppedQps > 0);
  const matrixHtml = [
    `<h3>Site failures</h3>`,
    matrixTable(r.matrix.sites, siteScen),
    badNodes.length ? `<h3>Node failures that cascade or drop traffic (${badNodes.length} of ${nodeScen.length})</h3>${matrixTable(r.matrix.sites, badNodes)}` : `<p>No single node failure cascades or drops traffic (${nodeScen.length} checked).</p>`,
    `<details><summary>All ${nodeScen.length} node failures</summary>${matrixTable(r.matrix.sites, nodeScen)}</details>`,
  ].join('\n');

  const worst = r.worst;
  const worstHtml = worst
    ? [
        `<p>${worst.cascaded ? `Losing <b>${esc(worst.failed.join(', '))}</b> is the worst single failure: ${worst.withdrawn.length} more node(s) are withdrawn over ${worst.steps.length - 1} step(s) and <b>${fmtQps(worst.droppedQps)} qps</b> (${fmtPct(worst.offeredQps ? worst.droppedQps / worst.offeredQps : 0)}) is dropped.` : `No single failure cascades. The hardest one is losing <b>${esc(worst.failed.join(', '))}</b>: the hottest surviving node runs at ${fmtPct(Math.max(...worst.steps[worst.steps.length - 1].sites.map((s) => (s.nodesUp ? s.hottestUtilization : 0))))} of its limit.`}</p>`,
        cascadeTimelineChart(worst),
        `<p class="muted">Each cell: load offered to the site · nodes up · hottest node against its limit. Green below 80%, amber 80–100%, red above (those nodes fail their SLA check and are withdrawn in that step).</p>`,
        table(
          ['step', 'withdrawn in this step', ...worst.steps[0].sites.map((s) => `${esc(s.site)} (qps, up)`), 'dropped (qps)'],
          worst.steps.map((st) => [
            num(st.step),
            st.withdrawn.length ? esc(st.withdrawn.join(', ')) : st.step === worst.steps.length - 1 ? '<i>stable</i>' : '—',
            ...st.sites.map((s) => num(s.nodesUp ? `${fmtQps(s.offeredQps)} · ${s.nodesUp}` : '—')),
            num(fmtQps(st.droppedQps)),
          ]),
          [0, ...worst.steps[0].sites.map((_, i) => i + 2), worst.steps[0].sites.length + 2],
        ),
      ].join('\n')
    : '<p>No scenarios.</p>';

  const anyNote = r.plan.sites.some((p) => p.note);
  const planTable = table(
    ['site', 'nodes now', 'recommended', 'change', 'per-node capacity (qps)', 'hardest case', 'hottest node then', 'switches', ...(anyNote ? ['note'] : [])],
    r.plan.sites.map((p) => [
      esc(p.site),
      num(p.currentNodes),
      num(p.recommendedNodes ?? '—'),
      num(p.change === null ? '—' : p.change > 0 ? `+${p.change}` : p.change),
      num(fmtQps(p.nodeCapacityQps)),
      `${esc(p.worstScenario)} <span class="muted">(${fmtQps(p.worstOfferedQps)} qps)</span>`,
      num(fmtPct(p.worstUtilization)),
      p.exceedsPathLimit ? `<span class="flag">${p.switchesNeeded} (over 16 paths)</span>` : num(p.switchesNeeded),
      ...(anyNote ? [esc(p.note ?? '')] : []),
    ]),
    [1, 2, 3, 4, 6],
  );
  const v = r.plan.verification;

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${esc(r.title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<h1>Anycast DNS capacity plan</h1>
<p class="sub">${esc(r.topologyFile)} · VIP ${esc(r.vip)} · ${r.totals.sites} sites, ${r.totals.nodes} nodes, ${r.totals.addresses.toLocaleString('en-US')} client addresses · split: ${esc(r.algorithm)}${r.algorithm === 'even' ? '' : ' (CEF model)'} · withdrawn above capacity × ${r.overload} · ${esc(r.generatedAt)}</p>
<section class="cards">
${cards}
</section>
${r.warnings.length ? `<div class="note"><b>Warnings</b><ul class="tight">${r.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul></div>` : ''}

<h2 id="sites">Load against capacity per site</h2>
<p class="lead">The bar is the site's load with nothing failed; the hatched bar the load after the worst single site failure (its clients arrive here first); the grey box the sum of its nodes' capacity. The dashed red line is what the site can <i>really</i> take: CEF does not split evenly, so the hottest node reaches its limit first. The percentage beside each bar is the <b>site's</b> load after that failure against the <b>site's</b> capacity; the survival matrix below shows a different measure, the <b>hottest node's</b> load against its own limit, which is higher whenever CEF splits unevenly.</p>
${siteLoadChart(r)}
${sitesTable}

<h2 id="distribution">Per-node distribution</h2>
<p class="lead">Load per node with nothing failed, nodes in CEF path order (by address). The dashed line is a fair share; the red line each node's limit. Imbalance, not the average, decides when the hottest node fails its SLA check.</p>
${nodeDistributionCharts(r)}

<h2 id="survival">Survival matrix</h2>
<p class="lead">Every single site and single node failure, run until nothing changes. A cell shows the site at the end: <span class="c-ok">&nbsp;ok&nbsp;</span> with its <b>hottest node's</b> load against that node's limit (not the site's load against site capacity, as in the chart above), <span class="c-degraded">&nbsp;up/total&nbsp;</span> when the cascade withdrew some of its nodes, <span class="c-lost">&nbsp;lost&nbsp;</span> when it withdrew all of them, <span class="c-failed">&nbsp;failed&nbsp;</span> for the initial failure.</p>
${matrixHtml}

<h2 id="worst">Cascade timeline of the worst scenario</h2>
${worstHtml}

<h2 id="plan">Capacity plan</h2>
<p class="lead">The smallest number of nodes per site that survives any single site failure and any single node failure without a cascade. Each planned node is assumed to have the site's smallest node capacity. A site above 16 nodes needs another switch: CEF installs at most 16 equal-cost paths.</p>
${planTable}
<p>${v.cascaded === 0 ? `<span class="flag ok">verified</span> The planned topology was run through all ${v.scenarios} single failures: none cascades.` : `<span class="flag">check</span> The planned topology still cascades in ${v.cascaded} of ${v.scenarios} single failures (see the notes above).`}${v.withDrops ? ` ${v.withDrops} scenario(s) still drop traffic because a site has no failover site.` : ''}</p>

<h2 id="assumptions">Assumptions</h2>
<ul class="tight">${r.assumptions.map((a) => `<li>${esc(a)}</li>`).join('')}</ul>
${r.capacitySources.length ? `<h3>Measured capacities</h3><ul class="tight">${r.capacitySources.map((c) => `<li>${esc(c)}</li>`).join('')}</ul>` : ''}
<footer>Generated by anycast-kit loadtest plan in ${r.timings.modelMs.toFixed(0)} ms of model time. This page loads nothing from the network.</footer>
</main>
</body>
</html>
`;
}

function card(kind: string, k: string, v: string, d: string): string {
  return `<div class="card ${kind}"><div class="k">${esc(k)}</div><div class="v">${esc(v)}</div><div class="d">${esc(d)}</div></div>`;
}

const NUM = Symbol('num');
type Cell = string | { [NUM]: true; html: string };
function num(v: string | number): Cell {
  return { [NUM]: true, html: esc(String(v)) };
}

function table(header: string[], rows: Cell[][], numericCols: number[] = []): string {
  const th = header.map((h, i) => `<th${numericCols.includes(i) ? ' class="n"' : ''}>${h}</th>`).join('');
  const body = rows
    .map((r) => `<tr>${r.map((c) => (typeof c === 'string' ? `<td>${c}</td>` : `<td class="n">${c.html}</td>`)).join('')}</tr>`)
    .join('\n');
  return `<div class="scroll"><table><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

function matrixCell(s: SiteOutcome): string {
  switch (s.state) {
    case 'failed':
      return '<td class="c-failed">failed</td>';
    case 'lost':
      return '<td class="c-lost">lost</td>';
    case 'degraded':
      return `<td class="c-degraded">${s.nodesUp}/${s.nodesTotal}</td>`;
    case 'ok':
      return `<td class="${s.hottestUtilization >= 0.8 ? 'c-hot' : 'c-ok'}" title="hottest node's load against its own limit">hottest ${(s.hottestUtilization * 100).toFixed(0)}%</td>`;
  }
}

function matrixTable(sites: string[], scenarios: ScenarioSummary[]): string {
  const head = `<tr><th>lose</th>${sites.map((s) => `<th>${esc(s)}</th>`).join('')}<th>cascade</th><th class="n">withdrawn</th><th class="n">dropped (qps)</th></tr>`;
  const rows = scenarios.map(
    (s) =>
      `<tr><td>${esc(s.failed[s.failed.length - 1])}</td>${s.sites.map(matrixCell).join('')}<td class="${s.cascaded ? 'yes' : 'no'}">${s.cascaded ? 'yes' : 'no'}</td><td class="n">${s.withdrawn.length}</td><td class="n">${fmtQps(s.droppedQps)}</td></tr>`,
  );
  return `<div class="scroll"><table class="matrix"><thead>${head}</thead><tbody>\n${rows.join('\n')}\n</tbody></table></div>`;
}
