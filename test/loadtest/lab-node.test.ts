// The load generator against the project's own lab node (`anycast-kit lab`): the
// resolver on 127.40.9.1, recursing through the lab's mini-internet (127.53.x, a free port).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoad } from '../../loadtest/driver/run.js';
import { loadQueryFile } from '../../loadtest/driver/queryfile.js';
import { CLI } from './cli-helper.js';

let lab: ChildProcess | undefined;
let port = 0;
let labTmp = '';
let dir: string;
let file: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lt-lab-'));
  file = join(dir, 'lab.txt');
  writeFileSync(file, [
    'www.example.lab A      # NOERROR',
    'alias.example.lab A    # NOERROR through a CNAME chain',
    'nope.example.lab A     # NXDOMAIN',
    'example.lab AXFR       # REFUSED (no zone transfers over UDP)',
  ].join('\n') + '\n');
  lab = spawn(process.execPath, [CLI, 'lab', '--listen', '127.40.9.1:0', '--health-listen', '127.40.9.1:0', '--snmp-listen', 'off', '--lab-port', '0', '--json'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  lab.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`anycast-kit lab did not start within 20 s: ${err}`)), 20_000);
    lab!.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(t);
        const info = JSON.parse(out.slice(0, nl)) as { listen: Array<{ port: number }>; lab: { rootHintsFile: string } };
        labTmp = dirname(info.lab.rootHintsFile);
        resolve(info.listen[0].port);
      }
    });
    lab!.on('exit', (code) => reject(new Error(`anycast-kit lab exited (${code}): ${err}`)));
  });
});

afterAll(async () => {
  if (lab && lab.exitCode === null && lab.signalCode === null) {
    const exited = new Promise((r) => lab!.once('exit', r));
    lab.kill('SIGTERM');
    const t = setTimeout(() => lab!.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
  rmSync(dir, { recursive: true, force: true });
  // SIGKILL (the loss test) leaves the lab's temporary folder behind.
  if (labTmp.includes('anycast-kit-lab-')) rmSync(labTmp, { recursive: true, force: true });
});

describe('loadtest run against the lab node', () => {
  it('gives the exact rcode split, from several sources', async () => {
    const r = await runLoad({
      server: { host: '127.40.9.1', port }, queries: loadQueryFile(file), count: 4000, clients: 50,
      sources: ['127.41.9.1', '127.41.9.2', '127.41.9.3'],
    });
    expect(r.completed).toBe(4000);
    expect(r.rcodes).toEqual({ NOERROR: 2000, NXDOMAIN: 1000, REFUSED: 1000 });
    expect(r.sources!.reduce((a, s) => a + s.completed, 0)).toBe(4000);
    for (const s of r.sources!) expect(s.completed).toBeGreaterThan(500);
  });

  it('validates by default from the lab root\'s anchor: dig +dnssec shows ad, a broken signature is SERVFAIL', () => {
    const dig = (...args: string[]) => spawnSync('dig', ['@127.40.9.1', '-p', String(port), '+time=3', '+tries=1', ...args], { encoding: 'utf8', timeout: 10_000 }).stdout;
    const secure = dig('+dnssec', 'www.example.lab', 'A');
    expect(secure).toMatch(/status: NOERROR/);
    expect(secure).toMatch(/;; flags: [^;]*\bad\b/);
    const bogus = dig('+dnssec', 'www.badsig.lab', 'A');
    expect(bogus).toMatch(/status: SERVFAIL/);
    expect(bogus).toMatch(/EDE: 6/);
    expect(dig('+cd', 'www.badsig.lab', 'A')).toMatch(/status: NOERROR/);
  });

  it('counts loss once the node dies (SIGKILL)', async () => {
    const stopAt = setTimeout(() => lab!.kill('SIGKILL'), 1000);
    const r = await runLoad({ server: { host: '127.40.9.1', port }, queries: loadQueryFile(file), qps: 1000, durationS: 2.5, timeoutMs: 300 });
    clearTimeout(stopAt);
    expect(r.completed + r.lost).toBe(r.sent);
    expect(r.completed).toBeGreaterThan(600);
    expect(r.lost).toBeGreaterThan(900);
    expect(r.errors.ECONNREFUSED ?? 0).toBeGreaterThan(0);
  });
});
