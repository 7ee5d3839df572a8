// Memory against the cache setting: our resolver with a small cache (8 MiB by
// default) is sent a long stream of names it has never seen, and its RSS is read
// after every slice of the stream. The curve must level off under the ceiling the
// resolver README states as a formula of the settings (resolver/memory.ts computes
// it). Writes the curve as bench/results/memory-curve.svg and .json.
//   names:   70% unique names under the wildcard *.miss.perf.interop (an answer per
//            name in both caches), 30% unique names under nx.perf.interop (NXDOMAIN:
//            a negative entry per name, as a random-subdomain flood leaves behind);
//   memory:  VmRSS and VmHWM from /proc, summed over the process tree.
// ANYCAST_KIT_BENCH_MEMORY_NAMES and ANYCAST_KIT_BENCH_MEMORY_CACHE (a size such
// as 8m) change the stream length and the cache setting.

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TYPE } from '../dns/constants.js';
import { parseSize } from '../resolver/config.js';
import { rssCeilingBytes } from '../resolver/memory.js';
import { query } from './harness/client.js';
import { oursUnavailableReason, startAuthLab, startOurs, DNSPERF_BIN, type Running } from './harness/daemons.js';
import { runDnsperf } from './harness/dnsperf.js';
import { requireBinary } from './harness/proc.js';
import { HOST } from './harness/zones.js';
import { lineChartSvg } from './plot.js';
import type { BenchOptions, BenchReport } from './types.js';

export interface CurveOptions {
  /** Address prefix (a /24 on loopback) for the NSD lab and the resolver. */
  prefix: string;
  /** Fresh names sent in all. */
  names: number;
  /** cache.max_bytes for the resolver. */
  cacheBytes: number;
  /** Points on the curve (slices of the stream). */
  slices?: number;
  /** Queries in flight at most (dnsperf -q). */
  outstanding?: number;
  /** Cap on queries per second (dnsperf -Q); none when omitted. */
  maxQps?: number;
  workers?: number;
  /** Share of the names that are NXDOMAIN (a random-subdomain flood is 1); default 0.3. */
  nxShare?: number;
}

export interface CurvePoint {
  /** Names sent so far. */
  names: number;
  rssKiB: number;
  hwmKiB: number;
}

export interface CurveResult {
  startRssKiB: number;
  points: CurvePoint[];
  ceilingKiB: number;
  sent: number;
  completed: number;
  lost: number;
  rcodes: Record<string, number>;
  seconds: number;
}

/** Share of the stream that is NXDOMAIN names, unless told otherwise. */
const NX_SHARE = 0.3;

function sliceFile(dir: string, slice: number, from: number, to: number, nxShare: number): string {
  const file = join(dir, `memory-${slice}.txt`);
  const lines: string[] = [];
  for (let i = from; i < to; i++) {
    // NXDOMAIN names spread evenly through the stream (3 in every 10 by default).
    const nx = i % 10 < Math.round(nxShare * 10);
    lines.push(nx ? `n${i.toString(36)}.nx.perf.interop A\n` : `m${i.toString(36)}.miss.perf.interop A\n`);
  }
  writeFileSync(file, lines.join(''));
  return file;
}

/** Runs the stream against a resolver of ours started for it, and reads RSS after each slice. */
export async function runMemoryCurve(o: CurveOptions): Promise<CurveResult> {
  requireBinary(DNSPERF_BIN, 'dnsperf');
  const why = oursUnavailableReason();
  if (why) throw new Error(`resolver not available: ${why}`);
  const slices = Math.max(1, Math.min(o.slices ?? 40, o.names));
  const auth = await startAuthLab(o.prefix, 'memory');
  let ours: Running | undefined;
  const started = Date.now();
  try {
    const cfgFile = join(auth.dir, 'memory.yaml');
    writeFileSync(cfgFile, `resolver:\n  cache:\n    max_bytes: ${o.cacheBytes}\n`);
    ours = await startOurs({ address: `${o.prefix}.${HOST.ours}`, rootHintsFile: auth.rootHintsFile, workers: o.workers ?? 1, identity: 'bench', validate: false, extraArgs: ['--config', cfgFile] });
    const startRssKiB = ours.memory().rssKiB;
    // The delegation chain first, so the stream measures names, not the first lookups.
    await query('warm.miss.perf.interop', TYPE.A, { server: ours.address, timeoutMs: 5000 });
    const points: CurvePoint[] = [{ names: 0, rssKiB: startRssKiB, hwmKiB: ours.memory().hwmKiB }];
    const rcodes: Record<string, number> = {};
    let sent = 0, completed = 0, lost = 0;
    for (let s = 0; s < slices; s++) {
      const from = Math.floor((o.names * s) / slices), to = Math.floor((o.names * (s + 1)) / slices);
      const file = sliceFile(auth.dir, s, from, to, o.nxShare ?? NX_SHARE);
      // Bounded: each slice ends when its names are sent once (-n 1) or after the limit.
      const seconds = Math.max(10, Math.ceil(((to - from) / (o.maxQps ?? 2000)) * 3));
      const res = await runDnsperf({ server: ours.address, file, seconds, maxRuns: 1, clients: 8, outstanding: o.outstanding ?? 500, maxQps: o.maxQps });
      rmSync(file);
      sent += res.sent; completed += res.completed; lost += res.lost;
      for (const [k, v] of Object.entries(res.rcodes)) rcodes[k] = (rcodes[k] ?? 0) + v;
      const mem = ours.memory();
      points.push({ names: to, rssKiB: mem.rssKiB, hwmKiB: mem.hwmKiB });
    }
    const ceilingKiB = Math.round(rssCeilingBytes({ cacheBytes: o.cacheBytes, workers: o.workers ?? 1 }) / 1024);
    return { startRssKiB, points, ceilingKiB, sent, completed, lost, rcodes, seconds: (Date.now() - started) / 1000 };
  } finally {
    await ours?.stop();
    await auth.stop();
  }
}

const MiB = (kib: number) => Math.round((kib / 1024) * 10) / 10;

/** The curve as an SVG chart: RSS and peak RSS against names sent, with the ceiling. */
export function curveSvg(r: CurveResult, cacheBytes: number): string {
  return lineChartSvg({
    title: `anycast-kit resolver RSS, cache.max_bytes ${MiB(cacheBytes / 1024)} MiB, ${r.points[r.points.length - 1].names.toLocaleString('en-US')} fresh names`,
    xLabel: 'fresh names sent',
    yLabel: 'MiB',
    series: [
      { name: 'RSS (VmRSS)', points: r.points.map((p) => [p.names, MiB(p.rssKiB)]) },
      { name: 'peak RSS (VmHWM)', points: r.points.map((p) => [p.names, MiB(p.hwmKiB)]), color: '#ff7f0e' },
    ],
    limits: [{ y: MiB(r.ceilingKiB), label: `ceiling (resolver README): ${MiB(r.ceilingKiB)} MiB`, color: '#d62728' }],
  });
}

export async function bench(opts: BenchOptions): Promise<BenchReport> {
  const names = Number(process.env.ANYCAST_KIT_BENCH_MEMORY_NAMES ?? (opts.quick ? 100_000 : 1_000_000));
  const cacheBytes = parseSize(process.env.ANYCAST_KIT_BENCH_MEMORY_CACHE ?? '8m');
  if (!Number.isInteger(names) || names < 1 || cacheBytes === undefined) throw new Error('ANYCAST_KIT_BENCH_MEMORY_NAMES must be a whole number >= 1 and ANYCAST_KIT_BENCH_MEMORY_CACHE a size (8m, 512k)');
  const r = await runMemoryCurve({ prefix: '127.90.2', names, cacheBytes });
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/memory-curve.svg', curveSvg(r, cacheBytes));
  writeFileSync('bench/results/memory-curve.json', JSON.stringify({ cacheBytes, ...r }, null, 2));
  const last = r.points[r.points.length - 1];
  const peak = Math.max(...r.points.map((p) => p.hwmKiB));
  // The second half of the stream: a levelled curve grows little there.
  const mid = r.points[Math.floor(r.points.length / 2)];
  const rows = [{
    'cache.max_bytes MiB': MiB(cacheBytes / 1024),
    names: last.names,
    'RSS at start MiB': MiB(r.startRssKiB),
    'RSS at the end MiB': MiB(last.rssKiB),
    'peak RSS MiB': MiB(peak),
    'growth over the 2nd half MiB': MiB(last.rssKiB - mid.rssKiB),
    'ceiling MiB': MiB(r.ceilingKiB),
    'under the ceiling': peak <= r.ceilingKiB ? 'yes' : 'NO',
    lost: r.lost,
  }];
  const notes = [
    `answers: ${Object.entries(r.rcodes).map(([k, v]) => `${k} ${v}`).join(', ')}; ${r.sent} sent, ${r.completed} answered, ${r.lost} lost, ${Math.round(r.seconds)} s`,
    'curve written to bench/results/memory-curve.svg (and .json); dnsperf -c 8 -q 500, one pass per slice, 70% wildcard names and 30% NXDOMAIN names, all unique',
  ];
  return { title: 'memory: RSS under a stream of fresh names against the cache setting', rows, notes };
}
