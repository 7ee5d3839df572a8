// Scenario: QNAME minimisation (RFC 9156) on the wire. What each server is asked
// (one label below its cut, type A; the full question only at the end), empty
// non-terminals, servers that mishandle minimised questions (NXDOMAIN for an
// empty non-terminal, REFUSED, FORMERR, SERVFAIL, silence) and the fallback to the
// full question, strict mode, the bound on minimised queries, mode off, and the
// cache skip. Servers on 127.20.14.x.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIterator, type IteratorHandle } from '../../resolver/iterator/index.js';
import { emptyStats } from '../../resolver/stats.js';
import { RCODE, TYPE } from '../../dns/constants.js';
import { defaultResolverConfig, type QnameMinimisation } from '../../resolver/config.js';
import { ScriptedNet, nodata, nxdomain, priming, referral, type Reply, type ServerScript } from './scripted-auth.js';
import { hints, rdatas, testConfig } from './helpers.js';

const PORT = 10542;
const ip = (n: number) => `127.20.14.${n}`;
const ROOT = ip(1), TLD = ip(2);

/** Zones under q: zone → its server. */
const zones: Record<string, string> = {
  'one.q': ip(10), 'two.q': ip(11), 'refused.q': ip(12), 'formerr.q': ip(13), 'servfail.q': ip(14), 'drop.q': ip(15), 'long.q': ip(16),
};

/** 28 labels below long.q: a 30-label name. */
const LONG = Array.from({ length: 28 }, (_, i) => `l${i}`).join('.') + '.long.q';

/** A server that answers the one full question and misbehaves on anything else below its zone. */
function broken(zone: string, full: string, other: Reply): ServerScript {
  return {
    address: zones[zone],
    entries: [
      { name: full, type: 'A', reply: { answer: [`${full}. 300 IN A 192.0.2.${zones[zone].split('.')[3]}`] } },
      { name: zone, subdomain: true, reply: other },
    ],
  };
}

const scripts: ServerScript[] = [
  { address: ROOT, entries: [priming(ROOT), { name: 'q', subdomain: true, reply: referral('q', [['ns.nic.q.', TLD]]) }] },
  { address: TLD, entries: Object.entries(zones).map(([z, a]) => ({ name: z, subdomain: true, reply: referral(z, [[`ns.${z}.`, a]]) })) },
  // one.q: sub.one.q and deep.sub.one.q are empty non-terminals (NOERROR, no data).
  {
    address: zones['one.q'],
    entries: [
      { name: 'www.deep.sub.one.q', type: 'A', reply: { answer: ['www.deep.sub.one.q. 300 IN A 192.0.2.10'] } },
      { name: 'mail.deep.sub.one.q', type: 'A', reply: { answer: ['mail.deep.sub.one.q. 300 IN A 192.0.2.11'] } },
      { name: 'deep.sub.one.q', reply: nodata('one.q') },
      { name: 'sub.one.q', reply: nodata('one.q') },
      { name: 'one.q', subdomain: true, reply: nxdomain('one.q') },
    ],
  },
  // two.q: NXDOMAIN for its empty non-terminal sub.two.q (a broken server; RFC 8020 says it must not).
  broken('two.q', 'www.sub.two.q', nxdomain('two.q')),
  broken('refused.q', 'www.sub.refused.q', { rcode: RCODE.REFUSED }),
  broken('formerr.q', 'www.sub.formerr.q', { rcode: RCODE.FORMERR }),
  broken('servfail.q', 'www.sub.servfail.q', { rcode: RCODE.SERVFAIL }),
  broken('drop.q', 'www.sub.drop.q', { drop: true }),
  // long.q: every name below exists (NOERROR, no data) except the full one, which has an address.
  {
    address: zones['long.q'],
    entries: [
      { name: LONG, type: 'A', reply: { answer: [`${LONG}. 300 IN A 192.0.2.16`] } },
      { name: 'long.q', subdomain: true, reply: nodata('long.q') },
    ],
  },
];

const net = new ScriptedNet(PORT);
const handles: IteratorHandle[] = [];

function iterator(mode: QnameMinimisation): IteratorHandle {
  const cfg = testConfig(PORT, { qnameMinimisation: mode, timeoutMs: 300, resolutionTimeoutMs: 4000 });
  const h = createIterator(cfg, emptyStats(), { rootHints: hints([['a.root.test', ROOT]]) });
  handles.push(h);
  return h;
}

/** Queries seen from now on, as "server name TYPE", priming left out. */
function mark(): () => string[] {
  const from = net.seen.length;
  return () => net.seen.slice(from).filter((q) => !(q.name === '' && q.type === TYPE.NS)).map((q) => `${q.server} ${q.name} ${q.type === TYPE.A ? 'A' : q.type}`);
}

beforeAll(async () => {
  await net.start(scripts);
});

afterAll(async () => {
  for (const h of handles) await h.close();
  await net.stop();
  expect(net.errors).toEqual([]);
});

const A = (h: IteratorHandle, name: string) => h.resolve({ name, type: TYPE.A, class: 1 });

describe('QNAME minimisation, relaxed (the default)', () => {
  it('is on and relaxed by default', () => {
    expect(defaultResolverConfig().upstream.qnameMinimisation).toBe('relaxed');
  });

  it('each server sees one label below its cut, type A; empty non-terminals (NOERROR) continue; the last server sees the full question', async () => {
    const h = iterator('relaxed');
    const seen = mark();
    const r = await A(h, 'www.deep.sub.one.q');
    expect(r.rcode).toBe(RCODE.NOERROR);
    expect(rdatas(r.answers)).toEqual(['www.deep.sub.one.q A 192.0.2.10']);
    expect(seen()).toEqual([
      `${ROOT} q A`,
      `${TLD} one.q A`,
      `${ip(10)} sub.one.q A`,
      `${ip(10)} deep.sub.one.q A`,
      `${ip(10)} www.deep.sub.one.q A`,
    ]);
  });

  it('a second name under an empty non-terminal already seen: no minimised query (cache skip)', async () => {
    const h = iterator('relaxed');
    await A(h, 'www.deep.sub.one.q');
    const seen = mark();
    const r = await A(h, 'mail.deep.sub.one.q');
    expect(rdatas(r.answers)).toEqual(['mail.deep.sub.one.q A 192.0.2.11']);
    expect(seen()).toEqual([`${ip(10)} mail.deep.sub.one.q A`]);
  });

  it('a server answering NXDOMAIN for an empty non-terminal: the full question follows, one extra query at most', async () => {
    const h = iterator('relaxed');
    const seen = mark();
    const r = await A(h, 'www.sub.two.q');
    expect(r.rcode).toBe(RCODE.NOERROR);
    expect(rdatas(r.answers)).toEqual(['www.sub.two.q A 192.0.2.11']);
    expect(seen().filter((q) => q.startsWith(`${ip(11)} `))).toEqual([`${ip(11)} sub.two.q A`, `${ip(11)} www.sub.two.q A`]);
  });

  for (const [zone, what] of [['refused.q', 'REFUSED'], ['formerr.q', 'FORMERR'], ['servfail.q', 'SERVFAIL']] as const) {
    it(`${what} to a minimised question: the full question goes to the same server, which is not marked lame`, async () => {
      const h = iterator('relaxed');
      const seen = mark();
      const full = `www.sub.${zone}`;
      const r = await A(h, full);
      expect(r.rcode).toBe(RCODE.NOERROR);
      expect(rdatas(r.answers)).toEqual([`${full} A 192.0.2.${zones[zone].split('.')[3]}`]);
      const atServer = seen().filter((q) => q.startsWith(`${zones[zone]} `));
      expect(atServer[0]).toBe(`${zones[zone]} sub.${zone} A`);
      expect(atServer.at(-1)).toBe(`${zones[zone]} ${full} A`);
      expect(atServer.filter((q) => q.endsWith(` sub.${zone} A`)).length).toBeLessThanOrEqual(2);
      expect(h.infra.isLame(zones[zone], zone)).toBe(false);
      expect(h.infra.state(zones[zone], zone)).toBe('up');
    });
  }

  it('a minimised question that is never answered (3 timeouts): the full question follows, the server is not marked lame', async () => {
    const h = iterator('relaxed');
    const seen = mark();
    const r = await A(h, 'www.sub.drop.q');
    expect(r.rcode).toBe(RCODE.NOERROR);
    expect(rdatas(r.answers)).toEqual(['www.sub.drop.q A 192.0.2.15']);
    expect(seen().filter((q) => q.startsWith(`${ip(15)} `))).toEqual([
      `${ip(15)} sub.drop.q A`, `${ip(15)} sub.drop.q A`, `${ip(15)} sub.drop.q A`, `${ip(15)} www.sub.drop.q A`,
    ]);
    expect(h.infra.isLame(ip(15), 'drop.q')).toBe(false);
  });

  it('a 30-label name: at most 10 minimised questions (RFC 9156 section 2.3, unbound\'s MAX_MINIMISE_COUNT), then the full one', async () => {
    const h = iterator('relaxed');
    const seen = mark();
    const r = await A(h, LONG);
    expect(rdatas(r.answers)).toEqual([`${LONG} A 192.0.2.16`]);
    const all = seen();
    expect(all.at(-1)).toBe(`${ip(16)} ${LONG} A`);
    expect(all.filter((q) => q.split(' ')[1] === LONG)).toHaveLength(1);
    const minimised = all.filter((q) => q.split(' ')[1] !== LONG);
    expect(minimised.length).toBeLessThanOrEqual(10);
    // It did minimise below long.q, several labels at a time.
    expect(minimised.filter((q) => q.startsWith(`${ip(16)} `)).length).toBeGreaterThan(3);
  });
});

describe('QNAME minimisation, strict and off', () => {
  it('strict: NXDOMAIN for the minimised name is the answer; the full question is never sent', async () => {
    const h = iterator('strict');
    const seen = mark();
    const r = await A(h, 'www.sub.two.q');
    expect(r.rcode).toBe(RCODE.NXDOMAIN);
    expect(r.answers).toEqual([]);
    expect(seen().filter((q) => q.startsWith(`${ip(11)} `))).toEqual([`${ip(11)} sub.two.q A`]);
  });

  it('off: every server is sent the full question', async () => {
    const h = iterator('off');
    const seen = mark();
    const r = await A(h, 'www.deep.sub.one.q');
    expect(rdatas(r.answers)).toEqual(['www.deep.sub.one.q A 192.0.2.10']);
    expect(seen()).toEqual([`${ROOT} www.deep.sub.one.q A`, `${TLD} www.deep.sub.one.q A`, `${ip(10)} www.deep.sub.one.q A`]);
  });
});
