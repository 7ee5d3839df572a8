// Scenario: CNAME and DNAME chains (within and across zones, loops, length limit),
// wildcards, empty non-terminals, NXDOMAIN/NODATA after a CNAME, DS at the parent,
// NS at a cut, referral loops and limits, TTL countdown, expiry and clamps.
// Servers on 127.20.4.x.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIterator } from '../../resolver/iterator/index.js';
import { emptyStats } from '../../resolver/stats.js';
import { RCODE, TYPE } from '../../dns/constants.js';
import { ScriptedNet, nodata, nxdomain, referral, soaLine, type ServerScript, rootDelegatingTest } from './scripted-auth.js';
import { hints, manualClock, rdatas, testConfig } from './helpers.js';

const PORT = 10534;
const ip = (n: number) => `127.20.4.${n}`;
const ROOT = ip(1), TLD = ip(2), EX = ip(10), OTHER = ip(11), SUB = ip(12), LOOPY = ip(13);

const scripts: ServerScript[] = [
  rootDelegatingTest(ROOT, TLD),
  {
    address: TLD,
    entries: [
      { name: 'example.test', type: 'DS', reply: { answer: ['example.test. 3600 IN DS \\# 36 30390802 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'] } },
      { name: 'example.test', subdomain: true, reply: referral('example.test', [['ns1.example.test.', EX]]) },
      { name: 'other.test', subdomain: true, reply: referral('other.test', [['ns1.other.test.', OTHER]]) },
      { name: 'deep.test', subdomain: true, reply: referral('deep.test', [['ns.deep.test.', ip(20)]]) },
    ],
  },
  {
    address: EX,
    entries: [
      { name: 'example.test', type: 'NS', reply: { answer: ['example.test. 3600 IN NS ns1.example.test.'], additional: [`ns1.example.test. 3600 IN A ${EX}`] } },
      // In-zone chain in one response.
      { name: 'ch1.example.test', type: 'A', reply: { answer: ['ch1.example.test. 600 IN CNAME ch2.example.test.', 'ch2.example.test. 60 IN A 192.0.2.2'] } },
      // Chain answered one link per response (server does not chase).
      { name: 'step1.example.test', reply: { answer: ['step1.example.test. 300 IN CNAME step2.example.test.'] } },
      { name: 'step2.example.test', reply: { answer: ['step2.example.test. 300 IN CNAME www.other.test.'] } },
      // Loops: across responses and within one.
      { name: 'loop1.example.test', reply: { answer: ['loop1.example.test. 300 IN CNAME loop2.example.test.'] } },
      { name: 'loop2.example.test', reply: { answer: ['loop2.example.test. 300 IN CNAME loop1.example.test.'] } },
      { name: 'inloop.example.test', reply: { answer: ['inloop.example.test. 300 IN CNAME inloop2.example.test.', 'inloop2.example.test. 300 IN CNAME inloop.example.test.'] } },
      // A long chain c0 → c1 → ... → c20 → A.
      ...Array.from({ length: 20 }, (_, i) => ({ name: `c${i}.example.test`, reply: { answer: [`c${i}.example.test. 300 IN CNAME c${i + 1}.example.test.`] } })),
      { name: 'c20.example.test', type: 'A', reply: { answer: ['c20.example.test. 300 IN A 192.0.2.20'] } },
      // Dangling CNAMEs: NXDOMAIN and NODATA at the target.
      { name: 'dangling.example.test', reply: { rcode: RCODE.NXDOMAIN, answer: ['dangling.example.test. 300 IN CNAME gone.example.test.'], authority: [soaLine('example.test', 3600, 120)] } },
      { name: 'toempty.example.test', reply: { answer: ['toempty.example.test. 300 IN CNAME www.other.test.'] } },
      // Wildcard (the server synthesises the owner) and empty non-terminal.
      { name: 'wild.example.test', subdomain: true, reply: (q) => (q.name.toLowerCase() === 'wild.example.test' ? nxdomain('example.test') : { answer: [`${q.name}. 300 IN TXT "wildcard"`] }) },
      { name: 'ent.example.test', reply: nodata('example.test') },
      { name: 'a.ent.example.test', type: 'A', reply: { answer: ['a.ent.example.test. 300 IN A 192.0.2.5'] } },
      // DNAME into the other zone.
      { name: 'dn.example.test', subdomain: true, reply: (q) => ({ answer: ['dn.example.test. 900 IN DNAME other.test.', `${q.name}. 900 IN CNAME ${q.name.replace(/dn\.example\.test$/i, 'other.test')}.`] }) },
      // DNAME into its own parent: c20.up.up.example.test -> c20.up.example.test -> c20.example.test;
      // the server sends a forged CNAME beside it.
      { name: 'up.example.test', subdomain: true, reply: (q) => ({ answer: ['up.example.test. 900 IN DNAME example.test.', `${q.name}. 900 IN CNAME forged.other.test.`] }) },
      { name: 'cname.example.test', reply: { answer: ['cname.example.test. 300 IN CNAME www.other.test.'] } },
      // TTL handling.
      { name: 'ttl.example.test', type: 'A', reply: { answer: ['ttl.example.test. 100 IN A 192.0.2.100'] } },
      { name: 'long.example.test', type: 'A', reply: { answer: ['long.example.test. 604800 IN A 192.0.2.101'] } },
      { name: 'negttl.example.test', reply: nxdomain('example.test', 7200, 5000) },
      // Delegation to sub.example.test whose server refers back up (a referral loop).
      { name: 'sub.example.test', subdomain: true, reply: referral('sub.example.test', [['ns.sub.example.test.', SUB]]) },
      { name: 'loopy.example.test', subdomain: true, reply: referral('loopy.example.test', [['ns.loopy.example.test.', LOOPY]]) },
      { name: 'example.test', subdomain: true, reply: nxdomain('example.test') },
    ],
  },
  {
    address: OTHER,
    entries: [
      { name: 'www.other.test', type: 'A', reply: { answer: ['www.other.test. 200 IN A 192.0.2.11'] } },
      { name: 'www.other.test', reply: nodata('other.test', 3600, 60) },
      { name: 'other.test', subdomain: true, reply: nxdomain('other.test') },
    ],
  },
  { address: SUB, entries: [], fallback: { aa: false, authority: ['example.test. 3600 IN NS ns1.example.test.'], additional: [`ns1.example.test. 3600 IN A ${EX}`] } },
  // Refers to itself, one label deeper each time, as long as the name allows.
  {
    address: LOOPY, entries: [],
    fallback: { aa: false, authority: ['x.loopy.example.test. 3600 IN NS ns.loopy.example.test.'], additional: [`ns.loopy.example.test. 3600 IN A ${LOOPY}`] },
  },
  // deep.test: a.b.c.d.e.deep.test is four more cuts down, each on its own server.
  {
    address: ip(20),
    entries: [{ name: 'e.deep.test', subdomain: true, reply: referral('e.deep.test', [['ns.e.deep.test.', ip(21)]]) }],
  },
  { address: ip(21), entries: [{ name: 'd.e.deep.test', subdomain: true, reply: referral('d.e.deep.test', [['ns.d.e.deep.test.', ip(22)]]) }] },
  { address: ip(22), entries: [{ name: 'c.d.e.deep.test', subdomain: true, reply: referral('c.d.e.deep.test', [['ns.c.d.e.deep.test.', ip(23)]]) }] },
  { address: ip(23), entries: [{ name: 'www.c.d.e.deep.test', type: 'A', reply: { answer: ['www.c.d.e.deep.test. 300 IN A 192.0.2.23'] } }] },
];

const net = new ScriptedNet(PORT);
const clock = manualClock();
const stats = emptyStats();
const cfg = testConfig(PORT, { timeoutMs: 300, resolutionTimeoutMs: 3000, maxCnameChain: 12 }, { maxNegativeTtl: 3600, maxTtl: 86400 });
const rootHints = hints([['a.root.test', ROOT]]);
const it2 = createIterator(cfg, stats, { rootHints, now: clock.now });

beforeAll(async () => { await net.start(scripts); });
afterAll(async () => { await it2.close(); await net.stop(); expect(net.errors).toEqual([]); });

const ask = (name: string, type: number = TYPE.A) => it2.resolve({ name, type, class: 1 });

describe('iterator: CNAME and DNAME chains', () => {
  it('in-zone chain in one response; each RRset keeps its own TTL; cacheTtl is the smallest', async () => {
    const r = await ask('ch1.example.test');
    expect(rdatas(r.answers)).toEqual(['ch1.example.test CNAME ch2.example.test.', 'ch2.example.test A 192.0.2.2']);
    expect(r.answers.map((x) => x.ttl)).toEqual([600, 60]);
    expect(r.cacheTtl).toBe(60);
  });

  it('chain across responses and zones', async () => {
    const r = await ask('step1.example.test');
    expect(rdatas(r.answers)).toEqual([
      'step1.example.test CNAME step2.example.test.',
      'step2.example.test CNAME www.other.test.',
      'www.other.test A 192.0.2.11',
    ]);
  });

  it('a CNAME loop across responses is SERVFAIL', async () => {
    const r = await ask('loop1.example.test');
    expect(r.rcode).toBe(RCODE.SERVFAIL);
    expect(r.ede?.text).toMatch(/CNAME loop/);
    expect(r.answers).toEqual([]);
  });

  it('a CNAME loop inside one response is SERVFAIL', async () => {
    const r = await ask('inloop.example.test');
    expect(r.rcode).toBe(RCODE.SERVFAIL);
    expect(r.ede?.text).toMatch(/CNAME loop/);
  });

  it('a chain longer than maxCnameChain is SERVFAIL; a shorter one resolves', async () => {
    expect((await ask('c0.example.test')).rcode).toBe(RCODE.SERVFAIL);
    const r = await ask('c10.example.test');
    expect(r.rcode).toBe(RCODE.NOERROR);
    expect(r.answers).toHaveLength(11);
    expect(rdatas(r.answers).at(-1)).toBe('c20.example.test A 192.0.2.20');
  });

  it('NXDOMAIN after a CNAME keeps the chain, the rcode and the SOA', async () => {
    const r = await ask('dangling.example.test');
    expect(r.rcode).toBe(RCODE.NXDOMAIN);
    expect(rdatas(r.answers)).toEqual(['dangling.example.test CNAME gone.example.test.']);
    expect(r.authority.map((x) => [x.type, x.ttl])).toEqual([[TYPE.SOA, 120]]);
    expect(r.cacheTtl).toBe(120);
  });

  it('NODATA at a CNAME target in another zone', async () => {
    const r = await ask('toempty.example.test', TYPE.MX);
    expect(r.rcode).toBe(RCODE.NOERROR);
    expect(rdatas(r.answers)).toEqual(['toempty.example.test CNAME www.other.test.']);
    expect(r.authority).toHaveLength(1);
    expect(r.authority[0].name).toBe('other.test');
    expect(r.cacheTtl).toBe(60);
  });

  it('DNAME: passes the DNAME and a synthesised CNAME on, then resolves the new name', async () => {
    const r = await ask('www.dn.example.test');
    expect(rdatas(r.answers)).toEqual([
      'dn.example.test DNAME other.test.',
      'www.dn.example.test CNAME www.other.test.',
      'www.other.test A 192.0.2.11',
    ]);
    expect(r.answers[1].ttl).toBe(900);
  });

  it('a DNAME into its own parent applies twice; its synthesised CNAMEs are not cached as data of their own', async () => {
    const r = await ask('c20.up.up.example.test');
    expect(rdatas(r.answers)).toEqual([
      'up.example.test DNAME example.test.',
      'c20.up.up.example.test CNAME c20.up.example.test.',
      'c20.up.example.test CNAME c20.example.test.',
      'c20.example.test A 192.0.2.20',
    ]);
    // The middle name's CNAME came from the DNAME: asked for it, a client gets the
    // DNAME with it, and never the server's forged CNAME.
    const c = await ask('c20.up.example.test', TYPE.CNAME);
    expect(rdatas(c.answers)).toEqual(['up.example.test DNAME example.test.', 'c20.up.example.test CNAME c20.example.test.']);
  });

  it('a CNAME question gets the CNAME, not its target', async () => {
    const r = await ask('cname.example.test', TYPE.CNAME);
    expect(rdatas(r.answers)).toEqual(['cname.example.test CNAME www.other.test.']);
  });
});

describe('iterator: wildcards, empty non-terminals, DS and NS', () => {
  it('passes a wildcard answer on with the question name as owner', async () => {
    const r = await ask('Anything.wild.example.test', TYPE.TXT);
    expect(rdatas(r.answers)).toEqual(['anything.wild.example.test TXT "wildcard"']);
  });

  it('an empty non-terminal is NODATA, not NXDOMAIN', async () => {
    const r = await ask('ent.example.test');
    expect(r.rcode).toBe(RCODE.NOERROR);
    expect(r.answers).toEqual([]);
    expect(r.authority[0].type).toBe(TYPE.SOA);
  });

  it('asks the parent for DS', async () => {
    const r = await ask('example.test', TYPE.DS);
    expect(r.rcode).toBe(RCODE.NOERROR);
    expect(r.answers[0].type).toBe(TYPE.DS);
    expect(net.seen.filter((q) => q.type === TYPE.DS).map((q) => q.server)).toEqual([TLD]);
  });

  it('asks the child for the NS set at a zone cut', async () => {
    const r = await ask('example.test', TYPE.NS);
    expect(rdatas(r.answers)).toEqual(['example.test NS ns1.example.test.']);
    expect(r.additional).toEqual([]);
    expect(net.seen.filter((q) => q.type === TYPE.NS && q.name === 'example.test').map((q) => q.server)).toEqual([EX]);
  });
});

describe('iterator: referral loops and limits', () => {
  it('a server that refers back up is lame; with no other server the answer is SERVFAIL', async () => {
    const r = await ask('www.sub.example.test');
    expect(r.rcode).toBe(RCODE.SERVFAIL);
  });

  it('a server that keeps referring deeper stops at the question name', async () => {
    const r = await ask('a.b.x.loopy.example.test');
    expect(r.rcode).toBe(RCODE.SERVFAIL);
    expect(net.queriesTo(LOOPY).length).toBeLessThanOrEqual(4);
  });

  it('maxReferrals bounds the descent', async () => {
    const deep = 'www.c.d.e.deep.test';
    const tight = createIterator({ ...cfg, upstream: { ...cfg.upstream, maxReferrals: 3 } }, emptyStats(), { rootHints });
    const r = await tight.resolve({ name: deep, type: TYPE.A, class: 1 });
    expect(r.rcode).toBe(RCODE.SERVFAIL);
    expect(r.ede?.text).toMatch(/referrals/);
    await tight.close();
    expect(rdatas((await ask(deep)).answers)).toEqual([`${deep} A 192.0.2.23`]);
  });

  it('maxQueriesPerResolution bounds the work of one question', async () => {
    const s = emptyStats();
    const tight = createIterator({ ...cfg, upstream: { ...cfg.upstream, maxQueriesPerResolution: 3 } }, s, { rootHints });
    const r = await tight.resolve({ name: 'www.c.d.e.deep.test', type: TYPE.A, class: 1 });
    expect(r.rcode).toBe(RCODE.SERVFAIL);
    expect(r.ede?.text).toMatch(/upstream queries/);
    expect(s.upstreamQueries).toBeLessThanOrEqual(3 + 1); // + priming, which has its own budget
    await tight.close();
  });
});

describe('iterator: TTLs', () => {
  it('counts TTLs down from the cache and asks again after expiry', async () => {
    const first = await ask('ttl.example.test');
    expect(first.answers[0].ttl).toBe(100);
    const n = () => net.seen.filter((q) => q.name === 'ttl.example.test').length;
    expect(n()).toBe(1);
    clock.advance(40_000);
    const second = await ask('ttl.example.test');
    expect(second.answers[0].ttl).toBe(60);
    expect(second.cacheTtl).toBe(60);
    expect(n()).toBe(1);
    clock.advance(60_000);
    const third = await ask('ttl.example.test');
    expect(third.answers[0].ttl).toBe(100);
    expect(n()).toBe(2);
  });

  it('clamps TTLs above maxTtl', async () => {
    const r = await ask('long.example.test');
    expect(r.answers[0].ttl).toBe(86400);
    expect(r.cacheTtl).toBe(86400);
  });

  it('negative TTL is min(SOA TTL, MINIMUM) bounded by maxNegativeTtl, and counts down from the cache', async () => {
    const r = await ask('negttl.example.test');
    expect(r.rcode).toBe(RCODE.NXDOMAIN);
    expect(r.authority[0].ttl).toBe(3600); // min(7200, 5000) = 5000, clamped to 3600
    expect(r.cacheTtl).toBe(3600);
    clock.advance(600_000);
    const again = await ask('negttl.example.test', TYPE.AAAA);
    expect(again.rcode).toBe(RCODE.NXDOMAIN);
    expect(again.authority[0].ttl).toBe(3000);
    expect(net.seen.filter((q) => q.name === 'negttl.example.test')).toHaveLength(1);
  });
});
