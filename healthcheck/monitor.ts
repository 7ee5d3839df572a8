// The health loop. Every `interval` it (1) looks for the drain file, (2) sends one real
// DNS query for the probe name through each of the node's own UDP listeners, and
// (3) samples the resolver's counters for the load figures. Canary names are checked
// on their own, slower cadence. Every state change sets the probe-name answer mode, so
// a switch's `ip sla dns` probe and its `http get` probe always agree.

import { stat } from 'node:fs/promises';
import type { ResolverHandle } from '../resolver/api.js';
import type { ResolverStats } from '../resolver/stats.js';
import { RCODE, rcodeName } from '../dns/index.js';
import type { HealthSettings } from './config.js';
import { LoadWindow } from './load.js';
import { dnsProbe, nonceLabel, probeAddressFor, type DnsProbeRequest, type DnsProbeResult, type ProbeTarget } from './probe.js';
import { HealthMachine, type CanaryOutcome, type HealthState, type ProbeOutcome, type StateChange } from './state.js';
import type { ProbeAnswerMode } from '../resolver/api.js';

/**
 * The probe name's answer per health state. Draining and lameduck are deliberate: by default
 * the node sends no reply at all, which every switch counts as a failed probe (Cisco does not
 * document whether an `ip sla dns` operation counts REFUSED as a failure). Starting and down
 * keep REFUSED: the node's own self-probe must get an answer to climb back through `rise`.
 */
export function probeModeFor(state: HealthState, drainProbeAnswer: 'none' | 'refused'): ProbeAnswerMode {
  if (state === 'up') return 'healthy';
  if ((state === 'draining' || state === 'lameduck') && drainProbeAnswer === 'none') return 'silent';
  return 'refused';
}

/**
 * What the health loop needs of the resolver, and all it sees of it: where it
 * listens, its counters, and the probe-name answer mode. Starting and stopping the
 * resolver is the node's job (node/node.ts), not the health check's.
 */
export type ResolverView = Pick<ResolverHandle, 'listening' | 'stats' | 'setProbeMode'>;

export interface MonitorOptions {
  resolver: ResolverView;
  settings: HealthSettings;
  now?: () => number;
  /** Replaceable for tests. */
  probe?: (req: DnsProbeRequest) => Promise<DnsProbeResult>;
  log?: (line: string) => void;
}

interface CanaryRecord {
  name: string;
  ok: number;
  failed: number;
  last?: CanaryOutcome;
}

const RECENT_PROBES = 10;
/** At most this many listener addresses are probed per interval. */
const MAX_TARGETS = 8;

export class HealthMonitor {
  readonly machine: HealthMachine;
  readonly load: LoadWindow;
  readonly recentProbes: ProbeOutcome[] = [];
  readonly canaries: CanaryRecord[];
  private readonly resolver: ResolverView;
  private readonly settings: HealthSettings;
  private readonly now: () => number;
  private readonly probeFn: (req: DnsProbeRequest) => Promise<DnsProbeResult>;
  private readonly log: (line: string) => void;
  private timer: NodeJS.Timeout | undefined;
  private canaryTimer: NodeJS.Timeout | undefined;
  private probeInFlight = false;
  private canaryInFlight = false;
  private statsInFlight = false;
  private drainCheckInFlight = false;
  private drainErrorLogged = false;
  private lastStats: ResolverStats | undefined;
  private lastProbeRttMs: number | undefined;
  private stopped = false;
  private lastWarning = '';

  constructor(opts: MonitorOptions) {
    this.resolver = opts.resolver;
    this.settings = opts.settings;
    this.now = opts.now ?? Date.now;
    this.probeFn = opts.probe ?? dnsProbe;
    this.log = opts.log ?? (() => {});
    this.machine = new HealthMachine({
      rise: this.settings.rise, fall: this.settings.fall, withdrawOnDegraded: this.settings.withdrawOnDegraded,
    }, this.now);
    this.load = new LoadWindow(this.settings.loadWindowMs);
    this.canaries = this.settings.canaries.map((c) => ({ name: c.name, ok: 0, failed: 0 }));
    this.machine.onChange((c) => this.applyProbeMode(c));
    // Until `rise` probes have answered, the switch's DNS probe must fail too.
    this.resolver.setProbeMode('refused');
  }

  /** Listener addresses the self-probe uses (wildcards mapped to loopback, deduplicated). */
  targets(): ProbeTarget[] {
    const seen = new Set<string>();
    const out: ProbeTarget[] = [];
    for (const l of this.resolver.listening) {
      const address = probeAddressFor(l.address);
      const key = `${address}|${l.port}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ address, port: l.port });
      if (out.length >= MAX_TARGETS) break;
    }
    return out;
  }

  start(): void {
    if (this.timer) return;
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.settings.intervalMs);
    if (this.canaries.length) {
      void this.canaryRound();
      this.canaryTimer = setInterval(() => void this.canaryRound(), this.settings.canaryIntervalMs);
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.canaryTimer) clearInterval(this.canaryTimer);
    this.timer = this.canaryTimer = undefined;
  }

  /** One interval's work; exposed so tests can step the loop without timers. */
  async tick(): Promise<void> {
    await Promise.all([this.checkDrainFile(), this.runProbe(), this.sampleStats()]);
  }

  latestStats(): ResolverStats | undefined {
    return this.lastStats;
  }

  lastRttMs(): number | undefined {
    return this.lastProbeRttMs;
  }

  private applyProbeMode(c: StateChange): void {
    try {
      this.resolver.setProbeMode(probeModeFor(c.to, this.settings.drainProbeAnswer));
    } catch (err) {
      this.log(`cannot set the probe answer mode: ${(err as Error).message}`);
    }
    this.log(`health ${c.from} -> ${c.to}: ${c.reason}`);
  }

  async checkDrainFile(): Promise<void> {
    const file = this.settings.drainFile;
    if (!file || this.drainCheckInFlight) return;
    this.drainCheckInFlight = true;
    try {
      await stat(file);
      this.machine.setDrainFile(true);
      this.drainErrorLogged = false;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        this.machine.setDrainFile(false);
        this.drainErrorLogged = false;
      } else if (!this.drainErrorLogged) {
        // Cannot tell: keep the current drain state rather than guess.
        this.log(`cannot check drain file ${file}: ${code ?? (err as Error).message}; drain state unchanged`);
        this.drainErrorLogged = true;
      }
    } finally {
      this.drainCheckInFlight = false;
    }
  }

  async runProbe(): Promise<void> {
    if (this.probeInFlight || this.stopped) return;
    this.probeInFlight = true;
    try {
      const targets = this.targets();
      let outcome: ProbeOutcome;
      if (!targets.length) {
        outcome = { at: this.now(), ok: false, error: 'the resolver has no listening socket' };
      } else {
        const servingAtSend = this.machine.serving;
        const results = await Promise.all(targets.map((target) => this.probeFn({
          target, name: this.settings.probeName, timeoutMs: this.settings.probeTimeoutMs, rd: true, attempts: this.settings.probeAttempts,
        })));
        outcome = this.judgeProbe(targets, results, servingAtSend);
      }
      if (this.stopped) return;
      if (outcome.rttMs !== undefined) this.lastProbeRttMs = outcome.rttMs;
      if (outcome.ok && (outcome.warning ?? '') !== this.lastWarning) {
        // Logged when it appears and when it clears, not every interval.
        this.log(outcome.warning ? `warning: ${outcome.warning}` : 'probe warning cleared');
        this.lastWarning = outcome.warning ?? '';
      }
      this.recentProbes.push(outcome);
      if (this.recentProbes.length > RECENT_PROBES) this.recentProbes.shift();
      this.machine.probe(outcome);
    } finally {
      this.probeInFlight = false;
    }
  }

  /**
   * A probe succeeds when every listener answered our question within the timeout with
   * NOERROR (probe mode healthy) or REFUSED (probe mode refused: the node is alive and
   * says so deliberately). Any other answer means the probe name is not being answered
   * locally, which is a fault. REFUSED while serving still proves the node answers,
   * but means some listener's probe mode disagrees with the health state (e.g. a
   * worker that has not yet taken the broadcast), so it is reported as a warning.
   */
  private judgeProbe(targets: ProbeTarget[], results: DnsProbeResult[], serving: boolean): ProbeOutcome {
    const at = this.now();
    let rtt = 0;
    let rcode: string | undefined;
    let warning: string | undefined;
    for (let i = 0; i < results.length; i++) {
      const r = results[i];
      const where = targets.length > 1 ? ` (${targets[i].address}:${targets[i].port})` : '';
      if (!r.answered) return { at, ok: false, error: `${r.error ?? 'no answer'}${where}` };
      if (r.rcode !== RCODE.NOERROR && r.rcode !== RCODE.REFUSED) {
        return { at, ok: false, rttMs: r.rttMs, rcode: r.rcodeName, error: `probe name answered ${r.rcodeName}${where}` };
      }
      rtt = Math.max(rtt, r.rttMs ?? 0);
      rcode = r.rcodeName;
      if (serving && r.rcode === RCODE.REFUSED) {
        warning = `probe name answered REFUSED while serving${where}: that listener's probe mode disagrees with the health state, so a switch's ip sla dns probe would withdraw it`;
      }
    }
    return { at, ok: true, rttMs: Math.round(rtt * 1000) / 1000, rcode, warning };
  }

  async canaryRound(): Promise<void> {
    if (this.canaryInFlight || this.stopped || !this.canaries.length) return;
    const target = this.targets()[0];
    if (!target) return;
    this.canaryInFlight = true;
    try {
      const outcomes = await Promise.all(this.settings.canaries.map(async (c): Promise<CanaryOutcome> => {
        const asked = c.nonce ? `${nonceLabel()}.${c.name}` : c.name;
        const r = await this.probeFn({ target, name: asked, type: c.type, rd: true, timeoutMs: this.settings.canaryTimeoutMs, attempts: 2 });
        const at = this.now();
        if (!r.answered) return { name: c.name, asked, at, ok: false, error: r.error ?? 'no answer' };
        // NOERROR or NXDOMAIN: an authoritative verdict reached us, so recursion works.
        const ok = r.rcode === RCODE.NOERROR || r.rcode === RCODE.NXDOMAIN;
        const name = r.rcode === undefined ? 'no rcode' : rcodeName(r.rcode);
        const hint = r.rcode === RCODE.REFUSED ? ' (is the loopback address in --allow?)' : '';
        return { name: c.name, asked, at, ok, rttMs: r.rttMs, rcode: name, error: ok ? undefined : `answered ${name}${hint}` };
      }));
      if (this.stopped) return;
      const failures: string[] = [];
      outcomes.forEach((o, i) => {
        const rec = this.canaries[i];
        rec.last = o;
        if (o.ok) rec.ok++;
        else { rec.failed++; failures.push(`canary ${o.name}: ${o.error}`); }
      });
      const wasDegraded = this.machine.degraded;
      this.machine.canaries(failures);
      if (this.machine.degraded !== wasDegraded) this.log(this.machine.degraded ? `degraded: ${failures.join('; ')}` : 'canaries answer again; no longer degraded');
    } finally {
      this.canaryInFlight = false;
    }
  }

  async sampleStats(): Promise<void> {
    if (this.statsInFlight || this.stopped) return;
    this.statsInFlight = true;
    try {
      const s = await withTimeout(this.resolver.stats(), Math.max(500, this.settings.intervalMs));
      if (s) {
        this.lastStats = s;
        this.load.add(this.now(), s);
      }
    } catch (err) {
      this.log(`cannot read resolver stats: ${(err as Error).message}`);
    } finally {
      this.statsInFlight = false;
    }
  }
}

/** Resolves to undefined if `p` takes longer than `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => resolve(undefined), ms);
    p.then((v) => { clearTimeout(t); resolve(v); }, (e: unknown) => { clearTimeout(t); reject(e); });
  });
}
