import { describe, expect, it } from 'vitest';
import { RCODE } from '../../dns/constants.js';
import { FlightTable, flightKey } from './flights.js';
import type { ResolveResult } from './types.js';

const ok: ResolveResult = { rcode: RCODE.NOERROR, answers: [], authority: [], additional: [], cacheTtl: 0 };
const late: ResolveResult = { ...ok, rcode: RCODE.SERVFAIL };

describe('FlightTable', () => {
  it('keys questions case-insensitively and drops a flight from the table when it settles', async () => {
    expect(flightKey('WWW.Example', 1, 1)).toBe(flightKey('www.example', 1, 1));
    const table = new FlightTable();
    let finish!: (r: ResolveResult) => void;
    const f = table.start('k', () => new Promise((r) => { finish = r; }));
    expect(table.get('k')).toBe(f);
    expect(table.size).toBe(1);
    finish(ok);
    await f.promise;
    expect(table.get('k')).toBeUndefined();
    expect(table.size).toBe(0);
  });

  it('lets a joiner wait only until its own deadline, and records the wait while it lasts', async () => {
    const table = new FlightTable();
    const never = table.start('slow', () => new Promise<ResolveResult>(() => {}));
    const waiter = table.start('parent', () => new Promise<ResolveResult>(() => {}));
    const t0 = performance.now();
    const got = table.join(never, waiter, t0 + 50, late);
    expect(waiter.waitingOn.has(never)).toBe(true);
    expect(await got).toBe(late);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
    expect(waiter.waitingOn.has(never)).toBe(false);
  });

  it('sees a deadlock through a chain of waits', () => {
    const table = new FlightTable();
    const a = table.start('a', () => new Promise<ResolveResult>(() => {}));
    const b = table.start('b', () => new Promise<ResolveResult>(() => {}));
    const c = table.start('c', () => new Promise<ResolveResult>(() => {}));
    void table.join(b, a, performance.now() + 1000, late); // a waits on b
    void table.join(c, b, performance.now() + 1000, late); // b waits on c
    expect(table.wouldDeadlock(a, c)).toBe(true); // c joining a: a -> b -> c
    expect(table.wouldDeadlock(c, a)).toBe(false);
  });
});
