// End to end: `anycast-kit lab` (the built CLI, under this Node) comes up, and every
// dig command it prints gets the answer the lab zones promise, through the resolver.
// Uses 127.53.200.0/24 with port 0 everywhere, so it never collides with a lab
// an operator runs on the default ports.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { requireTool } from './harness.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = `${root}dist/cli/main.js`;
const VALIDATOR = existsSync(`${root}resolver/validator`);
const DIG = '/usr/bin/dig';
const CURL = '/usr/bin/curl';

interface LabJson {
  listen: Array<{ address: string; port: number }>;
  health: { address: string; port: number };
  identity: string;
  lab: { port: number; servers: Array<{ name: string; address: string }>; zones: string[]; signed: string[]; trustAnchorFile?: string };
  try: string[];
}

function run(cmd: string, args: string[], timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stdout}${stderr}`));
      else resolve(stdout + stderr);
    });
  });
}

let child: ChildProcess | undefined;
let info: LabJson;
let stderr = '';
let exited: Promise<number | null>;

beforeAll(async () => {
  requireTool(DIG, 'dnsutils');
  requireTool(CURL, 'curl');
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" first (npm test does)`);
  child = spawn(process.execPath, [MAIN, 'lab', '--json', '--listen', '127.53.200.1:0', '--health-listen', '127.53.200.1:0', '--snmp-listen', '127.53.200.1:0', '--lab-port', '0', '--identity', 'e2e-lab'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr!.on('data', (d) => { stderr += d; });
  exited = new Promise((resolve) => child!.once('exit', (code) => resolve(code)));
  info = await new Promise<LabJson>((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`lab did not print its JSON line within 20 s; stderr:\n${stderr}`)), 20_000);
    child!.stdout!.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) { clearTimeout(t); resolve(JSON.parse(out.slice(0, nl)) as LabJson); }
    });
    child!.once('exit', (code) => { clearTimeout(t); reject(new Error(`lab exited with ${code}; stderr:\n${stderr}`)); });
  });
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGKILL');
    await exited;
  }
});

/** What each printed dig command must show. Keyed by a fragment of the command. */
const EXPECT: Array<[string, (out: string) => void]> = [
  ['www.example.lab', (o) => { expect(o).toMatch(/status: NOERROR/); expect(o).toMatch(/^www\.example\.lab\.\s+\d+\s+IN\s+A\s+192\.0\.2\.10$/m); }],
  ['alias.example.lab', (o) => {
    expect(o).toMatch(/^alias\.example\.lab\.\s+\d+\s+IN\s+CNAME\s+cdn\.hosting\.example\.$/m);
    expect(o).toMatch(/^cdn\.hosting\.example\.\s+\d+\s+IN\s+CNAME\s+web\.glueless\.lab\.$/m);
    expect(o).toMatch(/^web\.glueless\.lab\.\s+\d+\s+IN\s+A\s+192\.0\.2\.80$/m);
  }],
  ['nope.example.lab', (o) => { expect(o).toMatch(/status: NXDOMAIN/); expect(o).toMatch(/^example\.lab\.\s+\d+\s+IN\s+SOA\s/m); }],
  ['b.ent.example.lab', (o) => { expect(o).toMatch(/status: NOERROR/); expect(o).toMatch(/ANSWER: 0,/); }],
  ['anything.wild.example.lab', (o) => expect(o).toMatch(/^anything\.wild\.example\.lab\.\s+\d+\s+IN\s+A\s+192\.0\.2\.99$/m)],
  ['example.lab MX', (o) => expect(o).toMatch(/IN\s+MX\s+10 mail\.example\.lab\.$/m)],
  ['TYPE65280', (o) => expect(o).toMatch(/IN\s+TYPE65280\s+\\# 4 0A000001$/m)],
  ['big.example.lab TXT', (o) => { expect(o).toMatch(/Truncated, retrying in TCP mode/); expect(o).toMatch(/ANSWER: 7,/); }],
  ['id.server CH TXT', (o) => expect(o).toMatch(/^id\.server\.\s+\d+\s+CH\s+TXT\s+"e2e-lab"$/m)],
  // The signed lab, validated with the lab root's trust anchor: checked once the resolver
  // has its validator (resolver/validator/); until then the resolver does not validate.
  ...(VALIDATOR ? [
    ['+dnssec www.example.lab', (o: string) => { expect(o).toMatch(/flags: qr rd ra ad;/); expect(o).toMatch(/^www\.example\.lab\.\s+\d+\s+IN\s+RRSIG\s+A 13 3 /m); }],
    ['www.badsig.lab', (o: string) => expect(o).toMatch(/status: SERVFAIL/)],
  ] as Array<[string, (out: string) => void]> : []),
];

describe('anycast-kit lab (end to end)', () => {
  it('describes itself: lab servers on 127.53/16, resolver and health on what we asked', () => {
    expect(info.listen[0]).toMatchObject({ address: '127.53.200.1' });
    expect(info.listen[0].port).toBeGreaterThan(0);
    expect(info.lab.servers.every((s) => s.address.startsWith('127.53.'))).toBe(true);
    expect(info.lab.zones).toEqual(expect.arrayContaining(['.', 'lab.', 'example.', 'example.lab.']));
    expect(info.lab.signed).toEqual(expect.arrayContaining(['.', 'lab.', 'example.lab.', 'badsig.lab.']));
    expect(info.lab.signed).not.toContain('glueless.lab.');
    expect(readFileSync(info.lab.trustAnchorFile!, 'utf8')).toMatch(/^\. 3600 IN DS \d+ 13 2 [0-9A-F]{64}$/m);
    expect(info.try.filter((c) => c.startsWith('dig ')).length).toBeGreaterThanOrEqual(EXPECT.length);
  });

  it('answers every printed dig command as the zones say', async () => {
    requireTool(DIG, 'dnsutils');
    const digs = info.try.filter((c) => c.startsWith(`dig @${info.listen[0].address} `));
    let checked = 0;
    for (const [fragment, check] of EXPECT) {
      const cmd = digs.find((c) => c.endsWith(fragment) || c.includes(` ${fragment} `) || c.endsWith(` ${fragment}`));
      expect(cmd, `no printed command for ${fragment}`).toBeDefined();
      const args = cmd!.split(' ').slice(1);
      const out = await run(DIG, [...args, '+tries=1', '+time=5']);
      check(out);
      checked++;
    }
    expect(checked).toBe(EXPECT.length);
  });

  it('the printed direct query to a lab server is authoritative', async () => {
    const direct = info.try.find((c) => c.startsWith('dig @127.53.') && !c.startsWith(`dig @${info.listen[0].address} `))!;
    expect(direct).toBeDefined();
    const out = await run(DIG, [...direct.split(' ').slice(1), '+tries=1', '+time=5', '+norecurse']);
    expect(out).toMatch(/flags: qr aa;/);
  });

  it('serves /health once the probes pass', async () => {
    const url = `http://${info.health.address}:${info.health.port}/health`;
    expect(info.try).toContain(`curl ${url}`);
    const deadline = Date.now() + 15_000;
    let last = '';
    while (Date.now() < deadline) {
      last = await run(CURL, ['-s', '-m', '2', '-w', ' %{http_code}', url]).catch((e: Error) => e.message);
      if (last.endsWith(' 200')) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(last).toMatch(/^OK up.* 200$/s);
  });

  it('survives SIGHUP (logged and ignored: the lab has no config file) and keeps answering', async () => {
    child!.kill('SIGHUP');
    const deadline = Date.now() + 5000;
    while (!stderr.includes('SIGHUP') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(stderr).toContain('lab: SIGHUP: the lab has no config file to reload; ignored');
    expect(child!.exitCode).toBeNull();
    const l = info.listen[0];
    const out = await run(DIG, [`@${l.address}`, '-p', String(l.port), '+tries=1', '+time=5', 'id.server', 'CH', 'TXT']);
    expect(out).toMatch(/status: NOERROR/);
  });

  it('stops cleanly on SIGTERM', async () => {
    child!.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running after 15 s'), 15_000))]);
    expect(code, stderr).toBe(0);
  });
});

describe('anycast-kit lab flags', () => {
  it('--help exits 0 and documents every flag', () => {
    const r = spawnSync(process.execPath, [MAIN, 'lab', '--help'], { encoding: 'utf8', timeout: 10_000 });
    expect(r.status).toBe(0);
    for (const f of ['--listen', '--health-listen', '--snmp-listen', '--lab-port', '--identity', '--json']) expect(r.stdout).toContain(f);
  });

  it('an unknown flag is a usage error (exit 2)', () => {
    const r = spawnSync(process.execPath, [MAIN, 'lab', '--lissten', 'x'], { encoding: 'utf8', timeout: 10_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/lissten/);
  });
});
