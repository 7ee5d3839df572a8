// The sender/receiver at the heart of `loadtest run`.
//
// Hot path, per query: copy the pre-encoded bytes into a send slot, patch the ID,
// send. Per answer: read the ID, find the slot, compare the question bytes with the
// query's, take the rcode and TC from the header, record the latency. No parsing, no
// per-query closures, no per-query allocation of our own (Node's dgram allocates a
// little per datagram; that is below us).
//
// IDs: every channel (a UDP socket or a TCP connection) has W slots (W a power of two,
// at most 65,536). A slot's ID rotates by W each time it is reused, so IDs on a channel
// are unique among queries in flight and a late answer to an old use of a slot does not
// match the new one. Free slots are reused oldest-first. There are always enough
// channels that the worst-case number of queries in flight (rate × timeout in open
// loop, the window in closed loop) fits.
//
// Pacing (open loop): a 1 ms timer computes how many queries the schedule says are
// due since the start and sends them all, so timer jitter changes batch sizes, never
// the rate. The schedule does not wait for answers: a slow server shows as latency
// and loss. Closed loop: each answer or timeout sends the next query in its window:
// without --sources on the same socket (so a receive batch's refills leave in one
// sendmmsg), with --sources round robin (so a small window still visits every source).
//
// UDP I/O: with the fastudp addon (native/), each socket is read with recvmmsg (one
// JS call per batch of up to 64 answers) and queries are written straight into the
// socket's out slab and leave with one sendmmsg per socket per tick, or at the end of
// the receive batch whose answers freed their slots. Without the addon (not built,
// or ANYCAST_KIT_UDP=dgram) it is node:dgram, one send per query. sendmmsg can stop
// short when the socket's send buffer is full: the queries it did not take keep their
// slot and ID and go out again on the next tick (counted in `resent`); one still not
// sent after --timeout is given up and counted in unsent.sendBufferFull.

import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import net, { isIP } from 'node:net';
import { readFileSync } from 'node:fs';
import { FastUdpSocket, fastUdp, type FastUdpBinding } from '../../native/index.js';
import { LatencyHistogram } from './histogram.js';
import { buildRunResult, histState, type HistState, type RawRun, type RunMeta } from './merge.js';
import type { QuerySet } from './queryfile.js';
import type { RunResult, StopReason } from './results.js';
import { familyOf } from './sources.js';

/** A run that could not start or could not do anything useful; the message is for operators. */
export class DriverError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'DriverError';
    this.code = code;
  }
}

export interface Progress {
  elapsedS: number;
  sent: number;
  completed: number;
  lost: number;
  inFlight: number;
  /** Answers per second over the last interval. */
  rateQps: number;
  /** Timeouts / (answers + timeouts) over the last interval, in %. */
  lossPct: number;
  /** p99 latency over the last interval, ms (null when nothing completed). */
  p99Ms: number | null;
  /** Answers and timeouts in the last interval. */
  intervalCompleted: number;
  intervalLost: number;
}

export interface RunOptions {
  server: { host: string; port: number };
  queries: QuerySet;
  /** Stop sending after this many seconds. */
  durationS?: number;
  /** Stop sending after this many queries. */
  count?: number;
  /** Hard limit on the sending time when only `count` is given (default 600 s). */
  maxTimeS?: number;
  /** Open loop at this rate (queries/s). */
  qps?: number;
  /** Closed loop: queries in flight (default 100). Ignored in open loop. */
  clients?: number;
  /** Local source addresses; default one unspecified source. */
  sources?: string[];
  /** A query unanswered this long is lost (default 2000 ms). */
  timeoutMs?: number;
  tcp?: boolean;
  /** Sockets or connections per source (default: UDP 4 without sources, else 1). */
  channelsPerSource?: number;
  onProgress?: (p: Progress) => void;
  /** Like onProgress, with the interval's latency histogram (for merging threads). */
  onProgressHist?: (p: Progress, hist: HistState) => void;
  progressIntervalMs?: number;
  /** Generator threads (default 1); each drives its own sockets with a share of the load. */
  threads?: number;
  /** Position in the replay order of the first query (default 0, the file's first line). */
  startAt?: number;
  /** Stops sending early; the run still waits for answers in flight and returns results. */
  signal?: AbortSignal;
}

export const DEFAULT_TIMEOUT_MS = 2000;
export const DEFAULT_CLIENTS = 100;
export const DEFAULT_DURATION_S = 10;
export const DEFAULT_MAX_TIME_S = 600;
/** Open loop: the pacing tick. Closed loop only sweeps timeouts, so it wakes less often. */
const TICK_MS = 1;
const CLOSED_LOOP_TICK_MS = 10;
/** Open loop: how far behind schedule the generator may fall before it skips ahead. */
const MAX_BACKLOG_MS = 250;
/** Open loop: at most this much of the schedule goes out in one tick. */
const MAX_BURST_MS = 20;
/** TCP: stop queueing to a connection whose unwritten data exceeds this. */
const TCP_MAX_BUFFERED = 1 << 20;
/** Native UDP: queries queued per socket before a flush (the addon's out queue holds 4 × 64). */
const QMAX = 256;

/** How UDP datagrams are sent and read: the fastudp addon, or node:dgram. */
export type UdpPath = 'native' | 'dgram';

/** The UDP path a run would use now (the addon when it loads and is not turned off). */
export function udpPathAvailable(): UdpPath {
  return fastUdp() !== null ? 'native' : 'dgram';
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

function readRcvbufErrors(): number | null {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
    if (lines.length < 2) return null;
    const names = lines[0].split(/\s+/);
    const vals = lines[1].split(/\s+/);
    const i = names.indexOf('RcvbufErrors');
    return i < 0 ? null : Number(vals[i]);
  } catch {
    return null;
  }
}

function v4Hex(addr: string): string {
  return addr.split('.').map((o) => Number(o).toString(16).toUpperCase().padStart(2, '0')).reverse().join('');
}

/** A connected UDP socket as /proc/net/udp lists it. */
export interface UdpEndpoints {
  local: { port: number; family: string };
  remote: { address: string; port: number };
}

/**
 * Datagrams the kernel dropped at our own sockets (receive buffer full), from the
 * "drops" column of /proc/net/udp{,6}: answers that arrived but were never read.
 * Sockets are found by local port and remote address:port. Null when unknown.
 */
export function ownUdpDrops(sockets: Array<dgram.Socket | UdpEndpoints>): number | null {
  if (sockets.length === 0) return null;
  const keys = new Set<string>();
  let v6 = false;
  try {
    for (const s of sockets) {
      const local = 'local' in s ? s.local : s.address();
      const remote = 'remote' in s ? s.remote : s.remoteAddress();
      const lport = local.port.toString(16).toUpperCase().padStart(4, '0');
      const rport = remote.port.toString(16).toUpperCase().padStart(4, '0');
      if (local.family === 'IPv6') { v6 = true; keys.add(`${lport}|${rport}`); }
      else keys.add(`${lport}|${v4Hex(remote.address)}:${rport}`);
    }
    const text = readFileSync(v6 ? '/proc/net/udp6' : '/proc/net/udp', 'utf8');
    let drops = 0;
    let found = 0;
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 13) continue;
      const lport = f[1].slice(f[1].lastIndexOf(':') + 1);
      const rem = f[2];
      const key = v6 ? `${lport}|${rem.slice(rem.lastIndexOf(':') + 1)}` : `${lport}|${rem}`;
      if (keys.has(key)) { drops += Number(f[f.length - 1]); found++; }
    }
    return found === 0 ? null : drops;
  } catch {
    return null;
  }
}

interface TcpState {
  sock: net.Socket;
  up: boolean;
  /** Queued, length-prefixed queries not yet handed to the socket. */
  wbuf: Buffer;
  wlen: number;
  /** Partial frame carried over between 'data' events. */
  rest: Buffer | null;
  reconnectAt: number;
}

export class LoadEngine {
  private readonly opts: RunOptions;
  private readonly q: QuerySet;
  private readonly timeoutMs: number;
  private readonly openLoop: boolean;
  private readonly qps: number;
  private readonly clients: number;
  private readonly tcp: boolean;
  private readonly sourceNames: string[];
  /** Closed loop refills on the socket that freed the slot (no --sources: every socket has the same address). */
  private readonly sticky: boolean;

  // Channels.
  private nChan = 0;
  private W = 0; // slots per channel (power of two)
  private mask = 0;
  private chanSource!: Int32Array;
  private udp: dgram.Socket[] = [];
  /** Native path: the addon, or null for dgram (decided in run()). */
  private fastB: FastUdpBinding | null = null;
  private fast: FastUdpSocket[] = [];
  private outSlabs: Buffer[] = [];
  /** Native path: per channel, the slots of the queries queued since its last flush, in order. */
  private qGs!: Int32Array;
  private qN!: Int32Array;
  private readonly dirty: number[] = [];
  private isDirty!: Uint8Array;
  /** Native path: slots whose query the kernel did not take (send buffer full), to send again. */
  private retryGs: number[] = [];
  /** When each such slot's query was first refused (0 when it is not waiting). */
  private retrySince!: Float64Array;
  private retrying = 0;
  /** Native path: when the current receive batch was read (0 outside a batch). */
  private batchNow = 0;
  private tcpCh: TcpState[] = [];
  /** TCP channels with queued queries since the last flush. */
  private readonly tcpDirty: number[] = [];
  private serverAddr = '';
  private serverPort = 0;
  private rr = 0;

  // Slots: index gs = channel * W + slot.
  private slotQuery!: Int32Array; // -1 when free
  private slotId!: Uint16Array;
  private slotSentAt!: Float64Array;
  private slotSeq!: Float64Array;
  private slab!: Buffer; // UDP send buffers, stride bytes per slot
  private stride = 0;
  private freeRing!: Int32Array; // per channel: W entries
  private freeHead!: Int32Array;
  private freeCount!: Int32Array;

  // Timeout queue in send order (entries whose slot moved on are skipped).
  private tqSlot = new Int32Array(1 << 16);
  private tqSeq = new Float64Array(1 << 16);
  private tqHead = 0;
  private tqCount = 0;

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
  private unsentBehind = 0;
  private unsentSendBuf = 0;
  private resent = 0;
  private scheduled = 0;
  private readonly rcodes = new Float64Array(16);
  private readonly errors = new Map<string, number>();
  private srcSent!: Float64Array;
  private srcCompleted!: Float64Array;
  private srcLost!: Float64Array;
  private srcHist: LatencyHistogram[] = [];
  private readonly intervalHist = new LatencyHistogram();
  /** Only a run with a progress listener needs the per-interval histogram. */
  private trackInterval = false;
  private intervalCompleted = 0;
  private intervalLost = 0;

  // Time.
  private t0 = 0;
  private sendEndAt = 0;
  private lastAnswerAt = 0;
  private sending = false;
  private stoppedBy: StopReason = 'duration';
  private deadlineReason: StopReason = 'duration';
  private scheduleCap = Infinity;
  /** Open loop: most queries sent in one tick (MAX_BURST_MS worth), so a backlog cannot flood the sockets. */
  private burstCap = Infinity;
  private maxSends = Infinity;
  private sendDeadline = Infinity;
  private nextProgressAt = Infinity;
  private timer: NodeJS.Timeout | null = null;
  private finish: (() => void) | null = null;
  private startedAt = new Date();
  private rcvbufBefore: number | null = null;

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
    if (this.openLoop && !(this.qps > 0)) throw new DriverError('BAD_OPTION', 'qps must be above 0');
    if (!this.openLoop && !(this.clients >= 1)) throw new DriverError('BAD_OPTION', 'clients must be at least 1');
    if (!(this.timeoutMs > 0)) throw new DriverError('BAD_OPTION', 'timeout must be above 0');
    const host = opts.server.host;
    if (isIP(host)) {
      const bad = this.sourceNames.find((s) => familyOf(s) !== familyOf(host));
      if (bad) throw new DriverError('BAD_OPTION', `source address ${bad} is IPv${familyOf(bad)} but the server ${host} is IPv${familyOf(host)}`);
    }
  }

  /** Sizes channels and slots so the worst case in flight always has a free ID. */
  private plan(): void {
    const nSrc = Math.max(1, this.sourceNames.length);
    const needed = this.openLoop ? Math.ceil((this.qps * this.timeoutMs) / 1000 * 1.2) + 256 : this.clients;
    let perSource = this.opts.channelsPerSource ?? (this.tcp || this.sourceNames.length ? 1 : 4);
    perSource = Math.max(perSource, Math.ceil((needed * 1.5) / (nSrc * 65536)));
    this.nChan = nSrc * perSource;
    this.W = Math.min(65536, Math.max(256, nextPow2(Math.ceil((needed * 1.5) / this.nChan))));
    this.mask = this.W - 1;
    const total = this.nChan * this.W;
    this.chanSource = new Int32Array(this.nChan);
    for (let c = 0; c < this.nChan; c++) this.chanSource[c] = c % nSrc;
    this.slotQuery = new Int32Array(total).fill(-1);
    this.slotId = new Uint16Array(total);
    this.slotSentAt = new Float64Array(total);
    this.slotSeq = new Float64Array(total);
    this.freeRing = new Int32Array(total);
    this.freeHead = new Int32Array(this.nChan);
    this.freeCount = new Int32Array(this.nChan).fill(this.W);
    // Random start so two runs do not send the same ID sequence.
    const idBase = (Math.random() * 65536) | 0;
    for (let c = 0; c < this.nChan; c++) {
      for (let s = 0; s < this.W; s++) {
        this.freeRing[c * this.W + s] = s;
        // The first use adds W, landing on (idBase + s) with the low bits equal to s.
        this.slotId[c * this.W + s] = ((idBase & ~this.mask) + s - this.W) & 0xffff;
      }
    }
    if (!this.tcp && this.fastB === null) {
      // dgram sends asynchronously: each slot keeps its bytes until the next use.
      this.stride = (this.q.maxLength + 15) & ~15;
      this.slab = Buffer.alloc(total * this.stride);
    } else if (!this.tcp) {
      this.qGs = new Int32Array(this.nChan * QMAX);
      this.qN = new Int32Array(this.nChan);
      this.isDirty = new Uint8Array(this.nChan);
      this.retrySince = new Float64Array(total);
    }
    this.srcSent = new Float64Array(nSrc);
    this.srcCompleted = new Float64Array(nSrc);
    this.srcLost = new Float64Array(nSrc);
    for (let i = 0; i < nSrc; i++) this.srcHist.push(new LatencyHistogram());
  }

  private countError(code: string): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }

  private async openUdp(): Promise<void> {
    if (this.fastB !== null) return this.openFast(this.fastB);
    const { host, port } = this.opts.server;
    const type = familyOf(host) === 6 || (this.sourceNames[0] && familyOf(this.sourceNames[0]) === 6) ? 'udp6' : 'udp4';
    for (let c = 0; c < this.nChan; c++) {
      const src = this.sourceNames.length ? this.sourceNames[this.chanSource[c]] : undefined;
      const sock = dgram.createSocket({ type, recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
      this.udp.push(sock);
      await new Promise<void>((resolve, reject) => {
        const onErr = (err: NodeJS.ErrnoException) => {
          reject(new DriverError('BIND', src
            ? `cannot send from source address ${src}: ${err.code ?? err.message}${err.code === 'EADDRNOTAVAIL' ? ' (the address is not configured on this host)' : ''}`
            : `cannot open a UDP socket: ${err.code ?? err.message}`));
        };
        sock.once('error', onErr);
        sock.bind({ port: 0, address: src, exclusive: true }, () => {
          sock.connect(port, host, (err?: Error) => {
            sock.off('error', onErr);
            if (err) reject(new DriverError('CONNECT', `cannot use server ${host}:${port}: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
            else resolve();
          });
        });
      });
      const chan = c;
      sock.on('message', (msg, rinfo) => this.onUdpMessage(chan, msg, rinfo));
      // ICMP port unreachable arrives as ECONNREFUSED on the next recvmsg of a connected socket.
      sock.on('error', (err: NodeJS.ErrnoException) => this.countError(err.code ?? 'ERROR'));
    }
    const remote = this.udp[0].remoteAddress();
    this.serverAddr = remote.address;
    this.serverPort = remote.port;
  }

  /** The native path: one FastUdpSocket per channel, bound to its source and connected to the server. */
  private async openFast(b: FastUdpBinding): Promise<void> {
    const { host, port } = this.opts.server;
    const v6 = familyOf(host) === 6 || (this.sourceNames[0] !== undefined && familyOf(this.sourceNames[0]) === 6);
    let addr = host;
    if (!isIP(host)) {
      try {
        addr = (await lookup(host, { family: v6 ? 6 : 4 })).address;
      } catch (err) {
        throw new DriverError('CONNECT', `cannot use server ${host}:${port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
    for (let c = 0; c < this.nChan; c++) {
      const src = this.sourceNames.length ? this.sourceNames[this.chanSource[c]] : undefined;
      let sock: FastUdpSocket;
      try {
        // 64 KiB slots: no answer is cut, so a big one is counted as the answer it is (pages never touched cost nothing).
        sock = new FastUdpSocket(b, { host: src ?? (v6 ? '::' : '0.0.0.0'), port: 0, recvBufferBytes: 4 << 20, sendBufferBytes: 4 << 20, slotBytes: 65536 }, this.fastHandler(c));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        throw new DriverError('BIND', src
          ? `cannot send from source address ${src}: ${code}${code === 'EADDRNOTAVAIL' ? ' (the address is not configured on this host)' : ''}`
          : `cannot open a UDP socket: ${code}`);
      }
      this.fast.push(sock);
      this.outSlabs.push(sock.outSlab);
      try {
        sock.connect(addr, port);
      } catch (err) {
        throw new DriverError('CONNECT', `cannot use server ${host}:${port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
    this.serverAddr = addr;
    this.serverPort = port;
  }

  /** Channel c's answers: matched in onAnswer; at the batch's end, what they queued leaves. */
  private fastHandler(c: number): { onUdp(s: FastUdpSocket, msg: Buffer, address: string, port: number): void; onBatchEnd(): void } {
    return {
      onUdp: (_s, msg, _address, port) => {
        if (this.batchNow === 0) this.batchNow = performance.now();
        // The socket is connected: the kernel only hands it the server's datagrams.
        if (port !== this.serverPort) {
          this.unmatched++;
          return;
        }
        this.onAnswer(c, msg, 0, msg.length, this.batchNow);
      },
      onBatchEnd: () => {
        this.batchNow = 0;
        if (this.retryGs.length) this.resendRefused(performance.now());
        this.flushFast();
      },
    };
  }

  /** Native path: writes slot gs's query (its ID already set) into channel c's out slab. */
  private queueFast(c: number, gs: number): void {
    const sock = this.fast[c];
    const q = this.slotQuery[gs];
    const qoff = this.q.offset[q];
    const qlen = this.q.length[q];
    if (this.qN[c] === QMAX) this.flushChan(c);
    let off = sock.reserve(qlen);
    if (off < 0) {
      this.flushChan(c);
      off = sock.reserve(qlen);
    }
    const out = this.outSlabs[c];
    this.q.wire.copy(out, off, qoff, qoff + qlen);
    const id = this.slotId[gs];
    out[off] = id >> 8;
    out[off + 1] = id & 0xff;
    this.qGs[c * QMAX + this.qN[c]++] = gs;
    if (this.isDirty[c] === 0) {
      this.isDirty[c] = 1;
      this.dirty.push(c);
    }
  }

  /** Native path: sends channel c's queue with sendmmsg; what the kernel did not take waits to be sent again. */
  private flushChan(c: number): void {
    const n = this.qN[c];
    if (n === 0) return;
    this.qN[c] = 0;
    const base = c * QMAX;
    const gsList = this.qGs;
    // Latency runs from here, the moment the batch is handed to the kernel.
    const now = performance.now();
    const sentAt = this.slotSentAt;
    for (let i = 0; i < n; i++) sentAt[gsList[base + i]] = now;
    const took = this.fast[c].flush();
    if (this.retrying > 0) {
      for (let i = 0; i < took; i++) {
        const gs = gsList[base + i];
        if (this.retrySince[gs] !== 0) {
          this.retrySince[gs] = 0;
          this.retrying--;
        }
      }
    }
    for (let i = took; i < n; i++) {
      const gs = gsList[base + i];
      // Not in flight: the timeout queue skips it until it is sent again with a new seq.
      this.slotSeq[gs] = -1;
      if (this.retrySince[gs] === 0) {
        this.retrySince[gs] = now;
        this.retrying++;
      }
      this.retryGs.push(gs);
      this.resent++;
    }
  }

  private flushFast(): void {
    const d = this.dirty;
    for (let i = 0; i < d.length; i++) {
      const c = d[i];
      this.isDirty[c] = 0;
      this.flushChan(c);
    }
    d.length = 0;
  }

  /** Native path: queues again the queries the kernel refused; gives up on those refused for longer than the timeout. */
  private resendRefused(now: number): void {
    const list = this.retryGs;
    this.retryGs = [];
    for (const gs of list) {
      const c = (gs / this.W) | 0;
      if (now - this.retrySince[gs] > this.timeoutMs) {
        this.retrySince[gs] = 0;
        this.retrying--;
        this.release(gs);
        this.sent--;
        this.srcSent[this.chanSource[c]]--;
        this.unsentSendBuf++;
        continue;
      }
      const seq = ++this.seq;
      this.slotSeq[gs] = seq;
      this.slotSentAt[gs] = now;
      this.pushTimeout(gs, seq);
      this.queueFast(c, gs);
    }
  }

  private connectTcp(c: number): Promise<void> {
    const { host, port } = this.opts.server;
    const src = this.sourceNames.length ? this.sourceNames[this.chanSource[c]] : undefined;
    return new Promise<void>((resolve) => {
      const sock = net.connect({ host, port, localAddress: src, noDelay: true });
      const st: TcpState = this.tcpCh[c] ?? { sock, up: false, wbuf: Buffer.allocUnsafe(64 * 1024), wlen: 0, rest: null, reconnectAt: 0 };
      st.sock = sock;
      st.up = false;
      st.rest = null;
      st.wlen = 0;
      this.tcpCh[c] = st;
      let settled = false;
      sock.once('connect', () => {
        st.up = true;
        settled = true;
        resolve();
      });
      sock.on('data', (chunk: Buffer) => this.onTcpData(c, st, chunk));
      sock.on('error', (err: NodeJS.ErrnoException) => this.countError(err.code ?? 'ERROR'));
      sock.on('close', () => {
        st.up = false;
        st.reconnectAt = performance.now() + 200;
        if (!settled) {
          settled = true;
          resolve();
        }
      });
    });
  }

  private async openTcp(): Promise<void> {
    const { host, port } = this.opts.server;
    await Promise.all(Array.from({ length: this.nChan }, (_, c) => this.connectTcp(c)));
    const up = this.tcpCh.filter((t) => t.up);
    if (up.length === 0) {
      const why = [...this.errors.entries()].map(([k, v]) => `${k} ×${v}`).join(', ') || 'closed';
      this.closeAll();
      throw new DriverError('UNREACHABLE', `cannot connect to server ${host}:${port} over TCP: ${why}`);
    }
    this.serverAddr = up[0].sock.remoteAddress ?? host;
    this.serverPort = up[0].sock.remotePort ?? port;
  }

  private closeAll(): void {
    for (const s of this.udp) {
      try { s.close(); } catch { /* already closed */ }
    }
    for (const s of this.fast) s.close();
    for (const t of this.tcpCh) t.sock.destroy();
  }

  /** Runs to completion and returns the results. */
  async run(): Promise<RunResult> {
    this.fastB = this.tcp ? null : fastUdp();
    this.plan();
    try {
      if (this.tcp) await this.openTcp();
      else await this.openUdp();
    } catch (err) {
      this.closeAll();
      throw err;
    }
    this.rcvbufBefore = this.tcp ? null : readRcvbufErrors();
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
      this.scheduleCap = this.maxSends;
      if (durationS !== undefined) this.scheduleCap = Math.min(this.scheduleCap, Math.floor(durationS * this.qps));
      this.burstCap = Math.max(1, Math.ceil((MAX_BURST_MS * this.qps) / 1000));
    }
    this.sending = this.maxSends > 0;
    if (!this.sending) this.stopSending(this.t0, 'count');
    const interval = o.progressIntervalMs ?? 1000;
    this.trackInterval = !!(o.onProgress || o.onProgressHist);
    this.nextProgressAt = this.trackInterval ? this.t0 + interval : Infinity;
    const onAbort = () => { if (this.sending) this.stopSending(performance.now(), 'interrupted'); };
    o.signal?.addEventListener('abort', onAbort);
    const done = new Promise<void>((resolve) => { this.finish = resolve; });
    if (!this.openLoop && this.sending) {
      const now = performance.now();
      for (let i = 0; i < this.clients && this.sending; i++) this.sendOne(now);
      this.flushTcp();
      this.flushFast();
    }
    this.timer = setInterval(() => this.tick(), this.openLoop ? TICK_MS : CLOSED_LOOP_TICK_MS);
    this.tick();
    await done;
    o.signal?.removeEventListener('abort', onAbort);
    const rcvAfter = this.rcvbufBefore === null ? null : readRcvbufErrors();
    const rcvbuf = this.rcvbufBefore === null || rcvAfter === null ? null : rcvAfter - this.rcvbufBefore;
    const cpu = process.cpuUsage(cpu0);
    return buildRunResult([this.raw()], runMeta(o, rcvbuf, (cpu.user + cpu.system) / 1e6));
  }

  private stopSending(at: number, why: StopReason): void {
    this.sending = false;
    this.stoppedBy = why;
    this.sendEndAt = Math.min(at, this.sendDeadline);
  }

  /** Picks a channel with a free slot, round robin. Returns -1 when none. */
  private pickChannel(): number {
    const n = this.nChan;
    let c = this.rr;
    for (let tries = 0; tries < n; tries++) {
      if (this.freeCount[c] > 0 && (!this.tcp || this.tcpUsable(c))) {
        this.rr = c + 1 === n ? 0 : c + 1;
        return c;
      }
      c = c + 1 === n ? 0 : c + 1;
    }
    return -1;
  }

  private tcpUsable(c: number): boolean {
    const t = this.tcpCh[c];
    return t.up && t.sock.writableLength < TCP_MAX_BUFFERED;
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
    const c = prefer >= 0 && this.freeCount[prefer] > 0 && (!this.tcp || this.tcpUsable(prefer)) ? prefer : this.pickChannel();
    if (c < 0) {
      // Only an open-loop schedule has queries that "should" have gone out; a closed
      // loop simply waits with a smaller window.
      if (this.openLoop) {
        if (this.tcp && this.anyTcpFree()) this.unsentNoConn++;
        else this.unsentNoId++;
      }
      return false;
    }
    const W = this.W;
    const base = c * W;
    const head = this.freeHead[c];
    const s = this.freeRing[base + head];
    this.freeHead[c] = (head + 1) & this.mask;
    this.freeCount[c]--;
    const gs = base + s;
    const q = this.q.order[this.qpos];
    this.qpos = this.qpos + 1 === this.q.order.length ? 0 : this.qpos + 1;
    const id = (this.slotId[gs] + W) & 0xffff;
    this.slotId[gs] = id;
    this.slotQuery[gs] = q;
    this.slotSentAt[gs] = now;
    const seq = ++this.seq;
    this.slotSeq[gs] = seq;
    this.pushTimeout(gs, seq);
    const qoff = this.q.offset[q];
    const qlen = this.q.length[q];
    if (this.tcp) {
      const t = this.tcpCh[c];
      if (t.wlen + qlen + 2 > t.wbuf.length) {
        const bigger = Buffer.allocUnsafe(Math.max(t.wbuf.length * 2, t.wlen + qlen + 2));
        t.wbuf.copy(bigger, 0, 0, t.wlen);
        t.wbuf = bigger;
      }
      if (t.wlen === 0) this.tcpDirty.push(c);
      const w = t.wbuf;
      const p = t.wlen;
      w[p] = qlen >> 8;
      w[p + 1] = qlen & 0xff;
      this.q.wire.copy(w, p + 2, qoff, qoff + qlen);
      w[p + 2] = id >> 8;
      w[p + 3] = id & 0xff;
      t.wlen = p + 2 + qlen;
    } else if (this.fastB !== null) {
      this.queueFast(c, gs);
    } else {
      const off = gs * this.stride;
      const slab = this.slab;
      this.q.wire.copy(slab, off, qoff, qoff + qlen);
      slab[off] = id >> 8;
      slab[off + 1] = id & 0xff;
      this.udp[c].send(slab, off, qlen);
    }
    this.sent++;
    this.inFlight++;
    this.srcSent[this.chanSource[c]]++;
    return true;
  }

  private anyTcpFree(): boolean {
    for (let c = 0; c < this.nChan; c++) if (this.freeCount[c] > 0) return true;
    return false;
  }

  private pushTimeout(gs: number, seq: number): void {
    if (this.tqCount === this.tqSlot.length) {
      const cap = this.tqSlot.length;
      const slot = new Int32Array(cap * 2);
      const sq = new Float64Array(cap * 2);
      for (let i = 0; i < cap; i++) {
        const j = (this.tqHead + i) & (cap - 1);
        slot[i] = this.tqSlot[j];
        sq[i] = this.tqSeq[j];
      }
      this.tqSlot = slot;
      this.tqSeq = sq;
      this.tqHead = 0;
    }
    const tail = (this.tqHead + this.tqCount) & (this.tqSlot.length - 1);
    this.tqSlot[tail] = gs;
    this.tqSeq[tail] = seq;
    this.tqCount++;
  }

  private release(gs: number): void {
    this.slotQuery[gs] = -1;
    const c = (gs / this.W) | 0;
    const base = c * this.W;
    const tail = (this.freeHead[c] + this.freeCount[c]) & this.mask;
    this.freeRing[base + tail] = gs - base;
    this.freeCount[c]++;
    this.inFlight--;
  }

  private onUdpMessage(c: number, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const now = performance.now();
    // Connected sockets only see the server, but say so explicitly: the source must match.
    if (rinfo.port !== this.serverPort || rinfo.address !== this.serverAddr) {
      this.unmatched++;
      return;
    }
    this.onAnswer(c, msg, 0, msg.length, now);
  }

  private onTcpData(c: number, st: TcpState, chunk: Buffer): void {
    const now = performance.now();
    let buf = chunk;
    if (st.rest) {
      buf = Buffer.concat([st.rest, chunk]);
      st.rest = null;
    }
    let p = 0;
    const n = buf.length;
    while (p + 2 <= n) {
      const len = (buf[p] << 8) | buf[p + 1];
      if (p + 2 + len > n) break;
      this.onAnswer(c, buf, p + 2, len, now);
      p += 2 + len;
    }
    if (p < n) st.rest = Buffer.from(buf.subarray(p));
    this.flushTcp();
  }

  /** Matches one answer to its query: ID, then the question bytes. */
  private onAnswer(c: number, buf: Buffer, off: number, len: number, now: number): void {
    if (len < 12 || (buf[off + 2] & 0x80) === 0) {
      this.malformed++;
      return;
    }
    const id = (buf[off] << 8) | buf[off + 1];
    const gs = c * this.W + (id & this.mask);
    const q = this.slotQuery[gs];
    if (q < 0 || this.slotId[gs] !== id) {
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
    const us = (now - this.slotSentAt[gs]) * 1000;
    this.release(gs);
    this.completed++;
    this.intervalCompleted++;
    this.rcodes[rcode]++;
    if (buf[off + 2] & 0x02) this.truncated++;
    const src = this.chanSource[c];
    this.srcCompleted[src]++;
    this.srcHist[src].record(us);
    if (this.trackInterval) this.intervalHist.record(us);
    this.lastAnswerAt = now;
    if (!this.openLoop && this.sending) this.sendOne(now, this.sticky ? c : -1);
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

  private sweepTimeouts(now: number): void {
    const limit = now - this.timeoutMs;
    while (this.tqCount > 0) {
      const cap = this.tqSlot.length;
      const gs = this.tqSlot[this.tqHead];
      const seq = this.tqSeq[this.tqHead];
      if (this.slotQuery[gs] >= 0 && this.slotSeq[gs] === seq) {
        if (this.slotSentAt[gs] > limit) break;
        this.release(gs);
        this.lost++;
        this.intervalLost++;
        const c = (gs / this.W) | 0;
        this.srcLost[this.chanSource[c]]++;
        this.tqHead = (this.tqHead + 1) & (cap - 1);
        this.tqCount--;
        if (!this.openLoop && this.sending) this.sendOne(now, this.sticky ? c : -1);
      } else {
        this.tqHead = (this.tqHead + 1) & (cap - 1);
        this.tqCount--;
      }
    }
  }

  /** Hands each connection's queued queries to its socket in one write. Only dirty channels are visited. */
  private flushTcp(): void {
    const dirty = this.tcpDirty;
    for (let i = 0; i < dirty.length; i++) {
      const t = this.tcpCh[dirty[i]];
      if (t.wlen === 0) continue;
      if (t.up) t.sock.write(Buffer.from(t.wbuf.subarray(0, t.wlen)));
      t.wlen = 0;
    }
    dirty.length = 0;
  }

  private reconnectTcp(now: number): void {
    for (let c = 0; c < this.nChan; c++) {
      const t = this.tcpCh[c];
      if (!t.up && !t.sock.connecting && now >= t.reconnectAt) {
        t.reconnectAt = now + 1000;
        t.sock.removeAllListeners();
        t.sock.on('error', () => {});
        void this.connectTcp(c);
      }
    }
  }

  private tick(): void {
    const now = performance.now();
    if (this.retryGs.length) this.resendRefused(now);
    if (this.sending) {
      if (this.tcp) this.reconnectTcp(now);
      if (this.openLoop) {
        // Everything the schedule says is due by now (or by the deadline), in one batch.
        const elapsed = Math.min(now, this.sendDeadline) - this.t0;
        let due = Math.floor((elapsed * this.qps) / 1000) + 1;
        if (due > this.scheduleCap) due = this.scheduleCap;
        if (this.opts.count === undefined) {
          // A timed run keeps to the clock: after a stall (the generator was not scheduled),
          // catch up at most MAX_BACKLOG_MS of queries and skip the rest, counted.
          const backlogLimit = Math.max(1, Math.floor((MAX_BACKLOG_MS * this.qps) / 1000));
          if (due - this.scheduled > backlogLimit) {
            const skip = due - this.scheduled - backlogLimit;
            this.unsentBehind += skip;
            this.scheduled += skip;
          }
        }
        // A counted run sends every query; a backlog goes out over the next ticks.
        let n = Math.min(due - this.scheduled, this.burstCap);
        while (n-- > 0) {
          this.scheduled++;
          this.sendOne(now);
        }
        if (this.scheduled >= this.scheduleCap) {
          // The schedule's own length is cap / rate; a generator that slipped took longer.
          const nominalEnd = this.t0 + (this.scheduleCap * 1000) / this.qps;
          this.stopSending(Math.max(nominalEnd, now), this.scheduleCap === this.maxSends ? 'count' : 'duration');
        } else if (now >= this.sendDeadline + MAX_BACKLOG_MS) {
          // Queries due before the deadline still go out (late) while the backlog drains;
          // whatever is left MAX_BACKLOG_MS after it is counted, not sent.
          this.unsentBehind += this.scheduleCap - this.scheduled;
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
    this.sweepTimeouts(now);
    this.flushTcp();
    this.flushFast();
    if (now >= this.nextProgressAt) this.progress(now);
    if (!this.sending && this.inFlight === 0) this.end();
  }

  private progress(now: number): void {
    const interval = this.opts.progressIntervalMs ?? 1000;
    const spanS = (now - (this.nextProgressAt - interval)) / 1000;
    const answered = this.intervalCompleted + this.intervalLost;
    const p99 = this.intervalHist.quantileUs(0.99);
    const p: Progress = {
      elapsedS: (now - this.t0) / 1000,
      sent: this.sent,
      completed: this.completed,
      lost: this.lost,
      inFlight: this.inFlight,
      rateQps: this.intervalCompleted / spanS,
      lossPct: answered ? (100 * this.intervalLost) / answered : 0,
      p99Ms: Number.isNaN(p99) ? null : p99 / 1000,
      intervalCompleted: this.intervalCompleted,
      intervalLost: this.intervalLost,
    };
    this.opts.onProgress?.(p);
    this.opts.onProgressHist?.(p, histState(this.intervalHist));
    this.intervalHist.reset();
    this.intervalCompleted = 0;
    this.intervalLost = 0;
    this.nextProgressAt = now + interval;
  }

  private end(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.endedAt = performance.now();
    if (this.tcp) this.ownDrops = 0;
    else if (this.fastB === null) this.ownDrops = ownUdpDrops(this.udp);
    else {
      const remote = { address: this.serverAddr, port: this.serverPort };
      this.ownDrops = ownUdpDrops(this.fast.map((s) => {
        const a = s.address();
        return { local: { port: a.port, family: a.family }, remote };
      }));
      // The addon counts socket errors itself; dgram reports them as 'error' events.
      let refused = 0, other = 0;
      for (const s of this.fast) {
        const k = s.counters();
        refused += k.refused;
        other += k.sendErrors + k.sockErrors - k.refused;
        this.malformed += s.oversize;
      }
      if (refused > 0) this.errors.set('ECONNREFUSED', (this.errors.get('ECONNREFUSED') ?? 0) + refused);
      if (other > 0) this.errors.set('OTHER', (this.errors.get('OTHER') ?? 0) + other);
    }
    this.closeAll();
    this.finish?.();
  }

  private endedAt = 0;
  private ownDrops: number | null = null;

  /** What this engine measured, for buildRunResult (possibly merged with other threads). */
  raw(): RawRun {
    const durationS = Math.max(1e-6, (this.sendEndAt - this.t0) / 1000);
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
      unsentBehind: this.unsentBehind,
      unsentSendBuf: this.unsentSendBuf,
      resent: this.resent,
      udpPath: this.tcp ? null : this.fastB !== null ? 'native' : 'dgram',
      rcodes: Array.from(this.rcodes),
      errors: Object.fromEntries(this.errors),
      channels: this.nChan,
      ownDrops: this.ownDrops,
      sources: names.map((address, i) => ({
        address, sent: this.srcSent[i], completed: this.srcCompleted[i], lost: this.srcLost[i], hist: histState(this.srcHist[i]),
      })),
    };
  }
}

/** The fixed facts of a run, for buildRunResult. */
export function runMeta(opts: RunOptions, udpRcvbufErrors: number | null, cpuS: number, threads = 1): RunMeta {
  return {
    server: opts.server,
    tcp: !!opts.tcp,
    qps: opts.qps,
    clients: opts.clients ?? DEFAULT_CLIENTS,
    timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    queriesFile: opts.queries.source,
    queryLines: opts.queries.order.length,
    distinctQueries: opts.queries.text.length,
    sourceOrder: opts.sources ?? [],
    udpRcvbufErrors,
    threads,
    cpuS,
  };
}

/** Runs a load test and returns its results (in worker threads when opts.threads > 1). */
export async function runLoad(opts: RunOptions): Promise<RunResult> {
  if ((opts.threads ?? 1) > 1) {
    const { runParallel } = await import('./parallel.js');
    return runParallel(opts);
  }
  return new LoadEngine(opts).run();
}

export { readRcvbufErrors };

/** One line explaining why a run got no answers at all, or null when it got some. */
export function diagnoseNoAnswers(r: RunResult): string | null {
  if (r.completed > 0 || r.sent === 0) return null;
  const refused = r.errors.ECONNREFUSED ?? 0;
  if (refused > 0) {
    return r.transport === 'udp'
      ? `server ${r.server} is unreachable: ${refused} ICMP port-unreachable errors (ECONNREFUSED); is a DNS server listening there?`
      : `server ${r.server} refused TCP connections (ECONNREFUSED ×${refused})`;
  }
  if (r.unmatched > 0) return `no usable answers from ${r.server}: ${r.unmatched} replies did not match a query in flight (wrong ID, question or source)`;
  return `no answers from ${r.server}: all ${r.sent} queries timed out after ${r.timeoutMs} ms (server down, filtered, or not a DNS server?)`;
}
