// Reload, control and warm start of the built CLI (dist/), against real NSD and
// real dig: SIGHUP with a good and a bad config, the control socket's commands,
// the cache surviving a reload, the dump on SIGTERM and the warm start from it
// (and the cold start from a truncated, bit-flipped or foreign-version dump),
// --workers 2 reached by every command, and `node` kept out of service while it
// warms. Loopback only: NSD's lab on 127.30.151.0/24, ours on .21.

import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAuthLab, oursCli, type AuthLab } from '../../bench/harness/daemons.js';
import { startDaemon, type Daemon } from '../../bench/harness/proc.js';
import { HOST } from '../../bench/harness/zones.js';
import { DUMP_FORMAT_VERSION } from '../../resolver/cache/dump.js';

const run = promisify(execFile);
const P = '127.30.151';
const OURS = `${P}.${HOST.ours}`;
const PORT = 15351;

let auth: AuthLab;
let dir: string;
/** blackhole.interop's server: reads every query and never answers, so a resolution into it takes the whole budget. */
let blackhole: dgram.Socket;

async function dig(name: string, type = 'A', extra: string[] = [], port = PORT, server = OURS): Promise<{ status: string; answers: string[]; text: string }> {
  const r = await run('dig', [`@${server}`, '-p', String(port), '+tries=1', '+time=6', '+nocookie', name, type, ...extra], { timeout: 15_000 });
  const status = /status: (\w+)/.exec(r.stdout)?.[1] ?? 'none';
  const answers = r.stdout.split('\n').filter((l) => l && !l.startsWith(';') && /\sIN\s/.test(l)).map((l) => l.replace(/\s+/g, ' ').trim());
  return { status, answers, text: r.stdout };
}

async function control(sock: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await run(process.execPath, [oursCli(), 'control', '--socket', sock, ...args], { timeout: 20_000 });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

async function waitLog(d: Daemon, re: RegExp, timeoutMs = 15_000): Promise<string> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    const m = re.exec(d.log());
    if (m) return m[0];
    if (d.exited()) throw new Error(`${d.name} exited: ${JSON.stringify(d.exited())}\n${d.log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no log line matching ${re} within ${timeoutMs} ms:\n${d.log()}`);
}

function writeConfig(file: string, extra: string[] = [], allow = '[127.0.0.0/8]'): void {
  writeFileSync(file, [
    'resolver:',
    `  listen: ["${OURS}:${PORT}"]`,
    `  root_hints: ${auth.rootHintsFile}`,
    `  allow: ${allow}`,
    '  upstream:',
    '    query_localhost: true',
    '  validator: { enabled: false }   # a private unsigned root',
    '  control:',
    `    socket: ${join(dir, 'ctl.sock')}`,
    '  warm_start:',
    `    dump_file: ${join(dir, 'cache.dump')}`,
    ...extra,
    '',
  ].join('\n'));
}

function startResolver(cfg: string, args: string[] = []): Daemon {
  return startDaemon('anycast-kit resolver', process.execPath, [oursCli(), 'resolver', '--config', cfg, ...args]);
}

async function stats(sock: string): Promise<Record<string, number>> {
  const r = await control(sock, 'stats');
  expect(r.code, r.err).toBe(0);
  return Object.fromEntries(r.out.trim().split('\n').map((l) => { const [k, v] = l.split('='); return [k, Number(v)]; }));
}

async function stopAndWait(d: Daemon): Promise<void> {
  d.child.kill('SIGTERM');
  const t0 = Date.now();
  while (!d.exited() && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 50));
  if (!d.exited()) { await d.stop(500); throw new Error(`did not stop on SIGTERM:\n${d.log()}`); }
}

beforeAll(async () => {
  auth = await startAuthLab(P, 'ops');
  blackhole = dgram.createSocket('udp4');
  blackhole.on('message', () => {});
  await new Promise<void>((resolve) => blackhole.bind(53, `${P}.${HOST.blackhole}`, () => resolve()));
  dir = mkdtempSync(join(tmpdir(), 'ak-ops-'));
}, 60_000);

afterAll(async () => {
  blackhole?.close();
  await auth?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('SIGHUP and the control socket (real resolver, NSD, dig)', () => {
  it('reloads a good config without losing the cache, keeps the old one on a bad file, and answers control commands', async () => {
    const cfg = join(dir, 'r.yaml');
    const sock = join(dir, 'ctl.sock');
    writeConfig(cfg);
    const d = startResolver(cfg);
    try {
      await waitLog(d, /listening on/);
      expect(statSync(sock).mode & 0o777).toBe(0o600);
      const first = await dig('www.a.interop');
      expect(first.status).toBe('NOERROR');
      expect(first.answers.join('\n')).toMatch(/192\.0\.2\.1/);
      const before = await stats(sock);
      expect(before.cacheEntries).toBeGreaterThanOrEqual(1);

      // A query in flight across the reload still gets its answer: the blackhole
      // zone's server never replies, so the resolution outlasts the reload.
      const inflight = dig('x.blackhole.interop');
      await new Promise((r) => setTimeout(r, 300));

      // Good config: clients outside the new allow list are refused at once...
      writeConfig(cfg, ['  max_inflight: 500'], '[10.0.0.0/8]');
      d.child.kill('SIGHUP');
      await waitLog(d, /reloaded: changed: allow, maxInflight/);
      expect((await dig('www.a.interop')).status).toBe('REFUSED');
      expect((await inflight).status).toBe('SERVFAIL');
      // ...and back: the cache survived, the answer comes from it with its TTL counting down.
      writeConfig(cfg);
      d.child.kill('SIGHUP');
      await waitLog(d, /reloaded: changed: allow, maxInflight\n[^]*reloaded: changed: allow, maxInflight/);
      const hitsBefore = (await stats(sock)).cacheHits;
      const again = await dig('www.a.interop');
      expect(again.status).toBe('NOERROR');
      // kdig too: a second client implementation sees the same cached answer.
      const k = await run('kdig', [`@${OURS}`, '-p', String(PORT), '+retry=0', '+timeout=5', 'www.a.interop', 'A'], { timeout: 15_000 });
      expect(k.stdout).toMatch(/status: NOERROR/);
      expect(k.stdout).toMatch(/www\.a\.interop\.\s+\d+\s+IN\s+A\s+192\.0\.2\.[12]/);
      expect((await stats(sock)).cacheHits).toBe(hitsBefore + 2);

      // Bad config: reported as FILE:LINE: FIELD: MESSAGE, the process lives, the old config stays.
      writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('  allow: [127.0.0.0/8]', '  allow: [127.0.0.0/8]\n  max_inflight: -5'));
      d.child.kill('SIGHUP');
      const line = await waitLog(d, /reload refused, the running config stays: [^\n]+/);
      expect(line).toContain(`${cfg}:5: resolver.max_inflight: must be a whole number from 1 to 1000000, got -5`);
      expect(d.exited()).toBeUndefined();
      expect((await dig('www.a.interop')).status).toBe('NOERROR');
      const viaControl = await control(sock, 'reload');
      expect(viaControl.code).toBe(1);
      expect(viaControl.err).toContain(`${cfg}:5: resolver.max_inflight`);
      const s = await stats(sock);
      expect(s['ops.reloads']).toBe(2);
      expect(s['ops.reloadFailures']).toBe(2);

      // flush NAME: the next query is a miss again.
      writeConfig(cfg);
      const missesBefore = s.cacheMisses;
      const fl = await control(sock, 'flush', 'www.a.interop');
      expect(fl.code, fl.err).toBe(0);
      expect(fl.out).toMatch(/^flushed 1 answers and [1-9]\d* names of RRsets for www\.a\.interop/);
      expect((await dig('www.a.interop')).status).toBe('NOERROR');
      expect((await stats(sock)).cacheMisses).toBe(missesBefore + 1);
      // flush-negative drops a cached NXDOMAIN, flush-zone everything below a name.
      expect((await dig('nothere.a.interop')).status).toBe('NXDOMAIN');
      const neg = await control(sock, 'flush-negative');
      expect(neg.out).toMatch(/^flushed [1-9]\d* negative or SERVFAIL answers/);
      await dig('mx.a.interop', 'MX');
      const zone = await control(sock, 'flush-zone', 'a.interop');
      expect(zone.out).toMatch(/^flushed [2-9]\d* answers and [1-9]\d* names of RRsets at and below a\.interop/);
      const json = await control(sock, '--json', 'stats');
      const parsed = JSON.parse(json.out) as { ops: { flushedEntries: number } };
      expect(parsed.ops.flushedEntries).toBeGreaterThan(3);
      expect((await control(sock, 'flush', 'bad..name')).code).toBe(1);
      expect((await control(sock, 'nonsense')).code).toBe(2);

      // Only root or the service user: another user cannot open a 0600 socket.
      // (Debian's python3 makes the connect: the checkout, and the node in it, may itself
      // be unreadable to nobody, as in a mktemp clone.)
      const connect = 'import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])';
      const nobody = await run('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', '/usr/bin/python3', '-c', connect, sock])
        .then(() => ({ code: 0, err: '' }), (e: { code: number; stderr: string }) => ({ code: e.code, err: e.stderr }));
      expect(nobody.code).toBe(1);
      expect(nobody.err).toMatch(/Permission denied/);
    } finally {
      await d.stop();
    }
    expect(d.log()).not.toMatch(/exit(ed)? 129|SIGHUP: .*kill/);
  }, 90_000);

  it('flush reaches the RRset cache and the validator with validation on (the default)', async () => {
    // A trust anchor for a zone outside the lab: validation is on, and every lab zone
    // is insecure (no anchor above it), as an unsigned zone is on the Internet.
    const cfg = join(dir, 'v.yaml');
    const sock = join(dir, 'ctl.sock');
    writeConfig(cfg);
    writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('  validator: { enabled: false }   # a private unsigned root',
      '  validator:\n    enabled: true\n    trust_anchors: ["elsewhere.invalid. IN DS 12345 13 2 ' + 'ab'.repeat(32) + '"]'));
    const d = startResolver(cfg);
    try {
      await waitLog(d, /listening on/);
      expect((await dig('www.a.interop')).status).toBe('NOERROR');
      const before = await stats(sock);
      // Before the fix the validator's resolution hid the RRset cache from the control
      // commands: "0 names of RRsets", and the next query was answered from the RRsets
      // still cached, never asking the authority again.
      const fl = await control(sock, 'flush', 'www.a.interop');
      expect(fl.code, fl.err).toBe(0);
      expect(fl.out).toMatch(/^flushed 1 answers and [1-9]\d* names of RRsets for www\.a\.interop, and \d+ DNSSEC entries/);
      expect((await dig('www.a.interop')).status).toBe('NOERROR');
      const after = await stats(sock);
      expect(after.upstreamQueries).toBeGreaterThan(before.upstreamQueries);
      const zone = await control(sock, 'flush-zone', 'a.interop');
      expect(zone.out).toMatch(/^flushed [1-9]\d* answers and [1-9]\d* names of RRsets at and below a\.interop, and \d+ DNSSEC entries/);
      expect((await dig('nothere.a.interop')).status).toBe('NXDOMAIN');
      const neg = await control(sock, 'flush-negative');
      expect(neg.out).toMatch(/^flushed [1-9]\d* negative or SERVFAIL answers and [1-9]\d* negative RRset entries, and \d+ DNSSEC entries/);
    } finally {
      await d.stop();
    }
  }, 60_000);
});

describe('warm start (real resolver, NSD, dig)', () => {
  it('dumps on SIGTERM and starts warm with TTLs reduced; a damaged or foreign dump means a cold start', async () => {
    const cfg = join(dir, 'w.yaml');
    const sock = join(dir, 'ctl.sock');
    const dump = join(dir, 'cache.dump');
    rmSync(dump, { force: true });
    writeConfig(cfg);
    let d = startResolver(cfg);
    await waitLog(d, /no cache dump at .*starting cold/);
    await waitLog(d, /listening on/);
    for (const n of ['www.a.interop', 'mail.a.interop', 'sip.a.interop']) expect((await dig(n)).status).toBe('NOERROR');
    await stopAndWait(d);
    expect(d.log()).toMatch(/warm start: wrote [3-9]\d* answers to /);
    expect(existsSync(dump)).toBe(true);
    const good = readFileSync(dump);

    await new Promise((r) => setTimeout(r, 2100));
    d = startResolver(cfg);
    try {
      const loaded = await waitLog(d, /loaded (\d+) answers from /);
      expect(Number(/loaded (\d+)/.exec(loaded)![1])).toBeGreaterThanOrEqual(3);
      await waitLog(d, /listening on/);
      const www = await dig('www.a.interop');
      expect(www.status).toBe('NOERROR');
      const ttl = Number(www.answers[0].split(' ')[1]);
      expect(ttl).toBeLessThanOrEqual(298);
      expect(ttl).toBeGreaterThan(200);
      const s = await stats(sock);
      expect(s.cacheHits).toBe(1);
      expect(s.cacheMisses).toBe(0);
      expect(s['ops.dumpEntriesLoaded']).toBeGreaterThanOrEqual(3);
    } finally {
      await stopAndWait(d);
    }

    const flipped = Buffer.from(good);
    flipped[Math.floor(flipped.length / 2)] ^= 0x10;
    const foreign = Buffer.from(good);
    foreign.writeUInt16BE(DUMP_FORMAT_VERSION + 1, 8);
    const cases: Array<[string, Buffer, RegExp]> = [
      ['truncated', good.subarray(0, good.length - 40), /rejected: damaged or truncated: checksum mismatch; starting cold/],
      ['bit-flipped', flipped, /rejected: damaged or truncated: checksum mismatch; starting cold/],
      ['another version', foreign, new RegExp(`rejected: dump format version ${DUMP_FORMAT_VERSION + 1}, this build reads version ${DUMP_FORMAT_VERSION}; starting cold`)],
      ['not a dump', Buffer.from('garbage'.repeat(20)), /rejected: not an anycast-kit cache dump \(bad magic\); starting cold/],
    ];
    for (const [what, bytes, line] of cases) {
      writeFileSync(dump, bytes);
      d = startResolver(cfg);
      try {
        await waitLog(d, line);
        await waitLog(d, /listening on/);
        const r = await dig('www.a.interop');
        expect(r.status, what).toBe('NOERROR');
        const s = await stats(sock);
        expect(s.cacheMisses, what).toBe(1);
        expect(s['ops.dumpsRejected'], what).toBe(1);
      } finally {
        await d.stop();
      }
    }
  }, 120_000);

  it('--workers 2: flush and dump reach both workers, the dump is one file, and both workers load it', async () => {
    const cfg = join(dir, 'k.yaml');
    const sock = join(dir, 'ctl.sock');
    const dump = join(dir, 'cache.dump');
    rmSync(dump, { force: true });
    writeConfig(cfg, ['  workers: 2']);
    let d = startResolver(cfg);
    try {
      await waitLog(d, /listening on/);
      // Different source ports land on either worker; ask enough times that both cache it.
      for (let i = 0; i < 12; i++) expect((await dig('www.a.interop')).status).toBe('NOERROR');
      const st = await stats(sock);
      expect(st.workers).toBe(2);
      const fl = await control(sock, 'flush', 'www.a.interop');
      expect(fl.out).toMatch(/over 2 workers/);
      const after = await stats(sock);
      expect(after.cacheEntries).toBeLessThan(st.cacheEntries);
      for (let i = 0; i < 12; i++) await dig('www.a.interop');
      const dc = await control(sock, 'dump-cache');
      expect(dc.out, dc.err).toMatch(/^wrote [1-9]\d* answers from 2 workers to /);
      const rl = await control(sock, 'reload');
      expect(rl.code, rl.err).toBe(0);
      expect((await stats(sock))['ops.reloads']).toBe(1);
    } finally {
      await stopAndWait(d);
    }
    expect(d.log()).toMatch(/warm start: wrote [1-9]\d* answers from 2 workers/);
    d = startResolver(cfg);
    try {
      await waitLog(d, /worker 0\]: warm start: loaded [1-9]\d* answers/);
      await waitLog(d, /worker 1\]: warm start: loaded [1-9]\d* answers/);
      await waitLog(d, /listening on/);
      for (let i = 0; i < 6; i++) expect((await dig('www.a.interop')).status).toBe('NOERROR');
      expect((await stats(sock)).cacheMisses).toBe(0);
    } finally {
      await d.stop();
    }
  }, 90_000);

  it('node: /health and the probe name say "warming" while names are resolved, then the node comes up', async () => {
    const cfg = join(dir, 'n.yaml');
    const names = join(dir, 'names.txt');
    // Blackhole names take the whole resolution budget (4 s) each: one at a time,
    // warming outlasts its 3 s limit.
    writeFileSync(names, '# top names\nwww.a.interop\nmx.a.interop MX\nx1.blackhole.interop\nx2.blackhole.interop\nbad..name\n');
    chmodSync(names, 0o644);
    writeConfig(cfg, ['    names_file: names.txt', '    concurrency: 1', '    time_limit_s: 3', 'health:', `  listen: ${OURS}:${PORT + 1}`, '  interval: 500ms', '  rise: 1', '  lameduck: 1s']);
    rmSync(join(dir, 'cache.dump'), { force: true });
    const d = startDaemon('anycast-kit node', process.execPath, [oursCli(), 'node', '--config', cfg]);
    try {
      await waitLog(d, /resolving 4 names from/);
      expect(d.log()).toMatch(new RegExp(`${names}:6: name: "bad\\.\\.name" is not a domain name`));
      await waitLog(d, /dns on /);
      const health = await run('curl', ['-s', '-w', ' %{http_code}', `http://${OURS}:${PORT + 1}/health`]);
      expect(health.stdout).toMatch(/^UNAVAILABLE warming: [^\n]*\n 503$/);
      const probe = await dig('health.anycast-kit.invalid', 'TXT');
      expect(probe.status).toBe('REFUSED');
      expect(probe.text).toMatch(/EDE: 14 \(Not Ready\): \(warming\)/);
      const done = await waitLog(d, /warm start: 2 of 4 names resolved in (\d+) ms \(time limit reached or stopped\); warming done/, 10_000);
      expect(Number(/in (\d+) ms/.exec(done)![1])).toBeLessThan(3600);
      const t0 = Date.now();
      let code = '';
      while (Date.now() - t0 < 8000 && code !== '200') {
        code = (await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://${OURS}:${PORT + 1}/health`])).stdout;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(code).toBe('200');
      expect((await dig('health.anycast-kit.invalid', 'TXT')).status).toBe('NOERROR');
      // The warmed name is a cache hit from the first client question on.
      expect((await dig('www.a.interop')).status).toBe('NOERROR');
      const metrics = (await run('curl', ['-s', `http://${OURS}:${PORT + 1}/metrics`])).stdout;
      expect(metrics).toMatch(/^anycastkit_warm_names_resolved_total 2$/m);
      expect(metrics).toMatch(/^anycastkit_warming 0$/m);
      expect(metrics).toMatch(/^anycastkit_cache_hits_total [1-9]/m);
      // SIGHUP on the node reloads too.
      d.child.kill('SIGHUP');
      await waitLog(d, /reloaded: no setting changed/);
      expect(d.exited()).toBeUndefined();
    } finally {
      await d.stop(8000);
    }
  }, 90_000);
});
