// Driver behaviour against a scripted in-process responder on 127.40.2.x (sources 127.41.2.x).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import { startTcpResponder, startUdpResponder, type Responder } from '../../test/loadtest/responder.js';
import { FastUdpSocket } from '../../native/index.js';
import { udpPathAvailable } from './channel.js';
import { LoadEngine } from './engine.js';
import { ownUdpDrops } from './kernel-stats.js';
import type { IdSlots } from './slots.js';
import { diagnoseNoAnswers, runLoad } from './run.js';
import { parseQueries } from './queryfile.js';

let udp: Responder;
let tcp: Responder;
beforeAll(async () => {
  udp = await startUdpResponder('127.40.2.1');
  tcp = await startTcpResponder('127.40.2.2');
});
afterAll(async () => {
  await udp.close();
  await tcp.close();
});

const mixed = parseQueries('ok.test A\nnx.test A\nrefused.test A\ntc.test A\nok2.test AAAA\n', 'mixed');

describe('LoadEngine over UDP', () => {
  it('sends exactly --count queries and gets the rcode split from the headers', async () => {
    const r = await runLoad({ server: { host: udp.address, port: udp.port }, queries: mixed, count: 5000, clients: 50 });
    expect(r.sent).toBe(5000);
    expect(r.completed).toBe(5000);
    expect(r.lost).toBe(0);
    expect(r.stoppedBy).toBe('count');
    expect(r.ownSocketDrops).toBe(0);
    expect(r.rcodes).toEqual({ NOERROR: 3000, NXDOMAIN: 1000, REFUSED: 1000 });
    expect(r.truncated).toBe(1000);
    expect(r.unmatched).toBe(0);
    expect(r.latencyMs.p50).not.toBeNull();
    expect(r.latencyMs.min!).toBeLessThanOrEqual(r.latencyMs.p50!);
    expect(r.latencyMs.p99!).toBeLessThanOrEqual(r.latencyMs.max!);
  });

  it('keeps the open-loop schedule: the count sent is rate × duration', async () => {
    const r = await runLoad({ server: { host: udp.address, port: udp.port }, queries: mixed, qps: 2000, durationS: 1 });
    expect(r.mode).toBe('open-loop');
    // A stall longer than 250 ms (a busy shared box) makes a timed run skip ahead, counted.
    expect(r.sent + r.unsent.behindSchedule).toBe(2000);
    expect(r.completed).toBe(r.sent);
    expect(r.durationS).toBeCloseTo(1, 2);
    expect(r.sentQps).toBeCloseTo(2000, 0);
    expect(r.achievedQps).toBeGreaterThan(1900);
    expect(r.achievedQps).toBeLessThanOrEqual(2000);
  });

  it('counts unanswered queries as lost, and ignores answers with a wrong ID, question or duplicate', async () => {
    const qs = parseQueries('ok.test A\ndrop.test A\nwrongq.test A\nbadid.test A\ndup.test A\n', 'bad');
    const r = await runLoad({ server: { host: udp.address, port: udp.port }, queries: qs, count: 250, clients: 20, timeoutMs: 200 });
    expect(r.sent).toBe(250);
    expect(r.completed).toBe(100); // ok + dup
    expect(r.lost).toBe(150); // drop, wrongq, badid
    expect(r.lossPct).toBeCloseTo(60, 5);
    // wrongq (50), badid (50: another round of the same slot), dup's second answer (50).
    expect(r.unmatched).toBe(150);
  });

  it('spreads queries over every --sources address, checked on the server side', async () => {
    const before = new Map(udp.bySource);
    const sources = ['127.41.2.1', '127.41.2.2', '127.41.2.3', '127.41.2.4'];
    const r = await runLoad({ server: { host: udp.address, port: udp.port }, queries: mixed, count: 4000, clients: 40, sources });
    expect(r.completed).toBe(4000);
    expect(r.sources!.map((s) => s.address)).toEqual(sources);
    for (const s of r.sources!) {
      const seen = (udp.bySource.get(s.address) ?? 0) - (before.get(s.address) ?? 0);
      expect(seen).toBe(s.sent);
      expect(s.sent).toBeGreaterThan(500);
      expect(s.completed).toBe(s.sent);
    }
    expect(r.sources!.reduce((a, s) => a + s.sent, 0)).toBe(4000);
  });

  it('a window smaller than the number of sources still visits every source', async () => {
    const before = new Map(udp.bySource);
    const sources = Array.from({ length: 16 }, (_, i) => `127.41.2.${21 + i}`);
    const r = await runLoad({ server: { host: udp.address, port: udp.port }, queries: mixed, count: 1600, clients: 4, sources });
    expect(r.completed).toBe(1600);
    for (const s of r.sources!) {
      expect(s.sent).toBe(100);
      expect((udp.bySource.get(s.address) ?? 0) - (before.get(s.address) ?? 0)).toBe(100);
    }
  });

  it('stops early on abort and still reports', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const r = await runLoad({ server: { host: udp.address, port: udp.port }, queries: mixed, qps: 1000, durationS: 30, signal: ac.signal });
    expect(r.stoppedBy).toBe('interrupted');
    expect(r.sent).toBeGreaterThan(100);
    expect(r.sent).toBeLessThan(2000);
    expect(r.completed).toBe(r.sent);
  });

  it('reports progress each interval', async () => {
    const seen: number[] = [];
    await runLoad({
      server: { host: udp.address, port: udp.port }, queries: mixed, qps: 1000, durationS: 0.6,
      progressIntervalMs: 100, onProgress: (p) => seen.push(p.rateQps),
    });
    expect(seen.length).toBeGreaterThanOrEqual(4);
    expect(Math.max(...seen)).toBeGreaterThan(500);
  });

  it('explains a dead server: ICMP unreachable, or all timeouts', async () => {
    // A bound socket that never answers: every query times out.
    const mute = dgram.createSocket('udp4');
    await new Promise<void>((res) => mute.bind(0, '127.40.2.3', () => res()));
    const r1 = await runLoad({ server: { host: '127.40.2.3', port: mute.address().port }, queries: mixed, count: 20, clients: 5, timeoutMs: 100 });
    mute.close();
    expect(r1.completed).toBe(0);
    expect(r1.lost).toBe(20);
    expect(diagnoseNoAnswers(r1)).toMatch(/all 20 queries timed out after 100 ms/);
    // Nothing listening: the kernel answers with ICMP port unreachable.
    const r2 = await runLoad({ server: { host: '127.40.2.4', port: 9 }, queries: mixed, count: 50, clients: 5, timeoutMs: 100 });
    expect(r2.completed).toBe(0);
    expect(r2.errors.ECONNREFUSED).toBeGreaterThan(0);
    expect(diagnoseNoAnswers(r2)).toMatch(/unreachable: \d+ ICMP port-unreachable errors \(ECONNREFUSED\)/);
  });

  it('rejects sources of the other address family', async () => {
    await expect(runLoad({ server: { host: udp.address, port: udp.port }, queries: mixed, count: 1, sources: ['::1'] }))
      .rejects.toThrow(/source address ::1 is IPv6 but the server 127\.40\.2\.1 is IPv4/);
  });

  it('fails clearly for a source address that is not local', async () => {
    await expect(runLoad({ server: { host: udp.address, port: udp.port }, queries: mixed, count: 1, sources: ['192.0.2.77'] }))
      .rejects.toThrow(/cannot send from source address 192\.0\.2\.77: EADDRNOTAVAIL/);
  });

  it('sizes channels so the worst case in flight never runs out of IDs', () => {
    const e = new LoadEngine({ server: { host: udp.address, port: udp.port }, queries: mixed, qps: 200_000, timeoutMs: 2000 });
    (e as unknown as { setUp(): void }).setUp();
    const { nChan, W } = (e as unknown as { slots: IdSlots }).slots;
    expect(nChan * W).toBeGreaterThanOrEqual(200_000 * 2 * 1.2);
    expect(W).toBeLessThanOrEqual(65536);
  });
});

// sendmmsg stops short when the socket's send buffer is full (EAGAIN). Loopback frees
// send buffer space at once, so the tests make flush() hand the kernel only part of its
// queue, exactly what the addon does on EAGAIN (the rest is dropped and reported).
describe.skipIf(process.env.ANYCAST_KIT_UDP === 'dgram')('native UDP: sends the kernel refused', () => {
  function refuse(share: (n: number, call: number) => number): () => void {
    const proto = FastUdpSocket.prototype as unknown as { flush(): number };
    const orig = proto.flush;
    let call = 0;
    proto.flush = function (this: { outCount: number }) {
      const keep = share(this.outCount, call++);
      if (keep < this.outCount) this.outCount = keep;
      return orig.call(this);
    };
    return () => { proto.flush = orig; };
  }

  it('uses the addon here (a missing build must fail, not fall back quietly)', () => {
    expect(udpPathAvailable()).toBe('native');
  });

  it('sends them again: the count, the split and the IDs stay exact', async () => {
    const restore = refuse((n, call) => (call % 3 === 0 ? Math.floor(n / 2) : n));
    try {
      const r = await runLoad({ server: { host: udp.address, port: udp.port }, queries: mixed, count: 5000, clients: 50 });
      expect(r.udpPath).toBe('native');
      expect(r.resent).toBeGreaterThan(0);
      expect(r.sent).toBe(5000);
      expect(r.completed).toBe(5000);
      expect(r.lost).toBe(0);
      expect(r.unsent.sendBufferFull).toBe(0);
      expect(r.rcodes).toEqual({ NOERROR: 3000, NXDOMAIN: 1000, REFUSED: 1000 });
      expect(r.unmatched).toBe(0);
      expect(r.warnings.join('\n')).toMatch(/sends were refused by the kernel/);
    } finally {
      restore();
    }
  });

  it('gives up on a query refused for longer than the timeout, and counts it as not sent', async () => {
    const t0 = performance.now();
    // The kernel takes nothing for the first 400 ms; the timeout is 100 ms.
    const restore = refuse((n) => (performance.now() - t0 < 400 ? 0 : n));
    try {
      const r = await runLoad({ server: { host: udp.address, port: udp.port }, queries: mixed, count: 300, clients: 10, timeoutMs: 100 });
      expect(r.unsent.sendBufferFull).toBeGreaterThanOrEqual(10);
      expect(r.resent).toBeGreaterThan(r.unsent.sendBufferFull);
      // Given-up queries are not sent: a counted run replaces them and still sends exactly 300.
      expect(r.sent).toBe(300);
      expect(r.completed).toBe(300);
      expect(r.lost).toBe(0);
      expect(r.warnings.join('\n')).toMatch(/queries not sent: the kernel refused them/);
    } finally {
      restore();
    }
  });
});

describe('ownUdpDrops', () => {
  it('finds the kernel drops of our own socket in /proc/net/udp', async () => {
    const a = dgram.createSocket({ type: 'udp4', recvBufferSize: 65536 });
    const b = dgram.createSocket('udp4');
    await new Promise<void>((res) => a.bind(0, '127.40.2.5', () => res()));
    await new Promise<void>((res) => b.bind(0, '127.40.2.6', () => res()));
    await new Promise<void>((res) => a.connect(b.address().port, '127.40.2.6', () => res()));
    await new Promise<void>((res) => b.connect(a.address().port, '127.40.2.5', () => res()));
    expect(ownUdpDrops([a])).toBe(0);
    // Without yielding to the event loop, a cannot read: its small buffer overflows.
    const payload = Buffer.alloc(1000);
    for (let i = 0; i < 2000; i++) b.send(payload);
    await new Promise((res) => setTimeout(res, 50));
    expect(ownUdpDrops([a])!).toBeGreaterThan(0);
    expect(ownUdpDrops([b])).toBe(0);
    a.close();
    b.close();
  });
});

describe('LoadEngine over TCP', () => {
  it('pipelines queries, matches out-of-order answers, exact count', async () => {
    const r = await runLoad({ server: { host: tcp.address, port: tcp.port }, queries: mixed, count: 3000, clients: 30, tcp: true });
    expect(r.transport).toBe('tcp');
    expect(r.sent).toBe(3000);
    expect(r.completed).toBe(3000);
    expect(r.rcodes).toEqual({ NOERROR: 1800, NXDOMAIN: 600, REFUSED: 600 });
    expect(r.unmatched).toBe(0);
  });
  it('open loop over TCP from two sources', async () => {
    const before = new Map(tcp.bySource);
    const r = await runLoad({
      server: { host: tcp.address, port: tcp.port }, queries: mixed, qps: 1000, durationS: 0.5, tcp: true,
      sources: ['127.41.2.11', '127.41.2.12'],
    });
    expect(r.sent + r.unsent.behindSchedule).toBe(500);
    expect(r.completed).toBe(r.sent);
    for (const s of r.sources!) expect((tcp.bySource.get(s.address) ?? 0) - (before.get(s.address) ?? 0)).toBe(s.sent);
  });
  it('says when the server refuses connections', async () => {
    await expect(runLoad({ server: { host: '127.40.2.4', port: 9 }, queries: mixed, count: 10, tcp: true }))
      .rejects.toThrow(/cannot connect to server 127\.40\.2\.4:9 over TCP: ECONNREFUSED/);
  });
});
