// The IP SLA operation and track object of one node, as the switch runs them, reduced to
// pure timing logic (no sockets, no clock): the lab's switch emulator feeds it probe
// outcomes and the time, and it says when the tracked route must be added or removed.
//
// What IOS does, and what is assumed here (see lab/README.md, "SLA/track semantics"):
// - Known (Cisco IP SLA and Enhanced Object Tracking guides): an operation runs every
//   `frequency` s; no reply within `timeout` ms is a timeout (a failure); a reply slower
//   than `threshold` ms is "over threshold". `track N ip sla N reachability` is up on OK
//   and over-threshold, down otherwise; `state` is up only on OK. `delay down X up Y`
//   postpones a change: the state changes only if the new condition still holds X (or Y)
//   seconds later; if it flips back during the wait, nothing changes.
// - Assumed: an error reply (REFUSED, SERVFAIL) to a `dns` operation. Cisco does not say
//   whether it is a failure, so the emulator has both behaviours (`errorReply`).
// - Assumed: an ICMP port unreachable (no listener) ends the operation at once as a failure
//   rather than after the timeout.
// - Assumed: the first result after configuration sets the track's state without delay.

export type TrackKind = 'reachability' | 'state';
export type ProbeOutcome = 'ok' | 'over-threshold' | 'timeout' | 'error-reply' | 'unreachable';

export interface TrackSettings {
  kind: TrackKind;
  delayDownMs: number;
  delayUpMs: number;
  /** How an error rcode is counted: 'fail' (the safe reading) or 'ok' (any reply is success). */
  errorReply: 'fail' | 'ok';
}

/** Whether one probe outcome counts as "up" for the track. */
export function outcomeUp(o: ProbeOutcome, s: Pick<TrackSettings, 'kind' | 'errorReply'>): boolean {
  if (o === 'ok') return true;
  if (o === 'over-threshold') return s.kind === 'reachability';
  if (o === 'error-reply') return s.errorReply === 'ok';
  return false;
}

export interface TrackChange {
  up: boolean;
  atMs: number;
}

export class TrackObject {
  /** undefined until the first result. */
  state: boolean | undefined;
  /** The condition the last result showed, and since when it has held. */
  private pending: { up: boolean; sinceMs: number } | undefined;

  constructor(private readonly s: TrackSettings) {}

  /** A probe result at `nowMs`; returns the change if the track's state changed now. */
  result(outcome: ProbeOutcome, nowMs: number): TrackChange | undefined {
    const up = outcomeUp(outcome, this.s);
    if (this.state === undefined) {
      this.state = up;
      this.pending = undefined;
      return { up, atMs: nowMs };
    }
    if (up === this.state) {
      this.pending = undefined; // flipped back during the delay: nothing changes
      return undefined;
    }
    if (!this.pending || this.pending.up !== up) this.pending = { up, sinceMs: nowMs };
    return this.tick(nowMs);
  }

  /** When a pending change is due, or undefined. */
  dueMs(): number | undefined {
    if (!this.pending) return undefined;
    return this.pending.sinceMs + (this.pending.up ? this.s.delayUpMs : this.s.delayDownMs);
  }

  /** Applies a pending change whose delay has run out by `nowMs`. */
  tick(nowMs: number): TrackChange | undefined {
    const due = this.dueMs();
    if (due === undefined || nowMs < due) return undefined;
    this.state = this.pending!.up;
    this.pending = undefined;
    return { up: this.state, atMs: due };
  }
}

export interface ProbeTiming {
  frequencyMs: number;
  timeoutMs: number;
}

/**
 * The window, in seconds after a node dies, in which its route is withdrawn: the next
 * probe starts within one `frequency`; it fails at once (ICMP unreachable, assumed) or
 * after `timeout`; then the track waits `delay down`. Routing-table update time is added
 * by the caller as a tolerance.
 */
export function withdrawalWindowS(p: ProbeTiming, delayDownMs: number): [number, number] {
  return [delayDownMs / 1000, (p.frequencyMs + p.timeoutMs + delayDownMs) / 1000];
}

/** The same for a drained node, which sends no reply: every failing probe waits the timeout. */
export function drainWindowS(p: ProbeTiming, delayDownMs: number, noticeMs: number): [number, number] {
  return [(p.timeoutMs + delayDownMs) / 1000, (noticeMs + p.frequencyMs + p.timeoutMs + delayDownMs) / 1000];
}
