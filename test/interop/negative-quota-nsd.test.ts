// Interop: flood.max_negative_per_zone against real NSD. The resolver runs in this
// process (the real iterator, transport and UDP listener; only so the test can look
// into its caches) with a quota of 200 negative answers per zone. NSD serves the
// root, `victim.` (NXDOMAIN for every random name) and `good.` (popular names and a
// name that does not exist); `dead.` is delegated to an address where a socket
// swallows every query. A flood of random names under victim. and then under dead.
// must leave at most the quota of each zone's negative answers in the answer cache
// and in the RRset cache, while the popular names and the other zone's negative
// answer stay cached (asked again: hits, no upstream query).
// NSD runs with rrl-ratelimit: 0: its response rate limiting (200 a second by default)
// otherwise truncates or drops part of the flood, and the resolver turns those into
// SERVFAILs, which would blur what is counted.
// Loopback: 127.77.25.0/24 (.1 root, .2 victim+good, .3 dead, .21 ours).

import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RCODE, TYPE } from '../../dns/constants.js';
import { buildQuery } from '../../dns/message.js';
import { rdataToText } from '../../dns/rdata.js';
import { query } from '../../bench/harness/client.js';
import { startNsd, type NsdHandle } from '../lab/harness.js';
import { defaultResolverConfig, type ResolverConfig } from '../../resolver/config.js';
import { defaultFloodSettings } from '../../resolver/defence/settings.js';
import { createIterator, type IteratorHandle } from '../../resolver/iterator/index.js';
import { startSingle } from '../../resolver/server.js';
import { emptyStats } from '../../resolver/stats.js';

const P = '127.77.25';
const ROOT = `${P}.1`, ZONES = `${P}.2`, DEAD = `${P}.3`, OURS = `${P}.21`;
const QUOTA = 200;
const POPULAR = 50;

const zoneText = {
  root: `$ORIGIN .
$TTL 86400
.                   SOA a.root-servers.net. hostmaster.root-servers.net. 1 1800 900 604800 86400
.                   NS  a.root-servers.net.
a.root-servers.net. A   ${ROOT}
victim.             NS  ns.victim.
ns.victim.          A   ${ZONES}
good.               NS  ns.good.
ns.good.            A   ${ZONES}
dead.               NS  ns.dead.
ns.dead.            A   ${DEAD}
`,
  victim: `$ORIGIN victim.
$TTL 3600
@   SOA ns.victim. hostmaster.victim. 1 3600 900 604800 300
@   NS  ns
ns  A   ${ZONES}
`,
  good: `$ORIGIN good.
$TTL 3600
@   SOA ns.good. hostmaster.good. 1 3600 900 604800 300
@   NS  ns
ns  A   ${ZONES}
${Array.from({ length: POPULAR }, (_, i) => `p${i} A 198.51.100.${i + 1}`).join('\n')}
`,
};

let dir: string;
const nsd: NsdHandle[] = [];
let blackhole: dgram.Socket;
let it_: IteratorHandle;
const backStats = emptyStats();
let node: Awaited<ReturnType<typeof startSingle>>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'anycast-kit-negquota-'));
  for (const [name, text] of Object.entries(zoneText)) writeFileSync(join(dir, `${name}.zone`), text);
  writeFileSync(join(dir, 'root.hints'), `.  3600000  NS  A.ROOT-SERVERS.NET.\nA.ROOT-SERVERS.NET.  3600000  A  ${ROOT}\n`);
  nsd.push(await startNsd(ROOT, 53, [{ name: '.', file: join(dir, 'root.zone') }]));
  nsd.push(await startNsd(ZONES, 53, [{ name: 'victim.', file: join(dir, 'victim.zone') }, { name: 'good.', file: join(dir, 'good.zone') }], ['rrl-ratelimit: 0']));
  blackhole = dgram.createSocket('udp4');
  await new Promise<void>((r) => blackhole.bind(53, DEAD, () => r()));
  const base = defaultResolverConfig();
  const cfg: ResolverConfig = {
    ...base,
    listen: [{ host: OURS, port: 53 }],
    rootHintsFile: join(dir, 'root.hints'),
    identity: 'negquota',
    upstream: { ...base.upstream, queryLocalhost: true, resolutionTimeoutMs: 1500, ipv6: false },
    validator: { ...base.validator!, enabled: false },
    cookies: { ...base.cookies!, upstream: false },
    flood: { ...defaultFloodSettings(), maxNegativePerZone: QUOTA },
  };
  it_ = createIterator(cfg, backStats);
  node = await startSingle(cfg, { resolution: it_, log: () => {} });
}, 30_000);

afterAll(async () => {
  await node?.close();
  await it_?.close();
  blackhole?.close();
  for (const n of nsd) await n.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Asks `names` (under `zone`), at most `window` at a time, one try each (a 2 s timeout); returns the rcodes seen. */
async function flood(names: string[], window = 100): Promise<Record<number, number>> {
  const seen: Record<number, number> = {};
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const name = names[next++];
      try {
        const r = await query(name, TYPE.A, { server: OURS, port: 53, timeoutMs: 2000 });
        seen[r.msg.rcode] = (seen[r.msg.rcode] ?? 0) + 1;
      } catch { seen[-1] = (seen[-1] ?? 0) + 1; }
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
  return seen;
}

/** The popular names: every one answered with its address. */
async function popular(): Promise<number> {
  let ok = 0;
  for (let i = 0; i < POPULAR; i++) {
    const r = await query(`p${i}.good`, TYPE.A, { server: OURS, port: 53, timeoutMs: 2000 });
    if (r.msg.rcode === RCODE.NOERROR && r.msg.answers.some((a) => rdataToText(a.type, a.rdata) === `198.51.100.${i + 1}`)) ok++;
  }
  return ok;
}

const randomNames = (zone: string, n: number) => Array.from({ length: n }, () => `${randomBytes(6).toString('hex')}.${zone}`);

describe('flood.max_negative_per_zone against NSD', () => {
  it('an NXDOMAIN flood, then a dead-zone flood: each zone keeps at most its quota of negative answers in both caches; popular entries stay', async () => {
    expect(await popular()).toBe(POPULAR);
    const typo = await query('no-such-name.good', TYPE.A, { server: OURS, port: 53, timeoutMs: 2000 });
    expect(typo.msg.rcode).toBe(RCODE.NXDOMAIN);
    const front = node.front;
    const negBefore = front.stats().defence.negativeCacheEntries;
    const rrsetBefore = it_.cache.size;

    const victim = randomNames('victim', 3000);
    const nx = await flood(victim);
    if (process.env.FLOOD_DEBUG) process.stderr.write(`victim flood: ${JSON.stringify(nx)}\n`);
    expect(nx[RCODE.NXDOMAIN]).toBeGreaterThanOrEqual(2900);
    expect(front.negativeQuota.heldFor('victim')).toBe(QUOTA);
    // The answer cache: the quota of victim. names on top of what was there.
    expect(front.stats().defence.negativeCacheEntries - negBefore).toBeLessThanOrEqual(QUOTA);
    // The RRset cache: the newest names are there, the oldest were recycled, and it grew by the quota at most.
    expect(it_.cache.getNegative(victim[victim.length - 1], TYPE.A, 1)?.rcode).toBe(RCODE.NXDOMAIN);
    expect(it_.cache.getNegative(victim[0], TYPE.A, 1)).toBeUndefined();
    expect(it_.cache.size - rrsetBefore).toBeLessThanOrEqual(QUOTA + 5);
    const s1 = front.stats();
    expect(s1.defence.negativeQuotaRecycled).toBeGreaterThanOrEqual(2900 - QUOTA - 100);
    expect(backStats.defence.negativeQuotaRecycledRRset).toBeGreaterThanOrEqual(2900 - QUOTA - 100);
    expect(s1.defence.negativeQuotaZones).toBe(1);

    const dead = await flood(randomNames('dead', 2000));
    expect(dead[RCODE.SERVFAIL]).toBeGreaterThanOrEqual(1900);
    expect(front.negativeQuota.heldFor('dead')).toBe(QUOTA);
    expect(front.stats().defence.negativeCacheEntries - negBefore).toBeLessThanOrEqual(2 * QUOTA);

    // Nothing popular was pushed out: the popular names and the other zone's negative answer are hits.
    const hits = front.stats().cacheHits;
    const upstream = backStats.upstreamQueries;
    expect(await popular()).toBe(POPULAR);
    const again = await query('no-such-name.good', TYPE.A, { server: OURS, port: 53, timeoutMs: 2000 });
    expect(again.msg.rcode).toBe(RCODE.NXDOMAIN);
    expect(front.stats().cacheHits - hits).toBe(POPULAR + 1);
    expect(backStats.upstreamQueries).toBe(upstream);
  }, 120_000);
});
