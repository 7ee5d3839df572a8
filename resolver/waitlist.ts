// The front's wait list: the one owner of merging clients. Clients asking the
// same question (same lower-cased name, type and class) while it is being
// resolved wait in one WaitGroup: the first asker makes the front call the
// iterator, later askers join, and all are answered from the one result, encoded
// once. (Resolutions themselves, sub-questions included, are merged by the
// iterator's flight table, resolver/iterator/flights.ts; deadlines are the
// iterator's too: it always settles by upstream.resolutionTimeoutMs.)
// Bounded twice: distinct questions waiting, and clients per question, so a query
// storm for one name or for many names cannot grow memory without limit.
// And bounded in time: no client is ever left without an answer. The iterator
// settles by its budget, but should a resolution ever overrun it (a wait inside
// that a bug left unbounded), a sweep hands the group to `overdue` (the front
// answers SERVFAIL and logs it) once it is older than the budget plus a grace, so
// a query is answered or counted as dropped ('full'), never lost.

import { performance } from 'node:perf_hooks';
import { ChurnMap } from '../common/churn-map.js';

/** How often the overdue sweep runs while anything waits, ms. */
const SWEEP_MS = 500;

export interface OverduePolicy<W, Q extends Keyed> {
  /** A group older than this (ms since its start) is overdue. */
  afterMs: number;
  /** Receives each overdue group once, already taken out of the list. */
  onOverdue(group: WaitGroup<W, Q>): void;
}

/** What the list needs of a question: its merging key. */
export interface Keyed {
  readonly key: string;
}

let nextGroupId = 0;

/** The clients waiting for one question's answer. */
export class WaitGroup<W, Q extends Keyed = Keyed> {
  /** A number no other group of this process has (tables keyed by group: common/churn-map.ts). */
  readonly id = nextGroupId++;
  readonly waiters: W[] = [];
  /** Set once the waiters have been answered (by the result, or at shutdown). */
  settled = false;
  /** performance.now() when the group started. */
  readonly startedMs = performance.now();
  constructor(readonly question: Q) {}

  get key(): string {
    return this.question.key;
  }
}

export type JoinResult<W, Q extends Keyed = Keyed> =
  | { kind: 'start'; group: WaitGroup<W, Q> }
  | { kind: 'joined' }
  | { kind: 'full' };

const JOINED = { kind: 'joined' } as const;
const FULL = { kind: 'full' } as const;

export class WaitList<W, Q extends Keyed = Keyed> {
  /** A ChurnMap: an answered group's clients and replies must die young (common/churn-map.ts). */
  private readonly map = new ChurnMap<string, WaitGroup<W, Q>>();
  private sweeper: NodeJS.Timeout | undefined;
  /** Groups answered by the sweep, since start. */
  overdueGroups = 0;

  constructor(
    /** Distinct questions at once; a reload may change it. */
    public maxQuestions: number,
    private readonly maxWaiters = 512,
    private readonly overdue?: OverduePolicy<W, Q>,
  ) {}

  /** Questions being waited on now. */
  get size(): number {
    return this.map.size;
  }

  /**
   * Adds `waiter` for `question`. 'start' means the caller must start the
   * resolution and later call settle(); 'joined' means one is already running;
   * 'full' means a limit was hit and the query should be dropped (the client retries).
   */
  join(question: Q, waiter: W): JoinResult<W, Q> {
    const key = question.key;
    const g = this.map.get(key);
    if (g !== undefined) {
      if (g.waiters.length >= this.maxWaiters) return FULL;
      g.waiters.push(waiter);
      return JOINED;
    }
    if (this.map.size >= this.maxQuestions) return FULL;
    const ng = new WaitGroup<W, Q>(question);
    ng.waiters.push(waiter);
    this.map.set(key, ng);
    if (this.overdue && this.sweeper === undefined) {
      this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
      this.sweeper.unref();
    }
    return { kind: 'start', group: ng };
  }

  /**
   * Ends a group and hands back its waiters, once: a second call (the result
   * arriving after shutdown answered them) returns an empty list.
   */
  settle(g: WaitGroup<W, Q>): W[] {
    if (this.map.get(g.key) === g) this.map.delete(g.key);
    if (g.settled) return [];
    g.settled = true;
    return g.waiters;
  }

  /**
   * Hands every group older than the overdue policy's bound to it (groups sit in
   * the map in start order, so the sweep stops at the first young one); stops
   * the sweep when nothing waits.
   */
  sweep(nowMs = performance.now()): void {
    const o = this.overdue;
    if (!o) return;
    const old: Array<WaitGroup<W, Q>> = [];
    for (const g of this.map.values()) {
      if (nowMs - g.startedMs <= o.afterMs) break;
      old.push(g);
    }
    for (const g of old) {
      this.map.delete(g.key);
      this.overdueGroups++;
      o.onOverdue(g);
    }
    if (this.map.size === 0 && this.sweeper !== undefined) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  /** Every group still waiting, in start order (for shutdown). */
  all(): Array<WaitGroup<W, Q>> {
    return [...this.map.values()];
  }
}
