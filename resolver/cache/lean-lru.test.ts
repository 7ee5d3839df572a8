import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LRUCache } from 'lru-cache';
import { LeanLru } from './lean-lru.js';

interface V { n: number; size: number }

// Operations as the RRset cache makes them; the reference is lru-cache, configured as
// the RRset cache configured it (maxSize and sizeCalculation, nothing else).
const op = fc.oneof(
  fc.record({ op: fc.constant('set' as const), key: fc.integer({ min: 0, max: 12 }), size: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 90, max: 130 })) }),
  fc.record({ op: fc.constant('get' as const), key: fc.integer({ min: 0, max: 12 }) }),
  fc.record({ op: fc.constant('peek' as const), key: fc.integer({ min: 0, max: 12 }) }),
  fc.record({ op: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 12 }) }),
  fc.record({ op: fc.constant('clear' as const) }),
);

describe('LeanLru', () => {
  it('keeps the same entries, in the same order, with the same sizes as lru-cache, after any operations', () => {
    fc.assert(fc.property(fc.array(op, { maxLength: 120 }), fc.integer({ min: 60, max: 200 }), (ops, maxSize) => {
      const ref = new LRUCache<string, V>({ maxSize, sizeCalculation: (v) => v.size });
      const lean = new LeanLru<V>(maxSize, (v) => v.size);
      let n = 0;
      for (const o of ops) {
        const key = 'k' + ('key' in o ? o.key : '');
        switch (o.op) {
          case 'set': { const v = { n: n++, size: o.size }; ref.set(key, v); lean.set(key, v); break; }
          case 'get': expect(lean.get(key)).toBe(ref.get(key)); break;
          case 'peek': expect(lean.peek(key)).toBe(ref.peek(key)); break;
          case 'delete': expect(lean.delete(key)).toBe(ref.delete(key)); break;
          case 'clear': ref.clear(); lean.clear(); break;
        }
        expect([...lean.entries()]).toEqual([...ref.entries()]);
        expect([...lean.keys()]).toEqual([...ref.keys()]);
        expect(lean.size).toBe(ref.size);
        expect(lean.calculatedSize).toBe(ref.calculatedSize);
        expect(lean.calculatedSize).toBeLessThanOrEqual(maxSize);
      }
    }), { numRuns: 400 });
  });

  it('evicts the least recently used first; get refreshes, peek does not', () => {
    const c = new LeanLru<V>(30, (v) => v.size);
    c.set('a', { n: 1, size: 10 }); c.set('b', { n: 2, size: 10 }); c.set('c', { n: 3, size: 10 });
    c.get('a'); c.peek('b');
    c.set('d', { n: 4, size: 10 });
    expect([...c.keys()]).toEqual(['d', 'a', 'c']);
    c.set('big', { n: 5, size: 31 });
    expect(c.has('big')).toBe(false);
    c.set('a', { n: 6, size: 31 }); // too big: the old value goes too
    expect(c.has('a')).toBe(false);
    expect(() => c.set('x', { n: 7, size: 0 })).toThrow(TypeError);
  });
});
