import { describe, expect, it } from 'vitest';
import { cefDistribution, exactRoute, type Endpoint } from './cef.js';
import { parseClientsText } from './clients.js';
import { tableRows } from './hash.js';
import { parseIPv4 } from './ipv4.js';

const ip = (s: string): number => {
  const n = parseIPv4(s);
  if (n === undefined) throw new Error(s);
  return n;
};
const eps = (...a: string[]): Endpoint[] => a.map((s) => ({ address: ip(s), label: s }));
const VIP = ip('192.0.2.53'); // d3 = 2, d4 = 53
const SLASH24 = parseClientsText('t', '10.1.5.0/24\n'); // s3 = 5, 1 qps per address

describe('tableRows', () => {
  it('is floor(16/N)*N', () => {
    // Written out by hand, not computed.
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16].map(tableRows))
      .toEqual([16, 16, 15, 16, 15, 12, 14, 16, 9, 10, 11, 12, 13, 14, 15, 16]);
  });
});

describe('seed-xor shares for a /24 (hand-computed)', () => {
  // key = ((5 ^ 2) << 8) | (s4 ^ 53) = 1792 + (s4 ^ 53); as s4 runs 0..255, s4 ^ 53 is a
  // permutation of 0..255, so the keys are exactly 1792..2047, each once (1 qps each).

  it('3 endpoints: 15-row table, 86/85/85, paths sorted numerically', () => {
    // B = 15. 1792 = 15*119 + 7, so the 256 keys start at row 7 and 256 = 17*15 + 1:
    // every row gets 17 keys and row 7 one more (18). Path p owns rows r with r mod 3 = p,
    // 5 rows each; row 7 belongs to path 1. Path 1 = 4*17 + 18 = 86, paths 0 and 2 = 85.
    // Numeric order: .9 < .10 < .100 (a string sort would put .9 last).
    const d = cefDistribution(SLASH24, { vip: VIP, endpoints: eps('10.9.0.100', '10.9.0.9', '10.9.0.10'), algorithm: 'seed-xor' });
    expect(d.tableRows).toBe(15);
    expect(d.endpoints.map((e) => [e.endpoint, e.rows, e.qps])).toEqual([
      ['10.9.0.9', 5, 85],
      ['10.9.0.10', 5, 86],
      ['10.9.0.100', 5, 85],
    ]);
    expect(d.endpoints.map((e) => e.share)).toEqual([85 / 256, 86 / 256, 85 / 256]);
    expect(d.hottest).toEqual({ endpoint: '10.9.0.10', ratioToFair: (86 * 3) / 256 });
    expect(d.coldest.ratioToFair).toBe((85 * 3) / 256);
    expect(d.table[7]).toEqual({ row: 7, path: 1, endpoint: '10.9.0.10', qps: 18 });
    expect(d.table[8].qps).toBe(17);
  });

  it('4 endpoints: 16 rows, 64 each', () => {
    // B = 16; 1792 = 16*112, so the 256 keys fill each row 16 times; 4 rows per path.
    const d = cefDistribution(SLASH24, { vip: VIP, endpoints: eps('10.9.0.1', '10.9.0.2', '10.9.0.3', '10.9.0.4'), algorithm: 'seed-xor' });
    expect(d.endpoints.map((e) => e.qps)).toEqual([64, 64, 64, 64]);
    expect(d.endpoints.map((e) => e.share)).toEqual([0.25, 0.25, 0.25, 0.25]);
    expect(d.hottest.ratioToFair).toBe(1);
  });

  it('16 endpoints: one row each, 16 each', () => {
    const list = Array.from({ length: 16 }, (_, i) => `10.9.1.${i + 1}`);
    const d = cefDistribution(SLASH24, { vip: VIP, endpoints: eps(...list), algorithm: 'seed-xor' });
    expect(d.tableRows).toBe(16);
    expect(d.endpoints.map((e) => e.qps)).toEqual(new Array(16).fill(16));
  });

  it('a /26 against 3 endpoints is lumpier: 21/22/21', () => {
    // s4 in 0..63, s4 ^ 53 in 0..63 (53 < 64): keys 1792..1855, 64 keys from row 7.
    // 64 = 4*15 + 4: rows 7, 8, 9, 10 get 5 keys, the rest 4. Rows 7,10 -> path 1;
    // row 8 -> path 2; row 9 -> path 0. Path 0 = 20 + 1, path 1 = 20 + 2, path 2 = 20 + 1.
    const d = cefDistribution(parseClientsText('t', '10.1.5.0/26 64'), { vip: VIP, endpoints: eps('10.9.0.1', '10.9.0.2', '10.9.0.3'), algorithm: 'seed-xor' });
    expect(d.endpoints.map((e) => e.qps)).toEqual([21, 22, 21]);
  });

  it('agrees with a from-the-spec brute force for several prefixes and N', () => {
    // Independent re-statement of the definition, address by address.
    const brute = (base: string, len: number, n: number): number[] => {
      const b = Math.floor(16 / n) * n;
      const [, , d3, d4] = '192.0.2.53'.split('.').map(Number);
      const out = new Array(n).fill(0);
      const start = ip(base);
      for (let i = 0; i < 2 ** (32 - len); i++) {
        const a = start + i;
        const s3 = Math.floor(a / 256) % 256;
        const s4 = a % 256;
        const key = ((s3 ^ d3) << 8) | (s4 ^ d4);
        out[(key % b) % n] += 1;
      }
      return out;
    };
    for (const [base, len] of [['10.1.5.0', 24], ['172.16.0.0', 20], ['198.51.100.128', 25], ['10.200.0.0', 14]] as const) {
      for (const n of [2, 3, 5, 7, 11, 16]) {
        const list = Array.from({ length: n }, (_, i) => `10.9.2.${i + 1}`);
        const d = cefDistribution(parseClientsText('t', `${base}/${len}`), { vip: VIP, endpoints: eps(...list), algorithm: 'seed-xor' });
        expect(d.endpoints.map((e) => e.qps), `${base}/${len} N=${n}`).toEqual(brute(base, len, n));
      }
    }
  });
});

describe('exact-route', () => {
  it('names the endpoint a source reaches under seed-xor', () => {
    // 10.1.5.7 -> 192.0.2.53: key = (7 << 8) | (7 ^ 53) = 1792 + 50 = 1842; 1842 mod 15 = 12; 12 mod 3 = 0.
    const r = exactRoute({ vip: VIP, endpoints: eps('10.9.0.3', '10.9.0.1', '10.9.0.2'), algorithm: 'seed-xor' }, ip('10.1.5.7'));
    expect(r).toMatchObject({ key: 1842, row: 12, path: 0, endpoint: '10.9.0.1' });
  });

  it('include-ports depends on the source port, universal on the id', () => {
    const opts = { vip: VIP, endpoints: eps('10.9.0.1', '10.9.0.2', '10.9.0.3', '10.9.0.4'), algorithm: 'include-ports' as const };
    const seen = new Set<number>();
    for (let port = 1024; port < 1100; port++) seen.add(exactRoute(opts, ip('10.1.5.7'), port).path);
    expect(seen.size).toBe(4);
    const ids = new Set<number>();
    for (let id = 0; id < 50; id++) ids.add(exactRoute({ ...opts, algorithm: 'universal', id }, ip('10.1.5.7')).path);
    expect(ids.size).toBe(4);
  });
});

describe('universal and include-ports distributions', () => {
  it('conserve the offered load and stay near even for a large population', () => {
    const clients = parseClientsText('t', '10.0.0.0/16 65536\n');
    for (const algorithm of ['universal', 'include-ports'] as const) {
      const d = cefDistribution(clients, { vip: VIP, endpoints: eps('10.9.0.1', '10.9.0.2', '10.9.0.3'), algorithm, id: 7 });
      const sum = d.endpoints.reduce((s, e) => s + e.qps, 0);
      expect(sum).toBeCloseTo(65536, 6);
      expect(d.hottest.ratioToFair).toBeGreaterThan(1);
      expect(d.hottest.ratioToFair).toBeLessThan(1.03);
    }
  });

  it('one heavy source lands on one path under universal but spreads under include-ports', () => {
    const clients = parseClientsText('t', '203.0.113.9 9000\n');
    const e = eps('10.9.0.1', '10.9.0.2', '10.9.0.3');
    const u = cefDistribution(clients, { vip: VIP, endpoints: e, algorithm: 'universal' });
    expect(u.endpoints.filter((x) => x.qps > 0)).toHaveLength(1);
    expect(u.hottest.ratioToFair).toBe(3);
    const p = cefDistribution(clients, { vip: VIP, endpoints: e, algorithm: 'include-ports' });
    // 65536 keys over 15 rows: 4369 keys per row, row 0 one more (65536 = 15*4369 + 1).
    expect(p.endpoints[0].qps).toBeCloseTo((9000 * (5 * 4369 + 1)) / 65536, 9);
    expect(p.endpoints[1].qps).toBeCloseTo((9000 * 5 * 4369) / 65536, 9);
  });
});
