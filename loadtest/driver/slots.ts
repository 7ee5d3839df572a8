// ID slots: every channel (a UDP socket or a TCP connection) has W slots, W a power
// of two, at most 65,536; slot gs = channel * W + slot. A slot's ID moves on by W
// each time it is reused, so IDs on a channel are unique among queries in flight and
// a late answer to an old use of a slot does not match the new one. Free slots are
// reused oldest first (a ring per channel). planSlots() adds channels until the worst
// case in flight (rate × timeout × 1.2 in open loop, the window in closed loop) fits
// with room to spare, so a slot is always free when the schedule needs one.

export interface SlotPlan {
  /** Channels: sockets or connections, over all sources. */
  nChan: number;
  /** Slots per channel (a power of two). */
  W: number;
}

export interface SlotDemand {
  openLoop: boolean;
  qps: number;
  timeoutMs: number;
  /** Closed loop window. */
  clients: number;
  /** Source addresses (at least 1). */
  nSources: number;
  /** Channels per source asked for; raised when the slots would not fit. */
  channelsPerSource: number;
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** Sizes channels and slots so the worst case in flight always has a free ID. */
export function planSlots(d: SlotDemand): SlotPlan {
  const needed = d.openLoop ? Math.ceil((d.qps * d.timeoutMs) / 1000 * 1.2) + 256 : d.clients;
  const perSource = Math.max(d.channelsPerSource, Math.ceil((needed * 1.5) / (d.nSources * 65536)));
  const nChan = d.nSources * perSource;
  const W = Math.min(65536, Math.max(256, nextPow2(Math.ceil((needed * 1.5) / nChan))));
  return { nChan, W };
}

export class IdSlots {
  readonly nChan: number;
  readonly W: number;
  readonly mask: number;
  /** The query (index into QuerySet) a slot carries; -1 when free. */
  readonly query: Int32Array;
  readonly id: Uint16Array;
  /** When the slot's query was handed to the kernel (performance.now()). */
  readonly sentAt: Float64Array;
  /** Which send of the slot this is; the timeout queue skips entries whose seq moved on. -1: not in flight. */
  readonly seq: Float64Array;
  private readonly freeRing: Int32Array; // per channel: W entries
  private readonly freeHead: Int32Array;
  readonly freeCount: Int32Array;

  constructor(plan: SlotPlan, idBase = (Math.random() * 65536) | 0) {
    const { nChan, W } = plan;
    this.nChan = nChan;
    this.W = W;
    this.mask = W - 1;
    const total = nChan * W;
    this.query = new Int32Array(total).fill(-1);
    this.id = new Uint16Array(total);
    this.sentAt = new Float64Array(total);
    this.seq = new Float64Array(total);
    this.freeRing = new Int32Array(total);
    this.freeHead = new Int32Array(nChan);
    this.freeCount = new Int32Array(nChan).fill(W);
    // A random start (idBase) so two runs do not send the same ID sequence.
    for (let c = 0; c < nChan; c++) {
      for (let s = 0; s < W; s++) {
        this.freeRing[c * W + s] = s;
        // The first use adds W, landing on (idBase + s) with the low bits equal to s.
        this.id[c * W + s] = ((idBase & ~this.mask) + s - W) & 0xffff;
      }
    }
  }

  get total(): number {
    return this.nChan * this.W;
  }

  /** The channel slot gs belongs to. */
  chanOf(gs: number): number {
    return (gs / this.W) | 0;
  }

  /** The slot an answer with this ID on channel c belongs to (check query[] and id[] before trusting it). */
  slotFor(c: number, id: number): number {
    return c * this.W + (id & this.mask);
  }

  anyFree(): boolean {
    for (let c = 0; c < this.nChan; c++) if (this.freeCount[c] > 0) return true;
    return false;
  }

  /** Takes channel c's oldest free slot (the caller checked freeCount[c] > 0) for query q; its ID moves on by W. */
  take(c: number, q: number, now: number, seq: number): number {
    const W = this.W;
    const base = c * W;
    const head = this.freeHead[c];
    const gs = base + this.freeRing[base + head];
    this.freeHead[c] = (head + 1) & this.mask;
    this.freeCount[c]--;
    this.id[gs] = (this.id[gs] + W) & 0xffff;
    this.query[gs] = q;
    this.sentAt[gs] = now;
    this.seq[gs] = seq;
    return gs;
  }

  /** Frees slot gs; it is reused after every slot freed before it. */
  release(gs: number): void {
    this.query[gs] = -1;
    const c = (gs / this.W) | 0;
    const base = c * this.W;
    const tail = (this.freeHead[c] + this.freeCount[c]) & this.mask;
    this.freeRing[base + tail] = gs - base;
    this.freeCount[c]++;
  }
}
