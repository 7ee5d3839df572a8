// Runs Debian's dnsperf against a resolver and reads its summary.

import { spawn } from 'node:child_process';
import { DNSPERF_BIN } from './daemons.js';
import { requireBinary } from './proc.js';

export interface DnsperfOptions {
  server: string;
  port?: number;
  /** Input file: "name type" per line. */
  file: string;
  /** -l: stop after this many seconds. */
  seconds: number;
  /** -n: passes over the input at most (omit to loop until -l). */
  maxRuns?: number;
  /** -c: client sockets (spread flows across SO_REUSEPORT workers). */
  clients?: number;
  /** -T: dnsperf threads. */
  threads?: number;
  /** -q: queries outstanding at most. */
  outstanding?: number;
  /** -t: per-query timeout, seconds. */
  timeoutS?: number;
  /** -Q: cap on queries per second. */
  maxQps?: number;
  /** -a: source address. */
  localAddress?: string;
  /** -D: set the EDNS DO bit (ask for DNSSEC records, and AD on validated answers). */
  dnssecOk?: boolean;
}

export interface DnsperfResult {
  sent: number;
  completed: number;
  lost: number;
  qps: number;
  avgLatencyMs: number;
  runSeconds: number;
  /** rcode name -> count, from dnsperf's "Response codes" line. */
  rcodes: Record<string, number>;
  output: string;
}

function num(out: string, re: RegExp): number {
  const m = re.exec(out);
  return m ? Number(m[1]) : NaN;
}

export function parseDnsperf(out: string): Omit<DnsperfResult, 'output'> {
  const rcodes: Record<string, number> = {};
  const rc = /Response codes:\s+(.*)/.exec(out);
  if (rc) for (const part of rc[1].split(',')) {
    const m = /\s*([A-Z]+)\s+(\d+)/.exec(part);
    if (m) rcodes[m[1]] = Number(m[2]);
  }
  return {
    sent: num(out, /Queries sent:\s+(\d+)/),
    completed: num(out, /Queries completed:\s+(\d+)/),
    lost: num(out, /Queries lost:\s+(\d+)/),
    qps: num(out, /Queries per second:\s+([\d.]+)/),
    avgLatencyMs: num(out, /Average Latency \(s\):\s+([\d.]+)/) * 1000,
    runSeconds: num(out, /Run time \(s\):\s+([\d.]+)/),
    rcodes,
  };
}

/** Runs dnsperf to completion (bounded by -l plus a margin) and parses the summary. */
export function runDnsperf(o: DnsperfOptions): Promise<DnsperfResult> {
  requireBinary(DNSPERF_BIN, 'dnsperf');
  const args = ['-s', o.server, '-p', String(o.port ?? 53), '-d', o.file, '-l', String(o.seconds),
    '-c', String(o.clients ?? 8), '-T', String(o.threads ?? 1), '-q', String(o.outstanding ?? 200), '-t', String(o.timeoutS ?? 2)];
  if (o.maxRuns) args.push('-n', String(o.maxRuns));
  if (o.maxQps) args.push('-Q', String(o.maxQps));
  if (o.localAddress) args.push('-a', o.localAddress);
  if (o.dnssecOk) args.push('-D');
  return new Promise((resolve, reject) => {
    const child = spawn(DNSPERF_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { out += b.toString(); });
    const killer = setTimeout(() => child.kill('SIGKILL'), (o.seconds + 15) * 1000);
    child.on('error', (e) => { clearTimeout(killer); reject(e); });
    child.on('exit', (code) => {
      clearTimeout(killer);
      const parsed = parseDnsperf(out);
      if (code !== 0 || Number.isNaN(parsed.qps)) reject(new Error(`dnsperf ${args.join(' ')} exited ${code}:\n${out.slice(-2000)}`));
      else resolve({ ...parsed, output: out });
    });
  });
}
