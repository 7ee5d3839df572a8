// Opens report.html in Debian's headless Chromium and checks that it renders without
// page or console errors, makes no network request at all (the file is self-contained),
// and that the inline SVG charts are present and laid out.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPlanReport, loadTopology, parseTopologyText, syntheticTopology, type PlanReport } from '../../loadtest/model/index.js';
import { renderHtml } from '../../loadtest/report/index.js';
import { threeSite } from '../../loadtest/model/testdata/three-site.js';

const CHROMIUM = '/usr/bin/chromium';
const EXAMPLE = new URL('../../loadtest/examples/topology.yaml', import.meta.url);

// Three sites where losing dc1 cascades through dc2 and dc3 (seed-xor split).
const CASCADE = threeSite({ model: 'algorithm: seed-xor', dc1ExtraClients: '{ cidr: 100.64.0.1/32, qps: 3000 }' });

let browser: Browser;
let dir: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install the Debian package "chromium" (.ci/run does)`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  dir = mkdtempSync(join(tmpdir(), 'report-chromium-'));
});

afterAll(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function open(name: string, report: PlanReport) {
  const file = join(dir, `${name}.html`);
  writeFileSync(file, renderHtml(report));
  const url = pathToFileURL(file).href;
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  const requests: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(`${m.type()}: ${m.text()}`);
  });
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(url, { waitUntil: 'load', timeout: 20_000 });
  return { page, url, pageErrors, consoleErrors, requests };
}

async function box(page: Awaited<ReturnType<typeof open>>['page'], selector: string) {
  return page.locator(selector).first().boundingBox();
}

describe('report.html in headless Chromium', () => {
  it('renders the cascading three-site report cleanly, offline, with its charts', async () => {
    const report = buildPlanReport(parseTopologyText('cascade.yaml', CASCADE));
    expect(report.worst?.cascaded).toBe(true);
    const { page, url, pageErrors, consoleErrors, requests } = await open('cascade', report);
    try {
      expect(pageErrors).toEqual([]);
      expect(consoleErrors).toEqual([]);
      expect(requests).toEqual([url]); // the document itself, nothing else
      for (const id of ['#chart-site-load', '#chart-cascade']) {
        const b = await box(page, id);
        expect(b, id).not.toBeNull();
        expect(b!.width).toBeGreaterThan(300);
        expect(b!.height).toBeGreaterThan(100);
      }
      expect(await page.locator('#chart-node-distribution svg').count()).toBe(3);
      // One bar per node in the per-node charts; one cell per site and step in the timeline.
      expect(await page.locator('#chart-node-distribution svg rect').count()).toBe(10);
      const steps = report.worst!.steps.length;
      expect(await page.locator('#chart-cascade rect').count()).toBe(steps * 3);
      expect(await page.locator('#chart-site-load .site-row').count()).toBe(3);
      expect(await page.locator('h1').textContent()).toBe('Anycast DNS capacity plan');
      expect(await page.locator('#assumptions + ul').textContent()).toContain('the per-node split is a model');
      // Cells of the survival matrix are labelled in text, not colour alone.
      expect(await page.locator('table.matrix td.c-lost').count()).toBeGreaterThan(0);
      expect(await page.locator('table.matrix td.c-lost').first().textContent()).toBe('lost');
    } finally {
      await page.close();
    }
  });

  it('renders the example deployment and a 16-site, 256-node synthetic one', async () => {
    const reports: Array<[string, PlanReport, number]> = [
      ['example', buildPlanReport(loadTopology(EXAMPLE.pathname)), 4],
      ['synthetic', buildPlanReport(syntheticTopology({ sites: 16, nodesPerSite: 16, addressesPerSite: 4096, qpsPerSite: 150000, capacityQps: 20000, algorithm: 'universal' })), 16],
    ];
    for (const [name, report, sites] of reports) {
      const { page, url, pageErrors, consoleErrors, requests } = await open(name, report);
      try {
        expect(pageErrors, name).toEqual([]);
        expect(consoleErrors, name).toEqual([]);
        expect(requests, name).toEqual([url]);
        expect(await page.locator('#chart-node-distribution svg').count(), name).toBe(sites);
        expect(await page.locator('#chart-site-load .site-row').count(), name).toBe(sites);
        expect(await page.locator('#chart-cascade').count(), name).toBe(1);
        // No horizontal page overflow: wide tables scroll inside their own box.
        // A string: it runs in the page, and tsconfig has no DOM lib for `document`.
        const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
        expect(overflow, name).toBeLessThanOrEqual(0);
      } finally {
        await page.close();
      }
    }
  });
});
