// Scenario: priming to a root set other than the hints, glueless delegations
// (NS names in another zone, another TLD, chains of them), dependency cycles, the
// depth limit, and merging of identical sub-queries. Servers on 127.20.3.x.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIterator } from '../../resolver/iterator/index.js';
import { emptyStats } from '../../resolver/stats.js';
import { RCODE, TYPE } from '../../dns/constants.js';
import { ScriptedNet, nxdomain, nodata, referral, type ServerScript } from './scripted-auth.js';
import { hints, rdatas, testConfig } from './helpers.js';

const PORT = 10533;
const ip = (n: number) => `127.20.3.${n}`;
const HINT_ROOT = ip(1), ROOT = ip(5), TLD_TEST = ip(2), TLD_EXAMPLE = ip(3);

/** A zone server answering A for www/ns names below `zone` with `addr`, NXDOMAIN otherwise. */
function zoneServer(address: string, zone: string, a: Record<string, string>): ServerScript {
  return {
    address,
    entries: [
      ...Object.entries(a).map(([name, v]) => ({ name, type: 'A', reply: { answer: [`${name}. 300 IN A ${v}`] } })),
      ...Object.keys(a).map((name) => ({ name, type: 'AAAA', reply: nodata(zone) })),
      { name: zone, subdomain: true, reply: nxdomain(zone) },
    ],
  };
}

const scripts: ServerScript[] = [
  // The hints name an old root server that knows only the current root NS set.
  {
    address: HINT_ROOT,
    entries: [{ name: '.', type: 'NS', reply: { answer: ['. 86400 IN NS b.root.test.'], additional: [`b.root.test. 86400 IN A ${ROOT}`] } }],
    fallback: { rcode: RCODE.REFUSED },
  },
  {
    address: ROOT,
    entries: [
      { name: '.', type: 'NS', reply: { answer: ['. 86400 IN NS b.root.test.'], additional: [`b.root.test. 86400 IN A ${ROOT}`] } },
      { name: 'test', subdomain: true, reply: referral('test', [['ns.nic.test.', TLD_TEST]]) },
      { name: 'example', subdomain: true, reply: referral('example', [['ns.nic.example.', TLD_EXAMPLE]]) },
    ],
  },
  {
    address: TLD_TEST,
    entries: [
      { name: 'hoster.test', subdomain: true, reply: referral('hoster.test', [['ns1.hoster.test.', ip(11)]]) },
      { name: 'glueless.test', subdomain: true, reply: referral('glueless.test', [['ns.hoster.test.', undefined]]) },
      { name: 'merge.test', subdomain: true, reply: referral('merge.test', [['ns.hoster.test.', undefined]]) },
      { name: 'far.test', subdomain: true, reply: referral('far.test', [['ns.provider.example.', undefined]]) },
      { name: 'cyc-a.test', subdomain: true, reply: referral('cyc-a.test', [['ns.cyc-b.test.', undefined]]) },
      { name: 'cyc-b.test', subdomain: true, reply: referral('cyc-b.test', [['ns.cyc-a.test.', undefined]]) },
      { name: 'self.test', subdomain: true, reply: referral('self.test', [['ns.self.test.', undefined]]) },
      // d1 → needs ns.d2 → needs ns.d3 → ... → d7 has glue.
      ...[1, 2, 3, 4, 5, 6].map((i) => ({ name: `d${i}.test`, subdomain: true, reply: referral(`d${i}.test`, [[`ns.d${i + 1}.test.`, undefined]]) })),
      { name: 'd7.test', subdomain: true, reply: referral('d7.test', [['ns.d7.test.', ip(67)]]) },
      // One dead NS name zone and one good: the good one must win.
      { name: 'half.test', subdomain: true, reply: referral('half.test', [['ns.deadzone.test.', undefined], ['ns.hoster.test.', undefined]]) },
      { name: 'deadzone.test', subdomain: true, reply: referral('deadzone.test', [['ns.deadzone.test.', ip(99)]]) },
      // A glued server that is dead, and a glueless one that works.
      { name: 'mixed.test', subdomain: true, reply: referral('mixed.test', [['ns.mixed.test.', ip(98)], ['ns.hoster.test.', undefined]]) },
    ],
  },
  {
    address: TLD_EXAMPLE,
    entries: [{ name: 'provider.example', subdomain: true, reply: referral('provider.example', [['ns.provider.example.', ip(21)]]) }],
  },
  zoneServer(ip(11), 'hoster.test', { 'ns1.hoster.test': ip(11), 'ns.hoster.test': ip(12) }),
  // ns.hoster.test serves several zones.
  {
    address: ip(12),
    entries: [
      { name: 'www.glueless.test', type: 'A', reply: { answer: ['www.glueless.test. 300 IN A 192.0.2.12'] } },
      { name: 'www.half.test', type: 'A', reply: { answer: ['www.half.test. 300 IN A 192.0.2.13'] } },
      { name: 'www.mixed.test', type: 'A', reply: { answer: ['www.mixed.test. 300 IN A 192.0.2.15'] } },
      { name: 'merge.test', subdomain: true, reply: (q) => ({ answer: [`${q.name}. 300 IN A 192.0.2.14`] }) },
    ],
  },
  zoneServer(ip(21), 'provider.example', { 'ns.provider.example': ip(22) }),
  { address: ip(22), entries: [{ name: 'www.far.test', type: 'A', reply: { answer: ['www.far.test. 300 IN A 192.0.2.22'] } }] },
  // The depth chain: ns.dN.test (127.20.3.6N) serves zone d(N-1).test; d7.test is served by itself, with glue.
  ...[2, 3, 4, 5, 6, 7].map((i): ServerScript => ({
    address: ip(60 + i),
    entries: [
      { name: `ns.d${i - 1}.test`, type: 'A', reply: { answer: [`ns.d${i - 1}.test. 300 IN A ${ip(60 + i - 1)}`] } },
      { name: `www.d${i - 1}.test`, type: 'A', reply: { answer: [`www.d${i - 1}.test. 300 IN A 192.0.2.${60 + i - 1}`] } },
      ...(i === 7 ? [{ name: 'ns.d7.test', type: 'A', reply: { answer: [`ns.d7.test. 300 IN A ${ip(67)}`] } }] : []),
    ],
    fallback: { rcode: RCODE.NXDOMAIN, authority: [`d${i - 1}.test. 300 IN SOA ns. h. 1 2 3 4 300`] },
  })),
  { address: ip(99), entries: [], fallback: { drop: true } },
  { address: ip(98), entries: [], fallback: { drop: true } },
];

const net = new ScriptedNet(PORT);
const stats = emptyStats();
const cfg = testConfig(PORT, { timeoutMs: 300, resolutionTimeoutMs: 3000 });
const it2 = createIterator(cfg, stats, { rootHints: hints([['a.root.test', HINT_ROOT]]) });

beforeAll(async () => { await net.start(scripts); });
afterAll(async () => { await it2.close(); await net.stop(); expect(net.errors).toEqual([]); });

const A = (name: string) => it2.resolve({ name, type: TYPE.A, class: 1 });

describe('iterator: priming', () => {
  it('primes the root NS set from the hints and then uses the primed servers only', async () => {
    const r = await A('www.glueless.test');
    expect(rdatas(r.answers)).toEqual(['www.glueless.test A 192.0.2.12']);
    expect(net.queriesTo(HINT_ROOT).map((q) => `${q.name}/${q.type}`)).toEqual(['/2']);
    expect(net.queriesTo(ROOT).length).toBeGreaterThan(0);
  });
});

describe('iterator: glueless delegations', () => {
  it('resolves an NS name in a sibling zone', async () => {
    // Done above; the address of ns.hoster.test came from its own zone.
    expect(net.queriesTo(ip(11)).map((q) => q.name)).toContain('ns.hoster.test');
    expect(it2.cache.getRRset('ns.hoster.test', TYPE.A, 1)).toBeDefined();
  });

  it('resolves an NS name under another TLD', async () => {
    const r = await A('www.far.test');
    expect(rdatas(r.answers)).toEqual(['www.far.test A 192.0.2.22']);
  });

  it('a dependency cycle (a needs b needs a) ends in SERVFAIL without waiting out the budget', async () => {
    const t0 = performance.now();
    const r = await A('www.cyc-a.test');
    expect(r.rcode).toBe(RCODE.SERVFAIL);
    expect(r.ede?.code).toBe(22);
    // Cycle detection answers at once: far less than one timeout (300 ms) per step.
    expect(performance.now() - t0).toBeLessThan(cfg.upstream.resolutionTimeoutMs);
    expect(stats.upstreamTimeouts).toBe(0);
  });

  it('a zone whose only NS name lies inside it without glue is SERVFAIL', async () => {
    const r = await A('www.self.test');
    expect(r.rcode).toBe(RCODE.SERVFAIL);
    expect(stats.upstreamTimeouts).toBe(0);
  });

  it('gives up beyond the dependency depth limit, but resolves shorter chains', async () => {
    const deep = await A('www.d1.test');
    expect(deep.rcode).toBe(RCODE.SERVFAIL);
    const short = await A('www.d5.test');
    expect(rdatas(short.answers)).toEqual(['www.d5.test A 192.0.2.65']);
    // The same deep chain resolves when the limit allows it: the limit was the reason.
    const roomy = createIterator(cfg, emptyStats(), { rootHints: hints([['b.root.test', ROOT]]), maxDependencyDepth: 6 });
    const ok = await roomy.resolve({ name: 'www.d1.test', type: TYPE.A, class: 1 });
    expect(rdatas(ok.answers)).toEqual(['www.d1.test A 192.0.2.61']);
    await roomy.close();
  });

  it('with one NS name in a dead zone and one good, the good one answers', async () => {
    const r = await A('www.half.test');
    expect(rdatas(r.answers)).toEqual(['www.half.test A 192.0.2.13']);
  });
});

describe('iterator: a dead glued server beside a glueless one', () => {
  it('looks up the glueless NS name after one timeout, while the dead server is still listened for', async () => {
    const fresh = createIterator(cfg, emptyStats(), { rootHints: hints([['b.root.test', ROOT]]), random: () => 0 });
    const t0 = performance.now();
    const r = await fresh.resolve({ name: 'www.mixed.test', type: TYPE.A, class: 1 });
    expect(rdatas(r.answers)).toEqual(['www.mixed.test A 192.0.2.15']);
    expect(performance.now() - t0).toBeLessThan(cfg.upstream.resolutionTimeoutMs);
    // The glueless name was looked up after one timeout, before the dead server was asked again.
    expect(net.queriesTo(ip(98)).filter((q) => q.name === 'www.mixed.test')).toHaveLength(1);
    await fresh.close();
  });
});

describe('iterator: merging identical questions', () => {
  it('many names in a glueless zone at once: one query each to the zone, no new NS lookups', async () => {
    const nsLookups = () => net.seen.filter((q) => q.name === 'ns.hoster.test').length;
    const before = nsLookups();
    const names = Array.from({ length: 20 }, (_, i) => `n${i}.merge.test`);
    const results = await Promise.all(names.map(A));
    for (const [i, r] of results.entries()) expect(rdatas(r.answers)).toEqual([`n${i}.merge.test A 192.0.2.14`]);
    expect(net.queriesTo(ip(12)).filter((q) => q.name.endsWith('merge.test'))).toHaveLength(20);
    expect(nsLookups()).toBe(before);
  });

  it('identical questions in flight at once are sent upstream once', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, () => A('same.merge.test')));
    for (const r of results) expect(rdatas(r.answers)).toEqual(['same.merge.test A 192.0.2.14']);
    expect(net.queriesTo(ip(12)).filter((q) => q.name === 'same.merge.test')).toHaveLength(1);
  });

  it('an uncached NS name needed by many resolutions at once is looked up once', async () => {
    const s = emptyStats();
    const fresh = createIterator(cfg, s, { rootHints: hints([['b.root.test', ROOT]]) });
    const before = net.queriesTo(ip(11)).filter((q) => q.name === 'ns.hoster.test' && q.type === TYPE.A).length;
    const results = await Promise.all(Array.from({ length: 15 }, (_, i) => fresh.resolve({ name: `m${i}.merge.test`, type: TYPE.A, class: 1 })));
    for (const r of results) expect(r.rcode).toBe(RCODE.NOERROR);
    const after = net.queriesTo(ip(11)).filter((q) => q.name === 'ns.hoster.test' && q.type === TYPE.A).length;
    expect(after - before).toBe(1);
    await fresh.close();
  });
});
