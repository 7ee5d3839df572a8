// The three cold-miss workloads of issue 16, ours beside unbound in one run, on
// the same NSD zones (bench/harness/zones.ts), with dnsperf sending each name once:
//   steady:       fresh names under the wildcard *.miss.perf.interop, after a
//                 warm-up pass of other fresh names (JIT warm, caches warm);
//   first burst:  the first fresh names a resolver sees after it starts (a new
//                 process per resolver, measured from the moment it answers);
//   big run:      many fresh names sent once with 500 outstanding, 30% under one
//                 zone (NXDOMAIN under a.interop) and 70% under the wildcard,
//                 with the SERVFAIL and lost counts (a SERVFAIL for a name that
//                 exists is a false one: NSD answers every one of them).
// Each resolver is a process of its own, started afresh for every workload, one
// worker against one unbound thread, QNAME minimisation at each one's default.
// Sizes come from the caller, so a test runs the same code at a tiny scale.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TYPE } from '../dns/constants.js';
import { query } from './harness/client.js';
import { oursUnavailableReason, startOurs, startUnbound, type Running } from './harness/daemons.js';
import { runDnsperf, type DnsperfResult } from './harness/dnsperf.js';
import { cpuMsOf } from './harness/proc.js';
import { HOST } from './harness/zones.js';

export interface MissSizes {
  /** Names in the warm-up pass, then names measured, for the steady row. */
  steadyWarm: number;
  steady: number;
  /** Names in the first burst after start. */
  firstBurst: number;
  /** Names in the big run (the issue's: 200,000). */
  big: number;
  /** Queries outstanding in the big run (the issue's: 500). */
  bigOutstanding: number;
}

export const FULL_SIZES: MissSizes = { steadyWarm: 20_000, steady: 60_000, firstBurst: 5_000, big: 200_000, bigOutstanding: 500 };

export interface MissFigures {
  resolver: string;
  workload: 'steady' | 'first burst' | 'big run';
  result: DnsperfResult;
  /** The resolver's CPU (process tree, user + system) per answer, µs. */
  cpuUsPerAnswer: number;
  /** RSS of the resolver's process tree once it answered, before the workload (MiB). */
  rssStartMiB: number;
  /** RSS of the resolver's process tree after the workload (MiB). */
  rssAfterMiB: number;
}

type Starter = (label: string) => Promise<Running>;

/** Queries outstanding for the steady and first-burst rows (the resolver bench's cold-miss setting). */
const OUTSTANDING = 50;

function namesFile(dir: string, tag: string, count: number, mixed: boolean): string {
  const file = join(dir, `miss-${tag}.txt`);
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = `${tag}-${i.toString(36)}`;
    // Mixed: 3 in 10 under a.interop (no such name: NXDOMAIN), the rest under the wildcard.
    lines.push(mixed && i % 10 < 3 ? `${id}.a.interop A\n` : `${id}.miss.perf.interop A\n`);
  }
  writeFileSync(file, lines.join(''));
  return file;
}

const mib = (r: Running): number => Math.round(((r.memory?.().rssKiB ?? NaN) / 1024) * 10) / 10;

async function measure(r: Running, file: string, outstanding: number, maxSeconds: number): Promise<{ result: DnsperfResult; cpuUsPerAnswer: number }> {
  const cpu0 = cpuMsOf(r.daemon.pid);
  // -t 6: a client waits past the resolvers' own budgets, so their SERVFAILs are counted rather than lost.
  const result = await runDnsperf({ server: r.address, file, seconds: maxSeconds, maxRuns: 1, clients: 8, outstanding, timeoutS: 6 });
  const cpu = cpuMsOf(r.daemon.pid) - cpu0;
  return { result, cpuUsPerAnswer: result.completed > 0 ? (cpu * 1000) / result.completed : NaN };
}

/**
 * Label of our first-burst row with `warmup_release_memory: false`: start-up keeps
 * its memory and the code the warm-up compiled (the trade-off in resolver/README.md,
 * "First burst: what the warm-up's code is worth").
 */
export const OURS_KEEP_COMPILED = 'anycast-kit, --workers 1, warmup_release_memory: false';

/** Label of the big-run row of unbound with our default cache budget. */
export const UNBOUND_SAME_BUDGET = 'unbound 1.17, 1 thread, msg-cache 64m + rrset-cache 16m';

/** Runs the three workloads for unbound and ours (each started afresh per workload). */
export async function missWorkloads(o: { prefix: string; rootHintsFile: string; dir: string; sizes: MissSizes; notes: string[] }): Promise<MissFigures[]> {
  const { prefix, rootHintsFile, dir, sizes } = o;
  const starters: Array<[string, Starter]> = [
    ['unbound 1.17, 1 thread', (label) => startUnbound({ address: `${prefix}.${HOST.unbound}`, rootHintsFile, threads: 1, label, qnameMinimisation: true })],
  ];
  const why = oursUnavailableReason();
  if (why) o.notes.push(`miss workloads: resolver not available: ${why}`);
  else starters.push(['anycast-kit, --workers 1', () => startOurs({ address: `${prefix}.${HOST.ours}`, rootHintsFile, workers: 1, identity: 'bench', validate: false })]);
  const out: MissFigures[] = [];
  const secs = (n: number, rate: number) => Math.max(10, Math.ceil(n / rate) + 10);
  // The big run once more for unbound with our default cache budget (a 64 MiB answer
  // cache and a 16 MiB RRset cache: msg-cache-size and rrset-cache-size), since
  // unbound's own defaults (4 MB + 4 MB) hold a fraction of the 200k names: RSS after
  // the run is compared at equal cache settings too.
  const sameBudget = async (): Promise<void> => {
    const label = `${UNBOUND_SAME_BUDGET}`;
    const r = await startUnbound({ address: `${prefix}.${HOST.unbound}`, rootHintsFile, threads: 1, label: 'ubudget', qnameMinimisation: true, extra: ['msg-cache-size: 64m', 'rrset-cache-size: 16m'] });
    try {
      const rssStartMiB = mib(r);
      await query('warm.miss.perf.interop', TYPE.A, { server: r.address, timeoutMs: 5000 });
      const m = await measure(r, namesFile(dir, 'ub', sizes.big, true), sizes.bigOutstanding, secs(sizes.big, 500));
      out.push({ resolver: label, workload: 'big run', ...m, rssStartMiB, rssAfterMiB: mib(r) });
    } finally { await r.stop(); }
  };
  // First burst: a fresh process, measured from its first answer (a CH TXT id.server for ours, readiness for unbound).
  const firstBurst = async (label: string, start: Starter, tag: string): Promise<void> => {
    const r = await start(`${tag}first`);
    try {
      const rssStartMiB = mib(r);
      const m = await measure(r, namesFile(dir, `${tag}f`, sizes.firstBurst, false), OUTSTANDING, secs(sizes.firstBurst, 500));
      out.push({ resolver: label, workload: 'first burst', ...m, rssStartMiB, rssAfterMiB: mib(r) });
    } finally { await r.stop(); }
  };
  for (const [label, start] of starters) {
    if (label !== starters[0][0]) await sameBudget();
    const tag = label.startsWith('unbound') ? 'u' : 'o';
    // Steady: a warm-up pass of fresh names first, then other fresh names.
    let r = await start(`${tag}steady`);
    try {
      const rssStartMiB = mib(r);
      await measure(r, namesFile(dir, `${tag}sw`, sizes.steadyWarm, false), OUTSTANDING, secs(sizes.steadyWarm, 1000));
      const m = await measure(r, namesFile(dir, `${tag}s`, sizes.steady, false), OUTSTANDING, secs(sizes.steady, 1000));
      out.push({ resolver: label, workload: 'steady', ...m, rssStartMiB, rssAfterMiB: mib(r) });
    } finally { await r.stop(); }
    await firstBurst(label, start, tag);
    // Big run: a fresh process whose delegations are known (one name asked first), then every name once.
    r = await start(`${tag}big`);
    try {
      const rssStartMiB = mib(r);
      await query('warm.miss.perf.interop', TYPE.A, { server: r.address, timeoutMs: 5000 });
      const m = await measure(r, namesFile(dir, `${tag}b`, sizes.big, true), sizes.bigOutstanding, secs(sizes.big, 500));
      out.push({ resolver: label, workload: 'big run', ...m, rssStartMiB, rssAfterMiB: mib(r) });
    } finally { await r.stop(); }
  }
  if (!why) {
    // Our first burst once more with start-up's memory kept: the other side of the
    // trade between "RSS right after start" and "first burst" (both issue-16 targets).
    const cfgFile = join(dir, 'miss-keep-compiled.yaml');
    writeFileSync(cfgFile, 'resolver:\n  warmup_release_memory: false\n');
    await firstBurst(OURS_KEEP_COMPILED, () => startOurs({ address: `${prefix}.${HOST.ours}`, rootHintsFile, workers: 1, identity: 'bench', validate: false, extraArgs: ['--config', cfgFile] }), 'ok');
  }
  return out;
}

/** Table rows: one per resolver and workload, then ours / unbound per workload. */
export function missRows(figs: MissFigures[]): Array<Record<string, string | number>> {
  const rows: Array<Record<string, string | number>> = figs.map((f) => ({
    resolver: f.resolver,
    workload: f.workload,
    sent: f.result.sent,
    qps: Math.round(f.result.qps),
    'avg ms': Math.round(f.result.avgLatencyMs * 100) / 100,
    SERVFAIL: f.result.rcodes.SERVFAIL ?? 0,
    lost: f.result.lost,
    'CPU µs/answer': Math.round(f.cpuUsPerAnswer * 10) / 10,
    'RSS at start MiB': f.rssStartMiB,
    'RSS after MiB': f.rssAfterMiB,
  }));
  for (const w of ['steady', 'first burst', 'big run'] as const) {
    const u = figs.find((f) => f.workload === w && f.resolver.startsWith('unbound') && f.resolver !== UNBOUND_SAME_BUDGET);
    if (!u) continue;
    // Ours at the defaults, then (first burst only) ours with warmup_release_memory: false.
    for (const a of figs.filter((f) => f.workload === w && !f.resolver.startsWith('unbound'))) {
      rows.push({
        resolver: a.resolver === OURS_KEEP_COMPILED ? 'ratio: ours (warmup_release_memory: false) / unbound' : 'ratio: ours / unbound',
        workload: w, sent: '',
        qps: Math.round((a.result.qps / u.result.qps) * 100) / 100, 'avg ms': '', SERVFAIL: '', lost: '',
        // The other way round, as in the main table: above 1 means ours spends less per answer.
        'CPU µs/answer': Math.round((u.cpuUsPerAnswer / a.cpuUsPerAnswer) * 100) / 100,
        'RSS at start MiB': '', 'RSS after MiB': '',
      });
    }
  }
  return rows;
}

/** Issue 16's targets, each read from these figures (one run): a line per target, met or not. */
export function missTargets(figs: MissFigures[]): string[] {
  const pick = (w: MissFigures['workload'], ours: boolean) => figs.find((f) => f.workload === w && f.resolver !== UNBOUND_SAME_BUDGET && f.resolver !== OURS_KEEP_COMPILED && f.resolver.startsWith('unbound') !== ours);
  const keep = figs.find((f) => f.resolver === OURS_KEEP_COMPILED);
  const budget = figs.find((f) => f.resolver === UNBOUND_SAME_BUDGET);
  const out: string[] = [];
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const r2 = (x: number) => Math.round(x * 100) / 100;
  for (const [w, min] of [['steady', 1.0], ['first burst', 0.8], ['big run', 0.8]] as const) {
    const u = pick(w, false);
    const a = pick(w, true);
    if (!u || !a) continue;
    const ratio = a.result.qps / u.result.qps;
    let line = `issue 16 target, ${w}: qps ours/unbound >= ${min}: ${verdict(ratio >= min)} (${r2(ratio)}x)`;
    if (w === 'big run') {
      const sfU = u.result.rcodes.SERVFAIL ?? 0;
      const sfA = a.result.rcodes.SERVFAIL ?? 0;
      line += `; SERVFAIL no more than unbound's: ${verdict(sfA <= sfU)} (${sfA} vs ${sfU}); none lost: ${verdict(a.result.lost === 0)} (${a.result.lost}, unbound ${u.result.lost})`;
      const limit = 1.5 * u.rssAfterMiB + 40;
      line += `; RSS after <= 1.5 x unbound's + 40 MiB = ${r2(limit)}: ${verdict(a.rssAfterMiB <= limit)} (${a.rssAfterMiB} MiB, unbound at its default 4 MB + 4 MB caches ${u.rssAfterMiB})`;
      if (budget) {
        const lim2 = 1.5 * budget.rssAfterMiB + 40;
        line += `; against unbound with our cache budget (${budget.rssAfterMiB} MiB): <= ${r2(lim2)}: ${verdict(a.rssAfterMiB <= lim2)}`;
      }
    }
    if (w === 'first burst') {
      line += `; RSS right after start <= 50 MiB: ${verdict(a.rssStartMiB <= 50)} (${a.rssStartMiB} MiB, unbound ${u.rssStartMiB})`;
      if (keep) {
        const k = keep.result.qps / u.result.qps;
        line += `; with warmup_release_memory: false: ${verdict(k >= min)} (${r2(k)}x), RSS right after start ${verdict(keep.rssStartMiB <= 50)} (${keep.rssStartMiB} MiB)`;
      }
    }
    out.push(line);
  }
  return out;
}
