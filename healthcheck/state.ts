// The health state machine: what GET /health, the probe-name answer, SNMP and the
// metrics report. Pure and clock-injected, so every transition is unit-tested without
// timers. Inputs are probe outcomes, canary outcomes, drain and lameduck; the output is
// one state and whether the node should carry traffic.
//
//   liveness (hysteresis):  not-alive --rise consecutive ok--> alive
//                           alive --fall consecutive failed--> not-alive
//   reported state, first match wins:
//     lameduck   shutdown began (SIGTERM); never leaves
//     draining   drain file present or SIGUSR1 drain on
//     up         alive
//     starting   not alive yet since start (or since drain/lameduck ended)
//     down       was alive, then `fall` probes in a row got no answer
//
// A probe fails only when the node gave no usable answer within the probe timeout.
// Slowness and load never count: that is the IOS `track ... reachability` rule, and it
// keeps a busy node from pushing its traffic onto neighbours that then fail in turn.

export type HealthState = 'starting' | 'up' | 'down' | 'draining' | 'lameduck';

/** SNMP enumeration values (ANYCAST-KIT-MIB AkHealthState) and metric label order. */
export const HEALTH_STATES: readonly HealthState[] = ['starting', 'up', 'down', 'draining', 'lameduck'];
export function healthStateNumber(s: HealthState): number {
  return HEALTH_STATES.indexOf(s) + 1;
}

export interface ProbeOutcome {
  /** Unix ms when the probe finished. */
  at: number;
  ok: boolean;
  /** Round trip of the answer, ms (undefined when nothing came back). */
  rttMs?: number;
  /** Rcode name of the answer, when there was one. */
  rcode?: string;
  /** Why it failed ("timeout", "answered SERVFAIL", ...). */
  error?: string;
  /** Answered, but something an operator should look at (does not count as a failure). */
  warning?: string;
}

export interface CanaryOutcome extends ProbeOutcome {
  name: string;
  /** The name actually asked (with its nonce label, if any). */
  asked: string;
}

export interface MachineSettings {
  rise: number;
  fall: number;
  /** When true, a degraded node (canary failures) counts its probes as failed. */
  withdrawOnDegraded: boolean;
}

export interface StateChange {
  from: HealthState;
  to: HealthState;
  at: number;
  reason: string;
}

export class HealthMachine {
  private alive = false;
  private okStreak = 0;
  private failStreak = 0;
  private drainFile = false;
  private drainSignal = false;
  private lameduckAt: number | undefined;
  private degradedReasons: string[] = [];
  private current: HealthState = 'starting';
  private sinceMs: number;
  private lastReason = 'starting: no probe answered yet';
  private wasAlive = false;
  /** Probe outcomes counted, by result. */
  readonly counts = { probesOk: 0, probesFailed: 0, transitions: 0 };
  private readonly listeners: Array<(c: StateChange) => void> = [];

  constructor(private readonly settings: MachineSettings, private readonly now: () => number = Date.now) {
    if (!(settings.rise >= 1 && settings.fall >= 1)) throw new RangeError('rise and fall must be at least 1');
    this.sinceMs = now();
  }

  /** Called on every state change, synchronously. */
  onChange(fn: (c: StateChange) => void): void {
    this.listeners.push(fn);
  }

  get state(): HealthState {
    return this.current;
  }

  /** True only in `up`: the node should carry traffic and answer the probe name. */
  get serving(): boolean {
    return this.current === 'up';
  }

  get degraded(): boolean {
    return this.degradedReasons.length > 0;
  }

  get draining(): boolean {
    return this.drainFile || this.drainSignal;
  }

  get lameduckSinceMs(): number | undefined {
    return this.lameduckAt;
  }

  snapshot() {
    return {
      state: this.current,
      serving: this.serving,
      alive: this.alive,
      sinceMs: this.sinceMs,
      reason: this.lastReason,
      degraded: this.degraded,
      degradedReasons: this.degradedReasons.slice(),
      okStreak: this.okStreak,
      failStreak: this.failStreak,
      rise: this.settings.rise,
      fall: this.settings.fall,
      drain: { file: this.drainFile, signal: this.drainSignal },
      lameduckSinceMs: this.lameduckAt,
      counts: { ...this.counts },
    };
  }

  /** Feeds one self-probe result through the hysteresis. */
  probe(outcome: ProbeOutcome): void {
    let ok = outcome.ok;
    let why = outcome.error ?? 'no answer';
    if (ok && this.settings.withdrawOnDegraded && this.degraded) {
      ok = false;
      why = `degraded (${this.degradedReasons.join('; ')}) and withdrawOnDegraded is set`;
    }
    if (outcome.ok) this.counts.probesOk++;
    else this.counts.probesFailed++;
    if (ok) {
      this.okStreak++;
      this.failStreak = 0;
      if (!this.alive && this.okStreak >= this.settings.rise) {
        this.alive = true;
        this.wasAlive = true;
        this.update(`${this.okStreak} probes in a row answered (rise ${this.settings.rise})`);
        return;
      }
    } else {
      this.failStreak++;
      this.okStreak = 0;
      if (this.alive && this.failStreak >= this.settings.fall) {
        this.alive = false;
        this.update(`${this.failStreak} probes in a row failed (fall ${this.settings.fall}): ${why}`);
        return;
      }
    }
    this.refreshReason(ok ? undefined : why);
  }

  /** Latest canary round: the failing names (empty when recursion works). */
  canaries(failures: string[]): void {
    this.degradedReasons = failures.slice();
    this.refreshReason();
  }

  setDrainFile(on: boolean): void {
    if (on === this.drainFile) return;
    const wasDraining = this.draining;
    this.drainFile = on;
    this.afterDrainChange(wasDraining, on ? 'drain file appeared' : 'drain file removed');
  }

  setDrainSignal(on: boolean): void {
    if (on === this.drainSignal) return;
    const wasDraining = this.draining;
    this.drainSignal = on;
    this.afterDrainChange(wasDraining, on ? 'drain switched on by SIGUSR1' : 'drain switched off by SIGUSR1');
  }

  toggleDrainSignal(): boolean {
    this.setDrainSignal(!this.drainSignal);
    return this.drainSignal;
  }

  /** Begins lameduck (shutdown); irreversible. */
  lameduck(reason = 'shutting down (lameduck)'): void {
    if (this.lameduckAt !== undefined) return;
    this.lameduckAt = this.now();
    this.update(reason);
  }

  private afterDrainChange(wasDraining: boolean, reason: string): void {
    if (wasDraining && !this.draining) {
      // Back in service only through the rise count: the switch must not get the
      // route back on the strength of probes taken while we were out.
      this.alive = false;
      this.okStreak = 0;
      this.failStreak = 0;
      this.wasAlive = false;
    }
    this.update(reason);
  }

  private derive(): HealthState {
    if (this.lameduckAt !== undefined) return 'lameduck';
    if (this.draining) return 'draining';
    if (this.alive) return 'up';
    return this.wasAlive ? 'down' : 'starting';
  }

  private update(reason: string): void {
    const next = this.derive();
    this.lastReason = this.describe(next, reason);
    if (next === this.current) return;
    const change: StateChange = { from: this.current, to: next, at: this.now(), reason: this.lastReason };
    this.current = next;
    this.sinceMs = change.at;
    this.counts.transitions++;
    for (const fn of this.listeners) fn(change);
  }

  private refreshReason(lastFailure?: string): void {
    const s = this.current;
    if (s === 'lameduck' || s === 'draining') return;
    if (s === 'up') {
      this.lastReason = this.failStreak > 0
        ? `up; ${this.failStreak}/${this.settings.fall} probes failed in a row: ${lastFailure ?? 'no answer'}`
        : 'up: probes answered';
    } else {
      this.lastReason = this.okStreak > 0
        ? `${s}: rising, ${this.okStreak}/${this.settings.rise} probes answered`
        : `${s}: ${lastFailure ?? 'waiting for probes to answer'}`;
    }
    if (this.degraded) this.lastReason += `; degraded: ${this.degradedReasons.join('; ')}`;
  }

  private describe(state: HealthState, reason: string): string {
    let r: string;
    if (state === 'lameduck') r = `lameduck: ${reason}`;
    else if (state === 'draining') {
      const by = [this.drainFile ? 'drain file' : '', this.drainSignal ? 'SIGUSR1' : ''].filter(Boolean).join(' and ');
      r = `draining (${by}): DNS still answers, /health says 503`;
    } else r = `${state}: ${reason}`;
    if (this.degraded) r += `; degraded: ${this.degradedReasons.join('; ')}`;
    return r;
  }
}
