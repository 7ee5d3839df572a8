// Forged out-of-bailiwick data. hostile.interop is served by our own hostile
// server (NSD would never send such answers): its replies carry forged answer,
// authority and additional records for names outside hostile.interop, forged
// delegations for other zones (and for its own parent) with glue pointing at a
// trap server, and decoy replies from the wrong address, the wrong port, with the
// wrong ID or the wrong question. Both resolvers must return only the genuine data
// and must not cache the forgeries: afterwards every victim name is asked for and
// must resolve through the real servers, and the trap must have seen nothing.
// Loopback: 127.30.4.0/24.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type dgram from 'node:dgram';
import { TYPE } from '../../dns/constants.js';
import { encodeMessage, type Message } from '../../dns/message.js';
import { isSubdomain } from '../../dns/name.js';
import { HOST } from '../../bench/harness/zones.js';
import { ask, describe1, normalise, Scoreboard, type Normal } from './harness/compare.js';
import { startPair, type Pair } from './harness/fixture.js';
import { bindUdp, reply, rr, startAuthServer, type AuthServer, type Outgoing } from './harness/authserver.js';

const PREFIX = '127.30.4';
const H = 'hostile.interop';
const SUB = `sub.${H}`;
const FORGED = '6.6.6.6';
const board = new Scoreboard('forged out-of-bailiwick data (127.30.4.0/24)');
let pair: Pair;
let hostile: AuthServer;
let sub: AuthServer;
let trap: AuthServer;
let spoofer: dgram.Socket;
let wrongPort: dgram.Socket;

const a = (h: number) => `${PREFIX}.${h}`;

function hostileHandler(q: Message): Outgoing | Outgoing[] | null {
  const qn = q.questions[0];
  const name = qn.name.toLowerCase();
  const soa = rr(H, TYPE.SOA, 300, `ns.${H}. hostmaster.${H}. 1 3600 900 604800 60`);
  const nsH = rr(H, TYPE.NS, 300, `ns.${H}.`);
  const glueH = rr(`ns.${H}`, TYPE.A, 300, a(HOST.hostile));
  const A = (n: string, ip: string, ttl = 300) => rr(n, TYPE.A, ttl, ip);
  if (!isSubdomain(name, H)) return { msg: reply(q, { rcode: 5, aa: false }) };
  if (isSubdomain(name, SUB)) {
    // A referral to the honest sub-zone server, with forged out-of-bailiwick "glue".
    return {
      msg: reply(q, {
        aa: false,
        authority: [rr(SUB, TYPE.NS, 300, `ns.${SUB}.`)],
        additional: [A(`ns.${SUB}`, a(HOST.hostileSub)), A('victim6.a.interop', FORGED), A('ns1.a.interop', a(HOST.trap))],
      }),
    };
  }
  if (name === H && qn.type === TYPE.NS) return { msg: reply(q, { answers: [nsH], additional: [glueH] }) };
  if (name === H && qn.type === TYPE.SOA) return { msg: reply(q, { answers: [soa] }) };
  if (name === `ns.${H}` && qn.type === TYPE.A) return { msg: reply(q, { answers: [glueH] }) };
  if (qn.type !== TYPE.A) return { msg: reply(q, { authority: [soa] }) };
  switch (name) {
    case `www.${H}`:
      return {
        msg: reply(q, {
          answers: [A(qn.name, '192.0.2.99'), A('victim1.b.elsewhere', FORGED)],
          authority: [nsH, rr('b.elsewhere', TYPE.NS, 300, 'ns.b.elsewhere.'), rr('a.interop', TYPE.NS, 300, `ns.${H}.`), rr('interop', TYPE.NS, 300, `ns.${H}.`)],
          additional: [glueH, A('ns.b.elsewhere', a(HOST.trap)), A('victim2.a.interop', FORGED), A('ns1.a.interop', a(HOST.trap)), A('ns.nic.interop', a(HOST.trap))],
        }),
      };
    case `cname.${H}`:
      return { msg: reply(q, { answers: [rr(qn.name, TYPE.CNAME, 300, 'target.a.interop.'), A('target.a.interop', FORGED)] }) };
    case `cname2.${H}`:
      return { msg: reply(q, { answers: [rr(qn.name, TYPE.CNAME, 300, 'victim3.b.elsewhere.'), A('victim3.b.elsewhere', FORGED)] }) };
    case `nx.${H}`:
      return {
        msg: reply(q, {
          rcode: 3,
          authority: [soa, rr('b.elsewhere', TYPE.NS, 300, 'ns.b.elsewhere.')],
          additional: [A('ns.b.elsewhere', a(HOST.trap)), A('victim4.a.interop', FORGED)],
        }),
      };
    case `ooz.${H}`:
      // An "answer" holding only a record for another zone.
      return { msg: reply(q, { answers: [A('victim7.b.elsewhere', FORGED)] }) };
    case `spoof.${H}`:
      // A forged reply from another address first, the genuine one later.
      return [{ msg: reply(q, { answers: [A(qn.name, FORGED)] }), via: spoofer }, { msg: reply(q, { answers: [A(qn.name, '192.0.2.97')] }), delayMs: 200 }];
    case `spoofport.${H}`:
      // The right address but the wrong source port.
      return [{ msg: reply(q, { answers: [A(qn.name, FORGED)] }), via: wrongPort }, { msg: reply(q, { answers: [A(qn.name, '192.0.2.94')] }), delayMs: 200 }];
    case `mismatch.${H}`: {
      // The right ID, a different question (and a forged answer for it).
      const forged = reply(q, { questions: [{ name: 'victim5.a.interop', type: TYPE.A, class: 1 }], answers: [A('victim5.a.interop', FORGED)] });
      return [{ msg: forged }, { msg: reply(q, { answers: [A(qn.name, '192.0.2.96')] }), delayMs: 200 }];
    }
    case `badid.${H}`: {
      const forged = encodeMessage({ ...(reply(q, { answers: [A(qn.name, FORGED)] }) as Message), id: q.id ^ 0x5a5a });
      return [{ raw: forged }, { msg: reply(q, { answers: [A(qn.name, '192.0.2.95')] }), delayMs: 200 }];
    }
    default:
      return { msg: reply(q, { rcode: 3, authority: [soa] }) };
  }
}

beforeAll(async () => {
  spoofer = await bindUdp(a(HOST.spoofer));
  wrongPort = await bindUdp(a(HOST.hostile), 5353);
  trap = await startAuthServer(a(HOST.trap), (q) => ({ msg: reply(q, { answers: [rr(q.questions[0].name, TYPE.A, 300, FORGED)] }) }));
  hostile = await startAuthServer(a(HOST.hostile), hostileHandler);
  sub = await startAuthServer(a(HOST.hostileSub), (q) => {
    const qn = q.questions[0];
    const name = qn.name.toLowerCase();
    if (!isSubdomain(name, SUB)) return { msg: reply(q, { rcode: 5, aa: false }) };
    const soa = rr(SUB, TYPE.SOA, 300, `ns.${SUB}. h.${SUB}. 1 3600 900 604800 60`);
    if (name === SUB && qn.type === TYPE.NS) return { msg: reply(q, { answers: [rr(SUB, TYPE.NS, 300, `ns.${SUB}.`)] }) };
    if (name === `ns.${SUB}` && qn.type === TYPE.A) return { msg: reply(q, { answers: [rr(name, TYPE.A, 300, a(HOST.hostileSub))] }) };
    if (name === `x.${SUB}` && qn.type === TYPE.A) return { msg: reply(q, { answers: [rr(qn.name, TYPE.A, 300, '192.0.2.98')] }) };
    return { msg: reply(q, { rcode: 3, authority: [soa] }) };
  });
  // unbound sends from its own address, so each server's log tells whose query it was.
  pair = await startPair(PREFIX, { unboundExtra: [`outgoing-interface: ${a(HOST.unbound)}`] });
});
afterAll(async () => {
  board.print();
  await pair?.stop();
  await Promise.all([hostile?.close(), sub?.close(), trap?.close()]);
  spoofer?.close();
  wrongPort?.close();
});

interface Want { rcode: string; answer: string[]; soa?: string }
const A = (n: string, ip: string) => `${n} IN A ${ip}`;

/** `sameAsUnbound: false` when more than one answer is safe and the two may differ. */
async function compare(title: string, name: string, want: Want | ((n: Normal) => string | undefined), sameAsUnbound = true) {
  const got: Record<string, Normal> = {};
  for (const t of pair.targets) got[t.name] = normalise((await ask(t, name, TYPE.A, { localAddress: pair.client })).msg);
  const check = (n: Normal): string | undefined => {
    if (n.answer.some((x) => x.endsWith(FORGED))) return `forged record returned: ${describe1(n)}`;
    if (typeof want === 'function') return want(n);
    if (n.rcode !== want.rcode || JSON.stringify(n.answer) !== JSON.stringify([...want.answer].sort())) return `got ${describe1(n)}`;
    if (want.soa && n.soa[0]?.split(' ')[0] !== want.soa) return `SOA ${JSON.stringify(n.soa)}, want ${want.soa}`;
    return undefined;
  };
  const u = got.unbound, o = got.ours;
  expect(check(u), 'unbound (harness check)').toBeUndefined();
  if (!o) return;
  const bad = check(o);
  const same = JSON.stringify(o) === JSON.stringify(u);
  board.record({ case: title, agree: !bad && (same || !sameAsUnbound), unbound: describe1(u), ours: describe1(o), note: same || sameAsUnbound ? undefined : 'both safe, they differ' });
  expect(bad, 'ours').toBeUndefined();
  if (sameAsUnbound) expect(o).toEqual(u);
}

describe('answers from a hostile server', () => {
  it('keep the genuine record and drop forged answer, authority and additional records', () =>
    compare('forged records beside a genuine answer', `www.${H}`, { rcode: 'NOERROR', answer: [A(`www.${H}`, '192.0.2.99')] }));
  it('re-ask the CNAME target\'s own servers instead of trusting the forged target record', () =>
    compare('CNAME with a forged target record', `cname.${H}`, { rcode: 'NOERROR', answer: [`cname.${H} IN CNAME target.a.interop.`, A('target.a.interop', '192.0.2.9')] }));
  it('find out that a forged CNAME target does not exist', () =>
    compare('CNAME to a forged, non-existent target', `cname2.${H}`, { rcode: 'NXDOMAIN', answer: [`cname2.${H} IN CNAME victim3.b.elsewhere.`], soa: 'b.elsewhere' }));
  it('keep an NXDOMAIN with its own SOA and drop the forged delegation beside it', () =>
    compare('NXDOMAIN with a forged delegation', `nx.${H}`, { rcode: 'NXDOMAIN', answer: [], soa: H }));
  it('follow a referral with in-bailiwick glue and ignore out-of-bailiwick glue', () =>
    compare('referral with forged glue', `x.${SUB}`, { rcode: 'NOERROR', answer: [A(`x.${SUB}`, '192.0.2.98')] }));
  it('do not return an answer section holding only another zone\'s record', () =>
    compare('answer of out-of-zone records only', `ooz.${H}`, (n) => (n.answer.length ? `got ${describe1(n)}` : undefined)));
  it('ignore a reply from the wrong address', () =>
    compare('reply from the wrong address', `spoof.${H}`, { rcode: 'NOERROR', answer: [A(`spoof.${H}`, '192.0.2.97')] }));
  it('ignore a reply from the wrong port', () =>
    compare('reply from the wrong port', `spoofport.${H}`, { rcode: 'NOERROR', answer: [A(`spoofport.${H}`, '192.0.2.94')] }));
  it('ignore a reply for another question (unbound gives up with SERVFAIL; waiting for the genuine reply is fine too)', () =>
    compare('reply for another question', `mismatch.${H}`, (n) => {
      const genuine = n.rcode === 'NOERROR' && JSON.stringify(n.answer) === JSON.stringify([A(`mismatch.${H}`, '192.0.2.96')]);
      const gaveUp = n.rcode === 'SERVFAIL' && n.answer.length === 0;
      return genuine || gaveUp ? undefined : `got ${describe1(n)}`;
    }, false));
  it('ignore a reply with the wrong ID', () =>
    compare('reply with the wrong ID', `badid.${H}`, { rcode: 'NOERROR', answer: [A(`badid.${H}`, '192.0.2.95')] }));
});

describe('afterwards, nothing forged was cached', () => {
  const nx = (n: string, zone: string): [string, string, Want] => [`forged name ${n} does not exist`, n, { rcode: 'NXDOMAIN', answer: [], soa: zone }];
  const victims: Array<[string, string, Want]> = [
    nx('victim1.b.elsewhere', 'b.elsewhere'), nx('victim2.a.interop', 'a.interop'), nx('victim3.b.elsewhere', 'b.elsewhere'),
    nx('victim4.a.interop', 'a.interop'), nx('victim5.a.interop', 'a.interop'), nx('victim6.a.interop', 'a.interop'),
    nx('victim7.b.elsewhere', 'b.elsewhere'),
    ['forged glue for ns.b.elsewhere was not kept', 'ns.b.elsewhere', { rcode: 'NOERROR', answer: [A('ns.b.elsewhere', a(HOST.authB))] }],
    ['forged glue for ns1.a.interop was not kept', 'ns1.a.interop', { rcode: 'NOERROR', answer: [A('ns1.a.interop', a(HOST.authA))] }],
    ['forged glue for ns.nic.interop was not kept', 'ns.nic.interop', { rcode: 'NOERROR', answer: [A('ns.nic.interop', a(HOST.tldInterop))] }],
    ['forged target record was not kept', 'target.a.interop', { rcode: 'NOERROR', answer: [A('target.a.interop', '192.0.2.9')] }],
    ['b.elsewhere still resolves through its real server', 'www.b.elsewhere', { rcode: 'NOERROR', answer: [A('www.b.elsewhere', '192.0.2.10')] }],
    ['a.interop still resolves through its real server', 'www.a.interop', { rcode: 'NOERROR', answer: [A('www.a.interop', '192.0.2.1'), A('www.a.interop', '192.0.2.2')] }],
    ['interop. still resolves through its real server', 'nosuch.interop', { rcode: 'NXDOMAIN', answer: [], soa: 'interop' }],
  ];
  for (const [title, name, want] of victims) it(title, () => compare(title, name, want));

  it('sent nothing to the trap and asked the hostile server only about its own zone', () => {
    const who = (from: string) => (from === a(HOST.unbound) ? 'unbound' : 'ours');
    const strays = hostile.seen.filter((s) => !isSubdomain(s.name.toLowerCase(), H));
    const bad = [...trap.seen, ...strays];
    const show = (name: string) => bad.filter((s) => who(s.from) === name).map((s) => `${s.name}/${s.type}`).join(' ') || 'clean';
    if (pair.ours) board.record({ case: 'no query reached the trap or strayed to the hostile server', agree: show('ours') === 'clean', unbound: show('unbound'), ours: show('ours') });
    expect(trap.seen, 'queries that reached the trap (forged glue was used)').toEqual([]);
    expect(strays, 'queries for other zones sent to the hostile server (a forged delegation was followed)').toEqual([]);
    expect(hostile.seen.some((s) => who(s.from) === 'unbound'), 'unbound asked the hostile server').toBe(true);
    if (pair.ours) expect(hostile.seen.some((s) => who(s.from) === 'ours'), 'ours asked the hostile server').toBe(true);
  });
});
