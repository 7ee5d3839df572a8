// A live DNS client for the drain and lameduck tests: it sends a query every few ms
// to wherever `route()` points (the emulated switch's choice), and counts every query
// that got no NOERROR answer within its timeout. Bounded in count and time.

import { createSocket } from 'node:dgram';
import { buildQuery, parseMessage, RCODE, TYPE } from '../../dns/index.js';

export interface Target { address: string; port: number }

export interface LoopResult {
  sent: number;
  answered: number;
  failed: number;
  failures: string[];
  /** Answered queries by target address:port. */
  byTarget: Record<string, number>;
  /** Answered queries by target, only those sent after `markAt` (set with mark()). */
  byTargetAfterMark: Record<string, number>;
}

export class QueryLoop {
  private readonly sock = createSocket('udp4');
  private nextId = 1;
  private readonly pending = new Map<number, { target: string; timer: NodeJS.Timeout; afterMark: boolean }>();
  private timer: NodeJS.Timeout | undefined;
  private markAt = Infinity;
  readonly result: LoopResult = { sent: 0, answered: 0, failed: 0, failures: [], byTarget: {}, byTargetAfterMark: {} };

  constructor(private readonly route: () => Target | undefined, private readonly opts = { everyMs: 5, timeoutMs: 1000, maxQueries: 20_000, name: 'localhost', type: TYPE.A as number }) {
    this.sock.on('message', (buf) => {
      let m;
      try { m = parseMessage(buf); } catch { return; }
      const p = this.pending.get(m.id);
      if (!p) return;
      clearTimeout(p.timer);
      this.pending.delete(m.id);
      if (m.rcode !== RCODE.NOERROR) { this.fail(`${p.target}: rcode ${m.rcode}`); return; }
      this.result.answered++;
      this.result.byTarget[p.target] = (this.result.byTarget[p.target] ?? 0) + 1;
      if (p.afterMark) this.result.byTargetAfterMark[p.target] = (this.result.byTargetAfterMark[p.target] ?? 0) + 1;
    });
  }

  async start(host = '127.60.0.1'): Promise<void> {
    await new Promise<void>((r) => this.sock.bind(0, host, () => r()));
    this.timer = setInterval(() => this.sendOne(), this.opts.everyMs);
  }

  mark(): void { this.markAt = Date.now(); }

  private sendOne(): void {
    if (this.result.sent >= this.opts.maxQueries) return;
    const t = this.route();
    if (!t) return;
    const id = this.nextId;
    this.nextId = (this.nextId % 0xffff) + 1;
    if (this.pending.has(id)) return;
    const key = `${t.address}:${t.port}`;
    const timer = setTimeout(() => { this.pending.delete(id); this.fail(`${key}: no answer within ${this.opts.timeoutMs} ms`); }, this.opts.timeoutMs);
    this.pending.set(id, { target: key, timer, afterMark: Date.now() >= this.markAt });
    this.result.sent++;
    this.sock.send(buildQuery({ id, name: this.opts.name, type: this.opts.type, rd: true }), t.port, t.address);
  }

  private fail(why: string): void {
    this.result.failed++;
    if (this.result.failures.length < 20) this.result.failures.push(why);
  }

  /** Stops sending and waits for the answers (or timeouts) of queries in flight. */
  async stop(): Promise<LoopResult> {
    if (this.timer) clearInterval(this.timer);
    const t0 = Date.now();
    while (this.pending.size && Date.now() - t0 < this.opts.timeoutMs + 500) await new Promise((r) => setTimeout(r, 20));
    this.sock.close();
    return this.result;
  }
}
