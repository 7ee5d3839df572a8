import { describe, expect, it } from 'vitest';
import { TtlPolicy } from '../ttl-policy.js';
import { RRsetCache, TRUST } from './rrset-cache.js';
import type { ResourceRecord } from '../../dns/message.js';
import { rdataFromText } from '../../dns/rdata.js';
import { TYPE } from '../../dns/constants.js';

function rec(name: string, type: number, ttl: number, text: string): ResourceRecord {
  return { name, type, class: 1, ttl, rdata: rdataFromText(type, text) };
}

function make(opts: Partial<{ maxBytes: number; minTtl: number; maxTtl: number; maxNegativeTtl: number }> = {}) {
  let t = 5_000;
  const o = { maxBytes: 1 << 20, minTtl: 0, maxTtl: 86400, maxNegativeTtl: 3600, ...opts };
  const cache = new RRsetCache({ maxBytes: o.maxBytes, ttl: new TtlPolicy({ ...o, servfailTtl: 0 }), now: () => t });
  return { cache, advance: (ms: number) => { t += ms; } };
}

describe('RRsetCache', () => {
  it('keeps referral glue apart (parent side), filed under its delegation: the child\'s answer neither overwrites it nor is overwritten by it', () => {
    const { cache, advance } = make();
    cache.putParentSide('example.net', [rec('ns.example.net', TYPE.A, 3600, '192.0.2.44')]);
    cache.putRRset([rec('ns.example.net', TYPE.A, 300, '192.0.2.55')], TRUST.ANSWER_AA);
    expect(cache.addressesOf('ns.example.net', 1)).toEqual(['192.0.2.55']);
    expect(cache.parentSideAddresses('example.net', 'NS.example.net', 1)).toEqual(['192.0.2.44']);
    // Only for the delegation it came with.
    expect(cache.parentSideAddresses('example.com', 'ns.example.net', 1)).toEqual([]);
    // A later referral refreshes the parent side only.
    cache.putParentSide('example.net', [rec('ns.example.net', TYPE.A, 3600, '192.0.2.45'), rec('ns.example.net', TYPE.A, 3600, '192.0.2.46')]);
    expect(cache.addressesOf('ns.example.net', 1)).toEqual(['192.0.2.55']);
    expect(cache.parentSideAddresses('example.net', 'ns.example.net', 1)).toEqual(['192.0.2.45', '192.0.2.46']);
    // It is never an answer: no RRset lookup sees it, and it expires with its TTL.
    expect(cache.getRRset('ns.example.net', TYPE.A, 1)?.records).toHaveLength(1);
    advance(3601_000);
    expect(cache.parentSideAddresses('example.net', 'ns.example.net', 1)).toEqual([]);
  });

  it('a delegation takes the child side\'s addresses, else its own glue, never glue given for another delegation', () => {
    const { cache } = make();
    const ns = [rec('example.com', TYPE.NS, 3600, 'ns.example.com.'), rec('example.com', TYPE.NS, 3600, 'ns.other.net.')];
    cache.putParentSide('example.com', [rec('ns.example.com', TYPE.A, 3600, '192.0.2.1')]);
    // Glue for ns.other.net that came with some other delegation.
    cache.putParentSide('other.net', [rec('ns.other.net', TYPE.A, 3600, '6.6.6.6')]);
    let d = cache.delegationFrom(ns, 1);
    expect([...d.addresses]).toEqual([['ns.example.com', ['192.0.2.1']]]);
    // The child's own answer for its server wins over the glue.
    cache.putRRset([rec('ns.example.com', TYPE.A, 300, '192.0.2.9')], TRUST.ANSWER_AA);
    d = cache.delegationFrom(ns, 1);
    expect([...d.addresses]).toEqual([['ns.example.com', ['192.0.2.9']]]);
  });

  it('glue never replaces an authoritative answer of the same name and type', () => {
    const { cache } = make();
    cache.putRRset([rec('ns1.bank.test', TYPE.A, 300, '192.0.2.11')], TRUST.ANSWER_AA);
    expect(cache.putRRset([rec('ns1.bank.test', TYPE.A, 300, '6.6.6.6')], TRUST.GLUE)).toBe(false);
    expect(cache.addressesOf('ns1.bank.test', 1)).toEqual(['192.0.2.11']);
  });

  it('counts TTLs down with the injected clock and expires entries', () => {
    const { cache, advance } = make();
    cache.putRRset([rec('www.example', TYPE.A, 100, '192.0.2.1')], TRUST.ANSWER_AA);
    expect(cache.getRRset('WWW.example', TYPE.A, 1)?.ttl).toBe(100);
    advance(40_500);
    expect(cache.getRRset('www.example', TYPE.A, 1)?.records[0].ttl).toBe(60);
    advance(59_499);
    expect(cache.getRRset('www.example', TYPE.A, 1)?.ttl).toBe(1);
    advance(1);
    expect(cache.getRRset('www.example', TYPE.A, 1)).toBeUndefined();
  });

  it('unifies an RRset to its smallest TTL and clamps to min/max', () => {
    const { cache } = make({ minTtl: 30, maxTtl: 600 });
    cache.putRRset([rec('a.example', TYPE.A, 900, '192.0.2.1'), rec('a.example', TYPE.A, 700, '192.0.2.2')], TRUST.ANSWER);
    expect(cache.getRRset('a.example', TYPE.A, 1)?.records.map((r) => r.ttl)).toEqual([600, 600]);
    cache.putRRset([rec('b.example', TYPE.A, 5, '192.0.2.1')], TRUST.ANSWER);
    expect(cache.getRRset('b.example', TYPE.A, 1)?.ttl).toBe(30);
  });

  it('does not store TTL 0 (lru-cache would keep it forever), nor a TTL with the top bit set', () => {
    const { cache } = make();
    cache.putRRset([rec('big.example', TYPE.A, 0x80000000, '192.0.2.1')], TRUST.ANSWER_AA);
    expect(cache.getRRset('big.example', TYPE.A, 1)).toBeUndefined();
    cache.putRRset([rec('z.example', TYPE.A, 0, '192.0.2.1')], TRUST.ANSWER_AA);
    expect(cache.getRRset('z.example', TYPE.A, 1)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('lets higher trust replace lower, never the other way while unexpired', () => {
    const { cache, advance } = make();
    cache.putRRset([rec('ns1.example', TYPE.A, 300, '192.0.2.1')], TRUST.ANSWER_AA);
    expect(cache.putRRset([rec('ns1.example', TYPE.A, 300, '203.0.113.66')], TRUST.GLUE)).toBe(false);
    expect(cache.getRRset('ns1.example', TYPE.A, 1)?.records[0].rdata).toEqual(Buffer.from([192, 0, 2, 1]));
    // Glue never answers a client (minTrust ANSWER), but steers the iterator.
    cache.putRRset([rec('ns2.example', TYPE.A, 300, '192.0.2.2')], TRUST.GLUE);
    expect(cache.getRRset('ns2.example', TYPE.A, 1, TRUST.ANSWER)).toBeUndefined();
    expect(cache.getRRset('ns2.example', TYPE.A, 1)).toBeDefined();
    cache.putRRset([rec('ns2.example', TYPE.A, 300, '192.0.2.3')], TRUST.ANSWER_AA);
    expect(cache.getRRset('ns2.example', TYPE.A, 1, TRUST.ANSWER)?.records[0].rdata).toEqual(Buffer.from([192, 0, 2, 3]));
    // Once the trusted copy has expired, lower trust may take its place.
    advance(301_000);
    expect(cache.putRRset([rec('ns1.example', TYPE.A, 300, '192.0.2.9')], TRUST.GLUE)).toBe(true);
  });

  it('stores NXDOMAIN per name and NODATA per name and type, clamped by maxNegativeTtl', () => {
    const { cache, advance } = make({ maxNegativeTtl: 60 });
    const soa = rec('example', TYPE.SOA, 3600, 'ns. host. 1 2 3 4 300');
    cache.putNegative('gone.example', TYPE.A, 1, 3, soa, 300);
    expect(cache.getNegative('gone.example', TYPE.MX, 1)).toMatchObject({ rcode: 3, ttl: 60 });
    cache.putNegative('www.example', TYPE.AAAA, 1, 0, soa, 30);
    expect(cache.getNegative('www.example', TYPE.AAAA, 1)).toMatchObject({ rcode: 0, ttl: 30 });
    expect(cache.getNegative('www.example', TYPE.A, 1)).toBeUndefined();
    advance(30_000);
    expect(cache.getNegative('www.example', TYPE.AAAA, 1)).toBeUndefined();
    expect(cache.getNegative('gone.example', TYPE.A, 1)?.soa?.ttl).toBe(30);
  });

  it('a positive RRset clears a negative entry for the same name', () => {
    const { cache } = make();
    cache.putNegative('new.example', TYPE.A, 1, 3, undefined, 300);
    cache.putRRset([rec('new.example', TYPE.A, 300, '192.0.2.1')], TRUST.ANSWER_AA);
    expect(cache.getNegative('new.example', TYPE.A, 1)).toBeUndefined();
  });

  it('finds the deepest cached zone cut with its cached addresses', () => {
    const { cache } = make();
    cache.putRRset([rec('example', TYPE.NS, 300, 'ns1.example.'), rec('example', TYPE.NS, 300, 'ns.other.')], TRUST.REFERRAL);
    cache.putParentSide('example', [rec('ns1.example', TYPE.A, 300, '192.0.2.53')]);
    cache.putRRset([rec('', TYPE.NS, 300, 'a.root.')], TRUST.ANSWER_AA);
    const d = cache.findDelegation('a.b.example', 1)!;
    expect(d.zone).toBe('example');
    expect(d.nsNames).toEqual(['ns1.example', 'ns.other']);
    expect(d.addresses.get('ns1.example')).toEqual(['192.0.2.53']);
    expect(d.addresses.has('ns.other')).toBe(false);
    expect(cache.findDelegation('a.b.example', 1, (x) => x.zone === '')!.zone).toBe('');
    expect(cache.findDelegation('org', 1)!.zone).toBe('');
  });

  it('stays within its byte bound under a flood of distinct names', () => {
    const { cache } = make({ maxBytes: 64 * 1024 });
    for (let i = 0; i < 5000; i++) cache.putRRset([rec(`n${i}.flood.example`, TYPE.TXT, 300, '"' + 'x'.repeat(100) + '"')], TRUST.ANSWER);
    expect(cache.bytes).toBeLessThanOrEqual(64 * 1024);
    expect(cache.size).toBeLessThan(5000);
    expect(cache.getRRset('n4999.flood.example', TYPE.TXT, 1)).toBeDefined();
    expect(cache.getRRset('n0.flood.example', TYPE.TXT, 1)).toBeUndefined();
  });

  it('lookupName gives the RRset, else a CNAME, else a negative entry, in one lookup', () => {
    const { cache } = make();
    cache.putRRset([rec('alias.example', TYPE.CNAME, 300, 'www.example.')], TRUST.ANSWER_AA);
    expect(cache.lookupName('alias.example', TYPE.A, 1, TRUST.ANSWER).cname?.records).toHaveLength(1);
    expect(cache.lookupName('alias.example', TYPE.CNAME, 1, TRUST.ANSWER).rrset?.records).toHaveLength(1);
    cache.putRRset([rec('www.example', TYPE.A, 300, '192.0.2.1')], TRUST.ANSWER_AA);
    cache.putNegative('www.example', TYPE.AAAA, 1, 0, undefined, 60);
    expect(cache.lookupName('www.example', TYPE.A, 1, TRUST.ANSWER).rrset).toBeDefined();
    expect(cache.lookupName('www.example', TYPE.AAAA, 1, TRUST.ANSWER).negative).toMatchObject({ rcode: 0, ttl: 60 });
    expect(cache.lookupName('www.example', TYPE.MX, 1, TRUST.ANSWER)).toEqual({});
    // Glue is not an answer.
    cache.putRRset([rec('ns.example', TYPE.A, 300, '192.0.2.53')], TRUST.GLUE);
    expect(cache.lookupName('ns.example', TYPE.A, 1, TRUST.ANSWER)).toEqual({});
  });

  it('counts the bytes of every entry added to a name already cached', () => {
    const { cache } = make();
    cache.putRRset([rec('multi.example', TYPE.A, 300, '192.0.2.1')], TRUST.ANSWER);
    const one = cache.bytes;
    cache.putRRset([rec('multi.example', TYPE.TXT, 300, '"' + 'y'.repeat(200) + '"')], TRUST.ANSWER);
    expect(cache.bytes).toBeGreaterThan(one + 200);
    const two = cache.bytes;
    cache.putNegative('multi.example', TYPE.MX, 1, 0, rec('example', TYPE.SOA, 60, 'ns. host. 1 2 3 4 300'), 60);
    expect(cache.bytes).toBeGreaterThan(two);
    expect(cache.size).toBe(1);
  });

  it('stays within its byte bound when many types pile up on few names', () => {
    const { cache } = make({ maxBytes: 64 * 1024 });
    for (let t = 1; t < 2000; t++) cache.putRRset([rec(`n${t % 5}.example`, 60000 + t, 300, '\\# 100 ' + 'ab'.repeat(100))], TRUST.ANSWER);
    expect(cache.bytes).toBeLessThanOrEqual(64 * 1024);
  });

  it('keeps its byte count steady when the same names are stored over and over', () => {
    const { cache, advance } = make();
    for (let i = 0; i < 20; i++) cache.putRRset([rec(`n${i}.example`, TYPE.A, 300, '192.0.2.1')], TRUST.ANSWER);
    const bytes = cache.bytes;
    for (let round = 0; round < 50; round++) {
      advance(1000);
      for (let i = 0; i < 20; i++) {
        cache.putRRset([rec(`n${i}.example`, TYPE.A, 300, '192.0.2.1')], TRUST.ANSWER);
        cache.putNegative(`n${i}.example`, TYPE.AAAA, 1, 0, undefined, 60);
        cache.putRRset([rec(`n${i}.example`, TYPE.AAAA, 300, '2001:db8::1')], TRUST.ANSWER);
      }
    }
    expect(cache.size).toBe(20);
    expect(cache.bytes).toBeLessThan(bytes * 3);
    expect(cache.getNegative('n3.example', TYPE.AAAA, 1)).toBeUndefined();
  });

  it('keeps a negative answer\'s proof records in a buffer of their own, not in slices of the Buffer pool', () => {
    const { cache } = make();
    const soa = rec('example', TYPE.SOA, 300, 'ns.example. host.example. 1 2 3 4 300');
    const proof = [{ name: 'a.example', type: TYPE.NSEC, class: 1, ttl: 300, rdata: Buffer.from('0163076578616d706c6500000140', 'hex') }, { name: 'example', type: TYPE.NSEC, class: 1, ttl: 300, rdata: Buffer.from('0161076578616d706c650000062000000003', 'hex') }];
    cache.putNegative('b.example', TYPE.A, 1, 3, soa, 300, proof);
    const got = cache.getNegative('b.example', TYPE.A, 1)!.proof!;
    expect(got.map((r) => r.rdata.toString('hex'))).toEqual(proof.map((r) => r.rdata.toString('hex')));
    const total = proof.reduce((n, r) => n + r.rdata.length, 0);
    expect(got[0].rdata.buffer).toBe(got[1].rdata.buffer);
    expect(got[0].rdata.buffer.byteLength).toBe(total);
  });
});
