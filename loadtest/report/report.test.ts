import { describe, expect, it } from 'vitest';
import { buildPlanReport, parseTopologyText } from '../model/index.js';
import { THREE_SITE } from '../model/testdata/three-site.js';
import { renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';

const TOPO = THREE_SITE;

const fixed = () => new Date('2026-01-02T03:04:05Z');

describe('plan report', () => {
  const report = buildPlanReport(parseTopologyText('<b>t</b>.yaml', TOPO), { now: fixed });

  it('carries the model results the planner reads', () => {
    expect(report.worst?.name).toBe('dc1-a');
    expect(report.plan.sites.map((p) => p.recommendedNodes)).toEqual([4, 5, 2]);
    // Losing dc1 sends 90000 to dc2 (60000 + 30000).
    expect(report.sites.map((s) => [s.site, s.offeredQps, s.worstFailoverQps])).toEqual([['dc1', 60000, 60000], ['dc2', 30000, 90000], ['dc3', 20000, 50000]]);
    // Single failures cascade above these load factors: dc1 lost -> dc2 takes 90000k on
    // 3 x 20000 (k <= 2/3); a dc1 node lost -> 60000k on 2 x 25000 (k <= 5/6); dc2 lost ->
    // dc3 takes 50000k on 4 x 25000 (k <= 2). The first limit is 2/3, set by losing dc1.
    expect(report.headroom.factor).toBeGreaterThan(0.666);
    expect(report.headroom.factor).toBeLessThanOrEqual(2 / 3);
    expect(report.headroom.firstToCascade).toBe('dc1');
    expect(report.generatedAt).toBe('2026-01-02T03:04:05.000Z');
  });

  it('renders one self-contained HTML page with the three charts and escaped text', () => {
    const html = renderHtml(report);
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain('id="chart-site-load"');
    expect(html).toContain('id="chart-node-distribution"');
    expect(html).toContain('id="chart-cascade"');
    expect((html.match(/<svg /g) ?? []).length).toBe(2 + 3); // site load, cascade, one per site
    // Nothing that could fetch: no scripts, no external URLs, no src/href attributes.
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|src=|href=/i);
    const urls = html.match(/https?:\/\/[^\s"'<>)]+/g) ?? [];
    expect(new Set(urls)).toEqual(new Set(['http://www.w3.org/2000/svg']));
    expect(html).toContain('&lt;b&gt;t&lt;/b&gt;.yaml');
    expect(html).not.toContain('<b>t</b>.yaml');
    expect(html).not.toContain('Cisco has not published'); // 'even' is no CEF model
    expect(html).toContain('4 of 13 cascade');
  });

  it('states that the CEF hash is a model when a CEF algorithm is used', () => {
    const cef = buildPlanReport(parseTopologyText('t.yaml', TOPO.replace('algorithm: even', 'algorithm: seed-xor')), { now: fixed });
    expect(renderHtml(cef)).toContain('Cisco has not published its CEF hash: the per-node split is a model.');
    expect(renderMarkdown(cef)).toContain('Cisco has not published its CEF hash: the per-node split is a model.');
  });

  it('gives the Markdown twin the same tables', () => {
    const md = renderMarkdown(report);
    expect(md).toContain('| site | nodes now | recommended | change |');
    expect(md).toMatch(/\| dc1 \| 3 \| 4 \| \+1 \|/);
    expect(md).toMatch(/\| dc2 \| 3 \| 5 \| \+2 \|/);
    expect(md).toMatch(/\| dc3 \| 4 \| 2 \| -2 \|/);
    // Survival matrix: one row per single failure (3 sites + 10 nodes).
    const matrixRows = md.split('\n').filter((l) => /^\| (dc\d|dc\d-[a-d]) \| (failed|\*\*LOST\*\*|hottest \d+%|\*\*\d+\/\d+\*\*) \|/.test(l));
    expect(matrixRows).toHaveLength(13);
    // Two different percentages, each labelled where it appears: the site table's site load
    // against site capacity, the matrix's hottest node against its own limit.
    expect(md).toContain('| site load / site capacity | hottest node (its load / its limit) |');
    expect(md).toMatch(/"hottest NN%" is the hottest node's load against that node's limit/);
    const html = renderHtml(report);
    expect(html).toMatch(/worst [\d.]+k? \(\d+% of site capacity\)/);
    expect(html).toMatch(/title="hottest node's load against its own limit">hottest \d+%<\/td>/);
    expect(html).not.toMatch(/<td class="c-(ok|hot)">\d+%<\/td>/);
    expect(md).toContain('| 0 | dc1-b, dc1-c |');
    expect(md).not.toContain('<svg');
  });
});
