// Our resolver beside unbound, one after the other under the same conditions:
// the same NSD zones (bench/harness/zones.ts on 127.90.1.0/24), the same dnsperf
// command lines, 1 unbound thread against 1 resolver worker, then our resolver
// with --workers 2. Both with QNAME minimisation off (the anchor pair) and on
// (ours by default, unbound's default too), to show what minimisation costs.
// ANYCAST_KIT_BENCH_BASELINE=DIR[,DIR...] adds the resolver built in other
// checkouts (DIR/dist/cli/main.js, up to 4), so a change is measured before and
// after in one run.
//   cache hit:  100 names (h0..h99.perf.interop), warmed first, asked in a loop;
//   cold miss:  unique names under the wildcard *.miss.perf.interop, each one a
//               fresh upstream query (the delegation is warmed first);
//   memory:     VmRSS and VmHWM from /proc, summed over the process and its
//               children (our --workers N has a primary plus N workers);
//   dead zone:  time to answer a new name in blackhole.interop, whose only server
//               reads and never answers: first contact, at once after, and 8 s
//               later (bench/harness/dead-zone.ts), every resolver at once.
// Targets (issue 2): cache hit >= 0.8x unbound, cold miss >= 0.6x unbound.

import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TYPE } from '../dns/constants.js';
import { query } from './harness/client.js';
import { oursUnavailableReason, startAuthLab, startOurs, startUnbound, DNSPERF_BIN, type Running } from './harness/daemons.js';
import { runDnsperf, type DnsperfResult } from './harness/dnsperf.js';
import { cpuMsOf, requireBinary } from './harness/proc.js';
import { measureDeadZone, type DeadZoneTimes } from './harness/dead-zone.js';
import { HOST, PERF_HIT_NAMES } from './harness/zones.js';
import type { BenchOptions, BenchReport } from './types.js';
import { FULL_SIZES, missRows, missTargets, missWorkloads, type MissFigures } from './miss-workloads.js';

const PREFIX = '127.90.1';
const CLIENTS = 8;
const OUTSTANDING = 200;
/**
 * Cold misses run with fewer queries in flight: at 200 both resolvers lose
 * throughput to bursts of upstream queries (unbound 8k vs 16k qps here), and 50
 * is where unbound peaks on this box.
 */
const OUTSTANDING_MISS = 50;

interface Figures {
  label: string;
  workers: number;
  hit: DnsperfResult[];
  miss: DnsperfResult[];
  /** CPU time of the resolver (process tree) per answered cold-miss query, µs, per round. */
  missCpuUs: number[];
  rssMiB: number;
  hwmMiB: number;
  processes: number;
  deadZone?: DeadZoneTimes;
}

const mib = (kib: number) => Math.round((kib / 1024) * 10) / 10;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Warms the delegation chain for perf.interop and every cache-hit name. */
async function warm(r: Running, hits: string): Promise<void> {
  await query('warm.miss.perf.interop', TYPE.A, { server: r.address, timeoutMs: 5000 });
  for (let i = 0; i < PERF_HIT_NAMES; i++) await query(`h${i}.perf.interop`, TYPE.A, { server: r.address, timeoutMs: 5000 });
  await runDnsperf({ server: r.address, file: hits, seconds: 1, clients: CLIENTS, outstanding: OUTSTANDING });
}

/** A file of names no resolver has seen: every query is a cache miss that needs one upstream query. */
function missFile(dir: string, tag: string, count: number): string {
  const file = join(dir, `misses-${tag}.txt`);
  const lines: string[] = [];
  for (let i = 0; i < count; i++) lines.push(`${tag}-${i.toString(36)}.miss.perf.interop A\n`);
  writeFileSync(file, lines.join(''));
  return file;
}

/** A resolver config file turning QNAME minimisation off (the default is relaxed). */
function noQminConfig(dir: string): string {
  const file = join(dir, 'no-qmin.yaml');
  writeFileSync(file, 'resolver:\n  upstream:\n    qname_minimisation: "off"\n');
  return file;
}

const hitQps = (f: Figures) => median(f.hit.map((d) => d.qps));
const missQps = (f: Figures) => median(f.miss.map((d) => d.qps));
const missCpu = (f: Figures) => (f.missCpuUs.length ? median(f.missCpuUs) : NaN);

function row(f: Figures): Record<string, string | number> {
  const lost = f.miss.reduce((n, d) => n + d.lost, 0), sent = f.miss.reduce((n, d) => n + d.sent, 0);
  return {
    resolver: f.label,
    processes: f.processes,
    'cache-hit qps': Math.round(hitQps(f)),
    'hit avg ms': Math.round(median(f.hit.map((d) => d.avgLatencyMs)) * 100) / 100,
    'cold-miss qps': Math.round(missQps(f)),
    'miss avg ms': Math.round(median(f.miss.map((d) => d.avgLatencyMs)) * 100) / 100,
    'miss lost %': sent ? Math.round((lost / sent) * 1000) / 10 : 0,
    'miss CPU µs/answer': Math.round(missCpu(f) * 10) / 10,
    'RSS MiB': f.rssMiB,
    'peak RSS MiB': f.hwmMiB,
    'dead zone: first / repeat / +8 s': f.deadZone ? `${f.deadZone.first} / ${f.deadZone.repeat} / ${f.deadZone.after8s}` : '',
  };
}

export async function bench(opts: BenchOptions): Promise<BenchReport> {
  requireBinary(DNSPERF_BIN, 'dnsperf');
  // Rounds alternate between the resolvers so a burst of load from elsewhere on the
  // box hits every resolver alike; each figure is the median over the rounds.
  const seconds = opts.quick ? 3 : 6;
  const rounds = opts.quick ? 1 : 3;
  const notes: string[] = [];
  const auth = await startAuthLab(PREFIX, 'bench');
  const started: Array<{ r: Running; f: Figures }> = [];
  let missFigs: MissFigures[] = [];
  try {
    const hits = join(auth.dir, 'hits.txt');
    writeFileSync(hits, Array.from({ length: PERF_HIT_NAMES }, (_, i) => `h${i}.perf.interop A\n`).join(''));
    // NSD alone answers about 37k qps here, so this many names cannot run out.
    const missCount = seconds * 40_000;

    const fig = (label: string, workers: number): Figures => ({ label, workers, hit: [], miss: [], missCpuUs: [], rssMiB: 0, hwmMiB: 0, processes: 0 });
    const unbound = await startUnbound({ address: `${PREFIX}.${HOST.unbound}`, rootHintsFile: auth.rootHintsFile, threads: 1, label: 'bench' });
    started.push({ r: unbound, f: fig('unbound 1.17, 1 thread, qmin off', 1) });
    const unboundQmin = await startUnbound({ address: `${PREFIX}.${HOST.unboundQmin}`, rootHintsFile: auth.rootHintsFile, threads: 1, label: 'bench-qmin', qnameMinimisation: true });
    started.push({ r: unboundQmin, f: fig('unbound 1.17, 1 thread, qmin on', 1) });
    const why = oursUnavailableReason();
    if (why) {
      notes.push(`resolver not available: ${why}`);
    } else {
      const noQmin = noQminConfig(auth.dir);
      const variants: Array<[string, number, number, string[], string | undefined]> = [
        ['anycast-kit, --workers 1, qmin off', 1, HOST.oursNoQmin, ['--config', noQmin], undefined],
        ['anycast-kit, --workers 1 (qmin relaxed)', 1, HOST.ours, [], undefined],
        ['anycast-kit, --workers 2 (qmin relaxed)', 2, HOST.ours2, [], undefined],
      ];
      const baselines = (process.env.ANYCAST_KIT_BENCH_BASELINE ?? '').split(',').filter(Boolean).slice(0, 4);
      baselines.forEach((dir, k) => variants.push([`baseline ${dir}, --workers 1`, 1, HOST.oursBaseline + k, [], join(dir, 'dist', 'cli', 'main.js')]));
      for (const [label, workers, host, extraArgs, cli] of variants) {
        const ours = await startOurs({ address: `${PREFIX}.${host}`, rootHintsFile: auth.rootHintsFile, workers, identity: 'bench', validate: false, extraArgs, cli });
        started.push({ r: ours, f: fig(label, workers) });
      }
    }
    for (const { r } of started) await warm(r, hits);
    for (let round = 0; round < rounds; round++) {
      for (const [i, { r, f }] of started.entries()) {
        f.hit.push(await runDnsperf({ server: r.address, file: hits, seconds, clients: CLIENTS, outstanding: OUTSTANDING }));
        const misses = missFile(auth.dir, `r${round}t${i}`, missCount);
        const cpu0 = cpuMsOf(r.daemon.pid);
        const res = await runDnsperf({ server: r.address, file: misses, seconds, maxRuns: 1, clients: CLIENTS, outstanding: OUTSTANDING_MISS });
        const answered = res.completed;
        if (answered > 0) f.missCpuUs.push(((cpuMsOf(r.daemon.pid) - cpu0) * 1000) / answered);
        f.miss.push(res);
        rmSync(misses);
      }
    }
    for (const { r, f } of started) {
      const mem = r.memory();
      Object.assign(f, { rssMiB: mib(mem.rssKiB), hwmMiB: mib(mem.hwmKiB), processes: mem.processes });
    }
    // After the memory figures: a few queries, but their timers must not touch the rates above.
    const dz = await measureDeadZone(started.map(({ r, f }) => ({ label: f.label, address: r.address })), `${PREFIX}.${HOST.blackhole}`, 'blackhole.interop');
    for (const { f } of started) f.deadZone = dz.get(f.label);
    // Issue 16's cold-miss workloads: each resolver afresh, on the same NSD zones,
    // after the resolvers above have stopped (they use the same addresses).
    await Promise.all(started.map(({ r }) => r.stop()));
    const sizes = opts.quick ? { steadyWarm: 2000, steady: 6000, firstBurst: 5000, big: 20_000, bigOutstanding: 500 } : FULL_SIZES;
    missFigs = await missWorkloads({ prefix: PREFIX, rootHintsFile: auth.rootHintsFile, dir: auth.dir, sizes, notes });
  } finally {
    await Promise.all(started.map(({ r }) => r.stop()));
    await auth.stop();
  }

  const results = started.map(({ f }) => f);
  const rows = results.map(row);
  const [ub, ubQmin, oursNoQmin, ours1, ours2, ...baselines] = results;
  const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
  // Like against like: each of ours against the unbound with the same minimisation setting.
  const pairs: Array<[string, Figures | undefined, Figures]> = [
    ['ratio: --workers 1, qmin off / unbound qmin off', oursNoQmin, ub],
    ['ratio: --workers 1, qmin on / unbound qmin on', ours1, ubQmin],
    ['ratio: --workers 1, qmin on / unbound qmin off', ours1, ub],
    ['ratio: --workers 2, qmin on / unbound qmin on', ours2, ubQmin],
    ...baselines.map((b): [string, Figures, Figures] => [`ratio: ${b.label.replace(', --workers 1', '')} / unbound qmin off`, b, ub]),
  ];
  for (const [label, o, anchor] of pairs) {
    if (!o) continue;
    rows.push({
      resolver: label, processes: '', 'cache-hit qps': ratio(hitQps(o), hitQps(anchor)), 'hit avg ms': '',
      'cold-miss qps': ratio(missQps(o), missQps(anchor)), 'miss avg ms': '', 'miss lost %': '',
      // CPU per answer the other way round: above 1 means ours spends less.
      'miss CPU µs/answer': ratio(missCpu(anchor), missCpu(o)),
      'RSS MiB': ratio(o.rssMiB, anchor.rssMiB), 'peak RSS MiB': ratio(o.hwmMiB, anchor.hwmMiB), 'dead zone: first / repeat / +8 s': '',
    });
  }
  if (oursNoQmin && ours1) {
    notes.push(`QNAME minimisation costs ours ${Math.round((1 - missQps(ours1) / missQps(oursNoQmin)) * 1000) / 10}% of cold-miss qps and unbound ${Math.round((1 - missQps(ubQmin) / missQps(ub)) * 1000) / 10}% (names under one empty non-terminal, miss.perf.interop: after the first, the cache knows it holds no cut and neither resolver asks it again)`);
  }
  for (const [o, anchor, how] of [[oursNoQmin, ub, 'both qmin off'], [ours1, ubQmin, 'both qmin on']] as const) {
    if (!o) continue;
    const hitR = ratio(hitQps(o), hitQps(anchor)), missR = ratio(missQps(o), missQps(anchor));
    notes.push(`targets (1 worker vs 1 unbound thread, ${how}): cache hit >= 0.8x: ${hitR >= 0.8 ? 'met' : 'NOT met'} (${hitR}x); cold miss >= 0.6x: ${missR >= 0.6 ? 'met' : 'NOT met'} (${missR}x)`);
  }
  for (const f of results) {
    notes.push(`${f.label}: per round, hit qps ${f.hit.map((d) => Math.round(d.qps)).join(' / ')}, miss qps ${f.miss.map((d) => Math.round(d.qps)).join(' / ')}, miss CPU µs/answer ${f.missCpuUs.map((x) => Math.round(x)).join(' / ')}`);
    const rc: Record<string, number> = {};
    for (const d of f.miss) for (const [k, v] of Object.entries(d.rcodes)) rc[k] = (rc[k] ?? 0) + v;
    const bad = Object.entries(rc).filter(([k]) => k !== 'NOERROR');
    if (bad.length) notes.push(`${f.label}: cold-miss answers other than NOERROR: ${bad.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
  notes.push('dead zone: a new name in blackhole.interop (its only server reads and never answers), first contact, then another at once, then another 8 s after the first answer; client timeout 10 s ("none in 10 s": no answer). Ours answers the repeats SERVFAIL (EDE 22) from the server-selection state while one background probe per server per back-off period looks for its return');
  if (missFigs.length) {
    // Their own columns (workload, qps, SERVFAIL, lost...) in the same table.
    rows.push(...missRows(missFigs));
    notes.push(...missTargets(missFigs));
    notes.push('cold-miss workload rows (issue 16): one run, each resolver started afresh per workload; ratio rows: qps ours/unbound, CPU µs/answer unbound/ours (above 1: ours spends less).');
    notes.push('steady: fresh names after a warm-up pass of other fresh names; first burst: the first fresh names after start; big run: names sent once, -q 500, 30% NXDOMAIN under a.interop and 70% under the wildcard; dnsperf -t 6 so that SERVFAILs after a resolver\'s budget are counted, not lost');
  }
  notes.push(`dnsperf -c ${CLIENTS} -T 1 -t 2, -q ${OUTSTANDING} (hit) / ${OUTSTANDING_MISS} (miss), ${rounds} round(s) of ${seconds} s per figure, median shown; cache-hit set ${PERF_HIT_NAMES} names; cold-miss names unique under a wildcard (NSD alone serves ~37k qps here, which caps cold-miss figures)`);
  notes.push('dnsperf, NSD and the resolver share the 2 cores alike for every row; with --workers 2 two workers compete with dnsperf and NSD for them');
  notes.push('miss CPU µs/answer: the resolver\'s own CPU time (user + system, its process tree, from /proc) over a cold-miss round divided by the queries answered; it moves far less with load on the box than qps does. In the ratio rows it is anchor / ours (above 1: ours spends less per answer)');
  notes.push('unbound: defaults except num-threads 1, module-config iterator, qname-minimisation as the row says, do-not-query-localhost no (4 MB msg + 4 MB rrset cache); ours: defaults (64 MiB answer cache, QNAME minimisation relaxed) unless the row says qmin off; RSS is after all runs, summed over the process tree (ours: primary + workers)');
  return { title: 'resolver: anycast-kit vs unbound (dnsperf: cache hit, cold miss, RSS)', rows, notes };
}
