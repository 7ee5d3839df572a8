// Random-subdomain (water-torture) floods, our resolver beside unbound, one after
// the other under the same conditions (issue 15, item 4):
//   attacker:   dnsperf sends 5,000 qps (quick: 1,000) of random names under a zone,
//               every name fresh: under victim.flood (NSD answers NXDOMAIN), then
//               under dead.flood (delegated to an address where nothing answers);
//   legitimate: meanwhile one client asks, one query every 20 ms, alternately a
//               name of a warm set it asked before the flood (w0..w99.good.flood,
//               should be cache hits) and a name it never asked (fresh.N.good.flood,
//               a miss that needs the upstream: a wildcard answers it). A query counts
//               as answered correctly when the right address comes back within 2 s,
//               at the first try (no retry).
//   memory:     VmRSS of the resolver's process tree before the flood (after the warm
//               set) and after it; the growth is the figure (target < 10%).
// Each resolver is started fresh for each flood, warmed with the warm set, then
// the legitimate client runs alone for 5 s before the "before" RSS reading, so the
// growth measured is the flood's, not the new process's own warming up. Targets: >= 90% of legitimate
// queries answered correctly, RSS growth < 10%.
// Loopback: 127.90.15.0/24 (.1 root NSD, .2 zones NSD, .3 the dead server's address,
// .20 unbound, .21 unbound with ratelimit, .22 ours).

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RCODE, TYPE } from '../dns/constants.js';
import { rdataToText } from '../dns/rdata.js';
import { query } from './harness/client.js';
import { DNSPERF_BIN, oursUnavailableReason, startNsd, startOurs, startUnbound, type Running } from './harness/daemons.js';
import { runDnsperf, type DnsperfResult } from './harness/dnsperf.js';
import { requireBinary, sleep } from './harness/proc.js';
import type { BenchOptions, BenchReport } from './types.js';

const PREFIX = '127.90.15';
const ROOT = `${PREFIX}.1`, ZONES = `${PREFIX}.2`, DEAD = `${PREFIX}.3`;
const WARM = 100;
const LEGIT_INTERVAL_MS = 20;
/** The legitimate client runs alone this long before the flood (and before the "before" RSS reading). */
const PRE_FLOOD_MS = 5000;

function zones(): { root: string; victim: string; good: string } {
  return {
    root: `$ORIGIN .
$TTL 86400
.        SOA a.root-servers.net. hostmaster.root-servers.net. 1 1800 900 604800 86400
.        NS  a.root-servers.net.
a.root-servers.net. A ${ROOT}
flood.   NS  ns.flood.
ns.flood. A  ${ZONES}
`,
    // flood. holds both test zones' delegations: victim (NXDOMAIN for everything but its apex) and dead.
    victim: `$ORIGIN flood.
$TTL 3600
@        SOA ns.flood. hostmaster.flood. 1 3600 900 604800 300
@        NS  ns
ns       A   ${ZONES}
victim   NS  ns.victim
ns.victim A  ${ZONES}
good     NS  ns.good
ns.good  A   ${ZONES}
dead     NS  ns.dead
ns.dead  A   ${DEAD}
`,
    good: `$ORIGIN good.flood.
$TTL 3600
@        SOA ns.good.flood. hostmaster.flood. 1 3600 900 604800 300
@        NS  ns
ns       A   ${ZONES}
*        A   198.51.100.7
${Array.from({ length: WARM }, (_, i) => `w${i} A 198.51.100.${(i % 200) + 10}`).join('\n')}
`,
  };
}

const victimZone = `$ORIGIN victim.flood.
$TTL 3600
@        SOA ns.victim.flood. hostmaster.flood. 1 3600 900 604800 300
@        NS  ns
ns       A   ${ZONES}
www      A   192.0.2.80
`;

interface Legit { sent: number; ok: number; warmOk: number; warmSent: number; freshOk: number; freshSent: number }

/** The legitimate client: until `stop()`, alternately a warm name and a fresh one, one query every 20 ms. */
function legitimate(server: string, tag: string): { stop: () => Promise<Legit> } {
  const out: Legit = { sent: 0, ok: 0, warmOk: 0, warmSent: 0, freshOk: 0, freshSent: 0 };
  const pending: Array<Promise<void>> = [];
  let running = true;
  let n = 0;
  const loop = (async () => {
    while (running) {
      const i = n++;
      const warm = i % 2 === 0;
      const name = warm ? `w${(i >> 1) % WARM}.good.flood` : `fresh-${tag}-${i}.good.flood`;
      const want = warm ? `198.51.100.${(((i >> 1) % WARM) % 200) + 10}` : '198.51.100.7';
      out.sent++;
      if (warm) out.warmSent++; else out.freshSent++;
      pending.push(query(name, TYPE.A, { server, timeoutMs: 2000 }).then((r) => {
        if (r.msg.rcode === RCODE.NOERROR && r.msg.answers.some((a) => rdataToText(a.type, a.rdata) === want)) {
          out.ok++;
          if (warm) out.warmOk++; else out.freshOk++;
        } else if (process.env.ANYCAST_KIT_FLOOD_DEBUG) process.stderr.write(`legit ${name}: rcode ${r.msg.rcode}, ${r.msg.answers.length} answers\n`);
      }, (e: unknown) => { if (process.env.ANYCAST_KIT_FLOOD_DEBUG) process.stderr.write(`legit ${name}: ${(e as Error).message}\n`); }));
      await sleep(LEGIT_INTERVAL_MS);
    }
  })();
  return {
    stop: async () => { running = false; await loop; await Promise.all(pending); return out; },
  };
}

/** A dnsperf input of `count` random names under `zone`. */
function attackFile(dir: string, zone: string, count: number): string {
  const file = join(dir, `attack-${zone}-${randomBytes(3).toString('hex')}.txt`);
  const lines: string[] = [];
  for (let i = 0; i < count; i++) lines.push(`${randomBytes(6).toString('hex')}.${zone} A\n`);
  writeFileSync(file, lines.join(''));
  return file;
}

interface Row {
  resolver: string;
  flood: string;
  attack: DnsperfResult;
  legit: Legit;
  rssBeforeKiB: number;
  rssAfterKiB: number;
  /** RSS after a second flood of other random names on the same process (a node already loaded). */
  rssAfterSecondKiB?: number;
}

export async function bench(opts: BenchOptions): Promise<BenchReport> {
  requireBinary(DNSPERF_BIN, 'dnsperf');
  const qps = Number(process.env.ANYCAST_KIT_FLOOD_QPS ?? (opts.quick ? 1000 : 5000));
  const seconds = Number(process.env.ANYCAST_KIT_FLOOD_SECONDS ?? (opts.quick ? 3 : 30));
  const dir = mkdtempSync(join(tmpdir(), 'anycast-kit-bench-flood-'));
  const notes: string[] = [];
  const rows: Row[] = [];
  const z = zones();
  const nsd: Running[] = [];
  try {
    nsd.push(await startNsd({ name: 'flood-root', address: ROOT, zones: [{ origin: '', text: z.root }] }, dir));
    nsd.push(await startNsd({ name: 'flood-zones', address: ZONES, zones: [
      { origin: 'flood', text: z.victim }, { origin: 'victim.flood', text: victimZone }, { origin: 'good.flood', text: z.good },
    ] }, dir));
    writeFileSync(join(dir, 'root.hints'), `.  3600000  NS  A.ROOT-SERVERS.NET.\nA.ROOT-SERVERS.NET.  3600000  A  ${ROOT}\n`);
    const hints = join(dir, 'root.hints');

    type Starter = { label: string; start: () => Promise<Running> };
    const starters: Starter[] = [
      { label: 'unbound 1.17 (defaults)', start: () => startUnbound({ address: `${PREFIX}.20`, rootHintsFile: hints, threads: 1, label: 'flood', qnameMinimisation: true }) },
      { label: 'unbound 1.17, ratelimit: 1000', start: () => startUnbound({ address: `${PREFIX}.21`, rootHintsFile: hints, threads: 1, label: 'flood-rl', qnameMinimisation: true, extra: ['ratelimit: 1000'] }) },
    ];
    const why = oursUnavailableReason();
    if (why) notes.push(`resolver not available: ${why}`);
    else starters.push({ label: 'anycast-kit (defaults)', start: () => startOurs({ address: `${PREFIX}.22`, rootHintsFile: hints, identity: 'bench', validate: false }) });
    // ANYCAST_KIT_FLOOD_BASELINE=DIR adds the resolver built in another checkout (DIR/dist/cli/main.js): before and after in one run.
    const base = process.env.ANYCAST_KIT_FLOOD_BASELINE;
    if (base) starters.push({ label: `baseline ${base}`, start: () => startOurs({ address: `${PREFIX}.23`, rootHintsFile: hints, identity: 'bench', validate: false, cli: join(base, 'dist', 'cli', 'main.js') }) });

    const only = process.env.ANYCAST_KIT_FLOOD_ONLY;
    // ANYCAST_KIT_FLOOD_REPEAT=0 skips the second flood on the same process.
    const repeat = process.env.ANYCAST_KIT_FLOOD_REPEAT !== '0';
    for (const flood of ['victim.flood', 'dead.flood']) {
      for (const s of starters) {
        if (only && !`${s.label} ${flood}`.includes(only)) continue;
        const r = await s.start();
        try {
          for (let i = 0; i < WARM; i++) await query(`w${i}.good.flood`, TYPE.A, { server: r.address, timeoutMs: 3000 }).catch(() => undefined);
          // The legitimate client alone for a while first, so "before" is a process that has run
          // its hit and miss paths (JIT, heap sizing), and the growth is the flood's.
          const pre = legitimate(r.address, `pre-${flood}-${rows.length}`);
          await sleep(PRE_FLOOD_MS);
          await pre.stop();
          await sleep(500);
          const before = r.memory().rssKiB;
          const file = attackFile(dir, flood, qps * seconds);
          const legit = legitimate(r.address, `${flood}-${s.label.length}-${rows.length}`);
          // Enough outstanding for every query of 2 s at the full rate: dropped queries must not slow the attacker.
          const attack = await runDnsperf({ server: r.address, file, seconds, maxRuns: 1, clients: 8, outstanding: Math.min(60_000, qps * 3), maxQps: qps, timeoutS: 2 });
          const l = await legit.stop();
          await sleep(500);
          const row: Row = { resolver: s.label, flood, attack, legit: l, rssBeforeKiB: before, rssAfterKiB: r.memory().rssKiB };
          rows.push(row);
          rmSync(file);
          if (repeat) {
            // The same flood again with other random names, on the same process: what a flood
            // adds to a node that has already carried one (a loaded node), beside the growth
            // from an idle one above.
            const file2 = attackFile(dir, flood, qps * seconds);
            await runDnsperf({ server: r.address, file: file2, seconds, maxRuns: 1, clients: 8, outstanding: Math.min(60_000, qps * 3), maxQps: qps, timeoutS: 2 });
            await sleep(500);
            row.rssAfterSecondKiB = r.memory().rssKiB;
            rmSync(file2);
          }
        } finally {
          await r.stop();
        }
      }
    }
  } finally {
    for (const n of nsd) await n.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  const pct = (a: number, b: number) => (b ? Math.round((a / b) * 1000) / 10 : 0);
  const table = rows.map((r) => ({
    flood: r.flood === 'victim.flood' ? 'NXDOMAIN zone' : 'dead zone',
    resolver: r.resolver,
    'attack qps sent': Math.round(r.attack.sent / Math.max(1, r.attack.runSeconds)),
    'attack answered %': pct(r.attack.completed, r.attack.sent),
    'legit correct %': pct(r.legit.ok, r.legit.sent),
    'warm correct %': pct(r.legit.warmOk, r.legit.warmSent),
    'fresh correct %': pct(r.legit.freshOk, r.legit.freshSent),
    'legit queries': r.legit.sent,
    'RSS before MiB': Math.round(r.rssBeforeKiB / 102.4) / 10,
    'RSS after MiB': Math.round(r.rssAfterKiB / 102.4) / 10,
    'RSS growth %': pct(r.rssAfterKiB - r.rssBeforeKiB, r.rssBeforeKiB),
    'RSS after a 2nd flood MiB': r.rssAfterSecondKiB === undefined ? '' : Math.round(r.rssAfterSecondKiB / 102.4) / 10,
    'growth over the 2nd flood %': r.rssAfterSecondKiB === undefined ? '' : pct(r.rssAfterSecondKiB - r.rssAfterKiB, r.rssAfterKiB),
  }));
  for (const r of rows) {
    const ok = pct(r.legit.ok, r.legit.sent), growth = pct(r.rssAfterKiB - r.rssBeforeKiB, r.rssBeforeKiB);
    const second = r.rssAfterSecondKiB === undefined ? '' : `; over a second flood on the same process ${pct(r.rssAfterSecondKiB - r.rssAfterKiB, r.rssAfterKiB)}% (< 10%: ${pct(r.rssAfterSecondKiB - r.rssAfterKiB, r.rssAfterKiB) < 10 ? 'met' : 'NOT met'})`;
    notes.push(`${r.resolver}, ${r.flood}: legitimate ${ok}% (target >= 90%: ${ok >= 90 ? 'met' : 'NOT met'}), RSS growth from idle ${growth}% (target < 10%: ${growth < 10 ? 'met' : 'NOT met'})${second}; attack answers by rcode ${JSON.stringify(r.attack.rcodes)}`);
  }
  notes.push(`attack: dnsperf -Q ${qps} for ${seconds} s, every name fresh and random; legitimate: one query every ${LEGIT_INTERVAL_MS} ms, warm and fresh names alternately, one try, 2 s timeout; each resolver started fresh per flood, warmed with the ${WARM} warm names`);
  notes.push('unbound: defaults (qname-minimisation on, 4 MB msg + 4 MB rrset cache), one row with ratelimit: 1000 (its per-zone limit, queries per second to a zone); ours: defaults (flood.max_outstanding_per_zone 1000 with a wait queue of a tenth of max_inflight for up to 1 s, negative answers in their own 25% of the answer cache, at most flood.max_negative_per_zone 2000 of them per zone in each cache)');
  notes.push('ANYCAST_KIT_FLOOD_QPS and ANYCAST_KIT_FLOOD_SECONDS override the rate and the length; after each flood the same flood runs again with other random names on the same process (ANYCAST_KIT_FLOOD_REPEAT=0: not), and "growth over the 2nd flood" is what a flood adds to a node that is already loaded');
  return { title: 'flood: random-subdomain floods, anycast-kit vs unbound (legitimate answers, RSS growth)', rows: table, notes };
}
