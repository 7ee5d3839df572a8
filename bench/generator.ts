// Generator benchmark: `anycast-kit loadtest run` against dnsperf, driven the same way
// against the same server (Debian's unbound, 1 thread, answering from local-data) in
// one run. The figure is the ratio of maximum sustained rates: closed loop, 100 queries
// in flight over 4 sockets for both (and --threads 2 as well), runs alternated so
// all see the same machine. Ours runs on both UDP paths: the fastudp addon
// (recvmmsg/sendmmsg; the default when built) and node:dgram (ANYCAST_KIT_UDP=dgram);
// each row names the path the run itself reported.
// On a 2-core box the generator and unbound compete for CPU, so a generator that burns
// more CPU per query also slows the server it measures: that is part of the figure.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startUnbound } from './harness/local-unbound.js';
import type { RunResult } from '../loadtest/driver/results.js';
import type { BenchOptions, BenchReport } from './types.js';

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const WINDOW = 100;
const SOCKETS = 4;

interface Measured {
  qps: number;
  lossPct: number;
  meanMs: number;
  /** User + system CPU seconds of the generator process. */
  cpuS: number;
  completed: number;
  /** The UDP path the run reported (ours only). */
  udpPath?: string;
}

/** Runs a command under bash and reads its children's CPU time from `times`. */
function runTimed(cmd: string, args: string[], timeoutMs: number, env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string; cpuS: number; status: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', '"$@" 2>"$ERRFILE"; rc=$?; times >&2; exit $rc', 'bash', cmd, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ERRFILE: '/dev/null', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (status) => {
      clearTimeout(t);
      // `times` prints the shell's times, then its children's: "0m1.234s 0m0.567s".
      const lines = stderr.trim().split('\n');
      const m = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s/.exec(lines[lines.length - 1] ?? '');
      const cpuS = m ? Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]) : NaN;
      resolve({ stdout, stderr, cpuS, status });
    });
  });
}

async function runDnsperf(server: string, port: number, file: string, durationS: number, extra: string[] = []): Promise<Measured> {
  const r = await runTimed('dnsperf', ['-s', server, '-p', String(port), '-d', file, '-l', String(durationS), '-c', String(SOCKETS), '-q', String(WINDOW), '-t', '2', ...extra], (durationS + 30) * 1000);
  const num = (re: RegExp) => {
    const m = re.exec(r.stdout);
    if (!m) throw new Error(`dnsperf output lacks ${re} (is dnsperf installed? Debian: apt-get install dnsperf): ${r.stdout.slice(0, 300)}`);
    return Number(m[1]);
  };
  const sent = num(/Queries sent:\s+(\d+)/);
  const lost = num(/Queries lost:\s+(\d+)/);
  return {
    qps: num(/Queries per second:\s+([\d.]+)/),
    lossPct: sent ? (100 * lost) / sent : 0,
    meanMs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
    cpuS: r.cpuS,
    completed: num(/Queries completed:\s+(\d+)/),
  };
}

/** UDP path: 'auto' (the addon when built) or 'dgram' (forced with ANYCAST_KIT_UDP). */
type Path = 'auto' | 'dgram';

async function runOurs(server: string, port: number, file: string, durationS: number, extra: string[] = [], path: Path = 'auto'): Promise<Measured> {
  const env: Record<string, string> = path === 'dgram' ? { ANYCAST_KIT_UDP: 'dgram' } : {};
  const r = await runTimed(process.execPath, [CLI, 'loadtest', 'run', '--server', `${server}:${port}`, '--queries', file, '--duration', String(durationS), '--timeout', '2000', '--json', ...extra], (durationS + 30) * 1000, env);
  let res: RunResult;
  try {
    res = JSON.parse(r.stdout) as RunResult;
  } catch {
    throw new Error(`anycast-kit loadtest run gave no JSON (status ${r.status}): ${r.stdout.slice(0, 300)}`);
  }
  // The run's own CPU figure leaves out Node's start-up (about 0.1 s), which dnsperf hardly has.
  return { qps: res.achievedQps, lossPct: res.lossPct, meanMs: res.latencyMs.mean ?? NaN, cpuS: res.generatorCpuS, completed: res.completed, udpPath: res.udpPath ?? 'udp' };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export async function bench(opts: BenchOptions): Promise<BenchReport> {
  // Many short alternated runs beat few long ones on a shared, noisy machine.
  const durationS = opts.quick ? 2 : 3;
  const rounds = opts.quick ? 2 : 5;
  const dir = mkdtempSync(join(tmpdir(), 'bench-gen-'));
  const names = Array.from({ length: 50 }, (_, i) => `h${i}.bench.test`);
  const localData = names.map((n, i) => `${n}. 300 IN A 192.0.2.${i + 1}`);
  const file = join(dir, 'queries.txt');
  // 50 names that exist and 10 that do not, as a cache-hit-heavy resolver sees.
  writeFileSync(file, [...names.map((n) => `${n} A`), ...Array.from({ length: 10 }, (_, i) => `nx${i}.bench.test A`)].join('\n') + '\n');
  const ub = await startUnbound({ address: '127.90.5.1', threads: 1, localZones: [['bench.test.', 'static']], localData });
  const rows: BenchReport['rows'] = [];
  const notes: string[] = [];
  try {
    // Warm-up, not reported: first packets, JIT, unbound's caches.
    await runDnsperf(ub.address, ub.port, file, 1);
    const tools = [
      { name: 'dnsperf', threads: 1, path: 'auto' as Path },
      { name: 'anycast-kit', threads: 1, path: 'auto' as Path },
      { name: 'anycast-kit', threads: 1, path: 'dgram' as Path },
      { name: 'anycast-kit --threads 2', threads: 2, path: 'auto' as Path },
    ];
    const runs = tools.map(() => [] as Measured[]);
    const label = (k: number, m?: Measured) => (k === 0 ? 'dnsperf' : `${tools[k].name} [${m?.udpPath ?? (tools[k].path === 'dgram' ? 'dgram' : 'default')}]`);
    for (let i = 0; i < rounds; i++) {
      // Rotate who goes first so a drift in machine load does not favour one tool.
      for (let j = 0; j < tools.length; j++) {
        const k = (j + i) % tools.length;
        const t = tools[k];
        const m = k === 0
          ? await runDnsperf(ub.address, ub.port, file, durationS)
          : await runOurs(ub.address, ub.port, file, durationS, ['--clients', String(WINDOW), ...(t.threads > 1 ? ['--threads', String(t.threads)] : [])], t.path);
        runs[k].push(m);
        rows.push({
          tool: label(k, m), mode: `closed loop, ${WINDOW} in flight`, run: i + 1, 'qps': Math.round(m.qps), 'loss %': Number(m.lossPct.toFixed(3)),
          'mean ms': Number(m.meanMs.toFixed(3)), 'CPU µs/query': Number(((m.cpuS / m.completed) * 1e6).toFixed(2)),
        });
      }
    }
    const theirs = runs[0];
    const theirQps = median(theirs.map((m) => m.qps));
    const theirCpu = median(theirs.map((m) => m.cpuS / m.completed));
    const ratios: string[] = [];
    for (let k = 1; k < tools.length; k++) {
      const ratio = median(runs[k].map((m) => m.qps)) / theirQps;
      const cpuUs = median(runs[k].map((m) => m.cpuS / m.completed)) * 1e6;
      const name = label(k, runs[k][0]);
      rows.push({ tool: `ratio ${name} / dnsperf`, mode: 'median max sustained rate', run: '-', qps: Number(ratio.toFixed(3)), 'loss %': '', 'mean ms': '', 'CPU µs/query': Number((cpuUs / (theirCpu * 1e6)).toFixed(2)) });
      ratios.push(`${ratio.toFixed(3)}× ${name} (${cpuUs.toFixed(2)} µs CPU/answer)`);
    }

    // Open loop at the same fixed rate, half of dnsperf's maximum: both should keep the
    // schedule with no loss; this shows the two tools' accounting agree under load.
    const rate = Math.round((theirQps * 0.5) / 1000) * 1000;
    const d2 = await runDnsperf(ub.address, ub.port, file, durationS, ['-Q', String(rate), '-q', '100000']);
    const o2 = await runOurs(ub.address, ub.port, file, durationS, ['--qps', String(rate)]);
    for (const [tool, m] of [['dnsperf', d2], [`anycast-kit [${o2.udpPath}]`, o2]] as const) {
      rows.push({
        tool, mode: `open loop, ${rate} q/s`, run: 1, qps: Math.round(m.qps), 'loss %': Number(m.lossPct.toFixed(3)),
        'mean ms': Number(m.meanMs.toFixed(3)), 'CPU µs/query': Number(((m.cpuS / m.completed) * 1e6).toFixed(2)),
      });
    }
    notes.push(`generator ratio (anycast-kit / dnsperf, median of ${rounds} alternated ${durationS} s runs each; dnsperf ${(theirCpu * 1e6).toFixed(2)} µs CPU/answer): ${ratios.join('; ')} — target ≥ 1.0× with 1 thread`);
    notes.push('[native] = UDP through the fastudp addon (recvmmsg/sendmmsg), the default when it is built; [dgram] = node:dgram, the fallback (ANYCAST_KIT_UDP=dgram)');
    notes.push('dnsperf -T 1 runs a sender and a receiver thread; anycast-kit runs one event-loop thread per --threads; rows for both settings are shown');
    notes.push(`server: unbound ${'1 thread'}, local-data answers, on ${ub.address}; both tools: ${WINDOW} queries in flight over ${SOCKETS} UDP sockets, same query file (60 names, 1/6 NXDOMAIN), 2 s timeout`);
    notes.push('the machine has 2 cores: the generator and unbound compete for them, and other processes may too; both tools ran under identical conditions, alternating, so the ratio is fair but absolute rates move with load');
    notes.push('"CPU µs/query" is the generator\'s user+system CPU per completed query (dnsperf: bash `times`; anycast-kit: its own generatorCpuS, which leaves out Node\'s start-up): how much CPU each tool takes from a server sharing its cores');
  } finally {
    await ub.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return { title: 'generator: anycast-kit loadtest run vs dnsperf against unbound', rows, notes };
}
