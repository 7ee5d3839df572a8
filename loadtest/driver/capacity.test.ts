// Capacity search against responders with a known limit, on 127.40.3.x.
import { afterAll, describe, expect, it } from 'vitest';
import { startUdpResponder, type Responder } from '../../test/loadtest/responder.js';
import { findCapacity, judgeStep } from './capacity.js';
import { parseQueries } from './queryfile.js';
import type { RunResult } from './results.js';

const queries = parseQueries('ok.test A\nnx.test A\n', 'q');
const started: Responder[] = [];
afterAll(async () => { for (const r of started) await r.close(); });

describe('judgeStep', () => {
  const base = { completed: 100, lossPct: 0, sentQps: 1000, achievedQps: 1000, sent: 100, lost: 0, latencyMs: { p50: 1, p99: 5 } } as unknown as RunResult;
  it('passes inside both limits and names each crossed limit', () => {
    expect(judgeStep(base, 1000, 1, 10).pass).toBe(true);
    expect(judgeStep({ ...base, lossPct: 2 }, 1000, 1, 10).failedOn).toEqual(['loss']);
    expect(judgeStep({ ...base, latencyMs: { ...base.latencyMs, p99: 11 } }, 1000, 1, 10).failedOn).toEqual(['p99']);
    expect(judgeStep({ ...base, sentQps: 900 }, 1000, 1, 10).failedOn).toEqual(['generator']);
    expect(judgeStep({ ...base, completed: 0, lossPct: 100, latencyMs: { ...base.latencyMs, p99: null } }, 1000, 1, 10).failedOn).toEqual(['no-answers', 'loss']);
  });
});

describe('findCapacity', () => {
  it('finds a rate limit by loss, with the curve', async () => {
    const srv = await startUdpResponder('127.40.3.1', { limitQps: 3000 });
    started.push(srv);
    const r = await findCapacity({
      server: { host: srv.address, port: srv.port }, queries, startQps: 500, stepS: 0.5, timeoutMs: 200, pauseMs: 100,
      // Tolerant thresholds: on a shared 2-core box the generator itself may stall for a moment;
      // the limit's own signature (25% loss one step above it) is far outside them.
      maxLossPct: 5, maxP99Ms: 100, precisionPct: 10, maxTimeS: 60, minSentShare: 0.8,
    });
    const steps = JSON.stringify(r.steps.map((s) => [s.offeredQps, Math.round(s.achievedQps), s.lossPct.toFixed(1), s.p99Ms, s.failedOn.join('+')]));
    expect(r.limitedBy, steps).toBe('loss');
    expect(r.lowerBoundOnly).toBe(false);
    expect(r.capacityQps, steps).not.toBeNull();
    expect(r.capacityQps!, steps).toBeGreaterThan(2000);
    // The bucket holds 50 ms of tokens: at most 150 extra answers in a 0.5 s step.
    expect(r.capacityQps!, steps).toBeLessThanOrEqual(3400);
    // The curve is sorted by offered rate and holds every step.
    expect(r.curve.map((c) => c.offeredQps)).toEqual([...r.steps.map((s) => s.offeredQps)].sort((a, b) => a - b));
    expect(r.steps.slice(0, 3).map((s) => s.offeredQps)).toEqual([500, 1000, 2000]);
    const failing = r.steps.filter((s) => !s.pass);
    expect(failing.length).toBeGreaterThan(0);
    for (const s of failing) expect(s.lossPct).toBeGreaterThan(5);
  });

  it('stops at --max-qps and says the figure is a lower bound', async () => {
    const srv = await startUdpResponder('127.40.3.2');
    started.push(srv);
    const r = await findCapacity({ server: { host: srv.address, port: srv.port }, queries, startQps: 400, maxQps: 800, stepS: 0.3, timeoutMs: 200, pauseMs: 0, minSentShare: 0.8, maxLossPct: 5 });
    expect(r.steps.map((s) => s.offeredQps)).toEqual([400, 800]);
    expect(r.limitedBy).toBe('max-qps');
    expect(r.lowerBoundOnly).toBe(true);
    expect(r.capacityOfferedQps).toBe(800);
  });

  it('reports no capacity when even low rates break the p99 limit', async () => {
    const srv = await startUdpResponder('127.40.3.3', { delayMs: 30 });
    started.push(srv);
    const r = await findCapacity({ server: { host: srv.address, port: srv.port }, queries, startQps: 400, stepS: 0.3, timeoutMs: 500, pauseMs: 0, maxP99Ms: 10 });
    expect(r.capacityQps).toBeNull();
    expect(r.limitedBy).toBe('p99');
    expect(r.steps.length).toBe(5); // 400, then four halvings
    expect(r.steps.every((s) => s.failedOn.includes('p99') && s.lossPct === 0)).toBe(true);
  });

  it('never runs past --max-time', async () => {
    const srv = await startUdpResponder('127.40.3.4');
    started.push(srv);
    const t0 = Date.now();
    const r = await findCapacity({ server: { host: srv.address, port: srv.port }, queries, startQps: 100, stepS: 0.5, timeoutMs: 200, pauseMs: 0, maxTimeS: 2, minSentShare: 0.5, maxLossPct: 50 });
    expect((Date.now() - t0) / 1000).toBeLessThanOrEqual(2.5);
    expect(r.limitedBy).toBe('time');
    expect(r.lowerBoundOnly).toBe(true);
    expect(r.steps.length).toBeGreaterThanOrEqual(2);
  });
});
