// TTL countdown and expiry, positive and negative, through a scripted server whose
// answer changes with every upstream query it gets: a cached answer keeps its value
// and the server's query count stays put; an expired one is fetched again and the
// value changes. The same script runs against unbound, then against ours, with the
// server's counters reset in between. Loopback: 127.30.3.0/24.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rcodeName, TYPE } from '../../dns/constants.js';
import { rdataToText } from '../../dns/rdata.js';
import { HOST } from '../../bench/harness/zones.js';
import { sleep } from '../../bench/harness/proc.js';
import { askOnce, Scoreboard, type Target } from './harness/compare.js';
import { startPair, type Pair } from './harness/fixture.js';
import { reply, rr, startAuthServer, type AuthServer } from './harness/authserver.js';

const PREFIX = '127.30.3';
const ZONE = 'dyn.interop';
const board = new Scoreboard('TTL countdown and expiry (127.30.3.0/24)');
let pair: Pair;
let dyn: AuthServer;
/** Upstream queries the scripted server got, per lower-cased name. */
const count = new Map<string, number>();

beforeAll(async () => {
  pair = await startPair(PREFIX);
  const soa = (ttl: number, min: number) => rr(ZONE, TYPE.SOA, ttl, `ns.${ZONE}. hostmaster.${ZONE}. 1 3600 900 604800 ${min}`);
  dyn = await startAuthServer(pair.addr(HOST.dyn), (q) => {
    const qn = q.questions[0];
    const name = qn.name.toLowerCase();
    const n = (count.get(name) ?? 0) + 1;
    count.set(name, n);
    if (name === ZONE && qn.type === TYPE.NS) return { msg: reply(q, { answers: [rr(ZONE, TYPE.NS, 3600, `ns.${ZONE}.`)] }) };
    if (name === ZONE && qn.type === TYPE.SOA) return { msg: reply(q, { answers: [soa(3600, 2)] }) };
    if (name === `ns.${ZONE}` && qn.type === TYPE.A) return { msg: reply(q, { answers: [rr(name, TYPE.A, 3600, pair.addr(HOST.dyn))] }) };
    // ttl3: TTL 3 s, the value counts upstream queries.
    if (name === `ttl3.${ZONE}` && qn.type === TYPE.A) return { msg: reply(q, { answers: [rr(qn.name, TYPE.A, 3, `10.9.0.${n}`)] }) };
    // zero: TTL 0, must not be served from cache.
    if (name === `zero.${ZONE}` && qn.type === TYPE.A) return { msg: reply(q, { answers: [rr(qn.name, TYPE.A, 0, `10.9.2.${n}`)] }) };
    // merge: answered after 30 ms (below both resolvers' minimum retransmit timeout),
    // so identical questions pile up in the resolver meanwhile.
    if (name === `merge.${ZONE}` && qn.type === TYPE.A) return { msg: reply(q, { answers: [rr(qn.name, TYPE.A, 300, `10.9.4.${n}`)] }), delayMs: 30 };
    // slowN: answered after N ms, from a server that answered everything else at once.
    const slow = /^slow(\d+)\./.exec(name);
    if (slow && qn.type === TYPE.A) return { msg: reply(q, { answers: [rr(qn.name, TYPE.A, 300, `10.9.5.${n}`)] }), delayMs: Number(slow[1]) };
    // huge: TTL far above any sane cap.
    if (name === `huge.${ZONE}` && qn.type === TYPE.A) return { msg: reply(q, { answers: [rr(qn.name, TYPE.A, 2_000_000_000, '10.9.3.1')] }) };
    // neg: NXDOMAIN the first time (negative TTL min(3, 2) = 2 s), an address afterwards.
    if (name === `neg.${ZONE}`) {
      if (n === 1) return { msg: reply(q, { rcode: 3, authority: [soa(3, 2)] }) };
      return { msg: reply(q, { answers: qn.type === TYPE.A ? [rr(qn.name, TYPE.A, 300, `10.9.1.${n}`)] : [], authority: qn.type === TYPE.A ? [] : [soa(3, 2)] }) };
    }
    return { msg: reply(q, { rcode: 3, authority: [soa(3600, 60)] }) };
  });
});
afterAll(async () => {
  board.print();
  await dyn?.close();
  await pair?.stop();
});

interface Obs { rcode: string; value: string; ttl: number; upstream: number }

async function look(t: Target, name: string): Promise<Obs> {
  const r = await askOnce(t, name, TYPE.A, { localAddress: pair.client });
  const a = r.msg.answers.find((x) => x.type === TYPE.A);
  const soa = r.msg.authority.find((x) => x.type === TYPE.SOA);
  return {
    rcode: rcodeName(r.msg.rcode),
    value: a ? rdataToText(TYPE.A, a.rdata) : '-',
    ttl: a ? a.ttl : soa ? soa.ttl : -1,
    upstream: count.get(name) ?? 0,
  };
}

/** Runs `script` against each resolver in turn, resetting the server's counters before each. */
async function perTarget<T>(script: (t: Target) => Promise<T>): Promise<Record<string, T>> {
  const out: Record<string, T> = {};
  for (const t of pair.targets) {
    count.clear();
    out[t.name] = await script(t);
  }
  return out;
}

const fmt = (xs: Obs[]) => xs.map((x) => `${x.rcode} ${x.value} ttl=${x.ttl} up=${x.upstream}`).join(' → ');

describe('positive answers', () => {
  it('count down while cached and are fetched again once expired (TTL 3 s)', async () => {
    const seq = await perTarget(async (t) => {
      const name = `ttl3.${ZONE}`;
      const t0 = performance.now();
      const first = await look(t, name);
      const hit = await look(t, name);
      await sleep(1300 - (performance.now() - t0));
      const later = await look(t, name);
      // unbound keeps whole-second clocks and serves TTL 0 during the last second: wait one more.
      await sleep(4300 - (performance.now() - t0));
      const expired = await look(t, name);
      return [first, hit, later, expired];
    });
    for (const [who, [first, hit, later, expired]] of Object.entries(seq)) {
      const ctx = `${who}: ${fmt([first, hit, later, expired])}`;
      expect(first.value, ctx).toBe('10.9.0.1');
      expect(first.ttl, ctx).toBeLessThanOrEqual(3);
      expect(first.ttl, ctx).toBeGreaterThanOrEqual(2);
      expect(hit.value, ctx).toBe('10.9.0.1');
      expect(hit.upstream, ctx).toBe(1);
      expect(later.value, ctx).toBe('10.9.0.1');
      expect(later.upstream, ctx).toBe(1);
      expect(later.ttl, ctx).toBeLessThan(first.ttl);
      expect(later.ttl, ctx).toBeGreaterThanOrEqual(first.ttl - 2);
      expect(expired.value, ctx).toBe('10.9.0.2');
      expect(expired.upstream, ctx).toBe(2);
      expect(expired.ttl, ctx).toBeGreaterThanOrEqual(2);
    }
    if (seq.ours) board.record({ case: 'TTL countdown and expiry', agree: true, unbound: fmt(seq.unbound), ours: fmt(seq.ours) });
  });

  it('never serves a TTL 0 answer from cache', async () => {
    const seq = await perTarget(async (t) => [await look(t, `zero.${ZONE}`), await look(t, `zero.${ZONE}`)]);
    for (const [who, [a, b]] of Object.entries(seq)) {
      const ctx = `${who}: ${fmt([a, b])}`;
      expect(a.ttl, ctx).toBe(0);
      expect(b.ttl, ctx).toBe(0);
      expect(b.upstream, ctx).toBe(2);
      expect(b.value, ctx).toBe('10.9.2.2');
    }
    if (seq.ours) board.record({ case: 'TTL 0 not cached', agree: true, unbound: fmt(seq.unbound), ours: fmt(seq.ours) });
  });

  it('caps a huge TTL at one day', async () => {
    const seq = await perTarget(async (t) => [await look(t, `huge.${ZONE}`)]);
    for (const [who, [a]] of Object.entries(seq)) {
      expect(a.value, who).toBe('10.9.3.1');
      expect(a.ttl, `${who}: ttl ${a.ttl}`).toBeLessThanOrEqual(86_400);
      expect(a.ttl, `${who}: ttl ${a.ttl}`).toBeGreaterThan(86_000);
    }
    if (seq.ours) board.record({ case: 'max TTL clamp', agree: seq.ours[0].ttl === seq.unbound[0].ttl, unbound: fmt(seq.unbound), ours: fmt(seq.ours) });
  });
});

describe('identical questions in flight', () => {
  it('are merged into one upstream query', async () => {
    const seq = await perTarget(async (t) => {
      const replies = await Promise.all(Array.from({ length: 20 }, () => look(t, `merge.${ZONE}`)));
      await sleep(100);
      return { values: new Set(replies.map((r) => r.value)), upstream: count.get(`merge.${ZONE}`) ?? 0, rcodes: new Set(replies.map((r) => r.rcode)) };
    });
    const show = (x: (typeof seq)[string]) => `${[...x.rcodes].join(',')} ${[...x.values].join(',')}; ${x.upstream} upstream quer${x.upstream === 1 ? 'y' : 'ies'} for 20 clients`;
    if (seq.ours) board.record({ case: '20 identical questions in flight', agree: seq.ours.upstream === 1 && seq.ours.rcodes.has('NOERROR'), unbound: show(seq.unbound), ours: show(seq.ours) });
    for (const [who, x] of Object.entries(seq)) {
      expect([...x.rcodes], who).toEqual(['NOERROR']);
      expect([...x.values], who).toEqual(['10.9.4.1']);
      expect(x.upstream, `${who}: ${show(x)}`).toBe(1);
    }
  });
});

describe('a server that turns slow', () => {
  // The dyn server has answered everything at once so far (RTT well under 1 ms);
  // now one answer takes longer. Retransmitting is fine; giving up is not.
  for (const delayMs of [300, 800]) {
    it(`still answers when the only server takes ${delayMs} ms`, async () => {
      const seq = await perTarget(async (t) => {
        const t0 = performance.now();
        const r = await look(t, `slow${delayMs}.${ZONE}`);
        return { ...r, ms: Math.round(performance.now() - t0) };
      });
      const show = (x: (typeof seq)[string]) => `${x.rcode} ${x.value} after ${x.ms} ms, ${x.upstream} upstream queries`;
      if (seq.ours) board.record({ case: `only server answers after ${delayMs} ms`, agree: seq.ours.rcode === 'NOERROR', unbound: show(seq.unbound), ours: show(seq.ours) });
      for (const [who, x] of Object.entries(seq)) {
        expect(x.rcode, `${who}: ${show(x)}`).toBe('NOERROR');
        expect(x.value, `${who}: ${show(x)}`).toMatch(/^10\.9\.5\.\d+$/);
      }
    });
  }
});

describe('negative answers', () => {
  it('cache NXDOMAIN for min(SOA TTL, MINIMUM) and then ask again', async () => {
    const seq = await perTarget(async (t) => {
      const name = `neg.${ZONE}`;
      const t0 = performance.now();
      const first = await look(t, name);
      const hit = await look(t, name);
      await sleep(3300 - (performance.now() - t0));
      const expired = await look(t, name);
      return [first, hit, expired];
    });
    for (const [who, [first, hit, expired]] of Object.entries(seq)) {
      const ctx = `${who}: ${fmt([first, hit, expired])}`;
      expect(first.rcode, ctx).toBe('NXDOMAIN');
      expect(first.ttl, ctx).toBeLessThanOrEqual(2);
      expect(hit.rcode, ctx).toBe('NXDOMAIN');
      expect(hit.upstream, ctx).toBe(1);
      expect(expired.rcode, ctx).toBe('NOERROR');
      expect(expired.value, ctx).toBe('10.9.1.2');
      expect(expired.upstream, ctx).toBe(2);
    }
    if (seq.ours) board.record({ case: 'negative TTL expiry', agree: true, unbound: fmt(seq.unbound), ours: fmt(seq.ours) });
  });
});
