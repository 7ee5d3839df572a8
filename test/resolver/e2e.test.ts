// `anycast-kit resolver` end to end: real NSD authoritative servers on
// 127.10.53.x:53, the built CLI recursing through them, and dig/kdig as clients.
// Needs a build (npm test builds first) and the Debian packages nsd, dnsutils, knot-dnsutils.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTool, startNsd, type NsdHandle } from '../lab/harness.js';
import { buildQuery } from '../../dns/message.js';
import { CLI, dig, startCli, stopCli, type Running, rootZone } from './cli.js';

const ROOT_NS = '127.10.53.1';
const EXAMPLE_NS = '127.10.53.2';

function kdig(server: string, port: number, ...args: string[]): string {
  const r = spawnSync('kdig', [`@${server}`, '-p', String(port), '+retry=0', '+timeout=3', ...args], { encoding: 'utf8', timeout: 15_000 });
  if (r.error) throw r.error;
  return r.stdout;
}

const status = (out: string) => /status: ([A-Z]+)/.exec(out)?.[1];
const answerLines = (out: string) => out.split('\n').filter((l) => l && !l.startsWith(';'));

// Both UDP paths: fastudp (the addon; CI builds it) and the node:dgram fallback.
describe.each(['fastudp', 'dgram'])('anycast-kit resolver (CLI, udp i/o %s) against NSD', (udpIo) => {
  const env = { ANYCAST_KIT_UDP: udpIo === 'dgram' ? 'dgram' : 'native' };
  let dir: string;
  let nsds: NsdHandle[] = [];
  let r: Running;
  const HOST = '127.10.5.1';

  beforeAll(async () => {
    requireTool('/usr/bin/dig', 'dnsutils');
    requireTool('/usr/bin/kdig', 'knot-dnsutils');
    dir = mkdtempSync(join(tmpdir(), 'resolver-e2e-'));
    writeFileSync(join(dir, 'root.zone'), rootZone(ROOT_NS, EXAMPLE_NS));
    const bigTxt = Array.from({ length: 12 }, (_, i) => `big.example. TXT "${String(i).padStart(2, '0')}${'x'.repeat(90)}"`);
    writeFileSync(join(dir, 'example.zone'), [
      '$TTL 300',
      'example. SOA ns1.example. host.example. 1 3600 900 604800 60',
      'example. NS ns1.example.',
      'ns1.example. A ' + EXAMPLE_NS,
      'www.example. A 192.0.2.1',
      'alias.example. CNAME www.example.',
      '*.wild.example. A 192.0.2.9',
      'a.b.ent.example. A 192.0.2.10',
      ...bigTxt,
      '',
    ].join('\n'));
    writeFileSync(join(dir, 'root.hints'), `. 3600000 NS a.root.srv.\na.root.srv. 3600000 A ${ROOT_NS}\n`);
    nsds = [
      await startNsd(ROOT_NS, 53, [{ name: '.', file: join(dir, 'root.zone') }]),
      await startNsd(EXAMPLE_NS, 53, [{ name: 'example.', file: join(dir, 'example.zone') }]),
    ];
    r = await startCli(['--listen', `${HOST}:0`, '--root-hints', join(dir, 'root.hints'), '--query-localhost', '--no-validate', '--identity', 'e2e-node'], 15_000, env);
  });

  it(`runs with ${udpIo} for UDP`, () => {
    expect(r.udpIo).toBe(udpIo);
  });

  afterAll(async () => {
    if (r) await stopCli(r);
    for (const n of nsds) await n.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('resolves from the root, and serves the repeat from cache with a lower TTL', async () => {
    const first = dig(HOST, r.port, 'www.example', 'A', '+noall', '+answer');
    expect(answerLines(first)).toEqual([expect.stringMatching(/^www\.example\.\s+300\s+IN\s+A\s+192\.0\.2\.1$/)]);
    await new Promise((res) => setTimeout(res, 2100));
    const again = dig(HOST, r.port, 'www.example', 'A', '+noall', '+answer');
    const ttl = Number(answerLines(again)[0].split(/\s+/)[1]);
    expect(ttl).toBeLessThanOrEqual(298);
    expect(ttl).toBeGreaterThan(290);
  });

  it('keeps the client\'s letter case in the question and answer (0x20)', () => {
    const out = dig(HOST, r.port, 'WwW.ExAmPlE', 'A');
    expect(out).toMatch(/;WwW\.ExAmPlE\.\s+IN\s+A/);
    expect(out).toMatch(/^WwW\.ExAmPlE\.\s+\d+\s+IN\s+A\s+192\.0\.2\.1$/m);
  });

  it('follows a CNAME and passes NXDOMAIN, NODATA and empty non-terminals on exactly', () => {
    expect(answerLines(dig(HOST, r.port, 'alias.example', 'A', '+noall', '+answer')).map((l) => l.split(/\s+/)[3])).toEqual(['CNAME', 'A']);
    const nx = dig(HOST, r.port, 'nope.example', 'A');
    expect(status(nx)).toBe('NXDOMAIN');
    expect(nx).toMatch(/^example\.\s+60\s+IN\s+SOA/m);
    const nodata = dig(HOST, r.port, 'www.example', 'AAAA');
    expect(status(nodata)).toBe('NOERROR');
    expect(nodata).toMatch(/ANSWER: 0,/);
    const ent = dig(HOST, r.port, 'b.ent.example', 'A');
    expect(status(ent)).toBe('NOERROR');
    expect(ent).toMatch(/ANSWER: 0,/);
    expect(answerLines(dig(HOST, r.port, 'x.wild.example', 'A', '+noall', '+answer'))[0]).toMatch(/192\.0\.2\.9$/);
  });

  it('sets TC=1 when the answer does not fit the client\'s buffer, and gives it all over TCP', () => {
    const small = dig(HOST, r.port, 'big.example', 'TXT', '+ignore', '+bufsize=512');
    expect(small).toMatch(/flags: qr [a-z ]*tc/);
    const noEdns = dig(HOST, r.port, 'big.example', 'TXT', '+ignore', '+noedns');
    expect(noEdns).toMatch(/flags: qr [a-z ]*tc/);
    const tcp = kdig(HOST, r.port, '+tcp', 'big.example', 'TXT');
    expect(tcp).toMatch(/ANSWER: 12/);
    expect(tcp).not.toMatch(/flags: qr[a-z ]* tc/);
  });

  it('answers CHAOS id.server / hostname.bind and NSID with the identity, and refuses version.bind', () => {
    expect(dig(HOST, r.port, 'id.server', 'CH', 'TXT', '+short').trim()).toBe('"e2e-node"');
    expect(dig(HOST, r.port, 'hostname.bind', 'CH', 'TXT', '+short').trim()).toBe('"e2e-node"');
    expect(status(dig(HOST, r.port, 'version.bind', 'CH', 'TXT'))).toBe('REFUSED');
    expect(dig(HOST, r.port, 'www.example', '+nsid')).toMatch(/NSID: .*\("e2e-node"\)/);
  });

  it('answers special-use names locally and ANY minimally', () => {
    expect(dig(HOST, r.port, 'localhost', 'A', '+short').trim()).toBe('127.0.0.1');
    expect(status(dig(HOST, r.port, 'anything.test', 'A'))).toBe('NXDOMAIN');
    expect(status(dig(HOST, r.port, 'foo.onion', 'A'))).toBe('NXDOMAIN');
    expect(dig(HOST, r.port, '-x', '127.0.0.1', '+short').trim()).toBe('localhost.');
    // ANY (RFC 8482): one synthesised HINFO for a name that exists, its CNAME for an
    // alias (not followed), NXDOMAIN for a name that does not exist.
    expect(dig(HOST, r.port, 'www.example', 'ANY', '+noall', '+answer')).toMatch(/^www\.example\.\s+\d+\s+IN\s+HINFO\s+"RFC8482" ""\s*$/);
    expect(answerLines(dig(HOST, r.port, 'alias.example', 'ANY', '+noall', '+answer')).map((l) => l.replace(/\s+/g, ' '))).toEqual([expect.stringMatching(/^alias\.example\. \d+ IN CNAME www\.example\.$/)]);
    const nx = dig(HOST, r.port, 'nope.example', 'ANY');
    expect(status(nx)).toBe('NXDOMAIN');
    expect(nx).not.toMatch(/HINFO/);
    expect(status(dig(HOST, r.port, 'a.b.ent.example', 'ANY'))).toBe('NOERROR');
  });

  it('answers the probe name while healthy', () => {
    expect(dig(HOST, r.port, 'health.anycast-kit.invalid', 'TXT', '+short').trim()).toBe('"healthy" "e2e-node"');
  });

  it('survives a flood of malformed packets and never answers QR=1', async () => {
    const sock = dgram.createSocket('udp4');
    let responsesAnswered = 0;
    sock.on('message', (m) => { if (m[0] === 0xfe) responsesAnswered++; });
    await new Promise<void>((res) => sock.bind({ address: '127.10.5.9', port: 0 }, () => res()));
    const q = buildQuery({ id: 0x1234, name: 'www.example', type: 1, rd: true });
    let seed = 99;
    const rnd = () => (seed = (seed * 48271) % 0x7fffffff);
    for (let i = 0; i < 2000; i++) {
      const p = Buffer.from(q.subarray(0, rnd() % (q.length + 4)));
      for (let k = 0; k < 4 && p.length; k++) p[rnd() % p.length] = rnd() & 0xff;
      if (p.length > 2) { p[0] = i % 4 === 0 ? 0xfe : 0x01; if (i % 4 === 0 && p.length > 2) p[2] |= 0x80; }
      sock.send(p, r.port, HOST);
      if (i % 250 === 0) await new Promise((res) => setTimeout(res, 5));
    }
    await new Promise((res) => setTimeout(res, 300));
    sock.close();
    expect(responsesAnswered).toBe(0);
    expect(r.child.exitCode).toBeNull();
    expect(status(dig(HOST, r.port, 'www.example', 'A'))).toBe('NOERROR');
  });

  it('refuses clients outside --allow with no data', async () => {
    const other = await startCli(['--listen', '127.10.6.1:0', '--root-hints', join(dir, 'root.hints'), '--query-localhost', '--no-validate', '--allow', '127.10.7.0/24'], 15_000, env);
    try {
      const out = dig('127.10.6.1', other.port, '-b', '127.10.8.1', 'www.example', 'A');
      expect(status(out)).toBe('REFUSED');
      expect(out).toMatch(/ANSWER: 0, AUTHORITY: 0/);
      expect(status(dig('127.10.6.1', other.port, '-b', '127.10.7.1', 'www.example', 'A'))).toBe('NOERROR');
    } finally {
      expect(await stopCli(other)).toBe(0);
    }
  });

  it('reads a --config file, with flags overriding it, and reports bad keys as FILE:LINE: FIELD', async () => {
    const file = join(dir, 'node.yaml');
    writeFileSync(file, `resolver:\n  listen: ["127.10.6.2:0"]\n  identity: from-file\n  root_hints: root.hints\n  upstream:\n    query_localhost: true\n  validator:\n    enabled: false\n`);
    const c = await startCli(['--config', file, '--identity', 'from-flag']);
    try {
      expect(dig('127.10.6.2', c.port, 'id.server', 'CH', 'TXT', '+short').trim()).toBe('"from-flag"');
      expect(status(dig('127.10.6.2', c.port, 'www.example', 'A'))).toBe('NOERROR');
    } finally {
      await stopCli(c);
    }
    writeFileSync(file, `resolver:\n  listen: ["127.10.6.2:0"]\n  cache:\n    max_ttl: -5\n  wokers: 2\n`);
    const bad = spawnSync(process.execPath, [CLI, 'resolver', '--config', file], { encoding: 'utf8', timeout: 15_000 });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain(`${file}:4: resolver.cache.max_ttl: must be a whole number`);
    expect(bad.stderr).toContain(`${file}:5: resolver.wokers: unknown key`);
  });

  it('validates by default: the same private unsigned root, without --no-validate, is bogus under the built-in root anchors', async () => {
    const c = await startCli(['--listen', '127.10.6.4:0', '--root-hints', join(dir, 'root.hints'), '--query-localhost']);
    try {
      // The private root has no DNSKEY to match the real root's anchors: SERVFAIL with an EDE.
      const out = dig('127.10.6.4', c.port, 'www.example', 'A', '+dnssec');
      expect(status(out), out).toBe('SERVFAIL');
      expect(out).toMatch(/EDE: \d+/);
      // CD=1 asks for the data unvalidated, as a client debugging a broken zone would.
      expect(status(dig('127.10.6.4', c.port, 'www.example', 'A', '+cd'))).toBe('NOERROR');
    } finally {
      await stopCli(c);
    }
  });

  it('exits 0 on SIGTERM', async () => {
    const c = await startCli(['--listen', '127.10.6.3:0', '--root-hints', join(dir, 'root.hints'), '--query-localhost', '--no-validate']);
    const code = await stopCli(c);
    expect(c.stderr()).toMatch(/SIGTERM: shutting down/);
    expect(code, c.stderr()).toBe(0);
  });
});
