// Scenario: a plain referral chain root → test → example.test, with a CNAME into a
// sibling zone, NXDOMAIN and NODATA. Servers on 127.20.1.x.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIterator } from '../../resolver/iterator/index.js';
import { emptyStats } from '../../resolver/stats.js';
import { RCODE, TYPE } from '../../dns/constants.js';
import { ScriptedNet, nodata, nxdomain, referral, soaLine, priming } from './scripted-auth.js';
import { hints, rdatas, testConfig } from './helpers.js';

const PORT = 10531;
const ROOT = '127.20.1.1', TLD = '127.20.1.2', EX = '127.20.1.3', OTHER = '127.20.1.4';

const net = new ScriptedNet(PORT);
const stats = emptyStats();
const it2 = createIterator(testConfig(PORT), stats, { rootHints: hints([['a.root.test', ROOT]]) });

beforeAll(async () => {
  await net.start([
    {
      address: ROOT,
      entries: [
        priming(ROOT),
        { name: 'test', subdomain: true, reply: referral('test', [['ns1.nic.test.', TLD]]) },
        { name: '.', subdomain: true, reply: nxdomain('.') },
      ],
    },
    {
      address: TLD,
      entries: [
        { name: 'example.test', subdomain: true, reply: referral('example.test', [['ns1.example.test.', EX]]) },
        { name: 'other.test', subdomain: true, reply: referral('other.test', [['ns.other.test.', OTHER]]) },
        { name: 'test', subdomain: true, reply: nxdomain('test') },
      ],
    },
    {
      address: EX,
      entries: [
        { name: 'www.example.test', type: 'A', reply: { answer: ['www.example.test. 300 IN A 192.0.2.10', 'www.example.test. 300 IN A 192.0.2.11'] } },
        { name: 'www.example.test', type: 'AAAA', reply: nodata('example.test', 3600, 120) },
        { name: 'alias.example.test', reply: { answer: ['alias.example.test. 600 IN CNAME www.other.test.'] } },
        { name: 'weird.example.test', type: 'TYPE65400', reply: { answer: ['weird.example.test. 60 IN TYPE65400 \\# 3 010203'] } },
        { name: 'example.test', subdomain: true, reply: nxdomain('example.test', 7200, 900) },
      ],
    },
    {
      address: OTHER,
      entries: [
        { name: 'www.other.test', type: 'A', reply: { answer: ['www.other.test. 120 IN A 198.51.100.7'] } },
        { name: 'other.test', subdomain: true, reply: nxdomain('other.test') },
      ],
    },
  ]);
});

afterAll(async () => {
  await it2.close();
  await net.stop();
  expect(net.errors).toEqual([]);
});

describe('iterator: simple referral chain', () => {
  it('resolves an A record from the root down, priming first', async () => {
    const r = await it2.resolve({ name: 'www.example.test', type: TYPE.A, class: 1 });
    expect(r.rcode).toBe(RCODE.NOERROR);
    expect(rdatas(r.answers)).toEqual(['www.example.test A 192.0.2.10', 'www.example.test A 192.0.2.11']);
    expect(r.authority).toEqual([]);
    expect(r.additional).toEqual([]);
    expect(r.cacheTtl).toBe(300);
    const order = net.seen.map((q) => `${q.server} ${q.name} ${q.type}`);
    expect(order).toEqual([`${ROOT}  2`, `${ROOT} www.example.test 1`, `${TLD} www.example.test 1`, `${EX} www.example.test 1`]);
    // Iterative queries: no RD, EDNS advertised.
    expect(net.seen.every((q) => !q.rd && q.edns && !q.tcp)).toBe(true);
    expect(stats.upstreamQueries).toBe(4);
  });

  it('answers a repeated question from the RRset cache without upstream queries', async () => {
    const before = net.seen.length;
    const r = await it2.resolve({ name: 'WWW.Example.TEST', type: TYPE.A, class: 1 });
    expect(r.rcode).toBe(RCODE.NOERROR);
    expect(r.answers).toHaveLength(2);
    expect(net.seen.length).toBe(before);
  });

  it('uses the cached delegation for a sibling name (asks only example.test)', async () => {
    const before = net.seen.length;
    const r = await it2.resolve({ name: 'nope.example.test', type: TYPE.A, class: 1 });
    expect(r.rcode).toBe(RCODE.NXDOMAIN);
    expect(net.seen.slice(before).map((q) => q.server)).toEqual([EX]);
  });

  it('NXDOMAIN keeps the SOA with TTL min(SOA TTL, MINIMUM)', async () => {
    const r = await it2.resolve({ name: 'missing.example.test', type: TYPE.A, class: 1 });
    expect(r.rcode).toBe(RCODE.NXDOMAIN);
    expect(r.answers).toEqual([]);
    expect(rdatas(r.authority)).toEqual([`example.test SOA ${soaLine('example.test').split(' SOA ')[1].replace(/ 300$/, ' 900')}`]);
    expect(r.authority[0].ttl).toBe(900);
    expect(r.cacheTtl).toBe(900);
  });

  it('NODATA is NOERROR with no answers and the SOA', async () => {
    const r = await it2.resolve({ name: 'www.example.test', type: TYPE.AAAA, class: 1 });
    expect(r.rcode).toBe(RCODE.NOERROR);
    expect(r.answers).toEqual([]);
    expect(r.authority).toHaveLength(1);
    expect(r.authority[0].type).toBe(TYPE.SOA);
    expect(r.cacheTtl).toBe(120);
  });

  it('follows a CNAME into another zone and returns the whole chain', async () => {
    const r = await it2.resolve({ name: 'alias.example.test', type: TYPE.A, class: 1 });
    expect(r.rcode).toBe(RCODE.NOERROR);
    expect(rdatas(r.answers)).toEqual(['alias.example.test CNAME www.other.test.', 'www.other.test A 198.51.100.7']);
    expect(r.cacheTtl).toBe(120);
  });

  it('passes unknown RR types through byte for byte (RFC 3597)', async () => {
    const r = await it2.resolve({ name: 'weird.example.test', type: 65400, class: 1 });
    expect(r.rcode).toBe(RCODE.NOERROR);
    expect(r.answers).toHaveLength(1);
    expect(r.answers[0].type).toBe(65400);
    expect(r.answers[0].rdata.toString('hex')).toBe('010203');
  });

  it('spreads UDP queries over random source ports and IDs', () => {
    const udp = net.seen.filter((q) => !q.tcp);
    expect(udp.length).toBeGreaterThan(5);
    // A fresh random port per query: a repeat among a handful of draws from ~28k ports is rare.
    expect(new Set(udp.map((q) => q.srcPort)).size).toBeGreaterThanOrEqual(udp.length - 1);
    expect(new Set(udp.map((q) => q.id)).size).toBeGreaterThan(udp.length - 2);
  });

  it('refuses classes other than IN', async () => {
    const r = await it2.resolve({ name: 'www.example.test', type: TYPE.A, class: 3 });
    expect(r.rcode).toBe(RCODE.REFUSED);
  });
});
