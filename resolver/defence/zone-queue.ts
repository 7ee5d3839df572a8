// The slots of the per-zone cap (flood.max_outstanding_per_zone) and the bounded
// wait queue in front of them (flood.zone_queue_length, flood.zone_queue_wait_ms).
//
// A query whose zone is at its cap waits, in order, for one of that zone's slots:
// the slot of a query that settles goes straight to the oldest waiter of the same
// zone, so a new query cannot jump the queue. A waiter leaves the queue when its
// wait bound passes ('expired') or it is cancelled; a query that finds the queue
// full is not queued at all ('full'). A zone whose servers answer fast turns its
// slots over in about a round trip, so its queue drains in milliseconds and no
// legitimate query fails; a zone whose servers are slow or dead (each query holds
// its slot until its timeout and lingering end) keeps its queue full, and the
// excess is refused at once. Memory and the front's max_inflight slots that one
// zone can hold are bounded by cap + queue length.

import type { CancelSignal } from '../transport/upstream.js';
import type { DefenceStats } from './stats.js';

export type WaitOutcome = 'granted' | 'expired' | 'cancelled';

interface Waiter {
  /** Settles the wait once; later calls do nothing. */
  settle(outcome: WaitOutcome): void;
}

interface ZoneState {
  /** Slots taken (queries outstanding to the zone's servers). */
  out: number;
  /** Queries waiting for a slot, oldest first. */
  queue: Waiter[];
}

export class ZoneSlots {
  private readonly zones = new Map<string, ZoneState>();

  constructor(
    /** The cap now (0: no limit). A function, so a reload can change it. */
    private readonly max: () => number,
    /** zoneQueueWaiting is kept here as a gauge. */
    private readonly stats: DefenceStats,
  ) {}

  /** Zones with slots taken or queries waiting (bounded by the queries in flight). */
  get size(): number {
    return this.zones.size;
  }

  outstanding(zone: string): number {
    return this.zones.get(zone)?.out ?? 0;
  }

  waiting(zone: string): number {
    return this.zones.get(zone)?.queue.length ?? 0;
  }

  /** Takes a slot if one is free and nobody is waiting for one. */
  tryTake(zone: string): boolean {
    const max = this.max();
    let z = this.zones.get(zone);
    if (z === undefined) {
      z = { out: 0, queue: [] };
      this.zones.set(zone, z);
    }
    if (z.queue.length > 0 || (max > 0 && z.out >= max)) return false;
    z.out++;
    return true;
  }

  /**
   * Waits, in order, at most `boundMs` for a slot of `zone`. 'granted': the slot
   * is taken (give it back with release). The caller checks the queue length first.
   */
  wait(zone: string, boundMs: number, signal?: CancelSignal): Promise<WaitOutcome> {
    if (signal?.aborted) return Promise.resolve('cancelled');
    let z = this.zones.get(zone);
    if (z === undefined) {
      z = { out: 0, queue: [] };
      this.zones.set(zone, z);
    }
    const state = z;
    return new Promise<WaitOutcome>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => w.settle('cancelled');
      const w: Waiter = {
        settle: (outcome) => {
          if (timer === undefined) return;
          clearTimeout(timer);
          timer = undefined;
          signal?.removeEventListener('abort', onAbort);
          this.stats.zoneQueueWaiting--;
          if (outcome !== 'granted') {
            const i = state.queue.indexOf(w);
            if (i >= 0) state.queue.splice(i, 1);
            this.forget(zone, state);
          }
          resolve(outcome);
        },
      };
      timer = setTimeout(() => w.settle('expired'), Math.max(1, Math.ceil(boundMs)));
      signal?.addEventListener('abort', onAbort, { once: true });
      state.queue.push(w);
      this.stats.zoneQueueWaiting++;
    });
  }

  /** Gives a slot back: to the oldest waiter of the zone if any (and the cap allows), else free. */
  release(zone: string): void {
    const z = this.zones.get(zone);
    if (z === undefined) return;
    z.out = Math.max(0, z.out - 1);
    const max = this.max();
    while (z.queue.length > 0 && (max <= 0 || z.out < max)) {
      const w = z.queue.shift()!;
      z.out++;
      w.settle('granted');
    }
    this.forget(zone, z);
  }

  private forget(zone: string, z: ZoneState): void {
    if (z.out === 0 && z.queue.length === 0 && this.zones.get(zone) === z) this.zones.delete(zone);
  }
}
