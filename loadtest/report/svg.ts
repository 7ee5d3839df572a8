// Inline SVG charts for the capacity report. Plain strings, no library, no external
// references (fonts, images, scripts), so the report stays one self-contained file.

import type { PlanReport, ScenarioResult, NodeOutcome } from '../model/index.js';

export function esc(s: string | number): string {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** 42500 -> "42.5k", 1250000 -> "1.25M". */
export function compactQps(q: number): string {
  const a = Math.abs(q);
  if (a >= 1e6) return `${+(q / 1e6).toFixed(2)}M`;
  if (a >= 1e3) return `${+(q / 1e3).toFixed(a >= 1e5 ? 0 : 1)}k`;
  return `${+q.toFixed(a < 10 ? 1 : 0)}`;
}

export const COLORS = {
  load: '#2f6db5',
  capacity: '#e4e9f0',
  capacityStroke: '#a3afbf',
  failover: '#f0a030',
  usable: '#c0392b',
  ok: '#2e8b57',
  warn: '#e0a100',
  over: '#c0392b',
  down: '#5f6b7a',
  grid: '#d5dbe3',
  text: '#1f2933',
  muted: '#5f6b7a',
};

/** Colour for a node or site by its hottest utilization. */
export function utilColor(u: number): string {
  if (u > 1 + 1e-9) return COLORS.over;
  if (u >= 0.8) return COLORS.warn;
  return COLORS.ok;
}

/** An axis from 0 to at least `v` in round steps (1, 2, 2.5 or 5 x 10^k), about `target` of them. */
function niceScale(v: number, target = 5): { max: number; ticks: number[] } {
  if (!(v > 0)) return { max: 1, ticks: [0, 1] };
  const raw = v / target;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
  const max = Math.ceil(v / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let t = 0; t <= max + step / 2; t += step) ticks.push(t);
  return { max, ticks };
}

/**
 * Per site: capacity (x overload), normal load, the worst load a single site failure throws
 * at it, and where the hottest node hits its limit (the load the site can really take).
 */
export function siteLoadChart(r: PlanReport): string {
  const labelW = 130;
  const rightW = 170;
  const width = 960;
  const rowH = 38;
  const top = 64;
  const plotW = width - labelW - rightW;
  const height = top + r.sites.length * rowH + 46;
  const scale = niceScale(Math.max(...r.sites.map((s) => Math.max(s.limitQps, s.worstFailoverQps, s.offeredQps, usable(s)))) * 1.02, 6);
  const max = scale.max;
  const x = (q: number) => labelW + (q / max) * plotW;
  const out: string[] = [];
  out.push(`<svg class="chart" id="chart-site-load" role="img" aria-labelledby="chart-site-load-title" viewBox="0 0 ${width} ${height}" width="100%" xmlns="http://www.w3.org/2000/svg">`);
  out.push(`<title id="chart-site-load-title">Load against capacity per site</title>`);
  out.push(`<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="${COLORS.failover}" fill-opacity="0.25"/><line x1="0" y1="0" x2="0" y2="6" stroke="${COLORS.failover}" stroke-width="2.5"/></pattern></defs>`);
  // legend
  const lg = [
    ['rect', COLORS.capacity, 'capacity x overload (all nodes up)'],
    ['rect', COLORS.load, 'load, nothing failed'],
    ['hatch', '', 'load after the worst single site failure'],
    ['line', COLORS.usable, 'usable: hottest node at its limit'],
  ];
  let lx = labelW;
  let ly = 0;
  for (const [kind, color, text] of lg) {
    const w = 20 + text.length * 6.4 + 18;
    if (lx + w > width && lx > labelW) {
      lx = labelW;
      ly += 20;
    }
    if (kind === 'rect') out.push(`<rect x="${lx}" y="${10 + ly}" width="14" height="12" fill="${color}" stroke="${COLORS.capacityStroke}" stroke-width="0.5"/>`);
    else if (kind === 'hatch') out.push(`<rect x="${lx}" y="${10 + ly}" width="14" height="12" fill="url(#hatch)" stroke="${COLORS.failover}"/>`);
    else out.push(`<line x1="${lx + 7}" y1="${8 + ly}" x2="${lx + 7}" y2="${24 + ly}" stroke="${color}" stroke-width="2" stroke-dasharray="4 2"/>`);
    out.push(`<text x="${lx + 20}" y="${21 + ly}" class="legend">${esc(text)}</text>`);
    lx += w;
  }
  // grid
  for (const t of scale.ticks) {
    out.push(`<line x1="${x(t)}" y1="${top - 6}" x2="${x(t)}" y2="${height - 40}" stroke="${COLORS.grid}" stroke-width="1"/>`);
    out.push(`<text x="${x(t)}" y="${height - 24}" text-anchor="middle" class="tick">${compactQps(t)}</text>`);
  }
  out.push(`<text x="${labelW + plotW / 2}" y="${height - 6}" text-anchor="middle" class="tick">queries per second</text>`);
  r.sites.forEach((s, i) => {
    const y = top + i * rowH;
    const u = usable(s);
    out.push(`<g class="site-row"><title>${esc(`${s.site}: ${Math.round(s.offeredQps)} qps offered of ${Math.round(s.limitQps)} qps capacity; worst single failure brings ${Math.round(s.worstFailoverQps)} qps (${s.worstFailoverScenario}); hottest node reaches its limit at ${Math.round(u)} qps`)}</title>`);
    out.push(`<text x="${labelW - 10}" y="${y + 20}" text-anchor="end" class="label">${esc(s.site)}</text>`);
    out.push(`<rect x="${x(0)}" y="${y + 4}" width="${x(s.limitQps) - x(0)}" height="24" fill="${COLORS.capacity}" stroke="${COLORS.capacityStroke}" stroke-width="0.8"/>`);
    if (s.worstFailoverQps > s.offeredQps) out.push(`<rect x="${x(0)}" y="${y + 8}" width="${x(s.worstFailoverQps) - x(0)}" height="16" fill="url(#hatch)" stroke="${COLORS.failover}" stroke-width="1"/>`);
    out.push(`<rect x="${x(0)}" y="${y + 10}" width="${Math.max(0, x(s.offeredQps) - x(0))}" height="12" fill="${COLORS.load}"/>`);
    if (u > 0 && Number.isFinite(u)) out.push(`<line x1="${x(u)}" y1="${y + 1}" x2="${x(u)}" y2="${y + 31}" stroke="${COLORS.usable}" stroke-width="2" stroke-dasharray="4 2"/>`);
    const pct = s.limitQps ? (s.worstFailoverQps / s.limitQps) * 100 : 0;
    out.push(`<text x="${labelW + plotW + 10}" y="${y + 14}" class="value">${esc(`${compactQps(s.offeredQps)} / ${compactQps(s.limitQps)} qps`)}</text>`);
    out.push(`<text x="${labelW + plotW + 10}" y="${y + 28}" class="value ${s.worstFailoverQps > u + 1e-6 ? 'bad' : 'muted'}">${esc(`worst ${compactQps(s.worstFailoverQps)} (${pct.toFixed(0)}% of site capacity)`)}</text>`);
    out.push('</g>');
  });
  out.push('</svg>');
  return out.join('\n');
}

/** Total site load at which the hottest node reaches its limit (imbalance included). */
export function usable(s: PlanReport['sites'][number]): number {
  return s.hottestUtilization > 0 ? s.offeredQps / s.hottestUtilization : s.limitQps;
}

/** Small multiple per site: one bar per node, its limit, and the fair share. */
export function nodeDistributionCharts(r: PlanReport): string {
  const bySite = new Map<string, NodeOutcome[]>();
  for (const n of r.baseline.nodes) {
    const list = bySite.get(n.site) ?? [];
    list.push(n);
    bySite.set(n.site, list);
  }
  const out: string[] = ['<div class="multiples" id="chart-node-distribution">'];
  for (const s of r.sites) {
    const nodes = bySite.get(s.site) ?? [];
    const w = 300;
    const h = 170;
    const left = 44;
    const bottom = 22;
    const topPad = 26;
    const plotW = w - left - 10;
    const plotH = h - bottom - topPad;
    const maxLimit = Math.max(...nodes.map((n) => n.limitQps));
    const scale = niceScale(Math.max(maxLimit, ...nodes.map((n) => n.qps)) * 1.05, 4);
    const max = scale.max;
    const y = (q: number) => topPad + plotH - (q / max) * plotH;
    const bw = plotW / Math.max(1, nodes.length);
    const up = nodes.filter((n) => n.state === 'up');
    const mean = up.length ? up.reduce((a, n) => a + n.qps, 0) / up.length : 0;
    const parts: string[] = [];
    parts.push(`<svg class="chart small" role="img" aria-label="${esc(`per-node load at ${s.site}`)}" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" xmlns="http://www.w3.org/2000/svg">`);
    parts.push(`<title>${esc(`${s.site}: load per node, nothing failed (imbalance ${s.imbalance.toFixed(3)}x)`)}</title>`);
    parts.push(`<text x="${left}" y="15" class="label">${esc(s.site)}</text><text x="${w - 8}" y="15" text-anchor="end" class="value ${s.imbalance > 1.1 ? 'bad' : 'muted'}">${esc(`hottest ${s.imbalance.toFixed(3)}x fair`)}</text>`);
    for (const t of scale.ticks) {
      parts.push(`<line x1="${left}" y1="${y(t)}" x2="${left + plotW}" y2="${y(t)}" stroke="${COLORS.grid}"/>`);
      parts.push(`<text x="${left - 4}" y="${y(t) + 4}" text-anchor="end" class="tick">${compactQps(t)}</text>`);
    }
    nodes.forEach((n, i) => {
      const bx = left + i * bw + bw * 0.15;
      const u = n.utilization;
      parts.push(`<rect x="${bx.toFixed(1)}" y="${y(n.qps).toFixed(1)}" width="${(bw * 0.7).toFixed(1)}" height="${(y(0) - y(n.qps)).toFixed(1)}" fill="${n.state === 'up' ? utilColor(u) : COLORS.down}"><title>${esc(`${n.node} (${n.address}): ${Math.round(n.qps)} qps, ${(u * 100).toFixed(1)}% of ${Math.round(n.limitQps)}`)}</title></rect>`);
    });
    const uniformLimit = nodes.every((n) => n.limitQps === maxLimit);
    if (uniformLimit) parts.push(`<line x1="${left}" y1="${y(maxLimit)}" x2="${left + plotW}" y2="${y(maxLimit)}" stroke="${COLORS.usable}" stroke-width="1.5"/><text x="${left + plotW}" y="${y(maxLimit) - 3}" text-anchor="end" class="tick bad">limit</text>`);
    else nodes.forEach((n, i) => parts.push(`<line x1="${left + i * bw}" y1="${y(n.limitQps)}" x2="${left + (i + 1) * bw}" y2="${y(n.limitQps)}" stroke="${COLORS.usable}" stroke-width="1.5"/>`));
    if (mean > 0) parts.push(`<line x1="${left}" y1="${y(mean)}" x2="${left + plotW}" y2="${y(mean)}" stroke="${COLORS.text}" stroke-width="1" stroke-dasharray="3 3"><title>fair share ${Math.round(mean)} qps</title></line>`);
    parts.push(`<text x="${left + plotW / 2}" y="${h - 6}" text-anchor="middle" class="tick">${nodes.length} nodes, by address (CEF path order)</text>`);
    parts.push('</svg>');
    out.push(parts.join(''));
  }
  out.push('</div>');
  return out.join('\n');
}

/** Steps (columns) x sites (rows): each cell the site's load and state in that step. */
export function cascadeTimelineChart(sc: ScenarioResult): string {
  const sites = sc.steps[0].sites.map((s) => s.site);
  const labelW = 120;
  const colW = Math.max(120, Math.min(190, Math.floor(820 / sc.steps.length)));
  const rowH = 34;
  const top = 34;
  const wdH = 64;
  const width = labelW + sc.steps.length * colW + 10;
  const height = top + sites.length * rowH + wdH;
  const out: string[] = [];
  out.push(`<svg class="chart" id="chart-cascade" role="img" aria-labelledby="chart-cascade-title" viewBox="0 0 ${width} ${height}" width="${Math.min(width, 960)}" xmlns="http://www.w3.org/2000/svg">`);
  out.push(`<title id="chart-cascade-title">${esc(`Cascade timeline: lose ${sc.failed.join(', ')}`)}</title>`);
  sc.steps.forEach((st, c) => {
    const cx = labelW + c * colW;
    out.push(`<text x="${cx + colW / 2}" y="20" text-anchor="middle" class="label">step ${st.step}</text>`);
    st.sites.forEach((s, r) => {
      const y = top + r * rowH;
      const failedAtStart = sc.sites[r].state === 'failed';
      const down = s.nodesUp === 0;
      const fill = down ? (failedAtStart ? '#b8c1cc' : COLORS.down) : utilColor(s.hottestUtilization);
      const text = down ? (failedAtStart ? 'failed' : 'withdrawn') : `${compactQps(s.offeredQps)} · ${s.nodesUp} up · hottest node ${(s.hottestUtilization * 100).toFixed(0)}%`;
      out.push(`<g><title>${esc(`step ${st.step}, ${s.site}: ${Math.round(s.offeredQps)} qps offered, ${s.nodesUp} nodes up, hottest node ${(s.hottestUtilization * 100).toFixed(1)}% of its limit`)}</title>`);
      out.push(`<rect x="${cx + 3}" y="${y + 3}" width="${colW - 6}" height="${rowH - 6}" rx="4" fill="${fill}" fill-opacity="${down ? 0.85 : 0.9}"/>`);
      out.push(`<text x="${cx + colW / 2}" y="${y + rowH / 2 + 4}" text-anchor="middle" class="cell">${esc(text)}</text></g>`);
    });
    const wd = st.withdrawn;
    const lines = wd.length === 0 ? [c === sc.steps.length - 1 ? 'stable' : ''] : wd.length <= 2 ? wd : [wd[0], `+${wd.length - 1} more`];
    if (wd.length) out.push(`<text x="${cx + colW / 2}" y="${top + sites.length * rowH + 16}" text-anchor="middle" class="tick bad">${esc(`${wd.length} withdrawn`)}</text>`);
    lines.forEach((l, i) => out.push(`<text x="${cx + colW / 2}" y="${top + sites.length * rowH + (wd.length ? 32 : 16) + i * 14}" text-anchor="middle" class="tick">${esc(l)}</text>`));
    if (st.droppedQps > 0) out.push(`<text x="${cx + colW / 2}" y="${height - 4}" text-anchor="middle" class="tick bad">${esc(`dropped ${compactQps(st.droppedQps)}`)}</text>`);
  });
  sites.forEach((name, r) => out.push(`<text x="${labelW - 10}" y="${top + r * rowH + rowH / 2 + 4}" text-anchor="end" class="label">${esc(name)}</text>`));
  out.push('</svg>');
  return out.join('\n');
}
