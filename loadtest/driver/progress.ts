// The progress line's figures: answers, timeouts and a latency histogram over the
// last interval, reported every progressIntervalMs to onProgress (and, with the
// histogram, to onProgressHist for merging threads). A run with no listener keeps
// no interval histogram at all.

import { LatencyHistogram } from './histogram.js';
import { histState } from './merge.js';
import type { Progress, RunOptions } from './options.js';

export interface Totals {
  sent: number;
  completed: number;
  lost: number;
  inFlight: number;
}

export class ProgressMeter {
  /** Only a run with a progress listener needs the per-interval histogram. */
  readonly tracking: boolean;
  private readonly hist = new LatencyHistogram();
  private completed = 0;
  private lost = 0;
  private readonly intervalMs: number;
  private nextAt = Infinity;
  private t0 = 0;

  constructor(private readonly opts: Pick<RunOptions, 'onProgress' | 'onProgressHist' | 'progressIntervalMs'>) {
    this.tracking = !!(opts.onProgress || opts.onProgressHist);
    this.intervalMs = opts.progressIntervalMs ?? 1000;
  }

  start(t0: number): void {
    this.t0 = t0;
    this.nextAt = this.tracking ? t0 + this.intervalMs : Infinity;
  }

  answered(us: number): void {
    this.completed++;
    if (this.tracking) this.hist.record(us);
  }

  timedOut(): void {
    this.lost++;
  }

  /** Reports when an interval has passed. */
  maybeReport(now: number, totals: Totals): void {
    if (now < this.nextAt) return;
    const spanS = (now - (this.nextAt - this.intervalMs)) / 1000;
    const answered = this.completed + this.lost;
    const p99 = this.hist.quantileUs(0.99);
    const p: Progress = {
      elapsedS: (now - this.t0) / 1000,
      sent: totals.sent,
      completed: totals.completed,
      lost: totals.lost,
      inFlight: totals.inFlight,
      rateQps: this.completed / spanS,
      lossPct: answered ? (100 * this.lost) / answered : 0,
      p99Ms: Number.isNaN(p99) ? null : p99 / 1000,
      intervalCompleted: this.completed,
      intervalLost: this.lost,
    };
    this.opts.onProgress?.(p);
    this.opts.onProgressHist?.(p, histState(this.hist));
    this.hist.reset();
    this.completed = 0;
    this.lost = 0;
    this.nextAt = now + this.intervalMs;
  }
}
