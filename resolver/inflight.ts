// Identical misses join one resolution: the first asker starts it, later askers
// with the same key wait on it, and all are answered from the one result.
// Bounded twice: distinct resolutions in flight, and waiters per resolution, so a
// query storm for one name or for many names cannot grow memory without limit.

/** What the table needs of a question: its merging key. */
export interface Keyed {
  readonly key: string;
}

export class Pending<W, Q extends Keyed = Keyed> {
  readonly waiters: W[] = [];
  /** Set once the waiters have been answered (by the result or by the deadline sweep). */
  settled = false;
  constructor(readonly question: Q, readonly startedMs: number) {}

  get key(): string {
    return this.question.key;
  }
}

export type JoinResult<W, Q extends Keyed = Keyed> =
  | { kind: 'start'; pending: Pending<W, Q> }
  | { kind: 'joined' }
  | { kind: 'full' };

const JOINED = { kind: 'joined' } as const;
const FULL = { kind: 'full' } as const;

export class Inflight<W, Q extends Keyed = Keyed> {
  private readonly map = new Map<string, Pending<W, Q>>();

  constructor(
    private readonly maxResolutions: number,
    private readonly maxWaiters = 512,
  ) {}

  /** Resolutions in flight now. */
  get size(): number {
    return this.map.size;
  }

  /**
   * Adds `waiter` for `key`. 'start' means the caller must start the resolution and
   * later call settle(); 'joined' means one is already running; 'full' means a limit
   * was hit and the query should be dropped (the client retries).
   */
  join(question: Q, waiter: W, nowMs: number): JoinResult<W, Q> {
    const key = question.key;
    const p = this.map.get(key);
    if (p !== undefined) {
      if (p.waiters.length >= this.maxWaiters) return FULL;
      p.waiters.push(waiter);
      return JOINED;
    }
    if (this.map.size >= this.maxResolutions) return FULL;
    const np = new Pending<W, Q>(question, nowMs);
    np.waiters.push(waiter);
    this.map.set(key, np);
    return { kind: 'start', pending: np };
  }

  /**
   * Ends a resolution and hands back its waiters, once: a second call (the result
   * arriving after the deadline sweep answered) returns an empty list.
   */
  settle(p: Pending<W, Q>): W[] {
    if (this.map.get(p.key) === p) this.map.delete(p.key);
    if (p.settled) return [];
    p.settled = true;
    return p.waiters;
  }

  /** Resolutions started before `cutoffMs`, for the caller to answer with SERVFAIL. */
  overdue(cutoffMs: number): Array<Pending<W, Q>> {
    const out: Array<Pending<W, Q>> = [];
    // Map iterates in insertion order, which is start order: stop at the first young one.
    for (const p of this.map.values()) {
      if (p.startedMs >= cutoffMs) break;
      out.push(p);
    }
    return out;
  }

  /** Every pending resolution (for shutdown). */
  all(): Array<Pending<W, Q>> {
    return [...this.map.values()];
  }
}
