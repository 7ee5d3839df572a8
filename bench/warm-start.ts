// Warm start: the cache-hit rate in the first minute after a restart, with and
// without the cache dump, against real NSD (the bench lab on 127.30.152.0/24).
//
// A client asks names drawn from a Zipf distribution (s = 1) over NAMES distinct
// names under a wildcard (TTL 300) at RATE queries a second. Phase 1 runs the
// built resolver for WINDOW seconds so its cache holds what the clients ask.
// Then it is stopped with SIGTERM (which writes the dump) and started again:
//   warm: with the dump;  cold: the same, the dump file removed first.
// In the WINDOW seconds after each restart the same client keeps asking, and the
// hit rate is cacheHits / (cacheHits + cacheMisses) from `anycast-kit control stats`.
//
// Standalone: node dist/bench/warm-start.js [--quick]; also `npm run bench -- --only warm-start`.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { TYPE } from '../dns/constants.js';
import { query } from './harness/client.js';
import { oursCli, startAuthLab } from './harness/daemons.js';
import { startDaemon, type Daemon } from './harness/proc.js';
import { HOST } from './harness/zones.js';
import type { BenchOptions, BenchReport } from './types.js';

const run = promisify(execFile);
const P = '127.30.152';
const OURS = `${P}.${HOST.ours}`;
const PORT = 15352;
const NAMES = 5000;
const RATE = 200;

/** Zipf(s = 1) sampler over ranks 1..n by inverse CDF on a precomputed table. */
function zipf(n: number, random: () => number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) { sum += 1 / (i + 1); cdf[i] = sum; }
  return () => {
    const u = random() * sum;
    let lo = 0, hi = n - 1;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (cdf[mid] < u) lo = mid + 1; else hi = mid; }
    return lo;
  };
}

/** A seeded PRNG (mulberry32), so both runs ask the same sequence. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function stats(sock: string): Promise<{ hits: number; misses: number }> {
  const r = await run(process.execPath, [oursCli(), 'control', '--socket', sock, '--json', 'stats']);
  const s = JSON.parse(r.stdout) as { cacheHits: number; cacheMisses: number };
  return { hits: s.cacheHits, misses: s.cacheMisses };
}

/** Asks `seconds * RATE` names at RATE per second; returns how many got an answer. */
async function load(seconds: number, next: () => number): Promise<number> {
  let answered = 0;
  const total = seconds * RATE;
  const pending: Array<Promise<void>> = [];
  const t0 = Date.now();
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / RATE;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const name = `n${next()}.wild.a.interop`;
    pending.push(query(name, TYPE.A, { server: OURS, port: PORT, timeoutMs: 3000 }).then(() => { answered++; }, () => {}));
  }
  await Promise.all(pending);
  return answered;
}

async function waitFor(d: Daemon, re: RegExp, ms = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!re.test(d.log())) {
    if (d.exited()) throw new Error(`resolver exited:\n${d.log()}`);
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${re}:\n${d.log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stop(d: Daemon): Promise<void> {
  d.child.kill('SIGTERM');
  const t0 = Date.now();
  while (!d.exited() && Date.now() - t0 < 15_000) await new Promise((r) => setTimeout(r, 50));
  if (!d.exited()) await d.stop(100);
}

export async function bench(o: BenchOptions): Promise<BenchReport> {
  const window = o.quick ? 15 : 60;
  const auth = await startAuthLab(P, 'warm-start');
  const dir = mkdtempSync(join(tmpdir(), 'ak-warm-start-'));
  const sock = join(dir, 'ctl.sock');
  const dump = join(dir, 'cache.dump');
  const cfg = join(dir, 'r.yaml');
  writeFileSync(cfg, [
    'resolver:',
    `  listen: ["${OURS}:${PORT}"]`,
    `  root_hints: ${auth.rootHintsFile}`,
    '  allow: [127.0.0.0/8]',
    '  upstream: { query_localhost: true }',
    '  validator: { enabled: false }   # the bench lab is unsigned',
    `  control: { socket: ${sock} }`,
    `  warm_start: { dump_file: ${dump} }`,
    '',
  ].join('\n'));
  const start = () => startDaemon('anycast-kit resolver', process.execPath, [oursCli(), 'resolver', '--config', cfg]);
  const rows: BenchReport['rows'] = [];
  const notes: string[] = [];
  try {
    for (const mode of ['warm', 'cold'] as const) {
      rmSync(dump, { force: true });
      const next = zipf(NAMES, prng(15));
      let d = start();
      await waitFor(d, /listening on/);
      await load(window, next);
      const before = await stats(sock);
      await stop(d);
      const wrote = /wrote (\d+) answers/.exec(d.log())?.[1] ?? '0';
      if (mode === 'cold') rmSync(dump, { force: true });
      const t0 = Date.now();
      d = start();
      await waitFor(d, /listening on/);
      const startMs = Date.now() - t0;
      const loaded = /loaded (\d+) answers/.exec(d.log())?.[1] ?? '0';
      const answered = await load(window, next);
      const after = await stats(sock);
      await stop(d);
      const rate = after.hits / Math.max(1, after.hits + after.misses);
      rows.push({
        restart: mode === 'warm' ? 'with the dump' : 'cold (no dump)',
        'hit rate, first window': `${(rate * 100).toFixed(1)} %`,
        'hits / misses': `${after.hits} / ${after.misses}`,
        answered: `${answered} of ${window * RATE}`,
        'answers dumped / loaded': `${wrote} / ${loaded}`,
        'start to listening (ms)': startMs,
        'hit rate before the restart': `${((before.hits / Math.max(1, before.hits + before.misses)) * 100).toFixed(1)} %`,
      });
    }
    notes.push(`${RATE} queries/s for ${window} s before and ${window} s after the restart; Zipf (s = 1) over ${NAMES} names under a wildcard with TTL 300, served by NSD; the same sequence in both runs.`);
  } finally {
    await auth.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return { title: 'Warm start: cache-hit rate in the first window after a restart (anycast-kit resolver, NSD)', rows, notes };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  bench({ quick: process.argv.includes('--quick') }).then((r) => {
    process.stdout.write(`${r.title}\n${JSON.stringify(r.rows, null, 2)}\n${r.notes.join('\n')}\n`);
  }, (err: Error) => { process.stderr.write(`${err.stack ?? err.message}\n`); process.exitCode = 1; });
}
