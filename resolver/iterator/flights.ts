// The iterator's flight table: the one owner of merging resolutions. Every
// question the iterator works on, a client's or a sub-question (an NS name's
// address for a glueless delegation), is a Flight keyed by (name, type, class);
// the same question asked again while it runs joins it, so the same NS name
// needed by many resolutions is looked up once.
//
// It also catches deadlocks: a resolution that would wait (directly or through
// others) on a flight that waits on it gets refused, and the caller answers that
// sub-question with SERVFAIL at once instead of both waiting out their budgets.
//
// (Clients are not merged here: the front's wait list, resolver/waitlist.ts, keeps
// the clients asking one question and calls the iterator once for them.)

import { performance } from 'node:perf_hooks';
import { lowerName } from '../../dns/name.js';
import { ChurnMap } from '../../common/churn-map.js';
import type { ResolveResult } from './types.js';

/** One resolution in progress. */
export interface Flight {
  readonly key: string;
  readonly promise: Promise<ResolveResult>;
  /** Flights this one is waiting on (for deadlock detection). */
  readonly waitingOn: Set<Flight>;
}

/** The merging key of a question: lower-cased name, type, class. */
export function flightKey(name: string, type: number, cls: number): string {
  return `${lowerName(name)}\u0000${type}\u0000${cls}`;
}

/** A flight being built: its promise is set once its run has started. */
interface NewFlight {
  readonly key: string;
  promise: Promise<ResolveResult>;
  readonly waitingOn: Set<Flight>;
}

/**
 * Makes a flight for `run` without entering it in any table (priming: one at a
 * time, owned by the iterator, never joined by a client asking ". NS").
 */
export function detachedFlight(key: string, run: (f: Flight) => Promise<ResolveResult>): Flight {
  const f: NewFlight = { key, promise: undefined as unknown as Promise<ResolveResult>, waitingOn: new Set() };
  f.promise = run(f);
  return f;
}

export class FlightTable {
  /** Flights in progress by key (a ChurnMap: a finished flight's objects must die young, see common/churn-map.ts). */
  private readonly map = new ChurnMap<string, Flight>();

  /** Flights in the table. */
  get size(): number {
    return this.map.size;
  }

  get(key: string): Flight | undefined {
    return this.map.get(key);
  }

  /** Starts a flight for `key` running `run`; it leaves the table when it settles. */
  start(key: string, run: (f: Flight) => Promise<ResolveResult>): Flight {
    const f = detachedFlight(key, (nf) => run(nf).finally(() => { if (this.map.get(key) === nf) this.map.delete(key); }));
    this.map.set(key, f);
    return f;
  }

  /**
   * Joining `f` from `waiter` would deadlock: `f` already waits (directly or
   * through other flights) on `waiter`.
   */
  wouldDeadlock(f: Flight, waiter: Flight): boolean {
    const stack = [f];
    const seen = new Set<Flight>();
    while (stack.length) {
      const x = stack.pop()!;
      if (x === waiter) return true;
      if (seen.has(x)) continue;
      seen.add(x);
      for (const w of x.waitingOn) stack.push(w);
    }
    return false;
  }

  /**
   * `waiter` (a resolution; undefined for a client question) waits for `f`, at
   * most until `deadlineMs`: a joiner keeps its own deadline. The wait is
   * recorded for deadlock detection while it lasts.
   */
  join(f: Flight, waiter: Flight | undefined, deadlineMs: number, timedOut: ResolveResult): Promise<ResolveResult> {
    if (waiter === undefined) return withDeadline(f.promise, deadlineMs, timedOut);
    waiter.waitingOn.add(f);
    return withDeadline(f.promise, deadlineMs, timedOut).finally(() => { waiter.waitingOn.delete(f); });
  }
}

/** `p`, or `fallback` if `p` has not settled by `deadlineMs` (performance.now() time). */
export function withDeadline<T>(p: Promise<T>, deadlineMs: number, fallback: T): Promise<T> {
  const left = deadlineMs - performance.now();
  if (left <= 0) return Promise.resolve(fallback);
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<T>((resolve) => { timer = setTimeout(() => resolve(fallback), Math.ceil(left)); });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
