import { describe, expect, it } from 'vitest';
import { TYPE } from '../../dns/constants.js';
import { buildQuery } from '../../dns/message.js';
import { rdataFromText } from '../../dns/rdata.js';
import { MAX_KEY_LEN, QueryInfo, readQuery } from '../listener/query.js';
import { AnswerCache, INDEX_OVERHEAD } from './cache.js';
import { buildEntry } from './entry.js';
import { slabBytesFor } from './slab.js';

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

  it('counts entries and bytes: its slabs as allocated plus the index', () => {
    const c = new AnswerCache(1 << 20);
    const e = entry('a.example', 0, 60);
    c.store(keyOf('a.example').hash, e, 0);
    expect(c.entries).toBe(1);
    expect(c.bytes).toBe(slabBytesFor(1 << 20) + INDEX_OVERHEAD);
    c.store(keyOf('b.example').hash, entry('b.example', 0, 60), 0);
    expect(c.bytes).toBe(slabBytesFor(1 << 20) + 2 * INDEX_OVERHEAD);
  });

  it('keeps what it stored when the caller reuses its buffer, and hands out entries no later store changes', () => {
    const c = new AnswerCache(64 * 1024);
    const k = keyOf('a.example');
    const e = entry('a.example', 0, 300);
    const before = Buffer.from(e.wire);
    c.store(k.hash, e, 0);
    e.slab.fill(0xee);
    const got = c.lookup(k.hash, k.key, k.len, 0)!;
    expect(got.wire.equals(before)).toBe(true);
    // Fill the cache many times over: the entry in hand keeps its bytes.
    for (let i = 0; i < 5000; i++) c.store(keyOf(`x${i}.example`).hash, entry(`x${i}.example`, 0, 300), 0);
    expect(c.lookup(k.hash, k.key, k.len, 0)).toBeUndefined();
    expect(got.wire.equals(before)).toBe(true);
    expect(got.ttlOffset(0)).toBe(got.qEnd + 6);
  });

  it('keeps the variant, flags, stale origin and EDE of what it stores', () => {
    const c = new AnswerCache(1 << 20);
    const k = keyOf('s.example');
    const e = buildEntry({ name: 's.example', type: TYPE.A, class: 1, rcode: 0,
      answers: [{ name: 's.example', type: TYPE.A, class: 1, ttl: 30, rdata: rdataFromText(TYPE.A, '192.0.2.9') }], authority: [], additional: [],
      ede: { code: 3, text: 'stale' } }, 5000, 30);
    e.variant = 3;
    e.stale = true;
    e.originMs = 1234;
    c.store(k.hash, e, 5000);
    expect(c.lookup(k.hash, k.key, k.len, 5000, 0)).toBeUndefined();
    const got = c.lookup(k.hash, k.key, k.len, 5000, 3)!;
    expect(got).toMatchObject({ variant: 3, stale: true, originMs: 1234, insertedMs: 5000, expiresMs: 35_000, prefetched: false });
    expect(got.ede!.equals(e.ede!)).toBe(true);
    got.markPrefetched();
    expect(c.lookup(k.hash, k.key, k.len, 5001, 3)!.prefetched).toBe(true);
    expect(c.peek(k.hash)!.touchedMs).toBe(5000);
  });
});

describe('AnswerCache eviction', () => {
  const one = (name: string) => entry(name, 0, 86_400);
  it('evicts the oldest slab first, but a record used since moves to the newest slab and stays', () => {
    const c = new AnswerCache(256 * 1024);
    const hot = keyOf('hot.example');
    const cold = keyOf('cold.example');
    c.store(hot.hash, one('hot.example'), 0);
    c.store(cold.hash, one('cold.example'), 0);
    const wire = Buffer.from(c.lookup(hot.hash, hot.key, hot.len, 0)!.wire);
    let t = 0;
    for (let i = 0; i < 20_000; i++) {
      c.store(keyOf(`f${i}.example`).hash, one(`f${i}.example`), t);
      // Used about once a second of clock time, as a popular name is.
      if (i % 100 === 0) { t += 1001; expect(c.lookup(hot.hash, hot.key, hot.len, t)).toBeDefined(); }
    }
    expect(c.bytes).toBeLessThanOrEqual(256 * 1024);
    expect(c.lookup(cold.hash, cold.key, cold.len, t)).toBeUndefined();
    const got = c.lookup(hot.hash, hot.key, hot.len, t)!;
    expect(got.wire.equals(wire)).toBe(true);
    expect((c as unknown as { index: Map<number, number> }).index.size).toBe(c.entries);
    // Every entry the index holds is found, and all() lists each once.
    const listed = [...c.all()];
    expect(listed.length).toBe(c.entries);
    expect(new Set(listed.map(([h]) => h)).size).toBe(listed.length);
  });

  it('gives back slabs whose records were all replaced or deleted, without waiting for its bound', () => {
    // A flood's negative answers under the per-zone cap: each new one deletes an older one.
    const c = new AnswerCache(16 << 20);
    const slab = slabBytesFor(16 << 20);
    const kept: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const h = keyOf(`r${i}.flood.example`).hash;
      c.store(h, one(`r${i}.flood.example`), 0);
      kept.push(h);
      if (kept.length > 200) c.delete(kept.shift()!);
    }
    expect(c.entries).toBe(200);
    // 20k records of ~100 bytes fill ~30 slabs; only the last few hold live records.
    expect(c.bytes).toBeLessThanOrEqual(4 * slab + 200 * INDEX_OVERHEAD);
    for (const h of kept.slice(-5)) expect(c.peek(h)).toBeDefined();
  });

  it('lists entries newest first, and forgets deleted ones', () => {
    const c = new AnswerCache(1 << 20);
    for (const n of ['a', 'b', 'c']) c.store(keyOf(`${n}.example`).hash, one(`${n}.example`), 0);
    c.delete(keyOf('b.example').hash);
    expect([...c.all()].map(([, e]) => e.wire.subarray(13, 14).toString())).toEqual(['c', 'a']);
    c.clear();
    expect(c.entries).toBe(0);
    expect(c.bytes).toBe(0);
    expect([...c.all()]).toEqual([]);
  });
});
