// /health, /health/detail and /metrics through real curl (HTTP/1.0 and 1.1), and the
// health state machine driven by real UDP self-probes, against a stand-in resolver
// whose behaviour the test controls (silent, slow, answering).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNode, type NodeHandle } from '../../node/node.js';
import { dnsProbe } from '../../healthcheck/probe.js';
import { RCODE, TYPE } from '../../dns/index.js';
import { startFakeResolver, type FakeResolver } from './fake-resolver.js';
import { curl, nodeConfig, requireTool, sleep, waitFor } from './helpers.js';
import { parseExposition } from './exposition.js';

const DNS = '127.60.3.1';
const HTTP = '127.60.3.2';

describe('node endpoints (stand-in resolver)', () => {
  let node: NodeHandle;
  let fake: FakeResolver;
  let dir: string;
  let drainFile: string;
  let base: string;
  const logs: string[] = [];

  beforeAll(async () => {
    requireTool('curl', 'curl');
    dir = mkdtempSync(join(tmpdir(), 'ak-hc-'));
    drainFile = join(dir, 'drain');
    const cfg = nodeConfig({
      dnsListen: `${DNS}:0`, healthListen: `${HTTP}:0`,
      sections: { health: { intervalMs: 200, probeTimeoutMs: 200, rise: 2, fall: 3, drainFile, lameduckMs: 1500 } },
    });
    node = await startNode(cfg, {
      startResolver: async (rc) => { fake = await startFakeResolver(rc); return fake; },
      log: (l) => logs.push(l),
    });
    base = `http://${HTTP}:${node.http.port}`;
    await waitFor('node up', () => node.health === 'up', 5000);
  });
  afterAll(async () => {
    await node?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts out of service: the probe name was REFUSED until rise probes answered', () => {
    expect(fake.modeLog[0]).toBe('refused');
    expect(fake.modeLog.at(-1)).toBe('healthy');
    expect(logs.some((l) => /health starting -> up/.test(l))).toBe(true);
  });

  it('answers /health to curl --http1.0 with HTTP/1.0 200 and to curl with HTTP/1.1 200', async () => {
    const a = await curl(`${base}/health`, ['--http1.0']);
    expect(a.version).toBe('1.0');
    expect(a.status).toBe(200);
    expect(a.body).toBe('OK up\n');
    const b = await curl(`${base}/health`);
    expect(b.version).toBe('1.1');
    expect(b.status).toBe(200);
  });

  it('serves /metrics in Prometheus text to both HTTP versions', async () => {
    for (const extra of [['--http1.0'], []]) {
      const r = await curl(`${base}/metrics`, extra);
      expect(r.status).toBe(200);
      expect(r.raw.stdout).toMatch(/Content-Type: text\/plain; version=0\.0\.4/);
      const { samples } = parseExposition(r.body);
      expect(samples.get('anycastkit_health_state{state="up"}')).toBe(1);
      expect(samples.get('anycastkit_health_serving')).toBe(1);
      // The self-probes themselves are TXT queries through the listener.
      expect(samples.get('anycastkit_queries_by_qtype_total{qtype="TXT"}')).toBeGreaterThan(0);
      expect(samples.get('anycastkit_health_probes_total{result="ok"}')).toBeGreaterThanOrEqual(2);
    }
  });

  it('serves /health/detail as JSON with state, reasons, probes and load', async () => {
    // Probes taken while rising were answered REFUSED (still "alive"); wait for one taken while up.
    await waitFor('a probe answered NOERROR', () => node.monitor.recentProbes.at(-1)?.rcode === 'NOERROR', 2000, 20);
    const r = await curl(`${base}/health/detail`);
    expect(r.status).toBe(200);
    const d = JSON.parse(r.body);
    expect(d.state).toBe('up');
    expect(d.reasons[0]).toMatch(/^up/);
    expect(d.probe.recent.length).toBeGreaterThan(0);
    expect(d.probe.recent.at(-1)).toMatchObject({ ok: true, rcode: 'NOERROR' });
    expect(d.probe.targets).toEqual([{ address: DNS, port: fake.listening[0].port }]);
    expect(d.load).toHaveProperty('queriesPerSecond');
    expect(d.load).toHaveProperty('latencyMs');
    expect(d.lameduck).toMatchObject({ active: false, durationS: 1.5, source: 'config' });
  });

  it('stays up while slow but answering within the probe timeout', async () => {
    fake.delayMs = 120; // busy: 120 ms per answer, probe timeout 200 ms
    await sleep(1500);
    expect(node.health).toBe('up');
    expect((await curl(`${base}/health`, ['--http1.0'])).status).toBe(200);
    const d = JSON.parse((await curl(`${base}/health/detail`)).body);
    expect(d.probe.recent.at(-1).rttMs).toBeGreaterThanOrEqual(100);
    fake.delayMs = 0;
  });

  it('goes down after fall probes get no answer, and back up through rise', async () => {
    fake.silent = true;
    const downMs = await waitFor('down', () => node.health === 'down', 5000, 20);
    // fall=3 at 200 ms intervals with a 200 ms timeout: about 0.6-1 s, never a single miss.
    expect(downMs).toBeGreaterThan(350);
    const r = await curl(`${base}/health`, ['--http1.0']);
    expect(r.status).toBe(503);
    expect(r.body).toMatch(/down: 3 probes in a row failed/);
    expect(fake.mode).toBe('refused');
    fake.silent = false;
    await waitFor('up again', () => node.health === 'up', 5000, 20);
    expect(fake.mode).toBe('healthy');
  });

  it('drain file: 503 within one interval while DNS goes on answering; removal goes back through rise', async () => {
    writeFileSync(drainFile, '');
    const t = await waitFor('draining', async () => (await curl(`${base}/health`, ['--http1.0'])).status === 503, 3000, 20);
    expect(t).toBeLessThan(200 + 400); // one interval, plus slack for curl and a loaded CI box
    expect(node.health).toBe('draining');
    // Ordinary queries still answered; the probe name now gets NO answer (what `ip sla dns`
    // sees as a timeout on every platform; drainProbeAnswer: refused would answer REFUSED).
    const q = await dnsProbe({ target: { address: DNS, port: fake.listening[0].port }, name: 'www.example.com', type: TYPE.A, rd: true, timeoutMs: 1000 });
    expect(q).toMatchObject({ answered: true, rcode: RCODE.NOERROR, answers: 1 });
    expect(fake.mode).toBe('silent');
    const p = await dnsProbe({ target: { address: DNS, port: fake.listening[0].port }, name: 'health.anycast-kit.invalid', rd: true, timeoutMs: 300 });
    expect(p.answered).toBe(false);
    rmSync(drainFile);
    await waitFor('out of drain', () => node.health !== 'draining', 2000, 10);
    expect(node.health).toBe('starting');
    expect((await curl(`${base}/health`)).status).toBe(503);
    await waitFor('up after rise', () => node.health === 'up', 3000, 20);
  });

  it('SIGUSR1-style toggle drains and undrains', async () => {
    expect(node.toggleDrain()).toBe(true);
    expect((await curl(`${base}/health`)).status).toBe(503);
    expect(JSON.parse((await curl(`${base}/health/detail`)).body).drain.signal).toBe(true);
    expect(node.toggleDrain()).toBe(false);
    await waitFor('up after rise', () => node.health === 'up', 3000, 20);
  });

  it('answers 404 for unknown paths and 405 for POST', async () => {
    expect((await curl(`${base}/nope`)).status).toBe(404);
    expect((await curl(`${base}/health`, ['-X', 'POST'])).status).toBe(405);
  });

  it('lameduck: 503 at once, DNS keeps answering, then everything closes', async () => {
    const t0 = Date.now();
    const done = node.shutdown();
    expect(node.health).toBe('lameduck');
    expect((await curl(`${base}/health`, ['--http1.0'])).status).toBe(503);
    // Lameduck: by default no answer at all to the probe name (drainProbeAnswer: none).
    expect(fake.mode).toBe('silent');
    const probe = await dnsProbe({ target: { address: DNS, port: fake.listening[0].port }, name: node.config.resolver.probe.name, type: TYPE.TXT, timeoutMs: 300 });
    expect(probe.answered).toBe(false);
    const q = await dnsProbe({ target: { address: DNS, port: fake.listening[0].port }, name: 'www.example.com', type: TYPE.A, timeoutMs: 500 });
    expect(q.answered).toBe(true);
    await done;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
    const after = await curl(`${base}/health`);
    expect(after.status).toBe(0); // connection refused: closed
  });
});
