// What the engine needs from a transport. A channel set owns the sockets (UDP, on the
// fastudp addon or node:dgram) or connections (TCP) and moves bytes; the engine owns
// slots, counters and the schedule. The channel reads a slot's query and ID from the
// IdSlots it shares with the engine, and hands every framed answer back through
// ChannelSink.answer(), which matches it.

import { fastUdp } from '../../native/index.js';
import type { QuerySet } from './queryfile.js';
import type { IdSlots } from './slots.js';

/** How UDP datagrams are sent and read: the fastudp addon, or node:dgram. */
export type UdpPath = 'native' | 'dgram';

/** The UDP path a run would use now (the addon when it loads and is not turned off). */
export function udpPathAvailable(): UdpPath {
  return fastUdp() !== null ? 'native' : 'dgram';
}

/** The engine's side: called by channels for what they read and what they could not send. */
export interface ChannelSink {
  /** One framed reply (len bytes at off) on channel c, read at `now`. */
  answer(c: number, buf: Buffer, off: number, len: number, now: number): void;
  /** A datagram that is not from the server. */
  foreign(): void;
  /** Native UDP: the kernel refused slot gs's query and it will be sent again. */
  refused(gs: number): void;
  /** Native UDP: slot gs's query was refused for longer than the timeout: give it up, unsent. */
  giveUp(gs: number): void;
  /** Native UDP: slot gs's query goes out again at `now`: a new send for the timeout queue. */
  resend(gs: number, now: number): void;
}

export interface ChannelContext {
  server: { host: string; port: number };
  /** Source address per channel (undefined: the system picks). */
  sourceOf: (c: number) => string | undefined;
  /** IPv6 when the server or the first source is. */
  v6: boolean;
  queries: QuerySet;
  slots: IdSlots;
  timeoutMs: number;
  /** Socket errors by code, shared with the results. */
  errors: Map<string, number>;
  sink: ChannelSink;
}

export interface ChannelSet {
  /** `native` or `dgram` for UDP, null for TCP. */
  readonly udpPath: UdpPath | null;
  /** The server's address and port as the sockets see them (after open). */
  readonly serverAddr: string;
  readonly serverPort: number;
  /** Opens every channel; throws DriverError when none can be used. */
  open(): Promise<void>;
  /** Whether channel c can take a query now (TCP: connected and not backed up). */
  usable(c: number): boolean;
  /** Sends (or queues until flush) slot gs's query on channel c; its ID is already set. */
  send(c: number, gs: number): void;
  /** At each tick, before sending: re-sends refused queries, reconnects dropped connections. */
  tick(now: number, sending: boolean): void;
  /** Hands everything queued to the kernel. */
  flush(): void;
  /** At the end: datagrams dropped at our sockets (null: unknown), and errors the channel counted itself. */
  finish(): { ownDrops: number | null; malformed: number };
  close(): void;
}

/** Counts one socket error by code. */
export function countError(errors: Map<string, number>, code: string, n = 1): void {
  errors.set(code, (errors.get(code) ?? 0) + n);
}
