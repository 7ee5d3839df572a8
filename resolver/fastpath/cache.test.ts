import { describe, expect, it } from 'vitest';
import { TYPE } from '../../dns/constants.js';
import { buildQuery } from '../../dns/message.js';
import { rdataFromText } from '../../dns/rdata.js';
import { MAX_KEY_LEN, QueryInfo, readQuery } from '../listener/query.js';
import { AnswerCache } from './cache.js';
import { buildEntry } from './entry.js';

const entry = (name: string, now: number, ttl: number, n = 1) => buildEntry({
  name, type: TYPE.A, class: 1, rcode: 0,
  answers: Array.from({ length: n }, (_, i) => ({ name, type: TYPE.A, class: 1, ttl, rdata: rdataFromText(TYPE.A, `10.0.${i >> 8}.${i & 255}`) })),
  authority: [], additional: [],
}, now, ttl);

/** The key bytes and hash the listener computes for a question. */
function keyOf(name: string, type: number = TYPE.A) {
  const key = Buffer.alloc(MAX_KEY_LEN + 4);
  const q = new QueryInfo();
  readQuery(buildQuery({ id: 1, name, type }), q, key);
  return { key, len: q.keyLen, hash: q.keyHash };
}

describe('AnswerCache', () => {
  it('finds an entry by any letter case of its question, until its TTL runs out', () => {
    const c = new AnswerCache(1 << 20);
    c.store(keyOf('a.example').hash, entry('a.example', 1000, 10), 1000);
    const k = keyOf('A.EXAMPLE');
    expect(k.hash).toBe(keyOf('a.example').hash);
    expect(c.lookup(k.hash, k.key, k.len, 1000)).toBeDefined();
    expect(c.lookup(k.hash, k.key, k.len, 10_999)).toBeDefined();
    expect(c.lookup(k.hash, k.key, k.len, 11_000)).toBeUndefined();
    expect(c.entries).toBe(0);
    const other = keyOf('a.example', TYPE.AAAA);
    expect(other.hash).not.toBe(k.hash);
  });

  it('never serves an entry whose question differs, even under the same hash', () => {
    const c = new AnswerCache(1 << 20);
    const a = keyOf('a.example');
    // Pretend b.example collided with a.example's hash.
    c.store(a.hash, entry('b.example', 0, 300), 0);
    expect(c.lookup(a.hash, a.key, a.len, 0)).toBeUndefined();
    const longer = keyOf('aa.example');
    c.store(longer.hash, entry('aa.example', 0, 300), 0);
    expect(c.lookup(longer.hash, a.key, a.len, 0)).toBeUndefined();
  });

  it('does not store answers with no lifetime (a DNS TTL of 0 must never mean "forever")', () => {
    const c = new AnswerCache(1 << 20);
    const k = keyOf('a.example');
    c.store(k.hash, entry('a.example', 1000, 0), 1000);
    expect(c.lookup(k.hash, k.key, k.len, 1000)).toBeUndefined();
    expect(c.entries).toBe(0);
  });

  it('stays within its byte bound, evicting the least recently used, and keeps the index in step', () => {
    const max = 64 * 1024;
    const c = new AnswerCache(max);
    const first = keyOf('n0.example');
    c.store(first.hash, entry('n0.example', 0, 86_400, 4), 0);
    for (let i = 1; i < 2000; i++) {
      c.store(keyOf(`n${i}.example`).hash, entry(`n${i}.example`, 0, 86_400, 4), 0);
      // Keep n0 in use: a hit more than a second after the last refresh moves it to the front.
      if (i % 50 === 0) expect(c.lookup(first.hash, first.key, first.len, i * 1000)).toBeDefined();
    }
    expect(c.bytes).toBeLessThanOrEqual(max);
    expect(c.entries).toBeGreaterThan(50);
    expect(c.entries).toBeLessThan(2000);
    const last = keyOf('n1999.example');
    expect(c.lookup(last.hash, last.key, last.len, 0)).toBeDefined();
    const evicted = keyOf('n1.example');
    expect(c.lookup(evicted.hash, evicted.key, evicted.len, 0)).toBeUndefined();
    expect(c.lookup(first.hash, first.key, first.len, 0)).toBeDefined();
    expect((c as unknown as { index: Map<number, unknown> }).index.size).toBe(c.entries);
  });

  it('refuses an entry larger than an eighth of the cache', () => {
    const c = new AnswerCache(64 * 1024);
    const k = keyOf('big.example');
    c.store(k.hash, entry('big.example', 0, 300, 1000), 0);
    expect(c.lookup(k.hash, k.key, k.len, 0)).toBeUndefined();
    expect(c.entries).toBe(0);
  });

  it('counts entries and bytes', () => {
    const c = new AnswerCache(1 << 20);
    const e = entry('a.example', 0, 60);
    c.store(keyOf('a.example').hash, e, 0);
    expect(c.entries).toBe(1);
    expect(c.bytes).toBe(e.size);
  });
});

describe('AnswerCache slab memory', () => {
  it('moves a hot entry out of an old slab on use, keeping its bytes', () => {
    const c = new AnswerCache(64 << 20);
    const k = keyOf('hot.example');
    const slabEntry = (name: string) => buildEntry({
      name, type: TYPE.A, class: 1, rcode: 0,
      answers: [{ name, type: TYPE.A, class: 1, ttl: 86_400, rdata: rdataFromText(TYPE.A, '192.0.2.1') }], authority: [], additional: [],
    }, 0, 86_400, (t) => t, c.slabs);
    const hot = slabEntry('hot.example');
    c.store(k.hash, hot, 0);
    const before = Buffer.from(hot.wire);
    const firstSlab = hot.slab;
    expect(hot.generation).toBe(0);
    for (let i = 0; c.slabs.generation < 9; i++) c.store(keyOf(`f${i}.example`).hash, slabEntry(`f${i}.example`), 0);
    expect(c.lookup(k.hash, k.key, k.len, 2000)).toBe(hot);
    expect(hot.slab).not.toBe(firstSlab);
    expect(hot.generation).toBe(c.slabs.generation);
    expect(hot.wire.equals(before)).toBe(true);
    expect(hot.ttlOffset(0)).toBe(hot.qEnd + 6);
  });
});
