// Serve-stale through the real front and real sockets (127.10.1.3x), with a
// scripted Resolution whose behaviour each test sets: fail, hang, or answer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RCODE, TYPE } from '../../dns/constants.js';
import type { Message } from '../../dns/message.js';
import { rdataToText } from '../../dns/rdata.js';
import { defaultResolverConfig, type ResolverConfig } from '../config.js';
import { startSingle } from '../server.js';
import type { ResolveResult } from '../iterator/types.js';
import { FakeResolution, answer, rec, udpQuery } from '../../test/resolver/helpers.js';
import { defaultServeStaleSettings, type ServeStaleSettings } from './serve-stale.js';

const SERVFAIL: ResolveResult = { rcode: RCODE.SERVFAIL, answers: [], authority: [], additional: [], cacheTtl: 0, ede: { code: 22, text: 'dead' } };

/** EDE info codes in a reply's OPT record. */
export function edeCodes(m: Message): number[] {
  return (m.edns?.options ?? []).filter((o) => o.code === 15).map((o) => o.data.readUInt16BE(0));
}

type Mode = 'answer' | 'fail' | 'hang' | 'throw';

async function fixture(host: string, stale: Partial<ServeStaleSettings> = {}, over: Partial<ResolverConfig> = {}) {
  const state = { clock: 1_000_000, mode: 'answer' as Mode, ip: '192.0.2.1', release: [] as Array<() => void> };
  const fake = new FakeResolution(async (req) => {
    if (state.mode === 'fail') return SERVFAIL;
    if (state.mode === 'throw') throw new Error('boom');
    if (state.mode === 'hang') await new Promise<void>((r) => state.release.push(r));
    if (req.name.toLowerCase().startsWith('nx')) {
      return { rcode: RCODE.NXDOMAIN, answers: [], authority: [rec('example', 60, 'SOA', 'ns.example. host.example. 1 2 3 4 60')], additional: [], cacheTtl: 60 };
    }
    return answer([rec(req.name, 60, 'A', state.ip)]);
  });
  const cfg: ResolverConfig = {
    ...defaultResolverConfig(), listen: [{ host, port: 0 }], identity: 't', prefetch: false,
    serveStale: { ...defaultServeStaleSettings(), ...stale }, ...over,
  };
  const h = await startSingle(cfg, { resolution: fake, now: () => state.clock, log: () => {} });
  const port = h.listening[0].port;
  const ask = (name: string, timeoutMs = 4000) => udpQuery(host, port, { name, type: TYPE.A, ednsUdpSize: 1232 }, { timeoutMs });
  return { state, fake, h, ask };
}

const ips = (m: Message) => m.answers.map((a) => rdataToText(a.type, a.rdata));

describe('serve-stale (RFC 8767), front with a scripted resolution', () => {
  let f: Awaited<ReturnType<typeof fixture>>;
  beforeAll(async () => { f = await fixture('127.10.1.31', { clientTimeoutMs: 150 }); });
  afterAll(async () => { for (const r of f.state.release) r(); await f.h.close(); });

  it('answers an expired name from its stale data with TTL 30 and EDE 3 when the resolution fails, and counts it', async () => {
    f.state.mode = 'answer';
    const fresh = await f.ask('www.example');
    expect(fresh.answers[0].ttl).toBe(60);
    expect(edeCodes(fresh)).toEqual([]);
    f.state.clock += 61_000;
    f.state.mode = 'fail';
    const calls = f.fake.calls.length;
    const stale = await f.ask('www.example');
    expect(f.fake.calls.length).toBe(calls + 1); // it did try the authorities
    expect(stale.rcode).toBe(RCODE.NOERROR);
    expect(ips(stale)).toEqual(['192.0.2.1']);
    expect(stale.answers[0].ttl).toBe(30);
    expect(edeCodes(stale)).toEqual([3]);
    expect((await f.h.stats()).cacheStale).toBe(1);
  });

  it('serves the stale answer without a new attempt for the recheck interval, then tries again', async () => {
    const calls = f.fake.calls.length;
    f.state.clock += 10_000;
    const again = await f.ask('WWW.example');
    expect(f.fake.calls.length).toBe(calls);
    expect(again.answers[0].ttl).toBe(20);
    expect(edeCodes(again)).toEqual([3]);
    expect((await f.h.stats()).cacheStale).toBe(2);
    f.state.clock += 20_000;
    f.state.mode = 'answer';
    f.state.ip = '192.0.2.2';
    const back = await f.ask('www.example');
    expect(f.fake.calls.length).toBe(calls + 1);
    expect(ips(back)).toEqual(['192.0.2.2']);
    expect(back.answers[0].ttl).toBe(60);
    expect(edeCodes(back)).toEqual([]);
    expect((await f.h.stats()).cacheStale).toBe(2);
  });

  it('negative answers are served stale too, with the SOA at TTL 30', async () => {
    f.state.mode = 'answer';
    expect((await f.ask('nx1.example')).rcode).toBe(RCODE.NXDOMAIN);
    f.state.clock += 61_000;
    f.state.mode = 'fail';
    const stale = await f.ask('nx1.example');
    expect(stale.rcode).toBe(RCODE.NXDOMAIN);
    expect(stale.authority[0].ttl).toBe(30);
    expect(edeCodes(stale)).toEqual([3]);
  });

  it('a resolution that throws is answered stale as well', async () => {
    f.state.mode = 'answer';
    await f.ask('throw.example');
    f.state.clock += 61_000;
    f.state.mode = 'throw';
    const stale = await f.ask('throw.example');
    expect(stale.rcode).toBe(RCODE.NOERROR);
    expect(edeCodes(stale)).toEqual([3]);
  });

  it('waits the client-response timer for a slow resolution, answers stale, and caches the late fresh answer', async () => {
    f.state.mode = 'answer';
    f.state.ip = '192.0.2.1';
    await f.ask('slow.example');
    f.state.clock += 61_000;
    f.state.mode = 'hang';
    f.state.ip = '192.0.2.3';
    const t0 = performance.now();
    const stale = await f.ask('slow.example');
    const ms = performance.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(140);
    expect(ms).toBeLessThan(1000);
    expect(ips(stale)).toEqual(['192.0.2.1']);
    expect(edeCodes(stale)).toEqual([3]);
    // Meanwhile other askers get the stale copy at once.
    const meanwhile = await f.ask('slow.example');
    expect(edeCodes(meanwhile)).toEqual([3]);
    // The resolution finishes after all: its answer replaces the stale one.
    f.state.mode = 'answer';
    for (const r of f.state.release.splice(0)) r();
    await new Promise((r) => setTimeout(r, 20));
    const fresh = await f.ask('slow.example');
    expect(ips(fresh)).toEqual(['192.0.2.3']);
    expect(edeCodes(fresh)).toEqual([]);
  });

  it('never serves data more than max_stale past its expiry, and never serves a SERVFAIL stale', async () => {
    const g = await fixture('127.10.1.32', { maxStaleS: 100 });
    try {
      await g.ask('old.example');
      g.state.clock += 60_000 + 99_000;
      g.state.mode = 'fail';
      expect(edeCodes(await g.ask('old.example'))).toEqual([3]);
      // The stale copy lives 30 s, but the data expired 130 s ago by then: too old.
      g.state.clock += 31_000;
      const tooOld = await g.ask('old.example');
      expect(tooOld.rcode).toBe(RCODE.SERVFAIL);
      // A SERVFAIL remembered (servfail_ttl) and then expired is never served stale.
      g.state.clock += 3_000;
      expect((await g.ask('old.example')).rcode).toBe(RCODE.SERVFAIL);
    } finally { await g.h.close(); }
  });

  it('off (serve_stale.enabled: false): an expired name whose resolution fails gets SERVFAIL', async () => {
    const g = await fixture('127.10.1.33', { enabled: false });
    try {
      await g.ask('off.example');
      g.state.clock += 61_000;
      g.state.mode = 'fail';
      const r = await g.ask('off.example');
      expect(r.rcode).toBe(RCODE.SERVFAIL);
      expect(edeCodes(r)).toEqual([22]);
      expect((await g.h.stats()).cacheStale).toBe(0);
    } finally { await g.h.close(); }
  });

  it('by default waits 1.8 s for a resolution that hangs before answering stale', async () => {
    const g = await fixture('127.10.1.34');
    try {
      await g.ask('default.example');
      g.state.clock += 61_000;
      g.state.mode = 'hang';
      const t0 = performance.now();
      const r = await g.ask('default.example');
      const ms = performance.now() - t0;
      expect(edeCodes(r)).toEqual([3]);
      expect(ms).toBeGreaterThanOrEqual(1790);
      expect(ms).toBeLessThan(2600);
    } finally { for (const r of g.state.release) r(); await g.h.close(); }
  });
});
