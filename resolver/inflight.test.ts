import { describe, expect, it } from 'vitest';
import { Inflight } from './inflight.js';

/** A question as the table sees it: only its key. */
const k = (key: string) => ({ key });

describe('Inflight', () => {
  it('starts one resolution per key and lets later askers join it', () => {
    const f = new Inflight<string>(10);
    const a = f.join(k('k'), 'a', 0);
    expect(a.kind).toBe('start');
    expect(f.join(k('k'), 'b', 1).kind).toBe('joined');
    expect(f.join(k('other'), 'c', 1).kind).toBe('start');
    expect(f.size).toBe(2);
    if (a.kind !== 'start') throw new Error('unreachable');
    expect(f.settle(a.pending)).toEqual(['a', 'b']);
    expect(f.size).toBe(1);
    // A second settle (late result after the deadline sweep) answers nobody again.
    expect(f.settle(a.pending)).toEqual([]);
    expect(f.join(k('k'), 'd', 2).kind).toBe('start');
  });

  it('bounds resolutions and waiters', () => {
    const f = new Inflight<number>(2, 3);
    expect(f.join(k('a'), 1, 0).kind).toBe('start');
    expect(f.join(k('b'), 1, 0).kind).toBe('start');
    expect(f.join(k('c'), 1, 0).kind).toBe('full');
    expect(f.join(k('a'), 2, 0).kind).toBe('joined');
    expect(f.join(k('a'), 3, 0).kind).toBe('joined');
    expect(f.join(k('a'), 4, 0).kind).toBe('full');
  });

  it('lists overdue resolutions in start order', () => {
    const f = new Inflight<number>(10);
    f.join(k('old'), 1, 100);
    f.join(k('mid'), 1, 200);
    f.join(k('new'), 1, 300);
    expect(f.overdue(250).map((p) => p.key)).toEqual(['old', 'mid']);
    const [old] = f.overdue(150);
    f.settle(old);
    const j = f.join(k('old'), 2, 400);
    expect(j.kind).toBe('start');
    // The stale pending no longer owns the key.
    expect(f.settle(old)).toEqual([]);
    expect(f.size).toBe(3);
  });
});
