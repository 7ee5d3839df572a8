import { describe, expect, it } from 'vitest';
import { RCODE } from '../dns/constants.js';
import { TtlPolicy } from './ttl-policy.js';

const p = new TtlPolicy({ minTtl: 10, maxTtl: 1000, maxNegativeTtl: 300, servfailTtl: 2 });

describe('TtlPolicy', () => {
  it('clamps positive TTLs; the top bit counts as 0 (RFC 2181 section 8)', () => {
    expect(p.positive(5)).toBe(10);
    expect(p.positive(500)).toBe(500);
    expect(p.positive(5000)).toBe(1000);
    expect(p.positive(0x80000000)).toBe(10);
  });

  it('caps negative TTLs', () => {
    expect(p.negative(60)).toBe(60);
    expect(p.negative(3600)).toBe(300);
    expect(p.negative(0x80000000)).toBe(0);
  });

  it('gives the front one TTL per answer and maps record TTLs', () => {
    const pos = p.answer(RCODE.NOERROR, true, 3);
    expect(pos.ttl).toBe(10);
    expect(pos.recordTtl(2000)).toBe(1000);
    const neg = p.answer(RCODE.NXDOMAIN, false, 900);
    expect(neg.ttl).toBe(300);
    expect(neg.recordTtl(900)).toBe(300);
    expect(neg.recordTtl(0xffffffff)).toBe(0);
    expect(p.answer(RCODE.NOERROR, false, 30).ttl).toBe(30); // NODATA
    expect(p.answer(RCODE.SERVFAIL, false, 0).ttl).toBe(2);
    expect(p.answer(RCODE.REFUSED, false, 0).ttl).toBe(0);
    expect(p.answer(RCODE.REFUSED, false, 0).recordTtl(5000)).toBe(1000);
  });
});
