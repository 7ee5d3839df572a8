import { describe, expect, it } from 'vitest';
import { WaitList } from './waitlist.js';

/** A question as the list sees it: only its key. */
const k = (key: string) => ({ key });

describe('WaitList', () => {
  it('starts one resolution per key and lets later askers join it', () => {
    const f = new WaitList<string>(10);
    const a = f.join(k('k'), 'a');
    expect(a.kind).toBe('start');
    expect(f.join(k('k'), 'b').kind).toBe('joined');
    expect(f.join(k('other'), 'c').kind).toBe('start');
    expect(f.size).toBe(2);
    if (a.kind !== 'start') throw new Error('unreachable');
    expect(f.settle(a.group)).toEqual(['a', 'b']);
    expect(f.size).toBe(1);
    // A second settle (late result after shutdown answered them) answers nobody again.
    expect(f.settle(a.group)).toEqual([]);
    expect(f.join(k('k'), 'd').kind).toBe('start');
  });

  it('bounds resolutions and waiters', () => {
    const f = new WaitList<number>(2, 3);
    expect(f.join(k('a'), 1).kind).toBe('start');
    expect(f.join(k('b'), 1).kind).toBe('start');
    expect(f.join(k('c'), 1).kind).toBe('full');
    expect(f.join(k('a'), 2).kind).toBe('joined');
    expect(f.join(k('a'), 3).kind).toBe('joined');
    expect(f.join(k('a'), 4).kind).toBe('full');
  });

  it('lists groups in start order; a settled group no longer owns its key', () => {
    const f = new WaitList<number>(10);
    f.join(k('old'), 1);
    f.join(k('mid'), 1);
    f.join(k('new'), 1);
    expect(f.all().map((g) => g.key)).toEqual(['old', 'mid', 'new']);
    const [old] = f.all();
    f.settle(old);
    const j = f.join(k('old'), 2);
    expect(j.kind).toBe('start');
    // The stale group no longer owns the key.
    expect(f.settle(old)).toEqual([]);
    expect(f.size).toBe(3);
  });
});

describe('WaitList overdue sweep', () => {
  it('hands a group older than the bound to the policy once, leaves young ones, and a late result answers nobody again', async () => {
    const overdue: string[][] = [];
    const f = new WaitList<string>(10, 512, { afterMs: 1000, onOverdue: (g) => overdue.push(f.settle(g)) });
    const a = f.join(k('old'), 'a');
    f.join(k('old'), 'a2');
    await new Promise((r) => setTimeout(r, 30));
    const b = f.join(k('young'), 'b');
    if (a.kind !== 'start' || b.kind !== 'start') throw new Error('unreachable');
    expect(b.group.startedMs - a.group.startedMs).toBeGreaterThan(15);
    // Within the bound (not at it exactly: float sums may land a hair either side): nothing is overdue.
    f.sweep(a.group.startedMs + 990);
    expect(overdue).toEqual([]);
    // Past it for the first group only (the second started later).
    f.sweep(a.group.startedMs + 1005);
    expect(overdue).toEqual([['a', 'a2']]);
    expect(f.size).toBe(1);
    f.sweep(b.group.startedMs + 1010);
    expect(overdue).toEqual([['a', 'a2'], ['b']]);
    expect(f.size).toBe(0);
    expect(f.overdueGroups).toBe(2);
    expect(f.settle(a.group)).toEqual([]);
    // The question can be asked afresh.
    expect(f.join(k('old'), 'c').kind).toBe('start');
  });

  it('runs the sweep on its own while anything waits', async () => {
    const overdue: string[] = [];
    const f = new WaitList<string>(10, 512, { afterMs: 50, onOverdue: (g) => overdue.push(...f.settle(g)) });
    f.join(k('stuck'), 'x');
    const until = performance.now() + 3000;
    while (overdue.length === 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(overdue).toEqual(['x']);
  });
});
