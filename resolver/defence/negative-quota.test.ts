import { describe, expect, it } from 'vitest';
import { buildQuery } from '../../dns/message.js';
import { RCODE, TYPE } from '../../dns/constants.js';
import { defaultResolverConfig, type ResolverConfig } from '../config.js';
import { Front } from '../front.js';
import type { Replier } from '../listener/replier.js';
import { FakeResolution, answer, rec } from '../../test/resolver/helpers.js';
import type { ResolveResult } from '../iterator/types.js';
import { NegativeQuota } from './negative-quota.js';

describe('NegativeQuota', () => {
  it('past max, each new key of a zone gives back the zone\'s oldest; other zones are untouched', () => {
    const q = new NegativeQuota<number>(() => 3);
    expect([1, 2, 3].map((k) => q.stored('victim', k))).toEqual([undefined, undefined, undefined]);
    expect(q.stored('victim', 4)).toBe(1);
    expect(q.stored('victim', 5)).toBe(2);
    expect(q.stored('other', 100)).toBeUndefined();
    expect(q.heldFor('victim')).toBe(3);
    expect(q.heldFor('other')).toBe(1);
    expect(q.recycled).toBe(2);
    expect(q.zonesAtQuota).toBe(1);
    // The same question stored again never drops its own new entry.
    const r = new NegativeQuota<string>(() => 1);
    r.stored('z', 'a');
    expect(r.stored('z', 'a')).toBeUndefined();
    expect(r.stored('z', 'b')).toBe('a');
  });

  it('passes over keys still in use (to the back of the line), a few per store', () => {
    const q = new NegativeQuota<number>(() => 3);
    const popular = new Set([1]);
    for (const k of [1, 2, 3]) q.stored('z', k, (k) => popular.has(k));
    expect(q.stored('z', 4, (k) => popular.has(k))).toBe(2);
    expect(q.stored('z', 5, (k) => popular.has(k))).toBe(3);
    expect(q.stored('z', 6, (k) => popular.has(k))).toBe(4);
    expect(q.heldFor('z')).toBe(3);
    // Every key in use: after the second chances the oldest goes anyway.
    const all = new NegativeQuota<number>(() => 2);
    all.stored('z', 1, () => true); all.stored('z', 2, () => true);
    expect(all.stored('z', 3, () => true)).not.toBeUndefined();
    expect(all.heldFor('z')).toBe(2);
  });

  it('0 turns the quota off', () => {
    const q = new NegativeQuota<number>(() => 0);
    for (let i = 0; i < 100; i++) expect(q.stored('victim', i)).toBeUndefined();
    expect(q.keys).toBe(0);
  });

  it('bounds its own bookkeeping: past maxKeys the zones stored into least recently are forgotten, never the current one', () => {
    const q = new NegativeQuota<number>(() => 10, () => 50);
    for (let z = 0; z < 20; z++) for (let i = 0; i < 5; i++) q.stored(`zone${z}`, z * 100 + i);
    expect(q.keys).toBeLessThanOrEqual(50);
    expect(q.heldFor('zone19')).toBe(5);
    expect(q.heldFor('zone0')).toBe(0);
    for (let i = 0; i < 1000; i++) q.stored('victim', 10_000 + i);
    expect(q.heldFor('victim')).toBe(10);
    expect(q.keys).toBeLessThanOrEqual(50);
  });
});

function collector(): Replier & { sent: Buffer[] } {
  const r = { framing: 0 as const, address: '127.0.0.1', sent: [] as Buffer[], send(b: Buffer) { r.sent.push(b); }, hold() { return r; } };
  return r;
}

describe('Front: flood.max_negative_per_zone', () => {
  it('random names under one zone recycle their own slice of the negative cache; other zones\' negatives and popular answers stay', async () => {
    const soa = (zone: string) => rec(zone, 900, 'SOA', `ns.${zone}. host.${zone}. 1 2 3 4 900`);
    const negative = (zone: string): ResolveResult => ({ rcode: RCODE.NXDOMAIN, answers: [], authority: [soa(zone)], additional: [], cacheTtl: 900, zone });
    const fake = new FakeResolution(async (req) => {
      if (req.name.startsWith('pop')) return answer([rec(req.name, 3600, 'A', '192.0.2.1')]);
      if (req.name.endsWith('.dead.example')) return { rcode: RCODE.SERVFAIL, answers: [], authority: [], additional: [], cacheTtl: 0, ede: { code: 22, text: 'every server of dead.example is unreachable' }, zone: 'dead.example' };
      return negative(req.name.endsWith('.victim.example') ? 'victim.example' : 'other.example');
    });
    const cfg: ResolverConfig = { ...defaultResolverConfig(), flood: { maxOutstandingPerZone: 1000, zoneQueueWaitMs: 1000, negativeCacheShare: 0.25, maxNegativePerZone: 100 } };
    let now = 1000;
    const front = new Front({ cfg, resolution: fake, now: () => now });
    const ask = async (name: string) => {
      const r = collector();
      front.handle(buildQuery({ id: 1, name, type: TYPE.A, rd: true }), r);
      for (let i = 0; i < 5 && r.sent.length === 0; i++) await new Promise((res) => setImmediate(res));
      return r.sent.length;
    };
    for (let i = 0; i < 50; i++) await ask(`pop${i}.example`);
    for (let i = 0; i < 50; i++) await ask(`typo${i}.other.example`);
    const held = () => front.stats().defence.negativeCacheEntries;
    expect(held()).toBe(50);
    for (let i = 0; i < 3000; i++) { now += 1; await ask(`r${i}.victim.example`); }
    for (let i = 0; i < 3000; i++) { now += 1; await ask(`r${i}.dead.example`); }
    // Each flooded zone holds its quota, no more: 50 + 100 + 100 entries.
    expect(held()).toBe(250);
    expect(front.negativeQuota.heldFor('victim.example')).toBe(100);
    const s = front.stats();
    expect(s.defence.negativeQuotaRecycled).toBe(5800);
    expect(s.defence.negativeQuotaZones).toBe(2);
    // The newest random names are still cached; the other zone's negatives and the popular answers were hits.
    const before = fake.calls.length;
    expect(await ask('r2999.victim.example')).toBe(1);
    for (let i = 0; i < 50; i++) expect(await ask(`typo${i}.other.example`)).toBe(1);
    for (let i = 0; i < 50; i++) expect(await ask(`pop${i}.example`)).toBe(1);
    expect(fake.calls.length).toBe(before);
    // A negative answer of the flooded zone that clients keep asking is passed over, not recycled.
    const popularNeg = 'www.victim.example';
    await ask(popularNeg);
    for (let i = 0; i < 300; i++) {
      now += 1;
      if (i % 50 === 0) { now += 1500; await ask(popularNeg); }
      await ask(`s${i}.victim.example`);
    }
    const calls = fake.calls.length;
    expect(await ask(popularNeg)).toBe(1);
    expect(fake.calls.length).toBe(calls);
    // The oldest random name was recycled: asking it again goes upstream.
    const beforeOld = fake.calls.length;
    await ask('r0.victim.example');
    expect(fake.calls.length).toBe(beforeOld + 1);
  }, 60_000);

  it('with the quota off (0) the flood fills the negative budget', async () => {
    const fake = new FakeResolution(async () => ({ rcode: RCODE.NXDOMAIN, answers: [], authority: [rec('victim.example', 900, 'SOA', 'ns.victim.example. h.victim.example. 1 2 3 4 900')], additional: [], cacheTtl: 900, zone: 'victim.example' }));
    const cfg: ResolverConfig = { ...defaultResolverConfig(), flood: { maxOutstandingPerZone: 1000, zoneQueueWaitMs: 1000, negativeCacheShare: 0.25, maxNegativePerZone: 0 } };
    const front = new Front({ cfg, resolution: fake, now: () => 1000 });
    for (let i = 0; i < 500; i++) {
      const r = collector();
      front.handle(buildQuery({ id: 1, name: `r${i}.victim.example`, type: TYPE.A, rd: true }), r);
      for (let j = 0; j < 5 && r.sent.length === 0; j++) await new Promise((res) => setImmediate(res));
    }
    expect(front.stats().defence.negativeCacheEntries).toBe(500);
  });
});
