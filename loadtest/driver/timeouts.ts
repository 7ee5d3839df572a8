// The timeout queue: slots in send order, swept from the head, so the cost does not
// grow with the number in flight. An entry whose slot was answered, or was sent
// again (its seq moved on), is skipped when it reaches the head.

import type { IdSlots } from './slots.js';

export class TimeoutQueue {
  private slot = new Int32Array(1 << 16);
  private seq = new Float64Array(1 << 16);
  private head = 0;
  private count = 0;

  push(gs: number, seq: number): void {
    if (this.count === this.slot.length) {
      const cap = this.slot.length;
      const slot = new Int32Array(cap * 2);
      const sq = new Float64Array(cap * 2);
      for (let i = 0; i < cap; i++) {
        const j = (this.head + i) & (cap - 1);
        slot[i] = this.slot[j];
        sq[i] = this.seq[j];
      }
      this.slot = slot;
      this.seq = sq;
      this.head = 0;
    }
    const tail = (this.head + this.count) & (this.slot.length - 1);
    this.slot[tail] = gs;
    this.seq[tail] = seq;
    this.count++;
  }

  /**
   * Calls expire(gs) for every slot still in flight that was sent at or before
   * `limit`, oldest first; expire must release the slot.
   */
  sweep(slots: IdSlots, limit: number, expire: (gs: number) => void): void {
    while (this.count > 0) {
      const cap = this.slot.length;
      const gs = this.slot[this.head];
      const seq = this.seq[this.head];
      if (slots.query[gs] >= 0 && slots.seq[gs] === seq) {
        if (slots.sentAt[gs] > limit) break;
        this.head = (this.head + 1) & (cap - 1);
        this.count--;
        expire(gs);
      } else {
        this.head = (this.head + 1) & (cap - 1);
        this.count--;
      }
    }
  }
}
