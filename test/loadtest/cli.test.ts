// The CLI as operators use it: flags, errors with file:line, exit statuses, JSON out.
// Responders on 127.40.4.x.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CapacityResult, RunResult } from '../../loadtest/driver/results.js';
import { runCli } from './cli-helper.js';
import { startUdpResponder, type Responder } from './responder.js';

let dir: string;
let good: string;
let srv: Responder;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lt-cli-'));
  good = join(dir, 'good.txt');
  writeFileSync(good, 'ok.test A\nnx.test AAAA\n');
  srv = await startUdpResponder('127.40.4.1');
});
afterAll(async () => {
  await srv.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('loadtest run CLI', () => {
  it('prints help', async () => {
    const r = await runCli(['loadtest', 'run', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--sources LIST\|CIDR/);
    expect(r.stdout).toMatch(/--qps N/);
  });
  it('names an unreadable query file', async () => {
    const r = await runCli(['loadtest', 'run', '--server', `127.40.4.1:${srv.port}`, '--queries', join(dir, 'nope.txt')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/nope\.txt: cannot read query file: ENOENT/);
  });
  it('names the file and line of a bad query', async () => {
    const bad = join(dir, 'bad.txt');
    writeFileSync(bad, 'ok.test A\n# comment\nok.test BOGUS\n');
    const r = await runCli(['loadtest', 'run', '--server', `127.40.4.1:${srv.port}`, '--queries', bad]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${bad}:3: unknown query type "BOGUS"`);
  });
  it('says when the server is unreachable', async () => {
    const r = await runCli(['loadtest', 'run', '--server', '127.40.4.2:9', '--queries', good, '--count', '20', '--timeout', '200']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/server 127\.40\.4\.2:9 is unreachable: \d+ ICMP port-unreachable errors \(ECONNREFUSED\)/);
    expect(r.stdout).toMatch(/lost\s+20/);
  });
  it('rejects --clients with --qps, and bad numbers', async () => {
    const r = await runCli(['loadtest', 'run', '--server', '127.40.4.1:53', '--queries', good, '--qps', '100', '--clients', '5']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--clients .* cannot be combined with --qps/);
    const r2 = await runCli(['loadtest', 'run', '--server', '127.40.4.1:53', '--queries', good, '--qps', 'fast']);
    expect(r2.status).toBe(2);
    expect(r2.stderr).toMatch(/--qps must be a number, got "fast"/);
    const r3 = await runCli(['loadtest', 'run', '--server', '127.40.4.1:53', '--queries', good, '--sources', '127.41.4.0/40']);
    expect(r3.status).toBe(2);
    expect(r3.stderr).toMatch(/--sources: .*at most 32/);
  });
  it('prints the text summary and writes --out JSON', async () => {
    const out = join(dir, 'run.json');
    const r = await runCli(['loadtest', 'run', '--server', `127.40.4.1:${srv.port}`, '--queries', good, '--qps', '1000', '--count', '500', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/response codes\s+NOERROR 250 \(50\.00%\), NXDOMAIN 250 \(50\.00%\)/);
    const j = JSON.parse(readFileSync(out, 'utf8')) as RunResult;
    expect(j.kind).toBe('anycast-kit.loadtest.run');
    expect(j.completed).toBe(j.sent);
    expect(j.achievedQps).toBeGreaterThan(900);
    expect(j.latencyMs.p999).not.toBeNull();
  });
});

describe('loadtest capacity CLI', () => {
  it('prints help', async () => {
    const r = await runCli(['loadtest', 'capacity', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--max-loss PCT/);
    expect(r.stdout).toMatch(/--max-p99 MS/);
  });
  it('reports capacityQps and the curve as JSON, steps on stderr', async () => {
    const r = await runCli(['loadtest', 'capacity', '--server', `127.40.4.1:${srv.port}`, '--queries', good,
      '--start', '300', '--max-qps', '600', '--step', '0.5', '--timeout', '200', '--max-loss', '20', '--max-p99', '1000', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as CapacityResult;
    expect(j.kind).toBe('anycast-kit.loadtest.capacity');
    expect(j.curve.map((c) => c.offeredQps), r.stderr).toEqual([300, 600]);
    expect(j.capacityQps).toBeGreaterThan(400);
    expect(j.limitedBy).toBe('max-qps');
    expect(r.stderr).toMatch(/step: offered 300 q\/s/);
  });
});
