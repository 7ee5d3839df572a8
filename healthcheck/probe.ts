// DNS self-probe: a real query through the node's own UDP listener, the same path a
// client (or a switch's `ip sla ... dns` operation) takes. A fresh socket per probe
// gives a fresh source port, so with several workers sharing the port (reusePort)
// successive probes land on different workers.

import { createSocket, type Socket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { buildQuery, FLAG, parseMessage, rcodeName, TYPE, lowerName } from '../dns/index.js';

export interface ProbeTarget {
  address: string;
  port: number;
}

export interface DnsProbeRequest {
  target: ProbeTarget;
  name: string;
  type?: number;
  /** Recursion desired (canaries need it; the probe name is answered locally either way). */
  rd?: boolean;
  timeoutMs: number;
  /**
   * Datagrams sent, evenly spaced within the timeout (default 1). Any answer to any of
   * them counts, as a stub resolver retries: one datagram dropped by a full socket
   * buffer on a busy node is not "no answer within the timeout".
   */
  attempts?: number;
}

export interface DnsProbeResult {
  /** A well-formed answer to our question arrived within the timeout. */
  answered: boolean;
  rttMs?: number;
  rcode?: number;
  rcodeName?: string;
  answers?: number;
  error?: string;
}

/** Maps a wildcard listen address to the loopback address the probe should use. */
export function probeAddressFor(listenAddress: string): string {
  if (listenAddress === '0.0.0.0' || listenAddress === '') return '127.0.0.1';
  if (listenAddress === '::' || listenAddress === '::0') return '::1';
  return listenAddress;
}

/**
 * Sends one query and waits for the matching answer (ID, QR, question) until the
 * timeout. Answers that do not match are ignored, as a resolver stub would, so a stray
 * packet cannot fake health. Never throws.
 */
export function dnsProbe(req: DnsProbeRequest): Promise<DnsProbeResult> {
  const type = req.type ?? TYPE.TXT;
  const attempts = Math.max(1, Math.min(10, req.attempts ?? 1));
  const ids = new Set<number>();
  const wantName = lowerName(req.name);
  return new Promise((resolve) => {
    let sock: Socket | undefined;
    let done = false;
    const started = performance.now();
    const timers: NodeJS.Timeout[] = [];
    const finish = (r: DnsProbeResult): void => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      try { sock?.close(); } catch { /* already closed */ }
      resolve(r);
    };
    // Timers run before I/O in an event-loop turn: after a stall, let datagrams that
    // already arrived be read (setImmediate runs after the poll phase) before giving up.
    timers.push(setTimeout(() => setImmediate(() => finish({
      answered: false, error: `timeout after ${req.timeoutMs} ms${attempts > 1 ? ` (${attempts} tries)` : ''}`,
    })), req.timeoutMs));
    const sendOne = (): void => {
      if (done || !sock) return;
      let id = randomInt(0, 0x10000);
      while (ids.has(id)) id = (id + 1) & 0xffff;
      ids.add(id);
      const query = buildQuery({ id, name: req.name, type, rd: req.rd ?? false, ednsUdpSize: 1232 });
      sock.send(query, req.target.port, req.target.address, (err) => {
        if (err) finish({ answered: false, error: `send: ${(err as NodeJS.ErrnoException).code ?? err.message}` });
      });
    };
    try {
      sock = createSocket(isIPv6(req.target.address) ? 'udp6' : 'udp4');
      sock.on('error', (err) => finish({ answered: false, error: `socket: ${(err as NodeJS.ErrnoException).code ?? err.message}` }));
      sock.on('message', (buf) => {
        let msg;
        try { msg = parseMessage(buf); } catch { return; }
        if (!ids.has(msg.id) || (msg.flags & FLAG.QR) === 0) return;
        const q = msg.questions[0];
        if (!q || q.type !== type || lowerName(q.name) !== wantName) return;
        finish({
          answered: true,
          rttMs: performance.now() - started,
          rcode: msg.rcode,
          rcodeName: rcodeName(msg.rcode),
          answers: msg.answers.length,
        });
      });
      sendOne();
      for (let i = 1; i < attempts; i++) timers.push(setTimeout(sendOne, (req.timeoutMs * i) / attempts));
    } catch (err) {
      finish({ answered: false, error: `socket: ${(err as Error).message}` });
    }
  });
}

/** A random DNS label for canary nonces (lower-case letters and digits). */
export function nonceLabel(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let s = 'ak-';
  for (let i = 0; i < 12; i++) s += alphabet[randomInt(0, alphabet.length)];
  return s;
}
