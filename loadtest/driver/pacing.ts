// Open-loop pacing. A 1 ms timer asks how many queries the schedule says are due
// since the start and sends them all, so timer jitter changes batch sizes, never the
// rate. The schedule does not wait for answers: a slow server shows as latency and
// loss. After a stall (the generator was not scheduled) a timed run catches up at
// most MAX_BACKLOG_MS of queries and skips the rest, counted as behind schedule; a
// counted run sends every query, late. Either way at most MAX_BURST_MS worth leaves
// in one tick, so a backlog does not end in a burst that floods the sockets.
// Closed loop has no schedule: the engine refills the window on every answer and
// timeout, and its timer only sweeps timeouts, so it wakes less often.

/** Open loop: the pacing tick. */
export const TICK_MS = 1;
/** Closed loop: the timeout sweep's tick. */
export const CLOSED_LOOP_TICK_MS = 10;
/** Open loop: how far behind schedule the generator may fall before it skips ahead. */
export const MAX_BACKLOG_MS = 250;
/** Open loop: at most this much of the schedule goes out in one tick. */
export const MAX_BURST_MS = 20;

export class OpenLoopPacer {
  /** Queries the schedule has handed out (sent or counted as skipped). */
  scheduled = 0;
  /** Queries skipped because the generator fell behind (timed runs only). */
  behind = 0;
  private readonly burstCap: number;
  private readonly backlogLimit: number;

  /**
   * @param cap the schedule's length: the count, or duration × rate, whichever is smaller
   * @param counted a --count run: never skip, send late instead
   */
  constructor(readonly qps: number, readonly t0: number, readonly cap: number, private readonly counted: boolean) {
    this.burstCap = Math.max(1, Math.ceil((MAX_BURST_MS * qps) / 1000));
    this.backlogLimit = Math.max(1, Math.floor((MAX_BACKLOG_MS * qps) / 1000));
  }

  /** How many queries to send now (each one the caller sends, it counts with scheduled++). */
  due(now: number, sendDeadline: number): number {
    const elapsed = Math.min(now, sendDeadline) - this.t0;
    let due = Math.floor((elapsed * this.qps) / 1000) + 1;
    if (due > this.cap) due = this.cap;
    if (!this.counted && due - this.scheduled > this.backlogLimit) {
      const skip = due - this.scheduled - this.backlogLimit;
      this.behind += skip;
      this.scheduled += skip;
    }
    return Math.min(due - this.scheduled, this.burstCap);
  }

  /** True when the whole schedule went out. */
  get done(): boolean {
    return this.scheduled >= this.cap;
  }

  /** Where the schedule would have ended on time: cap / rate after the start. */
  get nominalEnd(): number {
    return this.t0 + (this.cap * 1000) / this.qps;
  }

  /** Gives up the rest of the schedule (counted as behind) when the deadline's grace has passed. */
  abandon(): void {
    this.behind += this.cap - this.scheduled;
  }
}
