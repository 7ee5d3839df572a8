// Scenario: hostile and broken upstreams. Forged out-of-bailiwick records, replies
// with a wrong ID, question or source address, garbage, TC → TCP, EDNS-intolerant,
// lame (REFUSED, upward referral, recursive) and dead servers. Servers on 127.20.2.x.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIterator } from '../../resolver/iterator/index.js';
import { emptyStats } from '../../resolver/stats.js';
import { RCODE, TYPE } from '../../dns/constants.js';
import { ScriptedNet, nxdomain, referral, type ServerScript, rootDelegatingTest } from './scripted-auth.js';
import { hints, manualClock, rdatas, testConfig } from './helpers.js';

const PORT = 10532;
const ip = (n: number) => `127.20.2.${n}`;
const ROOT = ip(1), TLD = ip(2);

/** Zones under "test": name → [ns name, address][] (glue given for every NS). */
const zones: Record<string, Array<[string, string]>> = {
  'forged.test': [['ns1.forged.test.', ip(10)]],
  'bank.test': [['ns1.bank.test.', ip(11)]],
  'spoof.test': [['ns1.spoof.test.', ip(20)]],
  'silent.test': [['ns1.silent.test.', ip(22)]],
  'tc.test': [['ns1.tc.test.', ip(30)]],
  'lame.test': [['ns1.lame.test.', ip(40)], ['ns2.lame.test.', ip(41)]],
  'upward.test': [['ns1.upward.test.', ip(42)], ['ns2.upward.test.', ip(43)]],
  'recursive.test': [['ns1.recursive.test.', ip(44)], ['ns2.recursive.test.', ip(45)]],
  'dead.test': [['ns1.dead.test.', ip(50)], ['ns2.dead.test.', ip(51)]],
  'wrongaddr.test': [['ns1.wrongaddr.test.', ip(60)]],
  'garbage.test': [['ns1.garbage.test.', ip(70)], ['ns2.garbage.test.', ip(71)]],
  'edns.test': [['ns1.edns.test.', ip(80)]],
  'mcast.test': [['ns1.mcast.test.', '224.0.0.251'], ['ns2.mcast.test.', '255.255.255.255'], ['ns3.mcast.test.', ip(90)]],
  'allmcast.test': [['ns1.allmcast.test.', '239.255.255.250']],
  'slow.test': [['ns1.slow.test.', ip(95)]],
};

function good(zone: string, address: string, extra: ServerScript['entries'] = []): ServerScript {
  return {
    address,
    entries: [
      ...extra,
      { name: `www.${zone}`, type: 'A', reply: { answer: [`www.${zone}. 300 IN A 192.0.2.${address.split('.')[3]}`] } },
      { name: `big.${zone}`, type: 'TXT', reply: { answer: Array.from({ length: 40 }, (_, i) => `big.${zone}. 300 IN TXT "${String(i).padStart(3, '0')} ${'x'.repeat(60)}"`) } },
      { name: zone, subdomain: true, reply: nxdomain(zone) },
    ],
  };
}

const net = new ScriptedNet(PORT);
const clock = manualClock();
const stats = emptyStats();
const cfg = testConfig(PORT, { timeoutMs: 250, resolutionTimeoutMs: 2000 });
const it2 = createIterator(cfg, stats, { rootHints: hints([['a.root.test', ROOT]]), now: clock.now });

const scripts: ServerScript[] = [
  rootDelegatingTest(ROOT, TLD),
  {
    address: TLD,
    entries: Object.entries(zones).map(([z, ns]) => ({ name: z, subdomain: true, reply: referral(z, ns) })),
  },
  good('forged.test', ip(10), [
    {
      name: 'www.forged.test', type: 'A',
      reply: {
        answer: ['www.forged.test. 300 IN A 192.0.2.10', 'www.bank.test. 300 IN A 6.6.6.6', 'evil.example. 300 IN A 6.6.6.6'],
        authority: ['forged.test. 300 IN NS ns1.forged.test.', 'bank.test. 300 IN NS ns.evil.example.', 'test. 300 IN NS ns.evil.example.'],
        additional: [`ns1.forged.test. 300 IN A ${ip(10)}`, 'ns.evil.example. 300 IN A 6.6.6.6', 'ns1.bank.test. 300 IN A 6.6.6.6', 'www.bank.test. 300 IN A 6.6.6.6'],
      },
    },
    // A CNAME out of the zone with forged target data.
    { name: 'alias.forged.test', type: 'A', reply: { answer: ['alias.forged.test. 300 IN CNAME www.bank.test.', 'www.bank.test. 300 IN A 6.6.6.7'] } },
  ]),
  good('bank.test', ip(11)),
  good('spoof.test', ip(20), [
    { name: 'wrongid.spoof.test', type: 'A', reply: { answer: ['wrongid.spoof.test. 300 IN A 192.0.2.20'], idDelta: 1, thenProper: true } },
    { name: 'wrongq.spoof.test', type: 'A', reply: { answer: ['wrongq.spoof.test. 300 IN A 192.0.2.20'], questionName: 'other.spoof.test', thenProper: true } },
    { name: 'from.spoof.test', type: 'A', reply: { answer: ['from.spoof.test. 300 IN A 192.0.2.20'], fromAddress: ip(61), thenProper: true } },
  ]),
  good('silent.test', ip(22), [
    // Only a forged-looking reply (wrong ID) ever comes: the resolver must not take it.
    { name: 'www.silent.test', type: 'A', reply: { answer: ['www.silent.test. 300 IN A 6.6.6.6'], idDelta: 7 } },
  ]),
  good('tc.test', ip(30), [
    { name: 'flagged.tc.test', type: 'A', reply: { answer: ['flagged.tc.test. 300 IN A 192.0.2.30'], tc: true } },
  ]),
  { address: ip(40), entries: [], fallback: { rcode: RCODE.REFUSED } },
  good('lame.test', ip(41)),
  { address: ip(42), entries: [], fallback: { aa: false, authority: ['. 86400 IN NS a.root.test.'], additional: [`a.root.test. 86400 IN A ${ROOT}`] } },
  good('upward.test', ip(43)),
  { address: ip(44), entries: [], fallback: { aa: false, ra: true, answer: ['www.recursive.test. 300 IN A 6.6.6.6'] } },
  good('recursive.test', ip(45)),
  { address: ip(50), entries: [], fallback: { drop: true } },
  { address: ip(51), entries: [], fallback: { drop: true } },
  { address: ip(60), entries: [], fallback: { fromAddress: ip(61), answer: ['www.wrongaddr.test. 300 IN A 6.6.6.6'] } },
  { address: ip(70), entries: [], fallback: { malformed: true } },
  good('garbage.test', ip(71)),
  good('mcast.test', ip(90)),
  good('slow.test', ip(95), [
    { name: 'late300.slow.test', type: 'A', reply: { answer: ['late300.slow.test. 300 IN A 192.0.2.95'], delayMs: 300 } },
    { name: 'late800.slow.test', type: 'A', reply: { answer: ['late800.slow.test. 300 IN A 192.0.2.95'], delayMs: 800 } },
  ]),
  good('edns.test', ip(80), [
    { name: 'www.edns.test', type: 'A', reply: (q) => (q.edns ? { rcode: RCODE.FORMERR } : { answer: ['www.edns.test. 300 IN A 192.0.2.80'] }) },
  ]),
];

beforeAll(async () => {
  await net.start(scripts, [ip(61)]);
});

afterAll(async () => {
  await it2.close();
  await net.stop();
  expect(net.errors).toEqual([]);
});

const A = (name: string) => it2.resolve({ name, type: TYPE.A, class: 1 });

describe('iterator: forged records never reach the cache or the client', () => {
  it('drops out-of-bailiwick answer, authority and additional records', async () => {
    const r = await A('www.forged.test');
    expect(r.rcode).toBe(RCODE.NOERROR);
    expect(rdatas(r.answers)).toEqual(['www.forged.test A 192.0.2.10']);
    expect(r.authority).toEqual([]);
    expect(r.additional).toEqual([]);
    // Nothing of the forgery is cached, at any trust.
    expect(it2.cache.getRRset('www.bank.test', TYPE.A, 1)).toBeUndefined();
    expect(it2.cache.getRRset('ns1.bank.test', TYPE.A, 1)).toBeUndefined();
    expect(it2.cache.getRRset('ns.evil.example', TYPE.A, 1)).toBeUndefined();
    expect(it2.cache.getRRset('bank.test', TYPE.NS, 1)).toBeUndefined();
    expect(it2.cache.getRRset('evil.example', TYPE.A, 1)).toBeUndefined();
    expect(it2.cache.getRRset('test', TYPE.NS, 1)?.records.map((x) => x.rdata.toString('latin1'))).not.toContain(expect.stringContaining('evil'));
    // The real bank.test is then found through its real servers.
    const bank = await A('www.bank.test');
    expect(rdatas(bank.answers)).toEqual(['www.bank.test A 192.0.2.11']);
    expect(net.queriesTo(ip(11)).length).toBeGreaterThan(0);
  });

  it('re-asks a CNAME target outside the zone instead of trusting the data that came with it', async () => {
    const r = await A("alias.forged.test");

    expect(rdatas(r.answers)).toEqual(['alias.forged.test CNAME www.bank.test.', 'www.bank.test A 192.0.2.11']);
  });

  it('glue is kept only on the parent side, for the delegation it came with, and never answers a client', async () => {
    expect(it2.cache.getRRset('ns1.bank.test', TYPE.A, 1)).toBeUndefined();
    expect(it2.cache.parentSideAddresses('bank.test', 'ns1.bank.test', 1)).toEqual([ip(11)]);
    expect(it2.cache.parentSideAddresses('forged.test', 'ns1.bank.test', 1)).toEqual([]);
    const before = net.queriesTo(ip(11)).length;
    const r = await A('ns1.bank.test');
    // Asked the zone's own server (answers NXDOMAIN in this script) instead of serving glue.
    expect(r.rcode).toBe(RCODE.NXDOMAIN);
    expect(net.queriesTo(ip(11)).length).toBe(before + 1);
  });
});

describe('iterator: reply matching', () => {
  it('ignores a reply with the wrong ID and takes the real one', async () => {
    const r = await A('wrongid.spoof.test');
    expect(rdatas(r.answers)).toEqual(['wrongid.spoof.test A 192.0.2.20']);
  });

  it('ignores a reply with the wrong question', async () => {
    expect(rdatas((await A('wrongq.spoof.test')).answers)).toEqual(['wrongq.spoof.test A 192.0.2.20']);
  });

  it('ignores a reply from the wrong address', async () => {
    expect(rdatas((await A('from.spoof.test')).answers)).toEqual(['from.spoof.test A 192.0.2.20']);
  });

  it('a server that only ever sends mismatched replies ends in SERVFAIL, never in forged data', async () => {
    const errorsBefore = stats.upstreamErrors;
    const r = await A('www.silent.test');
    expect(r.rcode).toBe(RCODE.SERVFAIL);
    expect(r.answers).toEqual([]);
    expect(r.ede?.code).toBe(22);
    expect(stats.upstreamErrors).toBeGreaterThan(errorsBefore);
  });

  it('a server answering only from another address is unusable', async () => {
    const r = await A('www.wrongaddr.test');
    expect(r.rcode).toBe(RCODE.SERVFAIL);
  });

  it('garbage with the right ID: the server is avoided and another one answers', async () => {
    const r = await A('www.garbage.test');
    expect(rdatas(r.answers)).toEqual(['www.garbage.test A 192.0.2.71']);
  });
});

describe('iterator: TCP and EDNS', () => {
  it('retries over TCP when the UDP reply has TC=1', async () => {
    const r = await A('flagged.tc.test');
    expect(rdatas(r.answers)).toEqual(['flagged.tc.test A 192.0.2.30']);
    expect(net.queriesTo(ip(30)).map((q) => q.tcp)).toEqual([false, true]);
  });

  it('gets an answer too big for 1232 bytes over TCP', async () => {
    const r = await it2.resolve({ name: 'big.tc.test', type: TYPE.TXT, class: 1 });
    expect(r.rcode).toBe(RCODE.NOERROR);
    expect(r.answers).toHaveLength(40);
    expect(net.queriesTo(ip(30)).filter((q) => q.name === 'big.tc.test').map((q) => q.tcp)).toEqual([false, true]);
  });

  it('retries without EDNS when a server answers FORMERR to OPT', async () => {
    const r = await A('www.edns.test');
    expect(rdatas(r.answers)).toEqual(['www.edns.test A 192.0.2.80']);
    expect(net.queriesTo(ip(80)).map((q) => q.edns)).toEqual([true, false]);
  });
});

describe('iterator: lame servers', () => {
  async function repeat(zone: string) {
    for (let i = 0; i < 6; i++) {
      const r = await A(`www.${zone}`);
      expect(r.rcode).toBe(RCODE.NOERROR);
      expect(rdatas(r.answers)[0]).not.toContain('6.6.6.6');
    }
  }

  it('REFUSED marks a server lame for the zone; the other server answers every time', async () => {
    await repeat('lame.test');
    expect(net.queriesTo(ip(40)).length).toBeLessThanOrEqual(1);
    expect(net.queriesTo(ip(41)).length).toBeGreaterThanOrEqual(1);
  });

  it('an upward referral is lame', async () => {
    await repeat('upward.test');
    expect(net.queriesTo(ip(42)).length).toBeLessThanOrEqual(1);
  });

  it('a recursive answer without AA is lame and its data is not used', async () => {
    await repeat('recursive.test');
    expect(net.queriesTo(ip(44)).length).toBeLessThanOrEqual(1);
    expect(it2.cache.getRRset('www.recursive.test', TYPE.A, 1)?.records[0].rdata).toEqual(Buffer.from([192, 0, 2, 45]));
  });
});

describe('iterator: a server that turns slow', () => {
  it('is still heard: earlier queries keep listening while retries go out', async () => {
    // Learn a fast RTT first, so the RTO is at its floor when the server slows down.
    expect((await A('www.slow.test')).rcode).toBe(RCODE.NOERROR);
    for (const name of ['late300.slow.test', 'late800.slow.test']) {
      const r = await A(name);
      expect(rdatas(r.answers), name).toEqual([`${name} A 192.0.2.95`]);
      // It was asked more than once (the RTO passed), and one of the answers was taken.
      expect(net.queriesTo(ip(95)).filter((q) => q.name === name).length).toBeGreaterThan(1);
    }
    // Its RTT estimate grew, and it is not marked dead.
    expect(it2.infra.srttMs(ip(95))!).toBeGreaterThan(30);
    expect(it2.infra.state(ip(95), 'slow.test')).toBe('up');
  });
});

describe('iterator: dead servers', () => {
  it('a zone whose servers are all dead answers SERVFAIL within the resolution budget, then fails fast, then recovers', async () => {
    const t0 = performance.now();
    const first = await A('www.dead.test');
    const elapsed = performance.now() - t0;
    expect(first.rcode).toBe(RCODE.SERVFAIL);
    expect(first.ede?.code).toBe(22);
    expect(elapsed).toBeLessThan(cfg.upstream.resolutionTimeoutMs + 1000);
    expect(stats.upstreamTimeouts).toBeGreaterThanOrEqual(2);

    // After a few failures both servers are marked dead: no more queries are sent.
    let quiet = false;
    for (let i = 0; i < 4 && !quiet; i++) {
      const before = net.queriesTo(ip(50)).length + net.queriesTo(ip(51)).length;
      const r = await A(`x${i}.dead.test`);
      expect(r.rcode).toBe(RCODE.SERVFAIL);
      quiet = net.queriesTo(ip(50)).length + net.queriesTo(ip(51)).length === before;
    }
    expect(quiet).toBe(true);

    // Past the back-off, a question no longer carries the retry: it is answered at
    // once (EDE 22) and each server gets one probe in the background.
    const deadBefore = stats.deadZoneServfails;
    const probesBefore = stats.upstreamProbes;
    clock.advance(31_000);
    const t1 = performance.now();
    const fast = await A('z.dead.test');
    expect(performance.now() - t1).toBeLessThan(50);
    expect(fast.rcode).toBe(RCODE.SERVFAIL);
    expect(fast.ede?.code).toBe(22);
    expect(fast.ede?.text).toMatch(/known dead/);
    expect(stats.deadZoneServfails).toBe(deadBefore + 1);
    expect(stats.upstreamProbes).toBe(probesBefore + 2);
    // One probe per server per back-off period: more questions send no more probes.
    for (let i = 0; i < 5; i++) expect((await A(`w${i}.dead.test`)).rcode).toBe(RCODE.SERVFAIL);
    expect(stats.upstreamProbes).toBe(probesBefore + 2);
    // The probe asked the zone's apex NS, never the client's name.
    await new Promise((r) => setTimeout(r, 50));
    const probes = net.queriesTo(ip(50)).slice(-1);
    expect(probes.map((q) => [q.name.toLowerCase(), q.type])).toEqual([['dead.test', TYPE.NS]]);

    // The outage ends: one server answers again. After the back-off its probe finds it.
    net.setScript(good('dead.test', ip(51)));
    const deadline = performance.now() + 5000;
    while (it2.infra.state(ip(51), 'dead.test') !== 'up' && performance.now() < deadline) {
      clock.advance(31_000);
      await A(`kick${Math.floor(performance.now())}.dead.test`);
      await new Promise((r) => setTimeout(r, cfg.upstream.timeoutMs + 50));
    }
    expect(it2.infra.state(ip(51), 'dead.test')).toBe('up');
    const back = await A('www.dead.test');
    expect(rdatas(back.answers)).toEqual(['www.dead.test A 192.0.2.51']);
    // And it is used straight away afterwards.
    const again = await A('y.dead.test');
    expect(again.rcode).toBe(RCODE.NXDOMAIN);
  });
});

describe('iterator: glue pointing at multicast or broadcast', () => {
  it('is never queried; a unicast server of the zone answers', async () => {
    const errors = stats.upstreamErrors;
    const r = await A('www.mcast.test');
    expect(rdatas(r.answers)).toEqual(['www.mcast.test A 192.0.2.90']);
    const none = await A('www.allmcast.test');
    expect(none.rcode).toBe(RCODE.SERVFAIL);
    expect(stats.upstreamErrors).toBe(errors);
  });
});

describe('iterator: close()', () => {
  it('ends resolutions in flight with SERVFAIL at once', async () => {
    const own = createIterator(cfg, emptyStats(), { rootHints: hints([['a.root.test', ROOT]]) });
    const pending = own.resolve({ name: 'www.silent.test', type: TYPE.A, class: 1 });
    await new Promise((r) => setTimeout(r, 50));
    const t0 = performance.now();
    await own.close();
    const r = await pending;
    expect(r.rcode).toBe(RCODE.SERVFAIL);
    expect(performance.now() - t0).toBeLessThan(cfg.upstream.timeoutMs);
    expect((await own.resolve({ name: 'www.bank.test', type: TYPE.A, class: 1 })).rcode).toBe(RCODE.SERVFAIL);
  });
});

describe('iterator: queryLocalhost off', () => {
  it('refuses to send to loopback servers at all', async () => {
    const s = emptyStats();
    const strict = createIterator({ ...cfg, upstream: { ...cfg.upstream, queryLocalhost: false } }, s, { rootHints: hints([['a.root.test', ROOT]]) });
    const before = net.seen.length;
    const r = await strict.resolve({ name: 'www.bank.test', type: TYPE.A, class: 1 });
    expect(r.rcode).toBe(RCODE.SERVFAIL);
    expect(net.seen.length).toBe(before);
    expect(s.upstreamQueries).toBe(0);
    await strict.close();
  });
});
