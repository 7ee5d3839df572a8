// The per-zone cap's wait queue (zone-queue.ts, zone-limit.ts) and its settings.

import { describe, expect, it } from 'vitest';
import { YamlSource } from '../../common/yaml-source.js';
import { readResolverSection } from '../config.js';
import { emptyStats } from '../stats.js';
import { Canceller, type Upstream, type UpstreamOutcome, type UpstreamQuestion } from '../transport/upstream.js';
import { ZoneLimitedUpstream, zoneLimitsOf, type ZoneLimits } from './zone-limit.js';

/** An upstream whose queries settle only when the test says so; it records what it was asked. */
function held(): Upstream & { asked: UpstreamQuestion[]; answerOne(): void; answerAll(): void } {
  const pending: Array<() => void> = [];
  const asked: UpstreamQuestion[] = [];
  const ok: UpstreamOutcome = { kind: 'timeout', tcp: false };
  return {
    asked,
    query: (q) => { asked.push(q); return new Promise<UpstreamOutcome>((res) => pending.push(() => res(ok))); },
    close: async () => {},
    answerOne: () => pending.shift()?.(),
    answerAll: () => { for (const p of pending.splice(0)) p(); },
  };
}

const q = (zone: string, extra: Partial<UpstreamQuestion> = {}): UpstreamQuestion =>
  ({ address: '192.0.2.1', port: 53, name: `x.${zone}`, type: 1, class: 1, timeoutMs: 100, tcpTimeoutMs: 100, lingerMs: 3900, edns: true, zone, ...extra });
const tick = () => new Promise((r) => setImmediate(r));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ZoneLimitedUpstream with a wait queue', () => {
  it('a query past the cap waits and is sent, in order, when a slot of its zone frees: no ZONE_LIMIT', async () => {
    const inner = held();
    const stats = emptyStats();
    const up = new ZoneLimitedUpstream(inner, () => ({ max: 2, queueLength: 10, waitMs: 1000 }), stats);
    const out = [up.query(q('busy.')), up.query(q('busy.')), up.query(q('busy.', { name: 'third.busy.' })), up.query(q('busy.', { name: 'fourth.busy.' }))];
    await tick();
    expect(inner.asked).toHaveLength(2);
    expect(up.waitingFor('busy.')).toBe(2);
    expect(stats.defence.zoneQueueWaiting).toBe(2);
    // Another zone is not held up by busy.'s queue.
    void up.query(q('other.'));
    expect(inner.asked).toHaveLength(3);
    inner.answerOne(); // the first busy. query settles: its slot goes to the oldest waiter
    await tick(); await tick();
    expect(inner.asked.map((a) => a.name)).toContain('third.busy.');
    expect(inner.asked.map((a) => a.name)).not.toContain('fourth.busy.');
    expect(up.outstandingFor('busy.')).toBe(2);
    inner.answerAll();
    await tick(); await tick();
    inner.answerAll();
    const results = await Promise.all(out);
    expect(results.every((r) => r.kind === 'timeout')).toBe(true);
    expect(stats.defence).toMatchObject({ zoneQueued: 2, zoneQueueFull: 0, zoneQueueExpired: 0, zoneLimited: 0, zoneQueueWaiting: 0 });
    inner.answerAll();
    await tick();
    expect(up.zones).toBe(0);
  });

  it('refuses at once when the queue is full, and after the wait bound when no slot frees', async () => {
    const inner = held();
    const stats = emptyStats();
    const up = new ZoneLimitedUpstream(inner, () => ({ max: 1, queueLength: 1, waitMs: 30 }), stats);
    void up.query(q('dead.'));
    const waiting = up.query(q('dead.'));
    const t0 = performance.now();
    const full = await up.query(q('dead.'));
    expect(full).toMatchObject({ kind: 'error', code: 'ZONE_LIMIT' });
    expect(performance.now() - t0).toBeLessThan(20);
    const expired = await waiting;
    expect(expired).toMatchObject({ kind: 'error', code: 'ZONE_LIMIT' });
    expect((expired as { detail: string }).detail).toMatch(/within 30 ms/);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
    expect(stats.defence).toMatchObject({ zoneQueued: 1, zoneQueueFull: 1, zoneQueueExpired: 1, zoneLimited: 2, zoneQueueWaiting: 0 });
    expect(inner.asked).toHaveLength(1);
    inner.answerAll();
  });

  it('waits only what the budget holds beyond the try\'s timeout, and takes the wait out of the linger it sends with', async () => {
    const inner = held();
    const stats = emptyStats();
    const up = new ZoneLimitedUpstream(inner, () => ({ max: 1, queueLength: 5, waitMs: 10_000 }), stats);
    void up.query(q('z.'));
    const t0 = performance.now();
    const short = await up.query(q('z.', { timeoutMs: 500, lingerMs: 20 }));
    expect(short).toMatchObject({ kind: 'error', code: 'ZONE_LIMIT' });
    // It waited only its linger (20 ms), never into the 500 ms timeout it would be sent with.
    expect(performance.now() - t0).toBeLessThan(400);
    // A waiter handed a slot after ~50 ms is sent with ~50 ms less of linger.
    const later = up.query(q('z.', { name: 'later.z.', timeoutMs: 100, lingerMs: 900 }));
    await sleep(50);
    inner.answerOne();
    await tick(); await tick();
    const sent = inner.asked.find((a) => a.name === 'later.z.')!;
    expect(sent.timeoutMs).toBe(100);
    expect(sent.lingerMs!).toBeLessThanOrEqual(860);
    expect(sent.lingerMs!).toBeGreaterThan(500);
    inner.answerAll();
    await later;
  });

  it('a cancelled waiter leaves the queue at once and is never sent', async () => {
    const inner = held();
    const stats = emptyStats();
    const up = new ZoneLimitedUpstream(inner, () => ({ max: 1, queueLength: 5, waitMs: 1000 }), stats);
    void up.query(q('z.'));
    const c = new Canceller();
    const p = up.query(q('z.', { name: 'cancelled.z.', signal: c.signal }));
    expect(up.waitingFor('z.')).toBe(1);
    c.abort();
    expect(await p).toMatchObject({ kind: 'error', code: 'CLOSED' });
    expect(up.waitingFor('z.')).toBe(0);
    expect(stats.defence.zoneQueueWaiting).toBe(0);
    inner.answerAll();
    await tick();
    expect(inner.asked.map((a) => a.name)).not.toContain('cancelled.z.');
    expect(up.zones).toBe(0);
  });

  it('a reload that raises the cap lets the waiters out as slots turn over', async () => {
    const inner = held();
    const stats = emptyStats();
    let lim: ZoneLimits = { max: 1, queueLength: 5, waitMs: 1000 };
    const up = new ZoneLimitedUpstream(inner, () => lim, stats);
    const all = [up.query(q('z.')), up.query(q('z.')), up.query(q('z.'))];
    expect(up.waitingFor('z.')).toBe(2);
    lim = { ...lim, max: 10 };
    inner.answerOne();
    await tick(); await tick();
    expect(up.waitingFor('z.')).toBe(0);
    expect(inner.asked).toHaveLength(3);
    inner.answerAll();
    await Promise.all(all);
  });
});

describe('flood.zone_queue_length and flood.zone_queue_wait_ms', () => {
  const fromYaml = (text: string) => {
    const src = YamlSource.fromText('node.yaml', text);
    const cfg = readResolverSection(src);
    return { cfg, issues: src.issues.map((i) => `${i.file}:${i.line}: ${i.field}: ${i.message}`) };
  };

  it('default to a tenth of max_inflight and 1000 ms', () => {
    expect(zoneLimitsOf(fromYaml('resolver:\n  max_inflight: 600\n').cfg)).toEqual({ max: 1000, queueLength: 60, waitMs: 1000 });
    expect(zoneLimitsOf(fromYaml('resolver: {}\n').cfg)).toEqual({ max: 1000, queueLength: 1000, waitMs: 1000 });
  });

  it('are read from the file', () => {
    const { cfg, issues } = fromYaml('resolver:\n  flood:\n    max_outstanding_per_zone: 20\n    zone_queue_length: 0\n    zone_queue_wait_ms: 250\n');
    expect(issues).toEqual([]);
    expect(zoneLimitsOf(cfg)).toEqual({ max: 20, queueLength: 0, waitMs: 250 });
  });

  it('report bad values as FILE:LINE: FIELD: MESSAGE', () => {
    const { issues } = fromYaml('resolver:\n  flood:\n    zone_queue_length: -1\n    zone_queue_wait_ms: 0\n');
    expect(issues).toEqual([
      'node.yaml:3: resolver.flood.zone_queue_length: must be a whole number from 0 to 1000000, got -1',
      'node.yaml:4: resolver.flood.zone_queue_wait_ms: must be a whole number from 1 to 120000, got 0',
    ]);
  });
});
