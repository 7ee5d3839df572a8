import { describe, expect, it } from 'vitest';
import { TYPE } from '../../dns/constants.js';
import { rdataFromText } from '../../dns/rdata.js';
import { AnswerCache } from './cache.js';
import { buildEntry } from './entry.js';

const entry = (name: string, now: number, ttl: number, n = 1) => buildEntry({
  name, type: TYPE.A, class: 1, rcode: 0,
  answers: Array.from({ length: n }, (_, i) => ({ name, type: TYPE.A, class: 1, ttl, rdata: rdataFromText(TYPE.A, `10.0.0.${i}`) })),
  authority: [], additional: [],
}, now, ttl);

describe('AnswerCache', () => {
  it('serves an entry until its TTL runs out, then forgets it', () => {
    const c = new AnswerCache(1 << 20);
    c.set('k', entry('a.example', 1000, 10), 1000);
    expect(c.get('k', 1000)).toBeDefined();
    expect(c.get('k', 10_999)).toBeDefined();
    expect(c.get('k', 11_000)).toBeUndefined();
    expect(c.entries).toBe(0);
  });

  it('does not store answers with no lifetime (a DNS TTL of 0 must never mean "forever")', () => {
    const c = new AnswerCache(1 << 20);
    c.set('k', entry('a.example', 1000, 0), 1000);
    expect(c.get('k', 1000)).toBeUndefined();
    expect(c.entries).toBe(0);
  });

  it('stays within its byte bound, evicting the least recently used', () => {
    const max = 64 * 1024;
    const c = new AnswerCache(max);
    for (let i = 0; i < 2000; i++) c.set(`k${i}`, entry(`n${i}.example`, 0, 300, 4), 0);
    expect(c.bytes).toBeLessThanOrEqual(max);
    expect(c.entries).toBeGreaterThan(50);
    expect(c.entries).toBeLessThan(2000);
    expect(c.get('k1999', 0)).toBeDefined();
    expect(c.get('k0', 0)).toBeUndefined();
  });

  it('counts entries and bytes', () => {
    const c = new AnswerCache(1 << 20);
    const e = entry('a.example', 0, 60);
    c.set('key', e, 0);
    expect(c.entries).toBe(1);
    expect(c.bytes).toBe(e.size + 3);
  });
});
