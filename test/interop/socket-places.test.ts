// False SERVFAIL under load (issue 16), at a small scale against real NSD servers.
//
// Every upstream UDP query has a socket of its own and the transport keeps at
// most maxUdpSockets of them open; a query that finds them all taken waits for a
// place. A query past its timeout keeps its socket to hear a late answer
// (lingering), and the iterator sends a retry, which takes another place. Under a
// burst in which many queries time out, lingering queries and their retries used
// to hold every place, and queries to healthy servers waited behind them until
// their whole budget was spent: the client got SERVFAIL after the full budget for
// a name that NSD answers at once. Here a few resolutions towards a server that
// has turned slow (it answers after 1.8 s, beyond every per-try timeout) keep
// their queries lingering, while fresh names under a healthy NSD zone arrive.
// Each of those must be answered at once (NSD answers in about a millisecond).
// Loopback: 127.30.21.0/24 (NSD lab; the slow server plays the blackhole host).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLASS, RCODE, TYPE } from '../../dns/constants.js';
import { startAuthLab, type AuthLab } from '../../bench/harness/daemons.js';
import { HOST } from '../../bench/harness/zones.js';
import { sleep } from '../../bench/harness/proc.js';
import { defaultResolverConfig } from '../../resolver/config.js';
import { createIterator, type IteratorHandle } from '../../resolver/iterator/index.js';
import { emptyStats } from '../../resolver/stats.js';
import { UdpTcpTransport } from '../../resolver/transport/upstream.js';
import { reply, rr, startAuthServer, type AuthServer } from './harness/authserver.js';

const PREFIX = '127.30.21';
const BUDGET_MS = 2500;
const SLOW_REPLY_MS = 1800;
const PLACES = 6;
/** A fresh name answered later than this waited for a socket place behind lingering queries. */
const STARVED_MS = 500;

let lab: AuthLab;
let slow: AuthServer;

beforeAll(async () => {
  lab = await startAuthLab(PREFIX, 'places');
  // blackhole.interop's server, here slow rather than silent: every answer comes after SLOW_REPLY_MS.
  slow = await startAuthServer(lab.lab.addr(HOST.blackhole), (q) => ({
    msg: reply(q, { answers: [rr(q.questions[0].name, TYPE.A, 60, '192.0.2.7')] }),
    delayMs: SLOW_REPLY_MS,
  }));
}, 30_000);
afterAll(async () => {
  await slow?.close();
  await lab?.stop();
});

function iterator(transport: UdpTcpTransport): IteratorHandle {
  const cfg = defaultResolverConfig();
  cfg.rootHintsFile = lab.rootHintsFile;
  cfg.upstream.queryLocalhost = true;
  cfg.upstream.resolutionTimeoutMs = BUDGET_MS;
  // The per-try timeout's ceiling: every query to the slow server times out and lingers.
  cfg.upstream.timeoutMs = 300;
  // The iterator alone, no validator in front of it: no DO bit, no DS look-ups at the cuts.
  cfg.validator = { ...cfg.validator!, enabled: false };
  return createIterator(cfg, emptyStats(), { upstream: transport });
}

describe('socket places under a burst of timeouts', () => {
  it('a fresh name under a healthy NSD zone is answered in time while queries to a slow server linger', async () => {
    const stats = emptyStats();
    const transport = new UdpTcpTransport({ ednsUdpSize: 1232, queryLocalhost: true, stats, maxUdpSockets: PLACES });
    const it = iterator(transport);
    try {
      // The delegations are known (root, interop., perf.interop), as in a resolver that has run a while.
      const warm = await it.resolve({ name: 'warm.miss.perf.interop', type: TYPE.A, class: CLASS.IN });
      expect(warm.rcode).toBe(RCODE.NOERROR);

      // Six resolutions towards the slow server at all times, for the length of the test.
      let stop = false;
      let slowStarted = 0;
      const slowLoop = async (k: number) => {
        // Paced and bounded: a resolution that fails at once (the server counted dead for a while) must not spin.
        for (let n = 0; !stop && n < 200; n++) {
          const t0 = performance.now();
          await it.resolve({ name: `s${k}-${slowStarted++}.blackhole.interop`, type: TYPE.A, class: CLASS.IN });
          await sleep(Math.max(0, 50 - (performance.now() - t0)));
        }
      };
      const loops = [0, 1, 2, 3, 4, 5].map(slowLoop);
      await sleep(700);

      // Then 30 fresh names under the healthy zone, 5 every 100 ms.
      const results: Array<Promise<{ name: string; rcode: number; ms: number }>> = [];
      for (let i = 0; i < 30; i++) {
        const name = `f${i}.miss.perf.interop`;
        const t0 = performance.now();
        results.push(it.resolve({ name, type: TYPE.A, class: CLASS.IN }).then((r) => ({ name, rcode: r.rcode, ms: performance.now() - t0 })));
        if (i % 5 === 4) await sleep(100);
      }
      const done = await Promise.all(results);
      stop = true;
      await Promise.all(loops);

      const failed = done.filter((r) => r.rcode !== RCODE.NOERROR);
      const slowest = Math.max(...done.map((r) => r.ms));
      expect(failed.map((r) => `${r.name}: rcode ${r.rcode} after ${Math.round(r.ms)} ms`)).toEqual([]);
      // NSD answers in about a millisecond, and these names need one query each. Before
      // the fix they waited 0.6-1.2 s for a socket place (and a name needing a few
      // queries, or a longer-lingering server, ran out of budget: SERVFAIL); now a few ms.
      expect(slowest, `slowest fresh name took ${Math.round(slowest)} ms`).toBeLessThan(STARVED_MS);
      // The lingering queries gave their places up to the waiting ones.
      expect(transport.places.lingerYielded).toBeGreaterThan(0);
      expect(slow.seen.length, 'the slow server was being asked all along').toBeGreaterThan(3);
      // Every place was given back.
      expect(transport.waitingForSocket).toBe(0);
    } finally {
      await it.close();
    }
    expect(transport.openSockets).toBe(0);
  }, 30_000);
});
