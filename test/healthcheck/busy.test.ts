// A node driven far beyond its capacity stays "up" as long as it answers within the
// probe timeout: a busy node must never withdraw itself, or its traffic lands on its
// neighbours and the failure cascades. The real CLI and resolver recurse to a root and
// a slow authoritative server that answers every query correctly, but 300-700 ms late,
// under a wildcard, so every flooded name is a fresh cache miss that holds one of the
// node's max_inflight (100) resolution slots for half a second: the node can finish
// ~200 resolutions a second, and we offer it thousands. It has to drop the rest. /health
// must answer 200 throughout, the self-probes must succeed, and the probe name must keep
// answering NOERROR (what `ip sla dns` sees). Also: with --workers 2, /metrics counts the
// queries of both workers.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { buildQuery, RCODE, TYPE } from '../../dns/index.js';
import { answerQuery, parseZoneText, startAuthServer, Zone, ZoneSet, type AuthServer } from '../../lab/authserver/index.js';
import { dnsProbe } from '../../healthcheck/probe.js';
import { parseExposition } from './exposition.js';
import { curl, httpStatus, sleep, spawnNode, waitFor, type SpawnedNode } from './helpers.js';

const NODE = '127.60.20.10';
const ROOT = '127.60.20.1';
const SLOW = '127.60.20.2';
const FLOOD_FROM = '127.60.20.20';
const W2 = '127.60.21.10';
const MAX_INFLIGHT = 100;
const DELAY_MIN_MS = 300;
const DELAY_SPREAD_MS = 400;
const WILDCARD_A = '192.0.2.53';

function zoneSet(origin: string, text: string): ZoneSet {
  const r = parseZoneText(text, { file: `${origin || 'root'}.zone`, origin: `${origin}.` });
  if (r.issues.length) throw new Error(r.issues.map((i) => i.message).join('; '));
  return new ZoneSet([Zone.fromRecords(origin, r.records)]);
}

/** An authoritative server for slow.example that answers every query right, but late. */
async function startSlowServer(): Promise<{ sock: Socket; received: () => number; close: () => void }> {
  const zones = zoneSet('slow.example', [
    '$TTL 300',
    '@ SOA ns hostmaster 1 3600 900 604800 60',
    '@ NS ns',
    `ns A ${SLOW}`,
    `* A ${WILDCARD_A}`,
  ].join('\n') + '\n');
  const sock = createSocket('udp4');
  const timers = new Set<NodeJS.Timeout>();
  let received = 0;
  sock.on('message', (packet, rinfo) => {
    received++;
    const out = answerQuery(zones, packet, { tcp: false });
    if (!out) return;
    const t = setTimeout(() => {
      timers.delete(t);
      sock.send(out, rinfo.port, rinfo.address, () => { /* a closed socket at teardown is fine */ });
    }, DELAY_MIN_MS + Math.random() * DELAY_SPREAD_MS);
    timers.add(t);
  });
  sock.on('error', () => { /* ICMP unreachable from a gone client is not fatal */ });
  await new Promise<void>((r) => sock.bind(53, SLOW, () => r()));
  return {
    sock,
    received: () => received,
    close: () => { for (const t of timers) clearTimeout(t); timers.clear(); sock.close(); },
  };
}

describe('busy node (real CLI and resolver)', () => {
  let dir: string;
  let node: SpawnedNode;
  let root: AuthServer;
  let slow: Awaited<ReturnType<typeof startSlowServer>>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ak-busy-'));
    root = await startAuthServer({
      address: ROOT, port: 53,
      zones: zoneSet('', [
        '$TTL 86400',
        '@ SOA a.root-servers.net. hostmaster.invalid. 1 3600 900 604800 86400',
        '@ NS a.root-servers.net.',
        `a.root-servers.net. A ${ROOT}`,
        'slow.example. NS ns.slow.example.',
        `ns.slow.example. A ${SLOW}`,
      ].join('\n') + '\n'),
    });
    slow = await startSlowServer();
    writeFileSync(join(dir, 'root.hints'), `.  3600000  NS  a.root-servers.net.\na.root-servers.net.  3600000  A  ${ROOT}\n`);
    writeFileSync(join(dir, 'node.yaml'), [
      'resolver:',
      '  root_hints: root.hints',
      `  max_inflight: ${MAX_INFLIGHT}`,
      '  upstream: { query_localhost: true }',
      '  validator: { enabled: false }   # a private unsigned root',
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
    slow?.close();
    await root?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stays 200 while flooded with more slow cache misses than it has resolution slots', async () => {
    const port = node.info.dns[0].port;
    // The setup works: a name under the wildcard resolves, slowly (this also primes the root).
    const warm = await dnsProbe({ target: { address: NODE, port }, name: 'warm.slow.example', type: TYPE.A, rd: true, timeoutMs: 5000 });
    expect(warm, `warm-up through the slow server failed; node stderr:\n${node.stderr()}`).toMatchObject({ answered: true, rcode: RCODE.NOERROR, answers: 1 });
    expect(warm.rttMs).toBeGreaterThanOrEqual(DELAY_MIN_MS - 20);

    const metricsUrl = `http://${NODE}:${node.info.health.port}/metrics`;
    const before = parseExposition((await curl(metricsUrl)).body).samples;
    const replies = new Map<number, number>(); // rcode -> flood answers
    const senders = await Promise.all([0, 1, 2, 3].map(() => new Promise<Socket>((r) => {
      const s = createSocket('udp4');
      s.on('message', (m) => { if (m.length >= 12) replies.set(m[3] & 0xf, (replies.get(m[3] & 0xf) ?? 0) + 1); });
      s.bind(0, FLOOD_FROM, () => r(s));
    })));
    // Paced at FLOOD_QPS (20 times what the node can resolve) for the whole window, and
    // never more than MAX in all; on a box too loaded to keep the pace it sends fewer.
    let sent = 0;
    const FLOOD_QPS = 4000;
    const MAX = 40_000;
    const floodStart = Date.now();
    const flood = setInterval(() => {
      const due = Math.min(MAX, Math.floor((Date.now() - floodStart) * FLOOD_QPS / 1000));
      for (let i = 0; i < 64 && sent < due; i++) {
        const name = `${randomBytes(6).toString('hex')}.slow.example`;
        senders[sent % senders.length].send(buildQuery({ id: sent & 0xffff, name, type: TYPE.A, rd: true }), port, NODE);
        sent++;
      }
    }, 1);
    const statuses: number[] = [];
    const probeAnswers: Array<number | undefined> = [];
    const inflightSeen: number[] = [];
    const t0 = Date.now();
    while (Date.now() - t0 < 8000) {
      statuses.push(await httpStatus(NODE, node.info.health.port, '/health', 2000));
      const p = await dnsProbe({ target: { address: NODE, port }, name: 'health.anycast-kit.invalid', type: TYPE.A, rd: true, timeoutMs: 1000 });
      probeAnswers.push(p.answered ? p.rcode : undefined);
      const m = await curl(metricsUrl);
      if (m.status === 200) inflightSeen.push(parseExposition(m.body).samples.get('anycastkit_inflight_queries') ?? -1);
      await sleep(200);
    }
    clearInterval(flood);
    // Resolutions admitted at the end still finish (the slow server answers within 0.7 s).
    await sleep(DELAY_MIN_MS + DELAY_SPREAD_MS + 800);
    for (const s of senders) s.close();
    const detail = JSON.parse((await curl(`http://${NODE}:${node.info.health.port}/health/detail`)).body);
    const { samples } = parseExposition((await curl(metricsUrl)).body);

    const answered = [...replies.values()].reduce((a, b) => a + b, 0);
    const noerror = replies.get(RCODE.NOERROR) ?? 0;
    const servfail = replies.get(RCODE.SERVFAIL) ?? 0;
    const dropped = (samples.get('anycastkit_dropped_total') ?? 0) - (before.get('anycastkit_dropped_total') ?? 0);
    const unserved = (sent - answered) + servfail;
    const figures = { sent, answered, noerror, servfail, unserved, dropped, slowReceived: slow.received(), inflightSeen, qps: detail.load?.queriesPerSecond };
    if (process.env.AK_HC_VERBOSE) console.log(figures);
    const ctx = JSON.stringify({ ...figures, statuses, probeAnswers, recent: detail.probe?.recent, counts: detail.counts });

    // It really was beyond capacity: every resolution slot taken, most of the flood not served.
    expect(sent, ctx).toBeGreaterThan(3000);
    expect(Math.max(...inflightSeen), ctx).toBeGreaterThanOrEqual(MAX_INFLIGHT * 0.9);
    expect(inflightSeen.filter((n) => n >= MAX_INFLIGHT * 0.9).length, ctx).toBeGreaterThanOrEqual(inflightSeen.length / 2);
    expect(unserved / sent, ctx).toBeGreaterThan(0.5);
    expect(dropped, ctx).toBeGreaterThan(sent * 0.3);
    // ...while it kept resolving at its capacity, correctly, through the slow server.
    expect(noerror, ctx).toBeGreaterThan(200);
    expect(slow.received(), ctx).toBeGreaterThan(200);
    // ...and yet it reported itself healthy all along, and the probe name kept answering.
    expect(statuses.length).toBeGreaterThan(10);
    expect(statuses.filter((s) => s !== 200), ctx).toEqual([]);
    expect(probeAnswers.filter((r) => r !== RCODE.NOERROR), ctx).toEqual([]);
    expect(detail.state, ctx).toBe('up');
    expect(detail.counts.transitions, ctx).toBe(1); // starting -> up, nothing since
    // The self-probes went through the flooded listener and were answered within the
    // probe timeout (one datagram lost to a full socket buffer is tolerated: fall is 3,
    // and the state checks above say it never counted).
    const during = detail.probe.recent.filter((p: { at: string }) => Date.parse(p.at) >= t0);
    expect(during.length, ctx).toBeGreaterThanOrEqual(5);
    expect(during.filter((p: { ok: boolean }) => p.ok).length, ctx).toBeGreaterThanOrEqual(during.length - 1);
  }, 45_000);
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
