// Interop: DNS cookies and per-client rate limiting of the built resolver, as dig
// and kdig see them. Three nodes answer local names only (no upstream is needed):
// A and B share one cookie secret file and enforce cookies (so a cookie B does not
// accept shows as BADCOOKIE); C has another secret. A client moved from A to B by
// the switch keeps its cookie; C, a node of another service, does not take it.
// D rate-limits (5 qps, burst 10, slip 2) with cookies answered but not enforced.
// Loopback: 127.77.16.0/24 (.1 A, .2 B, .3 C, .4 D), port 5300; the rate-limit
// burst client is 127.77.17.10.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLAG, RCODE, TYPE } from '../../dns/constants.js';
import { query } from '../../bench/harness/client.js';
import { startOurs, type Running } from '../../bench/harness/daemons.js';

const P = '127.77.16';
const A = `${P}.1`, B = `${P}.2`, C = `${P}.3`, D = `${P}.4`;
const PORT = 5300;
const COOKIE = 10;
/** The rate-limit burst test's client: a /24 no other query of this file comes from. */
const BURST_CLIENT = '127.77.17.10';

let dir: string;
const nodes: Running[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'anycast-kit-defence-dig-'));
  writeFileSync(join(dir, 'fleet.secret'), '# the fleet secret, current first\n00112233445566778899aabbccddeeff\n');
  writeFileSync(join(dir, 'other.secret'), 'ffeeddccbbaa99887766554433221100\n');
  writeFileSync(join(dir, 'root.hints'), '.  3600000  NS  A.ROOT-SERVERS.NET.\nA.ROOT-SERVERS.NET.  3600000  A  127.77.16.250\n');
  writeFileSync(join(dir, 'fleet.yaml'), 'resolver:\n  cookies:\n    secret_file: fleet.secret\n    enforce: true\n');
  writeFileSync(join(dir, 'other.yaml'), 'resolver:\n  cookies:\n    secret_file: other.secret\n    enforce: true\n');
  writeFileSync(join(dir, 'limited.yaml'), 'resolver:\n  rate_limit:\n    qps: 5\n    burst: 10\n    slip: 2\n');
  const start = (address: string, config: string) =>
    startOurs({ address, port: PORT, rootHintsFile: join(dir, 'root.hints'), validate: false, extraArgs: ['--config', join(dir, config)] });
  nodes.push(await start(A, 'fleet.yaml'), await start(B, 'fleet.yaml'), await start(C, 'other.yaml'), await start(D, 'limited.yaml'));
}, 30_000);

afterAll(async () => {
  for (const n of nodes) await n.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function run(tool: 'dig' | 'kdig', server: string, ...opts: string[]): string {
  const limits = tool === 'dig' ? ['+tries=1', '+time=2'] : ['+retry=0', '+timeout=2'];
  try {
    return execFileSync(tool, [`@${server}`, '-p', String(PORT), ...limits, ...opts, 'localhost', 'A'], { encoding: 'utf8', timeout: 10_000 });
  } catch (err) {
    // kdig exits non-zero on an error rcode; its output is still what we read.
    const out = (err as { stdout?: string }).stdout;
    if (out) return out;
    throw err;
  }
}

/** status and COOKIE (lower-case hex) from dig's or kdig's output. */
function parse(out: string): { status: string; cookie: string } {
  const status = /status: ([A-Z]+)/.exec(out)?.[1] ?? '?';
  const cookie = (/;+ COOKIE: ([0-9A-Fa-f]+)/.exec(out)?.[1] ?? '').toLowerCase();
  return { status, cookie };
}

describe('DNS cookies with dig and kdig (two nodes sharing one secret)', () => {
  it('dig +cookie: node A answers a server cookie (RFC 9018 form: version 1, timestamp, hash)', () => {
    // Enforcing, A answers a client-only cookie with BADCOOKIE and a fresh cookie; +nobadcookie shows that reply.
    const first = parse(run('dig', A, '+cookie', '+nobadcookie'));
    expect(first.status).toBe('BADCOOKIE');
    expect(first.cookie).toMatch(/^[0-9a-f]{16}01000000[0-9a-f]{24}$/);
    const ts = parseInt(first.cookie.slice(24, 32), 16);
    expect(Math.abs(ts - Date.now() / 1000)).toBeLessThan(60);
  });

  it("a cookie from node A is valid at node B (dig and kdig), and not at C, which has another secret", () => {
    const fromA = parse(run('dig', A, '+cookie', '+nobadcookie')).cookie;
    const atB = parse(run('dig', B, `+cookie=${fromA}`, '+nobadcookie'));
    expect(atB.status).toBe('NOERROR');
    expect(atB.cookie).toBe(fromA); // valid and fresh: echoed as it is
    const kAtB = parse(run('kdig', B, `+cookie=${fromA}`));
    expect(kAtB.status).toBe('NOERROR');
    expect(kAtB.cookie).toBe(fromA);
    const atC = parse(run('dig', C, `+cookie=${fromA}`, '+nobadcookie'));
    expect(atC.status).toBe('BADCOOKIE');
    expect(atC.cookie.slice(0, 16)).toBe(fromA.slice(0, 16)); // our client cookie, a new server cookie
    expect(atC.cookie).not.toBe(fromA);
  });

  it('kdig +cookie learns the cookie at A, and a forged server cookie gets BADCOOKIE at B', () => {
    const k = parse(run('kdig', A, '+cookie'));
    expect(k.cookie).toMatch(/^[0-9a-f]{16}01000000[0-9a-f]{24}$/);
    const forged = k.cookie.slice(0, 32) + '00'.repeat(8);
    expect(parse(run('kdig', B, `+cookie=${forged}`)).status).toBe('BADCOOKIE');
    // dig retries a BADCOOKIE with the new cookie on its own (+badcookie): the answer comes.
    expect(parse(run('dig', B, '+cookie', '+badcookie')).status).toBe('NOERROR');
  });

  it('a COOKIE option of a bad length is FORMERR (RFC 7873 section 5.2.2)', async () => {
    const r = await query('localhost', TYPE.A, { server: A, port: PORT, timeoutMs: 2000, ednsOptions: [{ code: COOKIE, data: randomBytes(12) }] });
    expect(r.msg.rcode).toBe(RCODE.FORMERR);
  });
});

describe('per-client rate limiting (5 qps, burst 10, slip 2)', () => {
  it('over UDP: the burst is answered, then half the excess gets TC=1 and half is dropped; TCP is not limited', async () => {
    // From a /24 of its own, so that its bucket starts full: the start-up readiness
    // probes came from 127.0.0.1 and took tokens there, which a fast machine reached
    // this test too soon to have refilled (9 answered instead of 10).
    const replies = await Promise.all(Array.from({ length: 40 }, () =>
      query('localhost', TYPE.A, { server: D, port: PORT, timeoutMs: 1000, localAddress: BURST_CLIENT }).then((r) => r.msg, () => null)));
    const answered = replies.filter((m) => m && !(m.flags & FLAG.TC) && m.answers.length === 1).length;
    const truncated = replies.filter((m) => m && (m.flags & FLAG.TC) && m.answers.length === 0).length;
    const dropped = replies.filter((m) => m === null).length;
    // 10 from the burst, perhaps one more refilled while the 40 went out.
    expect(answered).toBeGreaterThanOrEqual(10);
    expect(answered).toBeLessThanOrEqual(12);
    expect(truncated).toBeGreaterThanOrEqual(13);
    expect(Math.abs(truncated - dropped)).toBeLessThanOrEqual(1);
    const tcp = await query('localhost', TYPE.A, { server: D, port: PORT, tcp: true, timeoutMs: 2000 });
    expect(tcp.msg.answers.length).toBe(1);
  });

  it('a query with a valid server cookie is not limited (the cookie proves the address)', async () => {
    // Learn a cookie (this reply may itself be limited: TC=1 still carries the cookie).
    const cc = randomBytes(8);
    const first = await query('localhost', TYPE.A, { server: D, port: PORT, timeoutMs: 1000, ednsOptions: [{ code: COOKIE, data: cc }] }).catch(() => null);
    let cookie = first?.msg.edns?.options.find((o) => o.code === COOKIE)?.data;
    if (!cookie) {
      const again = await query('localhost', TYPE.A, { server: D, port: PORT, tcp: true, timeoutMs: 2000, ednsOptions: [{ code: COOKIE, data: cc }] });
      cookie = again.msg.edns?.options.find((o) => o.code === COOKIE)?.data;
    }
    expect(cookie?.length).toBe(24);
    const replies = await Promise.all(Array.from({ length: 30 }, () =>
      query('localhost', TYPE.A, { server: D, port: PORT, timeoutMs: 1000, ednsOptions: [{ code: COOKIE, data: cookie! }] }).then((r) => r.msg, () => null)));
    expect(replies.filter((m) => m && !(m.flags & FLAG.TC) && m.answers.length === 1).length).toBe(30);
  });
});
