// The load generator against a real server: Debian's unbound answering from local-zone
// data on 127.40.1.x (sources 127.41.1.x), started here and stopped in afterAll.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoad } from '../../loadtest/driver/run.js';
import { loadQueryFile } from '../../loadtest/driver/queryfile.js';
import type { RunResult } from '../../loadtest/driver/results.js';
import { queriesBySource, startUnbound, type UnboundHandle } from '../../bench/harness/local-unbound.js';
import { runCli } from './cli-helper.js';

// 20 TXT strings of 40 bytes: the answer does not fit 512 bytes, so without EDNS unbound sets TC.
const bigTxt = Array.from({ length: 20 }, (_, i) => `big.lt.test. 300 IN TXT "${String(i).padStart(2, '0')}${'x'.repeat(38)}"`);
const zone = {
  localZones: [['lt.test.', 'static'], ['refused.test.', 'refuse']] as Array<[string, string]>,
  localData: ['a.lt.test. 300 IN A 192.0.2.1', 'b.lt.test. 300 IN A 192.0.2.2', 'c.lt.test. 300 IN A 192.0.2.3', ...bigTxt],
};
// One line per outcome; replayed in a loop, so --count 7000 asks each line exactly 1000 times.
const MIXED = [
  'a.lt.test A        # NOERROR',
  'b.lt.test A        # NOERROR',
  'c.lt.test AAAA     # NOERROR, no data',
  'big.lt.test TXT    # NOERROR with TC (no EDNS)',
  'nope.lt.test A     # NXDOMAIN',
  'gone.lt.test MX    # NXDOMAIN',
  'x.refused.test A   # REFUSED',
].join('\n');

let dir: string;
let mixedFile: string;
let simpleFile: string;
let ub: UnboundHandle;
let logged: UnboundHandle;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lt-interop-'));
  mixedFile = join(dir, 'mixed.txt');
  simpleFile = join(dir, 'simple.txt');
  writeFileSync(mixedFile, MIXED + '\n');
  writeFileSync(simpleFile, 'a.lt.test A\nb.lt.test A\nnope.lt.test A\n');
  ub = await startUnbound({ address: '127.40.1.1', ...zone });
  // Logging every query slows unbound down; only the --sources check needs it.
  logged = await startUnbound({ address: '127.40.1.3', logQueries: true, ...zone });
});
afterAll(async () => {
  await ub?.stop();
  await logged?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('loadtest run against unbound', () => {
  it('gives exactly the expected rcode split for a mixed file, with an exact --count (CLI, --json)', async () => {
    const r = await runCli(['loadtest', 'run', '--server', `${ub.address}:${ub.port}`, '--queries', mixedFile, '--count', '7000', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as RunResult;
    expect(res.sent).toBe(7000);
    expect(res.completed).toBe(7000);
    expect(res.lost).toBe(0);
    expect(res.rcodes).toEqual({ NOERROR: 4000, NXDOMAIN: 2000, REFUSED: 1000 });
    expect(res.truncated).toBe(1000);
    expect(res.unmatched).toBe(0);
    expect(res.achievedQps).toBeGreaterThan(0);
  });

  it('--threads 2 sends exactly the same queries as one thread', async () => {
    const r = await runCli(['loadtest', 'run', '--server', `${ub.address}:${ub.port}`, '--queries', mixedFile, '--count', '7001', '--threads', '2', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as RunResult;
    expect(res.threads).toBe(2);
    expect(res.completed).toBe(7001);
    // The 7001st query is line 1 again (NOERROR).
    expect(res.rcodes).toEqual({ NOERROR: 4001, NXDOMAIN: 2000, REFUSED: 1000 });
    expect(res.truncated).toBe(1000);
  });

  it('open loop with a fixed --count sends exactly that many and drops none itself', async () => {
    const res = await runLoad({ server: { host: ub.address, port: ub.port }, queries: loadQueryFile(mixedFile), qps: 3500, count: 3500 });
    expect(res.sent).toBe(3500);
    expect(res.completed + res.lost).toBe(3500);
    // Nothing is lost inside the generator: its sockets dropped nothing...
    expect(res.ownSocketDrops).toBe(0);
    if (res.lost === 0) {
      expect(res.rcodes).toEqual({ NOERROR: 2000, NXDOMAIN: 1000, REFUSED: 500 });
    } else {
      // ...so a loss can only be the server's (unbound starved of CPU on a busy box drops
      // on its own socket, which the system-wide counter shows).
      expect(res.udpRcvbufErrors!).toBeGreaterThanOrEqual(res.lost);
    }
    // 3500 at 3500 q/s is a 1 s schedule; a busy machine may stretch it, never shrink it.
    expect(res.durationS).toBeGreaterThanOrEqual(1);
    expect(res.durationS).toBeLessThan(3);
  });

  it('TCP, pipelined: the same exact split', async () => {
    const res = await runLoad({ server: { host: ub.address, port: ub.port }, queries: loadQueryFile(mixedFile), count: 1400, clients: 20, tcp: true });
    expect(res.completed).toBe(1400);
    // Over TCP the big answer fits: no TC.
    expect(res.rcodes).toEqual({ NOERROR: 800, NXDOMAIN: 400, REFUSED: 200 });
    expect(res.truncated).toBe(0);
  });

  it('--sources spreads the source addresses, as unbound logs them', async () => {
    const before = queriesBySource(logged.log());
    // Two threads, three sources each: the per-source breakdown is merged back in order.
    const r = await runCli(['loadtest', 'run', '--server', `${logged.address}:${logged.port}`, '--queries', simpleFile,
      '--sources', '127.41.1.0/29', '--count', '600', '--clients', '12', '--threads', '2', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as RunResult;
    expect(res.completed).toBe(600);
    expect(res.sources!.map((s) => s.address)).toEqual(['127.41.1.1', '127.41.1.2', '127.41.1.3', '127.41.1.4', '127.41.1.5', '127.41.1.6']);
    // unbound writes a log line per query; give it a moment to reach the file.
    let seen = new Map<string, number>();
    for (let i = 0; i < 50; i++) {
      const after = queriesBySource(logged.log());
      seen = new Map([...after].map(([k, v]) => [k, v - (before.get(k) ?? 0)]));
      if (res.sources!.every((s) => seen.get(s.address) === s.sent)) break;
      await new Promise((res2) => setTimeout(res2, 100));
    }
    for (const s of res.sources!) {
      expect(s.sent).toBeGreaterThan(30);
      expect(seen.get(s.address)).toBe(s.sent);
    }
  });
});

describe('loss when the server stops', () => {
  it('counts every query after the stop as lost, and says why', async () => {
    const victim = await startUnbound({ address: '127.40.1.2', ...zone });
    const stopAt = setTimeout(() => { void victim.stop(); }, 1000);
    let res: RunResult;
    try {
      res = await runLoad({ server: { host: victim.address, port: victim.port }, queries: loadQueryFile(simpleFile), qps: 2000, durationS: 3, timeoutMs: 500 });
    } finally {
      clearTimeout(stopAt);
      await victim.stop();
    }
    // On a loaded machine the generator may skip part of its schedule (and say so).
    expect(res.sent + res.unsent.behindSchedule).toBe(6000);
    expect(res.completed + res.lost).toBe(res.sent);
    // About 1 s of 3 s answered.
    expect(res.completed).toBeGreaterThan(1000);
    expect(res.completed).toBeLessThan(2600);
    expect(res.lossPct).toBeGreaterThan(50);
    expect(res.errors.ECONNREFUSED ?? 0).toBeGreaterThan(0);
  });
});

describe('agreement with dnsperf on the same unbound', () => {
  interface Dnsperf { qps: number; completed: number; lost: number; avgMs: number }
  function dnsperf(args: string[]): Promise<Dnsperf> {
    return new Promise((resolve, reject) => {
      const child = spawn('dnsperf', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      child.on('error', (err) => reject(new Error(`dnsperf could not run (Debian: apt-get install dnsperf): ${err.message}`)));
      const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.on('close', () => {
        clearTimeout(t);
        const num = (re: RegExp) => {
          const m = re.exec(out);
          if (!m) throw new Error(`dnsperf output lacks ${re}: ${out}`);
          return Number(m[1]);
        };
        try {
          resolve({
            qps: num(/Queries per second:\s+([\d.]+)/),
            completed: num(/Queries completed:\s+(\d+)/),
            lost: num(/Queries lost:\s+(\d+)/),
            avgMs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
          });
        } catch (err) {
          reject(err);
        }
      });
    });
  }

  // Both tools run at the same time, at the same offered rate, against the same unbound:
  // on a shared 2-core machine that is the only way both see the same conditions.
  it('reports the same rate (within 10%) and latency in the same range for the same 3 s run', async () => {
    const rate = 8000;
    const [theirs, ours] = await Promise.all([
      dnsperf(['-s', ub.address, '-p', String(ub.port), '-d', simpleFile, '-l', '3', '-Q', String(rate), '-c', '4', '-q', '10000', '-t', '2']),
      runLoad({ server: { host: ub.address, port: ub.port }, queries: loadQueryFile(simpleFile), qps: rate, durationS: 3, timeoutMs: 2000 }),
    ]);
    expect(Math.abs(ours.achievedQps - theirs.qps) / theirs.qps).toBeLessThanOrEqual(0.1);
    expect(Math.abs(ours.completed - theirs.completed) / theirs.completed).toBeLessThanOrEqual(0.1);
    expect(theirs.qps).toBeGreaterThan(rate * 0.5);
    // Same range: within a factor of 4 of each other, unless both are small on loopback.
    const mean = ours.latencyMs.mean!;
    expect(mean).toBeLessThan(Math.max(2, theirs.avgMs * 4));
    expect(theirs.avgMs).toBeLessThan(Math.max(2, mean * 4));
  });
});
