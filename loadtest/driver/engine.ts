// One generator thread's run: `loadtest run` and `loadtest capacity` with --threads 1,
// and each worker of --threads N. The engine decides what to send and when, and
// counts what came back; the parts it drives each do one job:
//
//   pacing.ts      open-loop schedule (due queries per 1 ms tick, backlog, burst cap)
//   slots.ts       ID slots per channel, and how many channels a run needs
//   timeouts.ts    the timeout queue, in send order
//   progress.ts    the per-interval progress figures
//   channel.ts     the transport interface; udp-native.ts (fastudp: recvmmsg and
//                  sendmmsg), udp-dgram.ts (node:dgram) and tcp.ts implement it
//   kernel-stats.ts  the kernel's UDP drop counters
//
// Hot path, per query: take a slot (its ID moves on), hand it to the channel, which
// copies the pre-encoded bytes and patches the ID. Per answer: read the ID, find the
// slot, compare the question bytes with the query's, take the rcode and TC from the
// header, record the latency. No parsing, no per-query closures, no per-query
// allocation of our own.
//
// Closed loop: each answer or timeout sends the next query in its window: without
// --sources on the same channel (so a receive batch's refills leave in one sendmmsg),
// with --sources round robin (so a small window still visits every source).

import { isIP } from 'node:net';
import { fastUdp } from '../../native/index.js';
import type { ChannelContext, ChannelSet, ChannelSink } from './channel.js';
import { DriverError } from './errors.js';
import { LatencyHistogram } from './histogram.js';
import { readRcvbufErrors } from './kernel-stats.js';
import { buildRunResult, histState, type RawRun } from './merge.js';
import { DEFAULT_CLIENTS, DEFAULT_DURATION_S, DEFAULT_MAX_TIME_S, DEFAULT_TIMEOUT_MS, runMeta, type RunOptions } from './options.js';
import { CLOSED_LOOP_TICK_MS, MAX_BACKLOG_MS, OpenLoopPacer, TICK_MS } from './pacing.js';
import { ProgressMeter } from './progress.js';
import type { QuerySet } from './queryfile.js';
import type { RunResult, StopReason } from './results.js';
import { IdSlots, planSlots } from './slots.js';
import { familyOf } from './sources.js';
import { TcpChannels } from './tcp.js';
import { TimeoutQueue } from './timeouts.js';
import { DgramChannels } from './udp-dgram.js';
import { NativeUdpChannels } from './udp-native.js';

export class LoadEngine implements ChannelSink {
  private readonly opts: RunOptions;
  private readonly q: QuerySet;
  private readonly timeoutMs: number;
  private readonly openLoop: boolean;
  private readonly qps: number;
  private readonly clients: number;
  private readonly tcp: boolean;
  private readonly sourceNames: string[];
  /** Closed loop refills on the channel that freed the slot (no --sources: every channel has the same address). */
  private readonly sticky: boolean;

  // Set up in run().
  private slots!: IdSlots;
  private chanSource!: Int32Array;
  private ch!: ChannelSet;
  private pacer: OpenLoopPacer | null = null;
  private readonly timeouts = new TimeoutQueue();
  private readonly meter: ProgressMeter;
  private rr = 0;

  // Replay position.
  private qpos = 0;

  // Counters.
  private seq = 0;
  private sent = 0;
  private completed = 0;
  private lost = 0;
  private inFlight = 0;
  private truncated = 0;
  private unmatched = 0;
  private malformed = 0;
  private unsentNoId = 0;
  private unsentNoConn = 0;
  private unsentSendBuf = 0;
  private resent = 0;
  private readonly rcodes = new Float64Array(16);
  private readonly errors = new Map<string, number>();
  private srcSent!: Float64Array;
  private srcCompleted!: Float64Array;
  private srcLost!: Float64Array;
  private srcHist: LatencyHistogram[] = [];

  // Time.
  private t0 = 0;
  private sendEndAt = 0;
  private lastAnswerAt = 0;
  private endedAt = 0;
  private sending = false;
  private stoppedBy: StopReason = 'duration';
  private deadlineReason: StopReason = 'duration';
  private maxSends = Infinity;
  private sendDeadline = Infinity;
  private timer: NodeJS.Timeout | null = null;
  private finish: (() => void) | null = null;
  private startedAt = new Date();
  private ownDrops: number | null = null;

  constructor(opts: RunOptions) {
    this.opts = opts;
    this.q = opts.queries;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.openLoop = opts.qps !== undefined;
    this.qps = opts.qps ?? 0;
    this.clients = opts.clients ?? DEFAULT_CLIENTS;
    this.tcp = !!opts.tcp;
    this.sourceNames = opts.sources && opts.sources.length ? opts.sources : [];
    this.sticky = this.sourceNames.length === 0;
    this.qpos = Math.max(0, Math.floor(opts.startAt ?? 0)) % this.q.order.length;
    this.meter = new ProgressMeter(opts);
    if (this.openLoop && !(this.qps > 0)) throw new DriverError('BAD_OPTION', 'qps must be above 0');
    if (!this.openLoop && !(this.clients >= 1)) throw new DriverError('BAD_OPTION', 'clients must be at least 1');
    if (!(this.timeoutMs > 0)) throw new DriverError('BAD_OPTION', 'timeout must be above 0');
    const host = opts.server.host;
    if (isIP(host)) {
      const bad = this.sourceNames.find((s) => familyOf(s) !== familyOf(host));
      if (bad) throw new DriverError('BAD_OPTION', `source address ${bad} is IPv${familyOf(bad)} but the server ${host} is IPv${familyOf(host)}`);
    }
  }

  /** Sizes channels and slots, and picks the transport. */
  private setUp(): void {
    const nSrc = Math.max(1, this.sourceNames.length);
    this.slots = new IdSlots(planSlots({
      openLoop: this.openLoop, qps: this.qps, timeoutMs: this.timeoutMs, clients: this.clients, nSources: nSrc,
      channelsPerSource: this.opts.channelsPerSource ?? (this.tcp || this.sourceNames.length ? 1 : 4),
    }));
    const nChan = this.slots.nChan;
    this.chanSource = new Int32Array(nChan);
    for (let c = 0; c < nChan; c++) this.chanSource[c] = c % nSrc;
    this.srcSent = new Float64Array(nSrc);
    this.srcCompleted = new Float64Array(nSrc);
    this.srcLost = new Float64Array(nSrc);
    for (let i = 0; i < nSrc; i++) this.srcHist.push(new LatencyHistogram());
    const host = this.opts.server.host;
    const ctx: ChannelContext = {
      server: this.opts.server,
      sourceOf: (c) => (this.sourceNames.length ? this.sourceNames[this.chanSource[c]] : undefined),
      v6: familyOf(host) === 6 || (this.sourceNames[0] !== undefined && familyOf(this.sourceNames[0]) === 6),
      queries: this.q,
      slots: this.slots,
      timeoutMs: this.timeoutMs,
      errors: this.errors,
      sink: this,
    };
    const binding = this.tcp ? null : fastUdp();
    this.ch = this.tcp ? new TcpChannels(ctx) : binding !== null ? new NativeUdpChannels(binding, ctx) : new DgramChannels(ctx);
  }

  /** Runs to completion and returns the results. */
  async run(): Promise<RunResult> {
    this.setUp();
    try {
      await this.ch.open();
    } catch (err) {
      this.ch.close();
      throw err;
    }
    const rcvbufBefore = this.tcp ? null : readRcvbufErrors();
    const o = this.opts;
    if (o.count !== undefined) this.maxSends = o.count;
    const durationS = o.durationS ?? (o.count === undefined ? DEFAULT_DURATION_S : undefined);
    const limitS = durationS ?? o.maxTimeS ?? DEFAULT_MAX_TIME_S;
    this.startedAt = new Date();
    const cpu0 = process.cpuUsage();
    this.t0 = performance.now();
    this.sendDeadline = this.t0 + limitS * 1000;
    this.deadlineReason = durationS !== undefined ? 'duration' : 'time-limit';
    if (this.openLoop) {
      let cap = this.maxSends;
      if (durationS !== undefined) cap = Math.min(cap, Math.floor(durationS * this.qps));
      this.pacer = new OpenLoopPacer(this.qps, this.t0, cap, o.count !== undefined);
    }
    this.sending = this.maxSends > 0;
    if (!this.sending) this.stopSending(this.t0, 'count');
    this.meter.start(this.t0);
    const onAbort = () => { if (this.sending) this.stopSending(performance.now(), 'interrupted'); };
    o.signal?.addEventListener('abort', onAbort);
    const done = new Promise<void>((resolve) => { this.finish = resolve; });
    if (!this.openLoop && this.sending) {
      const now = performance.now();
      for (let i = 0; i < this.clients && this.sending; i++) this.sendOne(now);
      this.ch.flush();
    }
    this.timer = setInterval(() => this.tick(), this.openLoop ? TICK_MS : CLOSED_LOOP_TICK_MS);
    this.tick();
    await done;
    o.signal?.removeEventListener('abort', onAbort);
    const rcvAfter = rcvbufBefore === null ? null : readRcvbufErrors();
    const rcvbuf = rcvbufBefore === null || rcvAfter === null ? null : rcvAfter - rcvbufBefore;
    const cpu = process.cpuUsage(cpu0);
    return buildRunResult([this.raw()], runMeta(o, rcvbuf, (cpu.user + cpu.system) / 1e6));
  }

  private tick(): void {
    const now = performance.now();
    this.ch.tick(now, this.sending);
    if (this.sending) {
      const pacer = this.pacer;
      if (pacer !== null) {
        // Everything the schedule says is due by now (or by the deadline), in one batch.
        let n = pacer.due(now, this.sendDeadline);
        while (n-- > 0) {
          pacer.scheduled++;
          this.sendOne(now);
        }
        if (pacer.done) {
          // The schedule's own length is cap / rate; a generator that slipped took longer.
          this.stopSending(Math.max(pacer.nominalEnd, now), pacer.cap === this.maxSends ? 'count' : 'duration');
        } else if (now >= this.sendDeadline + MAX_BACKLOG_MS) {
          // Queries due before the deadline still go out (late) while the backlog drains;
          // whatever is left MAX_BACKLOG_MS after it is counted, not sent.
          pacer.abandon();
          this.stopSending(this.sendDeadline, this.deadlineReason);
        }
      } else {
        if (this.inFlight < this.clients) {
          // Closed loop: refill windows that could not send earlier (no TCP connection).
          let room = this.clients - this.inFlight;
          while (room-- > 0 && this.sending) if (!this.sendOne(now)) break;
        }
        if (this.sending && now >= this.sendDeadline) this.stopSending(this.sendDeadline, this.deadlineReason);
      }
    }
    // Timeouts first: in closed loop they send the next queries, which leave with this flush.
    this.timeouts.sweep(this.slots, now - this.timeoutMs, (gs) => this.expire(gs, now));
    this.ch.flush();
    if (this.meter.tracking) this.meter.maybeReport(now, { sent: this.sent, completed: this.completed, lost: this.lost, inFlight: this.inFlight });
    if (!this.sending && this.inFlight === 0) this.end();
  }

  private stopSending(at: number, why: StopReason): void {
    this.sending = false;
    this.stoppedBy = why;
    this.sendEndAt = Math.min(at, this.sendDeadline);
  }

  /** Picks a channel with a free slot, round robin. Returns -1 when none. */
  private pickChannel(): number {
    const n = this.slots.nChan;
    const free = this.slots.freeCount;
    let c = this.rr;
    for (let tries = 0; tries < n; tries++) {
      if (free[c] > 0 && (!this.tcp || this.ch.usable(c))) {
        this.rr = c + 1 === n ? 0 : c + 1;
        return c;
      }
      c = c + 1 === n ? 0 : c + 1;
    }
    return -1;
  }

  /**
   * Sends the next query from the file, on channel `prefer` when it has a free slot
   * (closed loop: the channel whose answer or timeout freed one), else round robin.
   * Returns false when it could not.
   */
  private sendOne(now: number, prefer = -1): boolean {
    if (this.sent >= this.maxSends) {
      if (this.sending) this.stopSending(now, 'count');
      return false;
    }
    const c = prefer >= 0 && this.slots.freeCount[prefer] > 0 && (!this.tcp || this.ch.usable(prefer)) ? prefer : this.pickChannel();
    if (c < 0) {
      // Only an open-loop schedule has queries that "should" have gone out; a closed
      // loop simply waits with a smaller window.
      if (this.openLoop) {
        if (this.tcp && this.slots.anyFree()) this.unsentNoConn++;
        else this.unsentNoId++;
      }
      return false;
    }
    const q = this.q.order[this.qpos];
    this.qpos = this.qpos + 1 === this.q.order.length ? 0 : this.qpos + 1;
    const seq = ++this.seq;
    const gs = this.slots.take(c, q, now, seq);
    this.timeouts.push(gs, seq);
    this.ch.send(c, gs);
    this.sent++;
    this.inFlight++;
    this.srcSent[this.chanSource[c]]++;
    return true;
  }

  private release(gs: number): void {
    this.slots.release(gs);
    this.inFlight--;
  }

  /** Slot gs timed out: its query is lost, and in closed loop the next one goes out. */
  private expire(gs: number, now: number): void {
    this.release(gs);
    this.lost++;
    this.meter.timedOut();
    const c = this.slots.chanOf(gs);
    this.srcLost[this.chanSource[c]]++;
    if (!this.openLoop && this.sending) this.sendOne(now, this.sticky ? c : -1);
  }

  // ChannelSink: what the channels report.

  /** Matches one answer to its query: ID, then the question bytes. */
  answer(c: number, buf: Buffer, off: number, len: number, now: number): void {
    if (len < 12 || (buf[off + 2] & 0x80) === 0) {
      this.malformed++;
      return;
    }
    const id = (buf[off] << 8) | buf[off + 1];
    const slots = this.slots;
    const gs = slots.slotFor(c, id);
    const q = slots.query[gs];
    if (q < 0 || slots.id[gs] !== id) {
      this.unmatched++;
      return;
    }
    const rcode = buf[off + 3] & 0x0f;
    const qdcount = (buf[off + 4] << 8) | buf[off + 5];
    if (qdcount === 1) {
      if (!this.questionMatches(buf, off, len, q)) {
        this.unmatched++;
        return;
      }
    } else if (qdcount !== 0 || rcode === 0) {
      // Only an error answer may leave the question out (FORMERR, NOTIMP...).
      this.unmatched++;
      return;
    }
    const us = (now - slots.sentAt[gs]) * 1000;
    this.release(gs);
    this.completed++;
    this.meter.answered(us);
    this.rcodes[rcode]++;
    if (buf[off + 2] & 0x02) this.truncated++;
    const src = this.chanSource[c];
    this.srcCompleted[src]++;
    this.srcHist[src].record(us);
    this.lastAnswerAt = now;
    if (!this.openLoop && this.sending) this.sendOne(now, this.sticky ? c : -1);
  }

  foreign(): void {
    this.unmatched++;
  }

  refused(): void {
    this.resent++;
  }

  giveUp(gs: number): void {
    this.release(gs);
    this.sent--;
    this.srcSent[this.chanSource[this.slots.chanOf(gs)]]--;
    this.unsentSendBuf++;
  }

  resend(gs: number, now: number): void {
    const seq = ++this.seq;
    this.slots.seq[gs] = seq;
    this.slots.sentAt[gs] = now;
    this.timeouts.push(gs, seq);
  }

  /** Compares the answer's question with the query's: name case-insensitively, type and class exactly. */
  private questionMatches(buf: Buffer, off: number, len: number, q: number): boolean {
    const wire = this.q.wire;
    const start = this.q.offset[q] + 12;
    const end = this.q.offset[q] + this.q.questionEnd[q];
    const n = end - start;
    if (len < 12 + n) return false;
    const nameLen = n - 4;
    let a = off + 12;
    for (let i = start; i < end; i++, a++) {
      const x = buf[a];
      const y = wire[i];
      if (x === y) continue;
      // Label length bytes are below 64, so folding only ever touches letters.
      if (i - start >= nameLen) return false;
      const lx = x | 0x20;
      if (lx !== (y | 0x20) || lx < 0x61 || lx > 0x7a) return false;
    }
    return true;
  }

  private end(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.endedAt = performance.now();
    const f = this.ch.finish();
    this.ownDrops = f.ownDrops;
    this.malformed += f.malformed;
    this.ch.close();
    this.finish?.();
  }

  /** What this engine measured, for buildRunResult (possibly merged with other threads). */
  raw(): RawRun {
    // Whole microseconds: the schedule's end is t0 plus a sum of float intervals, and
    // 3500 sends at 3500 q/s must report 1 s, not 0.9999999999999998.
    const durationS = Math.max(1e-6, Math.round((this.sendEndAt - this.t0) * 1000) / 1e6);
    const names = this.sourceNames.length ? this.sourceNames : [''];
    return {
      startedAtMs: this.startedAt.getTime(),
      durationS,
      activeS: Math.max(0, (this.lastAnswerAt - this.t0) / 1000),
      elapsedS: (this.endedAt - this.t0) / 1000,
      stoppedBy: this.stoppedBy,
      sent: this.sent,
      completed: this.completed,
      lost: this.lost,
      truncated: this.truncated,
      unmatched: this.unmatched,
      malformed: this.malformed,
      unsentNoId: this.unsentNoId,
      unsentNoConn: this.unsentNoConn,
      unsentBehind: this.pacer?.behind ?? 0,
      unsentSendBuf: this.unsentSendBuf,
      resent: this.resent,
      udpPath: this.ch.udpPath,
      rcodes: Array.from(this.rcodes),
      errors: Object.fromEntries(this.errors),
      channels: this.slots.nChan,
      ownDrops: this.ownDrops,
      sources: names.map((address, i) => ({
        address, sent: this.srcSent[i], completed: this.srcCompleted[i], lost: this.srcLost[i], hist: histState(this.srcHist[i]),
      })),
    };
  }
}
