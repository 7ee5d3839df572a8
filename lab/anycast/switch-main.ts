// One emulated switch, run inside its namespace (ip netns exec): per node an IP SLA
// operation (dns or http get) on its schedule, a track object (track.ts), and the tracked
// static route as a nexthop of the kernel multipath route to the VIP. With fail-open, an
// untracked floating route (metric 250) through every node stays in the table.
//
// argv[2]: JSON SwitchConfig. stdout: one JSON event per line. stdin: JSON commands.
import { execFile } from 'node:child_process';
import { createInterface } from 'node:readline';
import { dnsProbe } from '../../healthcheck/probe.js';
import { multipathLine } from './net.js';
import { TrackObject, type ProbeOutcome, type TrackKind } from './track.js';

export interface SwitchConfig {
  name: string;
  vip: string;
  nodes: Array<{ name: string; address: string; dev: string }>;
  probe: { type: 'dns' | 'http' | 'tcp'; name?: string; port?: number; path?: string; frequencyMs: number; timeoutMs: number; thresholdMs: number };
  track: { kind: TrackKind; delayDownMs: number; delayUpMs: number; errorReply: 'fail' | 'ok' };
  failOpen: boolean;
}

/** Kernel metric of the tracked route (administrative distance 1) and of the floating one (250). */
export const TRACKED_METRIC = 1;
export const FLOATING_METRIC = 250;

const cfg = JSON.parse(process.argv[2]) as SwitchConfig;
const emit = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify({ t: Date.now(), ...o }) + '\n');
let probeName = cfg.probe.name ?? '';
let errorReply = cfg.track.errorReply;
let broken = false;

function ip(line: string): Promise<void> {
  return new Promise((resolve) => {
    execFile('ip', line.split(' '), (err, _o, stderr) => {
      if (err && !/No such process|Cannot find/.test(String(stderr))) emit({ ev: 'error', message: `ip ${line}: ${String(stderr).trim()}` });
      resolve();
    });
  });
}

async function probeOnce(address: string): Promise<ProbeOutcome> {
  const t0 = performance.now();
  if (cfg.probe.type === 'dns') {
    const r = await dnsProbe({ target: { address, port: 53 }, name: broken ? 'broken-probe.invalid' : probeName, type: 1, rd: false, timeoutMs: cfg.probe.timeoutMs });
    if (!r.answered) return 'timeout';
    if (r.rcode !== 0 || broken) return 'error-reply';
    return (r.rttMs ?? 0) > cfg.probe.thresholdMs ? 'over-threshold' : 'ok';
  }
  // http get / tcp: a 200 within the timeout.
  try {
    const res = await fetch(`http://${address}:${cfg.probe.port}${cfg.probe.type === 'http' ? cfg.probe.path : '/'}`, { signal: AbortSignal.timeout(cfg.probe.timeoutMs) });
    await res.arrayBuffer();
    if (broken || (cfg.probe.type === 'http' && res.status !== 200)) return 'error-reply';
    return performance.now() - t0 > cfg.probe.thresholdMs ? 'over-threshold' : 'ok';
  } catch {
    return 'timeout';
  }
}

const tracks = cfg.nodes.map(() => new TrackObject({ ...cfg.track, get errorReply() { return errorReply; } } as never));
let applied = '';
let chain = Promise.resolve();

function apply(reason: string): void {
  const up = cfg.nodes.filter((_, i) => tracks[i].state === true);
  const line = multipathLine(cfg.vip, up.map((n) => ({ address: n.address, dev: n.dev })), TRACKED_METRIC);
  if (line === applied) return;
  applied = line;
  chain = chain.then(async () => {
    await ip(line);
    emit({ ev: 'routes', up: up.map((n) => n.name), reason });
  });
}

function onChange(i: number, ch: { up: boolean; atMs: number } | undefined): void {
  if (!ch) return;
  emit({ ev: 'track', node: cfg.nodes[i].name, up: ch.up, dueMs: ch.atMs });
  apply(`${cfg.nodes[i].name} ${ch.up ? 'up' : 'down'}`);
}

const timers: NodeJS.Timeout[] = [];
async function main(): Promise<void> {
  if (cfg.failOpen) {
    await ip(multipathLine(cfg.vip, cfg.nodes.map((n) => ({ address: n.address, dev: n.dev })), FLOATING_METRIC));
  }
  cfg.nodes.forEach((n, i) => {
    // Each operation starts at its own phase within one frequency, as they do on a switch.
    const start = Math.floor(Math.random() * cfg.probe.frequencyMs);
    const run = async () => {
      const outcome = await probeOnce(n.address);
      emit({ ev: 'probe', node: n.name, outcome });
      onChange(i, tracks[i].result(outcome, Date.now()));
    };
    timers.push(setTimeout(() => { void run(); timers.push(setInterval(() => void run(), cfg.probe.frequencyMs)); }, start));
  });
  // Delays run out between probes: check every 50 ms.
  timers.push(setInterval(() => tracks.forEach((t, i) => onChange(i, t.tick(Date.now()))), 50));
  emit({ ev: 'ready', name: cfg.name });
}

createInterface({ input: process.stdin }).on('line', (l) => {
  let c: { cmd: string; value?: unknown };
  try { c = JSON.parse(l); } catch { return; }
  if (c.cmd === 'errorReply' && (c.value === 'ok' || c.value === 'fail')) errorReply = c.value;
  else if (c.cmd === 'break') broken = c.value === true;
  else if (c.cmd === 'failOpen') void ip(c.value === true
    ? multipathLine(cfg.vip, cfg.nodes.map((n) => ({ address: n.address, dev: n.dev })), FLOATING_METRIC)
    : multipathLine(cfg.vip, [], FLOATING_METRIC));
  else if (c.cmd === 'stop') { timers.forEach((t) => clearInterval(t)); process.exit(0); }
  emit({ ev: 'ack', cmd: c.cmd });
});
process.stdin.on('end', () => process.exit(0));
void main();
