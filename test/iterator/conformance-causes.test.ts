// Scenario: one test per cause behind Deckard's iteration scenarios (issue 13), so
// `npm test` guards each fix without Deckard. The causes, as the resolver README
// lists them:
//   A  an answer's authority NS set (and its additional addresses) never replaces
//      the parent's delegation (the iter_ns_spoof poisoning);
//   B  sibling glue inside the referring server's zone is used;
//   C  the parent's glue is the last resort when the child's view of its server fails;
//   D  an empty non-AA NOERROR is NODATA, not a lame server;
//   E  NODATA without SOA is cached 5 s;
//   F  a priming answer without glue falls back to the hints, never re-primes;
//   G  harden_glue off uses out-of-bailiwick glue for its delegation only;
//   H  ipv6 off: no AAAA asked for NS names, no IPv6 server queried.
// And two causes found with Deckard scenarios outside its lists:
//   I  a zone whose servers all answer as recursive servers (RA, no AA) is still
//      answered: each is asked once more with RD=1 (iter_reclame_two);
//   J  an AA reply with no answer and an NS set for an ancestor of the zone (an
//      upward referral) is a lame server, not NODATA (iter_lame_aaaa).
// Servers on 127.20.13.x (and ::1 for H). QNAME minimisation off unless said.

import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIterator, type IteratorHandle } from '../../resolver/iterator/index.js';
import { emptyStats } from '../../resolver/stats.js';
import { RCODE, TYPE } from '../../dns/constants.js';
import type { ResolverConfig } from '../../resolver/config.js';
import { ScriptedNet, nodata, nxdomain, priming, referral, soaLine, type ServerScript } from './scripted-auth.js';
import { hints, manualClock, rdatas, testConfig } from './helpers.js';

const PORT = 10541;
const ip = (n: number) => `127.20.13.${n}`;
const ROOT = ip(1), TLD = ip(2), FORGER = ip(66);
/** Root of case F, reached only through the hints: its priming answer has no glue. */
const BARE_ROOT = ip(5);

/** A forged-NS variant of cause A: the zone, its real server, and what its odd reply looks like. */
const spoofZones = ['noaa', 'aa', 'nxd', 'nod'].map((v, i) => ({ v, zone: `spoof-${v}.test`, server: ip(10 + i) }));

function spoofServer(v: string, zone: string, server: string): ServerScript {
  const bogus = [`${zone}. 300 IN NS bad.${zone}.`];
  const bogusGlue = [`bad.${zone}. 300 IN A ${FORGER}`];
  const odd =
    v === 'noaa' ? { aa: false, answer: [`bad.${zone}. 300 IN A ${FORGER}`], authority: bogus, additional: bogusGlue }
    : v === 'aa' ? { aa: true, answer: [`bad.${zone}. 300 IN A ${FORGER}`], authority: bogus, additional: bogusGlue }
    : v === 'nxd' ? { rcode: RCODE.NXDOMAIN, authority: [soaLine(zone), ...bogus], additional: bogusGlue }
    : { authority: [soaLine(zone), ...bogus], additional: bogusGlue };
  return {
    address: server,
    entries: [
      { name: `bad.${zone}`, type: 'A', reply: odd },
      { name: `mail.${zone}`, type: 'A', reply: { answer: [`mail.${zone}. 300 IN A 192.0.2.${10 + spoofZones.findIndex((z) => z.zone === zone)}`] } },
      { name: zone, subdomain: true, reply: nxdomain(zone) },
    ],
  };
}

const ns6: ServerScript['entries'][number]['reply'] = {
  aa: false,
  authority: ['h.test. 3600 IN NS ns1.h.test.', 'h.test. 3600 IN NS ns2.hx.test.', 'h.test. 3600 IN NS ns3.hx.test.'],
  additional: ['ns1.h.test. 3600 IN AAAA ::1'],
};

const scripts: ServerScript[] = [
  {
    address: ROOT,
    entries: [
      priming(ROOT),
      { name: 'test', subdomain: true, reply: referral('test', [['ns.nic.test.', TLD]]) },
      // B: tld1's server lives under tld2; the root (whose zone holds every name) gives its address.
      { name: 'tld1', subdomain: true, reply: referral('tld1', [['a.servers.tld2.', ip(3)]]) },
      { name: 'tld2', subdomain: true, reply: referral('tld2', [['ns.tld2.', ip(4)]]) },
      // G: gcom's zones are served from gnet and the other way round, glue only from the wrong side.
      { name: 'gcom', subdomain: true, reply: referral('gcom', [['ns.nic.gcom.', ip(30)]]) },
      { name: 'gnet', subdomain: true, reply: referral('gnet', [['ns.nic.gnet.', ip(31)]]) },
    ],
  },
  {
    address: TLD,
    entries: [
      ...spoofZones.map(({ zone, server }) => ({ name: zone, subdomain: true, reply: referral(zone, [[`ns1.${zone}.`, server]]) })),
      // C: pcnet.test's server says its own address is .55 (dead to questions); pccom.test is glueless.
      { name: 'pcnet.test', subdomain: true, reply: referral('pcnet.test', [['ns.pcnet.test.', ip(44)]]) },
      { name: 'pccom.test', subdomain: true, reply: referral('pccom.test', [['ns.pcnet.test.', undefined]]) },
      // C, iter_pcdirect: the NS name's own zone answers its address with a bogus referral.
      { name: 'pcd.test', subdomain: true, reply: referral('pcd.test', [['ns.pcd.test.', ip(46)]]) },
      { name: 'pcdcom.test', subdomain: true, reply: referral('pcdcom.test', [['ns.pcd.test.', undefined]]) },
      { name: 'd.test', subdomain: true, reply: referral('d.test', [['ns.d.test.', ip(20)]]) },
      { name: 'e.test', subdomain: true, reply: referral('e.test', [['ns.e.test.', ip(21)]]) },
      // H: one server with only an IPv6 address, one whose name has no A (AAAA would be asked), one good.
      { name: 'h.test', subdomain: true, reply: ns6 },
      { name: 'hx.test', subdomain: true, reply: referral('hx.test', [['ns.hx.test.', ip(41)]]) },
      // I: two servers, both recursive servers that do not serve the zone.
      { name: 'rl.test', subdomain: true, reply: referral('rl.test', [['ns1.rl.test.', ip(70)], ['ns2.rl.test.', ip(71)]]) },
      // J: a server lame for AAAA only.
      { name: 'j.test', subdomain: true, reply: referral('j.test', [['ns.j.test.', ip(72)]]) },
    ],
  },
  ...spoofZones.map(({ v, zone, server }) => spoofServer(v, zone, server)),
  // The forger: any question reaching it means the resolver was steered by forged data.
  { address: FORGER, entries: [], fallback: { answer: [] } },
  // B
  { address: ip(3), entries: [{ name: 'www.tld1', type: 'A', reply: { answer: ['www.tld1. 300 IN A 192.0.2.3'] } }, { name: 'tld1', subdomain: true, reply: nxdomain('tld1') }] },
  { address: ip(4), entries: [{ name: 'a.servers.tld2', type: 'A', reply: { answer: [`a.servers.tld2. 300 IN A ${ip(3)}`] } }, { name: 'tld2', subdomain: true, reply: nxdomain('tld2') }] },
  // C
  {
    address: ip(44),
    entries: [
      { name: 'ns.pcnet.test', type: 'A', reply: { answer: [`ns.pcnet.test. 300 IN A ${ip(55)}`] } },
      { name: 'ns.pcnet.test', type: 'AAAA', reply: nodata('pcnet.test') },
      { name: 'www.pccom.test', type: 'A', reply: { answer: ['www.pccom.test. 300 IN A 192.0.2.44'] } },
      { name: 'www.pcnet.test', type: 'A', reply: { answer: ['www.pcnet.test. 300 IN A 192.0.2.45'] } },
    ],
  },
  { address: ip(55), entries: [], fallback: { rcode: RCODE.SERVFAIL } },
  {
    address: ip(46),
    entries: [
      { name: 'ns.pcd.test', reply: { aa: false, ra: true, authority: ['ns.pcd.test. 300 IN NS 1.2.3.4.pcd.test.'] } },
      { name: 'www.pcdcom.test', type: 'A', reply: { answer: ['www.pcdcom.test. 300 IN A 192.0.2.46'] } },
      { name: 'pcd.test', subdomain: true, reply: nxdomain('pcd.test') },
    ],
  },
  // D: AAAA asked, a non-AA reply holding only an A record.
  { address: ip(20), entries: [{ name: 'www.d.test', type: 'AAAA', reply: { aa: false, answer: ['www.d.test. 300 IN A 192.0.2.20'] } }] },
  // E: AA NODATA without SOA.
  { address: ip(21), entries: [{ name: 'nosoa.e.test', type: 'A', reply: { aa: true } }] },
  // F: the hints' root; priming answered without any address.
  {
    address: BARE_ROOT,
    entries: [
      { name: '.', type: 'NS', reply: { answer: ['. 86400 IN NS k.root.test.'] } },
      { name: 'one.ftld', type: 'A', reply: { answer: ['one.ftld. 300 IN A 192.0.2.51'] } },
      { name: 'two.ftld', type: 'A', reply: { answer: ['two.ftld. 300 IN A 192.0.2.52'] } },
    ],
  },
  // G (iter_cycle_noh)
  { address: ip(30), entries: [{ name: 'ex.gcom', subdomain: true, reply: referral('ex.gcom', [['ns.ex.gnet.', ip(32)]]) }] },
  { address: ip(31), entries: [{ name: 'ex.gnet', subdomain: true, reply: referral('ex.gnet', [['ns.ex.gcom.', ip(33)]]) }] },
  { address: ip(32), entries: [{ name: 'www.ex.gcom', type: 'A', reply: { answer: ['www.ex.gcom. 300 IN A 192.0.2.32'] } }] },
  { address: ip(33), entries: [{ name: 'ns.ex.gnet', type: 'A', reply: { answer: [`ns.ex.gnet. 300 IN A ${ip(32)}`] } }] },
  // H
  {
    address: ip(41),
    entries: [
      { name: 'ns2.hx.test', reply: nodata('hx.test') },
      { name: 'ns3.hx.test', type: 'A', reply: { answer: [`ns3.hx.test. 300 IN A ${ip(42)}`] } },
      { name: 'ns3.hx.test', type: 'AAAA', reply: nodata('hx.test') },
    ],
  },
  { address: ip(42), entries: [{ name: 'www.h.test', type: 'A', reply: { answer: ['www.h.test. 300 IN A 192.0.2.42'] } }] },
  // I
  ...[70, 71].map((n) => ({
    address: ip(n),
    entries: [{ name: 'www.rl.test', type: 'A', reply: { aa: false, ra: true, answer: ['www.rl.test. 300 IN A 192.0.2.70'], authority: ['rl.test. 300 IN NS ns1.rl.test.', 'rl.test. 300 IN NS ns2.rl.test.'] } }],
  })),
  // J
  {
    address: ip(72),
    entries: [
      { name: 'j.test', type: 'A', reply: { answer: ['j.test. 300 IN A 192.0.2.72'] } },
      { name: 'j.test', type: 'AAAA', reply: { aa: true, authority: ['. 3600000 IN NS a.root-servers.net.', '. 3600000 IN NS b.root-servers.net.'] } },
    ],
  },
];

const net = new ScriptedNet(PORT);
/** Queries that reach ::1 (case H: the only IPv6 server). */
const v6Seen: string[] = [];
const v6 = dgram.createSocket('udp6');
const handles: IteratorHandle[] = [];

function iterator(upstream: Partial<ResolverConfig['upstream']> = {}, o: { now?: () => number; rootAt?: [string, string] } = {}): IteratorHandle {
  const cfg = testConfig(PORT, { timeoutMs: 300, resolutionTimeoutMs: 3000, ...upstream });
  const h = createIterator(cfg, emptyStats(), { rootHints: hints([o.rootAt ?? ['a.root.test', ROOT]]), now: o.now });
  handles.push(h);
  return h;
}

/** Queries seen from now on (the scripted network logs every query of the file). */
function mark(): () => typeof net.seen {
  const from = net.seen.length;
  return () => net.seen.slice(from);
}

beforeAll(async () => {
  await net.start(scripts);
  await new Promise<void>((resolve, reject) => {
    v6.once('error', reject);
    v6.bind(PORT, '::1', () => { v6.off('error', reject); resolve(); });
  });
  v6.on('message', () => v6Seen.push('query'));
});

afterAll(async () => {
  for (const h of handles) await h.close();
  await net.stop();
  await new Promise<void>((r) => v6.close(() => r()));
  expect(net.errors).toEqual([]);
});

const ask = (h: IteratorHandle, name: string, type: number = TYPE.A) => h.resolve({ name, type, class: 1 });

describe('A: an answer never replaces the parent\'s delegation', () => {
  for (const { v, zone, server } of spoofZones) {
    const what = { noaa: 'a non-AA answer', aa: 'an AA answer', nxd: 'an NXDOMAIN', nod: 'a NODATA' }[v];
    it(`${what} carrying "${zone} NS bad.${zone}" and its address: the forger is never asked, the delegation stays`, async () => {
      const h = iterator();
      const seen = mark();
      await ask(h, `bad.${zone}`);
      const r = await ask(h, `mail.${zone}`);
      expect(r.rcode).toBe(RCODE.NOERROR);
      expect(rdatas(r.answers)).toEqual([`mail.${zone} A 192.0.2.${server.split('.')[3]}`]);
      expect(seen().filter((q) => q.server === FORGER)).toEqual([]);
      expect(seen().filter((q) => q.name === `mail.${zone}`).map((q) => q.server)).toEqual([server]);
      const ns = h.cache.getRRset(zone, TYPE.NS, 1);
      expect(rdatas(ns?.records ?? [])).toEqual([`${zone} NS ns1.${zone}.`]);
    });
  }
});

describe('B: sibling glue inside the referring server\'s zone', () => {
  it('the root\'s glue for a.servers.tld2 serves the tld1 delegation: no lookup of the NS name', async () => {
    const h = iterator();
    const seen = mark();
    const r = await ask(h, 'www.tld1');
    expect(r.rcode).toBe(RCODE.NOERROR);
    expect(rdatas(r.answers)).toEqual(['www.tld1 A 192.0.2.3']);
    expect(seen().filter((q) => q.name === 'a.servers.tld2')).toEqual([]);
    expect(seen().filter((q) => q.server === ip(4))).toEqual([]);
  });
});

describe('C: the parent\'s glue is the last resort', () => {
  it('the child says its server is at .55, which fails everything: the parent\'s glue (.44) still answers', async () => {
    const h = iterator();
    const seen = mark();
    const r = await ask(h, 'www.pccom.test');
    expect(r.rcode).toBe(RCODE.NOERROR);
    expect(rdatas(r.answers)).toEqual(['www.pccom.test A 192.0.2.44']);
    const finals = seen().filter((q) => q.name === 'www.pccom.test' && q.server !== ROOT && q.server !== TLD);
    expect(finals.some((q) => q.server === ip(55))).toBe(true);
    expect(finals.at(-1)!.server).toBe(ip(44));
  });

  it('iter_pcdirect: the NS name\'s own zone gives a bogus referral for it; the parent\'s glue still answers', async () => {
    const h = iterator();
    const seen = mark();
    const r = await ask(h, 'www.pcdcom.test');
    expect(r.rcode).toBe(RCODE.NOERROR);
    expect(rdatas(r.answers)).toEqual(['www.pcdcom.test A 192.0.2.46']);
    expect(seen().filter((q) => q.name === 'www.pcdcom.test' && q.server !== ROOT && q.server !== TLD).map((q) => q.server)).toEqual([ip(46)]);
  });
});

describe('D: an empty non-AA NOERROR is NODATA', () => {
  it('AAAA answered non-AA with only an A record: NOERROR, empty, and the server is not lame', async () => {
    const h = iterator();
    const r = await ask(h, 'www.d.test', TYPE.AAAA);
    expect(r.rcode).toBe(RCODE.NOERROR);
    expect(r.answers).toEqual([]);
    expect(h.infra.state(ip(20), 'd.test')).toBe('up');
  });
});

describe('E: NODATA without SOA is cached 5 s', () => {
  it('asked twice: one upstream query; after 6 s: a second one', async () => {
    const clock = manualClock();
    const h = iterator({}, { now: clock.now });
    const seen = mark();
    const upstream = () => seen().filter((q) => q.name === 'nosoa.e.test' && q.server === ip(21)).length;
    const r1 = await ask(h, 'nosoa.e.test');
    expect(r1.rcode).toBe(RCODE.NOERROR);
    expect(r1.answers).toEqual([]);
    expect(r1.cacheTtl).toBe(5);
    clock.advance(1000);
    const r2 = await ask(h, 'nosoa.e.test');
    expect(r2.rcode).toBe(RCODE.NOERROR);
    expect(upstream()).toBe(1);
    clock.advance(5000);
    await ask(h, 'nosoa.e.test');
    expect(upstream()).toBe(2);
  });
});

describe('F: a priming answer without glue', () => {
  it('primes once; both resolutions go to the hints\' address', async () => {
    const h = iterator({}, { rootAt: ['k.root.test', BARE_ROOT] });
    const seen = mark();
    const r1 = await ask(h, 'one.ftld');
    const r2 = await ask(h, 'two.ftld');
    expect(rdatas(r1.answers)).toEqual(['one.ftld A 192.0.2.51']);
    expect(rdatas(r2.answers)).toEqual(['two.ftld A 192.0.2.52']);
    expect(seen().filter((q) => q.name === '' && q.type === TYPE.NS)).toHaveLength(1);
    expect(seen().filter((q) => q.name !== '').map((q) => `${q.server} ${q.name}`)).toEqual([`${BARE_ROOT} one.ftld`, `${BARE_ROOT} two.ftld`]);
  });
});

describe('G: harden_glue (iter_cycle_noh)', () => {
  it('default (on): the cycle is SERVFAIL and the out-of-bailiwick addresses are never queried', async () => {
    const h = iterator();
    const seen = mark();
    const r = await ask(h, 'www.ex.gcom');
    expect(r.rcode).toBe(RCODE.SERVFAIL);
    expect(seen().filter((q) => q.server === ip(32) || q.server === ip(33))).toEqual([]);
  });

  it('off: resolves through the loose glue, which is kept nowhere in the cache', async () => {
    const h = iterator({ hardenGlue: false });
    const r = await ask(h, 'www.ex.gcom');
    expect(r.rcode).toBe(RCODE.NOERROR);
    expect(rdatas(r.answers)).toEqual(['www.ex.gcom A 192.0.2.32']);
    expect(h.cache.getRRset('ns.ex.gnet', TYPE.A, 1)).toBeUndefined();
    expect(h.cache.addressesOf('ns.ex.gnet', 1)).toEqual([]);
    expect(h.cache.parentSideAddresses('ex.gcom', 'ns.ex.gnet', 1)).toEqual([]);
    // The NS set itself is the referral's, kept as usual.
    expect(rdatas(h.cache.getRRset('ex.gcom', TYPE.NS, 1)?.records ?? [])).toEqual(['ex.gcom NS ns.ex.gnet.']);
  });
});

describe('H: ipv6 off', () => {
  it('no AAAA is asked for an NS name and the IPv6 server is never queried', async () => {
    const h = iterator({ ipv6: false });
    const seen = mark();
    const r = await ask(h, 'www.h.test');
    expect(r.rcode).toBe(RCODE.NOERROR);
    expect(rdatas(r.answers)).toEqual(['www.h.test A 192.0.2.42']);
    expect(seen().filter((q) => q.type === TYPE.AAAA)).toEqual([]);
    // ns2.hx.test has no A: with IPv6 in use its AAAA would be asked.
    expect(seen().some((q) => q.name === 'ns2.hx.test' && q.type === TYPE.A)).toBe(true);
    expect(v6Seen).toEqual([]);
  });
});

describe('I: servers that answer only as recursive servers (iter_reclame_two)', () => {
  it('both are tried without RD and found lame; then one is asked with RD=1 and its answer is taken', async () => {
    const h = iterator();
    const seen = mark();
    const r = await ask(h, 'www.rl.test');
    expect(r.rcode).toBe(RCODE.NOERROR);
    expect(rdatas(r.answers)).toEqual(['www.rl.test A 192.0.2.70']);
    const asked = seen().filter((q) => q.name === 'www.rl.test' && (q.server === ip(70) || q.server === ip(71)));
    expect(asked.filter((q) => !q.rd).map((q) => q.server).sort()).toEqual([ip(70), ip(71)]);
    expect(asked.filter((q) => q.rd)).toHaveLength(1);
    expect(asked.findIndex((q) => q.rd)).toBe(asked.length - 1);
  });
});

describe('J: an AA upward referral is lame, not NODATA (iter_lame_aaaa)', () => {
  it('A resolves; AAAA, answered AA with only the root\'s NS set, is SERVFAIL (the server is lame for the zone, not a NODATA to cache)', async () => {
    const h = iterator();
    expect(rdatas((await ask(h, 'j.test')).answers)).toEqual(['j.test A 192.0.2.72']);
    const r = await ask(h, 'j.test', TYPE.AAAA);
    expect(r.rcode).toBe(RCODE.SERVFAIL);
  });
});
