// Serve-stale and dead zones end to end: `anycast-kit node` (the built CLI: resolver,
// metrics and SNMP agent) recursing through real NSD servers on 127.10.54.x:53, with
// dig and kdig as clients, curl for /metrics and snmpget for the MIB. The
// authoritative NSD of example. is killed mid-test and the node must keep
// answering the names it knew (RFC 8767: TTL 30, EDE 3 "Stale Answer"), answer a
// name it never knew with SERVFAIL (EDE 22) at once once the zone is known dead,
// and go back to fresh data once the server returns; the counters say so.
// Needs a build (npm test builds first) and the Debian packages nsd, dnsutils,
// knot-dnsutils, snmp, curl.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTool, startNsd, type NsdHandle } from '../lab/harness.js';
import { dig, rootZone } from './cli.js';
import { curl, run, spawnNode, type SpawnedNode } from '../healthcheck/helpers.js';
import { parseExposition } from '../healthcheck/exposition.js';
import { udpQuery } from './helpers.js';
import { TYPE } from '../../dns/constants.js';

const MIB_DIR = join(import.meta.dirname, '../../healthcheck/snmp');

const ROOT_NS = '127.10.54.1';
const EXAMPLE_NS = '127.10.54.2';
const HOST = '127.10.54.10';

function kdig(server: string, port: number, ...args: string[]): string {
  const r = spawnSync('kdig', [`@${server}`, '-p', String(port), '+retry=0', '+timeout=5', '+edns', ...args], { encoding: 'utf8', timeout: 15_000 });
  if (r.error) throw r.error;
  return r.stdout;
}

const status = (out: string) => /status: ([A-Z]+)/.exec(out)?.[1];
const answers = (out: string) => out.split('\n').filter((l) => l && !l.startsWith(';') && /\sIN\s/.test(l));
const ttlOf = (line: string) => Number(line.split(/\s+/)[1]);
/** dig's own measurement of the exchange. */
const queryMs = (out: string) => Number(/Query time: (\d+) msec/.exec(out)?.[1] ?? NaN);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('serve-stale and dead zones: the CLI against NSD, the authority killed', () => {
  let dir: string;
  let root: NsdHandle | undefined;
  let example: NsdHandle | undefined;
  let node: SpawnedNode;
  /** The node's DNS listener, as `dig` wants it. */
  const r = { port: 0 };
  let blackhole: dgram.Socket | undefined;
  const zoneFile = (ip: string) => [
    '$TTL 300',
    'example. SOA ns1.example. host.example. 1 3600 900 604800 2',
    'example. NS ns1.example.',
    'ns1.example. A ' + EXAMPLE_NS,
    `www.example. 2 A ${ip}`,
    'other.example. 2 A 192.0.2.2',
    'mx.example. 2 MX 10 www.example.',
    'hot.example. 4 A 192.0.2.5',
    '',
  ].join('\n');

  beforeAll(async () => {
    requireTool('/usr/bin/dig', 'dnsutils');
    requireTool('/usr/bin/kdig', 'knot-dnsutils');
    dir = mkdtempSync(join(tmpdir(), 'resolver-stale-'));
    writeFileSync(join(dir, 'root.zone'), rootZone(ROOT_NS, EXAMPLE_NS));
    writeFileSync(join(dir, 'example.zone'), zoneFile('192.0.2.1'));
    writeFileSync(join(dir, 'root.hints'), `. 3600000 NS a.root.srv.\na.root.srv. 3600000 A ${ROOT_NS}\n`);
    // Defaults except a short recheck interval, so the return of the server shows within the test.
    writeFileSync(join(dir, 'node.yaml'), 'resolver:\n  serve_stale:\n    recheck_interval: 2\n');
    root = await startNsd(ROOT_NS, 53, [{ name: '.', file: join(dir, 'root.zone') }]);
    example = await startNsd(EXAMPLE_NS, 53, [{ name: 'example.', file: join(dir, 'example.zone') }]);
    node = await spawnNode(['--listen', `${HOST}:0`, '--health-listen', `${HOST}:0`, '--snmp-listen', `${HOST}:0`, '--snmp-community', 'akstale',
      '--root-hints', join(dir, 'root.hints'), '--query-localhost', '--no-validate', '--config', join(dir, 'node.yaml')]);
    r.port = node.info.dns[0].port;
  });

  afterAll(async () => {
    if (node) { node.kill(); await node.exited; }
    blackhole?.close();
    await example?.stop();
    await root?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('prefetch: a name with a 4 s TTL asked 10 times a second is refreshed before it expires (cache misses with prefetch and with --no-prefetch)', async () => {
    const OFF = '127.10.54.11';
    const off = await spawnNode(['--listen', `${OFF}:0`, '--health-listen', `${OFF}:0`, '--no-prefetch',
      '--root-hints', join(dir, 'root.hints'), '--query-localhost', '--no-validate', '--config', join(dir, 'node.yaml')]);
    try {
      const misses = async (n: SpawnedNode, host: string) =>
        parseExposition((await curl(`http://${host}:${n.info.health.port}/metrics`)).body).samples.get('anycastkit_cache_misses_total') ?? NaN;
      const hammer = async (n: SpawnedNode, host: string) => {
        const before = await misses(n, host);
        let answered = 0;
        const end = performance.now() + 9000;
        while (performance.now() < end) {
          const m = await udpQuery(host, n.info.dns[0].port, { name: 'hot.example', type: TYPE.A }, { timeoutMs: 1000 }).catch(() => undefined);
          if (m?.answers.length === 1) answered++;
          await sleep(100);
        }
        return { answered, misses: (await misses(n, host)) - before };
      };
      const [on, without] = await Promise.all([hammer(node, HOST), hammer(off, OFF)]);
      const ctx = JSON.stringify({ on, without });
      if (process.env.AK_STALE_VERBOSE) console.log(ctx);
      expect(on.answered, ctx).toBeGreaterThan(30);
      expect(without.answered, ctx).toBeGreaterThan(30);
      // With prefetch only the first question misses (a second only if a stall on a
      // loaded box skipped the whole 0.4 s window); without, one miss per TTL (4 s) in 9 s.
      expect(on.misses, ctx).toBeLessThanOrEqual(2);
      expect(without.misses, ctx).toBeGreaterThanOrEqual(3);
      expect(on.misses, ctx).toBeLessThan(without.misses);
      const m = parseExposition((await curl(`http://${HOST}:${node.info.health.port}/metrics`)).body).samples;
      expect(m.get('anycastkit_cache_prefetches_total'), ctx).toBeGreaterThanOrEqual(2);
    } finally {
      off.kill();
      await off.exited;
    }
  }, 40_000);

  it('keeps answering the names it knew after the authority is killed, with TTL 30 and EDE 3; a name it never knew gets SERVFAIL (EDE 22) at once; fresh data once the server is back', async () => {
    // Learn three names while the authority is up.
    const fresh = dig(HOST, r.port, 'www.example', 'A');
    expect(answers(fresh)).toEqual([expect.stringMatching(/^www\.example\.\s+2\s+IN\s+A\s+192\.0\.2\.1$/)]);
    expect(fresh).not.toMatch(/EDE/);
    expect(status(dig(HOST, r.port, 'other.example', 'A'))).toBe('NOERROR');
    expect(status(dig(HOST, r.port, 'mx.example', 'MX'))).toBe('NOERROR');

    // The authority dies; its answers expire. Its address then drops queries
    // without a word (a host gone dark, as on the internet, where no ICMP comes back).
    await example!.stop();
    example = undefined;
    blackhole = dgram.createSocket('udp4');
    await new Promise<void>((res) => blackhole!.bind(53, EXAMPLE_NS, res));
    await sleep(2500);

    // First question after the outage: the servers are not known dead yet, so the
    // node tries them and answers stale when the client timer (1.8 s) runs out.
    const t0 = performance.now();
    const stale = dig(HOST, r.port, 'www.example', 'A', '+time=6');
    const ms = performance.now() - t0;
    expect(status(stale)).toBe('NOERROR');
    expect(stale).toMatch(/EDE: 3 \(Stale Answer\)/);
    const [line] = answers(stale);
    expect(line).toMatch(/^www\.example\.\s+\d+\s+IN\s+A\s+192\.0\.2\.1$/);
    expect(ttlOf(line)).toBe(30);
    expect(ms).toBeGreaterThanOrEqual(1700);
    expect(ms).toBeLessThan(3500);

    // kdig sees the same for another name it knew.
    const k = kdig(HOST, r.port, "other.example", "A");
    expect(k).toMatch(/EDE: 3 \(Stale Answer\)/);
    expect(answers(k)[0]).toMatch(/^other\.example\.\s+\d+\s+IN\s+A\s+192\.0\.2\.2$/);

    // Once the first resolution has spent its budget the zone is known dead: a name
    // the node never knew gets SERVFAIL with EDE 22 within 50 ms, and a name it knew
    // gets its stale answer as fast (serve-stale wins over the SERVFAIL).
    await sleep(2500);
    const never = dig(HOST, r.port, 'never-seen.example', 'A');
    expect(status(never)).toBe('SERVFAIL');
    expect(never).toMatch(/EDE: 22 \(No Reachable Authority\)/);
    expect(queryMs(never)).toBeLessThan(50);
    const mx = kdig(HOST, r.port, 'mx.example', 'MX');
    expect(mx).toMatch(/EDE: 3 \(Stale Answer\)/);
    expect(answers(mx)[0]).toMatch(/^mx\.example\.\s+\d+\s+IN\s+MX\s+10 www\.example\.$/);
    const again = dig(HOST, r.port, 'www.example', 'A');
    expect(again).toMatch(/EDE: 3 \(Stale Answer\)/);
    expect(queryMs(again)).toBeLessThan(50);

    // The server returns with new data: background probes find it, and after the
    // recheck interval (2 s here) the node answers fresh data again.
    writeFileSync(join(dir, 'example.zone'), zoneFile('192.0.2.9'));
    await new Promise<void>((res) => blackhole!.close(() => res()));
    blackhole = undefined;
    example = await startNsd(EXAMPLE_NS, 53, [{ name: 'example.', file: join(dir, 'example.zone') }]);
    const deadline = performance.now() + 40_000;
    let last = '';
    for (let i = 0; performance.now() < deadline; i++) {
      last = dig(HOST, r.port, 'www.example', 'A');
      if (!/EDE/.test(last) && /192\.0\.2\.9/.test(last)) break;
      await sleep(500);
    }
    expect(answers(last)).toEqual([expect.stringMatching(/^www\.example\.\s+2\s+IN\s+A\s+192\.0\.2\.9$/)]);
    expect(last).not.toMatch(/EDE/);

    // The counters: every stale answer above (www twice at least, other, mx), the
    // dead-zone SERVFAIL, and the probes that found the server again.
    const m = parseExposition((await curl(`http://${HOST}:${node.info.health.port}/metrics`)).body).samples;
    expect(m.get('anycastkit_cache_stale_total')).toBeGreaterThanOrEqual(4);
    expect(m.get('anycastkit_dead_zone_servfails_total')).toBeGreaterThanOrEqual(1);
    expect(m.get('anycastkit_upstream_probes_total')).toBeGreaterThanOrEqual(1);
    expect(m.has('anycastkit_cache_prefetches_total')).toBe(true);
    // The same through SNMP (the agent is refreshed every health interval, 1 s).
    await sleep(1200);
    const snmp = await run('snmpget', ['-v2c', '-c', 'akstale', '-t', '1', '-r', '1', '-Oqv', '-M', `+${MIB_DIR}`, '-m', 'ANYCAST-KIT-MIB',
      `${HOST}:${node.info.snmp!.port}`, 'ANYCAST-KIT-MIB::akCacheStale.0', 'ANYCAST-KIT-MIB::akUpstreamDeadZoneServfails.0', 'ANYCAST-KIT-MIB::akUpstreamProbes.0']);
    const [staleN, dead, probes] = snmp.stdout.trim().split('\n').map(Number);
    expect(staleN, snmp.stdout + snmp.stderr).toBeGreaterThanOrEqual(4);
    expect(dead).toBeGreaterThanOrEqual(1);
    expect(probes).toBeGreaterThanOrEqual(1);
  }, 90_000);
});
