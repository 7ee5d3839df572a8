// A node driven far beyond its capacity stays "up" as long as it answers within the
// probe timeout: a busy node must never withdraw itself, or its traffic lands on its
// neighbours and the failure cascades. The real CLI and resolver recurse towards a
// black-holed root (a socket that reads and drops), with max_inflight 100, while we
// flood cache-missing names: every resolution slot is taken for seconds and most
// queries are dropped. /health must answer 200 throughout, the self-probes must
// succeed, and the probe name must keep answering NOERROR (what `ip sla dns` sees).
// Also: with --workers 2, /metrics counts the queries of both workers.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { buildQuery, RCODE, TYPE } from '../../dns/index.js';
import { dnsProbe } from '../../healthcheck/probe.js';
import { parseExposition } from './exposition.js';
import { curl, httpStatus, sleep, spawnNode, waitFor, type SpawnedNode } from './helpers.js';

const NODE = '127.60.20.10';
const ROOT = '127.60.20.1';
const FLOOD_FROM = '127.60.20.20';
const W2 = '127.60.21.10';

describe('busy node (real CLI and resolver)', () => {
  let dir: string;
  let node: SpawnedNode;
  let blackhole: Socket;
  let blackholed = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ak-busy-'));
    blackhole = createSocket('udp4');
    blackhole.on('message', () => { blackholed++; });
    await new Promise<void>((r) => blackhole.bind(53, ROOT, () => r()));
    writeFileSync(join(dir, 'root.hints'), `.  3600000  NS  a.root-servers.net.\na.root-servers.net.  3600000  A  ${ROOT}\n`);
    writeFileSync(join(dir, 'node.yaml'), [
      'resolver:',
      '  root_hints: root.hints',
      '  max_inflight: 100',
      '  upstream: { query_localhost: true }',
      'health:',
      '  interval: 1s',
      '  probeTimeout: 1s',
      '  rise: 2',
      '  fall: 3',
      '  lameduck: 1',
    ].join('\n') + '\n');
    node = await spawnNode(['--config', join(dir, 'node.yaml'), '--listen', `${NODE}:0`, '--health-listen', `${NODE}:0`, '--allow', '127.0.0.0/8']);
    await waitFor('node up', async () => (await httpStatus(NODE, node.info.health.port)) === 200, 10_000);
  });
  afterAll(async () => {
    node?.kill();
    blackhole?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stays 200 while flooded with cache misses it cannot resolve', async () => {
    const port = node.info.dns[0].port;
    const senders = await Promise.all([0, 1, 2, 3].map(() => new Promise<Socket>((r) => {
      const s = createSocket('udp4');
      s.bind(0, FLOOD_FROM, () => r(s));
    })));
    let sent = 0;
    const MAX = 50_000;
    const flood = setInterval(() => {
      for (const s of senders) {
        for (let i = 0; i < 4 && sent < MAX; i++) {
          const name = `${randomBytes(6).toString('hex')}.blackhole.example`;
          s.send(buildQuery({ id: sent & 0xffff, name, type: TYPE.A, rd: true }), port, NODE);
          sent++;
        }
      }
    }, 1);
    const statuses: number[] = [];
    const probeAnswers: Array<number | undefined> = [];
    const t0 = Date.now();
    while (Date.now() - t0 < 8000) {
      statuses.push(await httpStatus(NODE, node.info.health.port, '/health', 2000));
      const p = await dnsProbe({ target: { address: NODE, port }, name: 'health.anycast-kit.invalid', type: TYPE.A, rd: true, timeoutMs: 1000 });
      probeAnswers.push(p.answered ? p.rcode : undefined);
      await sleep(200);
    }
    clearInterval(flood);
    for (const s of senders) s.close();
    const detail = JSON.parse((await curl(`http://${NODE}:${node.info.health.port}/health/detail`)).body);
    const { samples } = parseExposition((await curl(`http://${NODE}:${node.info.health.port}/metrics`)).body);

    if (process.env.AK_HC_VERBOSE) console.log({ sent, blackholed, dropped: samples.get('anycastkit_dropped_total'), load: detail.load, recent: detail.probe.recent, counts: detail.counts, statuses: statuses.length });
    // It really was beyond capacity: resolutions stuck on the black hole, misses dropped.
    expect(sent).toBeGreaterThan(10_000);
    expect(blackholed).toBeGreaterThan(50);
    const ctx = JSON.stringify({ sent, blackholed, dropped: samples.get('anycastkit_dropped_total'), statuses, probeAnswers, recent: detail.probe.recent, counts: detail.counts });
    // max_inflight is 100 and the black hole holds each slot for the whole resolution
    // budget: thousands of drops mean far beyond capacity.
    expect(samples.get('anycastkit_dropped_total'), ctx).toBeGreaterThan(2000);
    // ...and yet it reported itself healthy all along, and the probe name kept answering.
    expect(statuses.length).toBeGreaterThan(15);
    expect(statuses.filter((s) => s !== 200), ctx).toEqual([]);
    expect(probeAnswers.filter((r) => r !== RCODE.NOERROR), ctx).toEqual([]);
    expect(detail.state, ctx).toBe('up');
    expect(detail.counts.transitions, ctx).toBe(1); // starting -> up, nothing since
    // The self-probes went through the flooded listener and were answered, slowly.
    const during = detail.probe.recent.filter((p: { at: string }) => Date.parse(p.at) >= t0);
    expect(during.length).toBeGreaterThanOrEqual(5);
    expect(during.filter((p: { ok: boolean }) => p.ok).length, ctx).toBeGreaterThanOrEqual(during.length - 1);
    expect(detail.load.queriesPerSecond).toBeGreaterThan(500);
  }, 30_000);
});

describe('--workers 2: metrics cover every worker', () => {
  let node: SpawnedNode;
  beforeAll(async () => {
    node = await spawnNode(['--listen', `${W2}:0`, '--health-listen', `${W2}:0`, '--workers', '2', '--allow', '127.0.0.0/8']);
    await waitFor('node up', async () => (await httpStatus(W2, node.info.health.port)) === 200, 15_000);
  });
  afterAll(() => node?.kill());

  it('sums queries from both workers', async () => {
    const url = `http://${W2}:${node.info.health.port}/metrics`;
    const before = parseExposition((await curl(url)).body).samples;
    expect(before.get('anycastkit_workers')).toBe(2);
    const port = node.info.dns[0].port;
    // 200 queries from 200 source ports: reusePort spreads them over both workers.
    let answered = 0;
    await Promise.all(Array.from({ length: 200 }, async () => {
      const r = await dnsProbe({ target: { address: W2, port }, name: 'localhost', type: TYPE.A, rd: true, timeoutMs: 2000 });
      if (r.answered && r.rcode === RCODE.NOERROR) answered++;
    }));
    expect(answered).toBe(200);
    await sleep(300);
    const after = parseExposition((await curl(url)).body).samples;
    const q = (s: Map<string, number>) => s.get('anycastkit_queries_total{protocol="udp"}') ?? 0;
    expect(q(after) - q(before)).toBeGreaterThanOrEqual(200);
    expect(after.get('anycastkit_health_serving')).toBe(1);
  });
});
