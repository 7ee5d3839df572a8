import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from './histogram.js';
import { buildRunResult, histState, type RawRun, type RunMeta } from './merge.js';
import { splitEven } from './parallel.js';

function raw(over: Partial<RawRun>, values: Record<string, number[]>): RawRun {
  const sources = Object.entries(values).map(([address, vs]) => {
    const h = new LatencyHistogram();
    for (const v of vs) h.record(v);
    return { address, sent: vs.length, completed: vs.length, lost: 0, hist: histState(h) };
  });
  return {
    startedAtMs: 1000, durationS: 2, activeS: 2.001, elapsedS: 2.01, stoppedBy: 'count',
    sent: 0, completed: 0, lost: 0, truncated: 0, unmatched: 0, malformed: 0, unsentNoId: 0, unsentNoConn: 0, unsentBehind: 0,
    unsentSendBuf: 0, resent: 0, udpPath: 'native',
    rcodes: new Array(16).fill(0), errors: {}, channels: 2, ownDrops: 0, sources, ...over,
  };
}

const meta: RunMeta = {
  server: { host: '127.40.5.1', port: 53 }, tcp: false, clients: 10, timeoutMs: 2000, queriesFile: 'q', queryLines: 3,
  distinctQueries: 3, sourceOrder: ['127.41.5.1', '127.41.5.2', '127.41.5.3'], udpRcvbufErrors: 0, threads: 2, cpuS: 1,
};

describe('buildRunResult', () => {
  it('adds counters, merges histograms per source and keeps the given source order', () => {
    const a = raw({ sent: 3, completed: 3, rcodes: [2, 0, 0, 1, ...new Array(12).fill(0)], errors: { ECONNREFUSED: 1 } }, { '127.41.5.1': [100, 200], '127.41.5.3': [300] });
    const b = raw({ sent: 2, completed: 2, durationS: 2.5, rcodes: [2, ...new Array(15).fill(0)], errors: { ECONNREFUSED: 2 }, stoppedBy: 'interrupted' }, { '127.41.5.2': [400, 500] });
    const r = buildRunResult([a, b], meta);
    expect(r.sent).toBe(5);
    expect(r.completed).toBe(5);
    expect(r.rcodes).toEqual({ NOERROR: 4, NXDOMAIN: 1 });
    expect(r.errors).toEqual({ ECONNREFUSED: 3 });
    expect(r.durationS).toBe(2.5);
    expect(r.achievedQps).toBe(2);
    expect(r.stoppedBy).toBe('interrupted');
    expect(r.channels).toBe(4);
    expect(r.latencyMs.min).toBe(0.1);
    expect(r.latencyMs.max).toBe(0.5);
    expect(r.sources!.map((s) => [s.address, s.sent])).toEqual([['127.41.5.1', 2], ['127.41.5.2', 2], ['127.41.5.3', 1]]);
    expect(r.ownSocketDrops).toBe(0);
  });
  it('adds refused sends per thread and says so in the warnings, with the UDP path', () => {
    const r = buildRunResult([raw({ unsentSendBuf: 2, resent: 5 }, {}), raw({ resent: 1 }, {})], { ...meta, sourceOrder: [] });
    expect(r.unsent.sendBufferFull).toBe(2);
    expect(r.resent).toBe(6);
    expect(r.udpPath).toBe('native');
    expect(r.warnings.join('\n')).toMatch(/2 queries not sent: the kernel refused them/);
    expect(r.warnings.join('\n')).toMatch(/6 sends were refused by the kernel/);
    expect(buildRunResult([raw({}, {})], { ...meta, tcp: true, sourceOrder: [] }).udpPath).toBeNull();
  });
  it('says null for own drops when one thread could not tell', () => {
    expect(buildRunResult([raw({ ownDrops: null }, {}), raw({}, {})], { ...meta, sourceOrder: [] }).ownSocketDrops).toBeNull();
  });
});

describe('splitEven', () => {
  it('splits into whole parts that add up', () => {
    expect(splitEven(7001, 2)).toEqual([3501, 3500]);
    expect(splitEven(10, 3)).toEqual([4, 3, 3]);
    expect(splitEven(2, 4)).toEqual([1, 1, 0, 0]);
  });
});
