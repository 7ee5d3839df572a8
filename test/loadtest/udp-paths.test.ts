// The two UDP paths of `loadtest run` — the fastudp addon (recvmmsg/sendmmsg) and the
// node:dgram fallback — run the same fixed --count runs against the same unbound
// (127.40.6.1, sources 127.41.6.x) and must both complete exactly, with the same split.
// ANYCAST_KIT_UDP=native makes the CLI fail when the addon cannot load, so a missing
// build fails here instead of quietly testing dgram twice.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../loadtest/driver/results.js';
import { queriesBySource, startUnbound, type UnboundHandle } from '../../bench/harness/local-unbound.js';
import { runCli } from './cli-helper.js';

const zone = {
  localZones: [['lt.test.', 'static'], ['refused.test.', 'refuse']] as Array<[string, string]>,
  localData: ['a.lt.test. 300 IN A 192.0.2.1', 'b.lt.test. 300 IN A 192.0.2.2',
    ...Array.from({ length: 20 }, (_, i) => `big.lt.test. 300 IN TXT "${String(i).padStart(2, '0')}${'x'.repeat(38)}"`)],
};
// Per 5 lines: 3 NOERROR (one of them truncated: 20 TXT strings need more than 512 bytes), 1 NXDOMAIN, 1 REFUSED.
const MIXED = 'a.lt.test A\nb.lt.test A\nbig.lt.test TXT\nnope.lt.test A\nx.refused.test A\n';

let dir: string;
let file: string;
let ub: UnboundHandle;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lt-paths-'));
  file = join(dir, 'mixed.txt');
  writeFileSync(file, MIXED);
  // A 4 MB receive buffer, as a busy resolver should have: with sendmmsg a 200-query window
  // reaches unbound at once, and its default 208 KB buffer drops a few of them (the kernel's
  // RcvbufErrors counts them: the server's loss, not the generator's).
  ub = await startUnbound({ address: '127.40.6.1', logQueries: true, ...zone, extra: ['so-rcvbuf: 4m'] });
});
afterAll(async () => {
  await ub?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function run(path: 'native' | 'dgram', extra: string[]): Promise<RunResult> {
  const r = await runCli(['loadtest', 'run', '--server', `${ub.address}:${ub.port}`, '--queries', file, '--json', ...extra], 60_000, { ANYCAST_KIT_UDP: path });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as RunResult;
}

function expectExact(res: RunResult, path: 'native' | 'dgram', n: number): void {
  expect(res.udpPath).toBe(path);
  expect(res.sent).toBe(n);
  expect(res.completed).toBe(n);
  expect(res.lost).toBe(0);
  expect(res.rcodes).toEqual({ NOERROR: (3 * n) / 5, NXDOMAIN: n / 5, REFUSED: n / 5 });
  expect(res.truncated).toBe(n / 5);
  expect(res.unmatched).toBe(0);
  expect(res.malformed).toBe(0);
  expect(res.ownSocketDrops).toBe(0);
  expect(res.unsent).toEqual({ noFreeId: 0, noConnection: 0, behindSchedule: 0, sendBufferFull: 0 });
  expect(res.errors).toEqual({});
}

describe('native and dgram UDP paths, same server, same runs', () => {
  for (const path of ['native', 'dgram'] as const) {
    it(`${path}: closed loop, --count 10000 from 4 sources, exact, and unbound saw each source's share`, async () => {
      const before = queriesBySource(ub.log());
      const res = await run(path, ['--count', '10000', '--clients', '200', '--sources', '127.41.6.1,127.41.6.2,127.41.6.3,127.41.6.4']);
      expectExact(res, path, 10000);
      expect(res.sources!.map((s) => s.address)).toEqual(['127.41.6.1', '127.41.6.2', '127.41.6.3', '127.41.6.4']);
      let seen = new Map<string, number>();
      for (let i = 0; i < 50; i++) {
        const after = queriesBySource(ub.log());
        seen = new Map([...after].map(([k, v]) => [k, v - (before.get(k) ?? 0)]));
        if (res.sources!.every((s) => seen.get(s.address) === s.sent)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      for (const s of res.sources!) {
        expect(s.completed).toBe(s.sent);
        expect(s.sent).toBeGreaterThan(1000);
        expect(seen.get(s.address)).toBe(s.sent);
      }
    });

    it(`${path}: open loop, --qps 5000 --count 5000, exact`, async () => {
      expectExact(await run(path, ['--qps', '5000', '--count', '5000']), path, 5000);
    });

    it(`${path}: --threads 2, --count 6000, exact (the addon loads in worker threads)`, async () => {
      const res = await run(path, ['--count', '6000', '--threads', '2']);
      expect(res.threads).toBe(2);
      expectExact(res, path, 6000);
    });
  }
});
