// The memory bench (bench/memory.ts) at a tiny scale: real NSD servers and our
// resolver on 127.30.77.0/24, 3,000 fresh names, and the SVG it draws. The full run
// (1,000,000 names) is `npm run bench -- --only memory`.
import { describe, expect, it } from 'vitest';
import { curveSvg, runMemoryCurve } from '../../bench/memory.js';
import { lineChartSvg, niceTicks } from '../../bench/plot.js';
import { rssCeilingBytes } from '../../resolver/memory.js';

describe('the SVG line chart', () => {
  it('picks round ticks that cover the data', () => {
    expect(niceTicks(95)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(1_000_000)).toEqual([0, 200_000, 400_000, 600_000, 800_000, 1_000_000]);
    expect(niceTicks(0)).toEqual([0, 1]);
  });

  it('maps points into the plot area, draws limits dashed and escapes text', () => {
    const svg = lineChartSvg({ title: 'a < b & c', xLabel: 'x', yLabel: 'y', width: 400, height: 300,
      series: [{ name: 's', points: [[0, 0], [100, 100]] }], limits: [{ y: 50, label: 'half' }] });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('a &lt; b &amp; c');
    // Plot area: x 70..380, y 40..230; the y axis ends at the tick above 105 (120).
    const pts = /class="series"[^>]*points="([^"]+)"/.exec(svg)![1].split(' ');
    expect(pts[0]).toBe('70,230');
    expect(pts[1]).toBe('380,71.7');
    expect(svg).toMatch(/class="limit"[^>]*y1="150.8"[^>]*stroke-dasharray/);
  });
});

describe('the memory bench', () => {
  it('records RSS after each slice of a stream of fresh names, and draws it with the ceiling', async () => {
    const cacheBytes = 1 << 20;
    const r = await runMemoryCurve({ prefix: '127.30.77', names: 3000, cacheBytes, slices: 3, maxQps: 1000, outstanding: 50 });
    expect(r.points.map((p) => p.names)).toEqual([0, 1000, 2000, 3000]);
    expect(r.sent).toBe(3000);
    // On a loaded box dnsperf may give up on a few (2 s timeout); every answer is one
    // the stream asked for: 7 in 10 under the wildcard, 3 in 10 NXDOMAIN.
    expect(r.completed).toBeGreaterThan(2700);
    expect(Object.keys(r.rcodes).sort()).toEqual(['NOERROR', 'NXDOMAIN']);
    expect(r.rcodes.NOERROR).toBeLessThanOrEqual(2100);
    expect(r.rcodes.NXDOMAIN).toBeLessThanOrEqual(900);
    expect(r.rcodes.NOERROR + r.rcodes.NXDOMAIN).toBe(r.completed);
    for (const p of r.points) {
      expect(p.rssKiB).toBeGreaterThan(20_000);
      expect(p.hwmKiB).toBeGreaterThanOrEqual(p.rssKiB);
    }
    expect(r.ceilingKiB).toBe(rssCeilingBytes({ cacheBytes, workers: 1 }) / 1024);
    expect(Math.max(...r.points.map((p) => p.hwmKiB))).toBeLessThan(r.ceilingKiB);
    const svg = curveSvg(r, cacheBytes);
    expect(/class="series"[^>]*points="([^"]+)"/.exec(svg)![1].split(' ')).toHaveLength(4);
    expect(svg).toContain('ceiling');
  }, 90_000);
});
