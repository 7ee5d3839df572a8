// Scenario: the source-port attack on a resolver (RFC 5452 §9.2; the Kaminsky
// family). The attacker owns the authoritative server of one zone. He makes the
// resolver ask his zone and, at the same moment, a victim name whose server is
// dead. His server sees the source port its own query came from and floods forged
// answers for the victim question to that port, covering all 65,536 IDs, with the
// victim server's address as the source. If outstanding queries ever share a port,
// one forged answer carries the victim query's ID and is taken: the cache is
// poisoned. Each upstream query must have its own port, drawn at random, so that
// the port an attacker sees tells him nothing about any other query's port.
// Servers on 127.20.12.x.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIterator } from '../../resolver/iterator/index.js';
import { emptyStats } from '../../resolver/stats.js';
import { UdpTcpTransport } from '../../resolver/transport/upstream.js';
import { RCODE, TYPE } from '../../dns/constants.js';
import { TRUST } from '../../resolver/cache/rrset-cache.js';
import { encodeMessage } from '../../dns/message.js';
import { ScriptedNet, rootDelegatingTest, referral, nxdomain, rr, type SeenQuery } from './scripted-auth.js';
import { hints, rdatas, testConfig } from './helpers.js';

const PORT = 10539;
const ip = (n: number) => `127.20.12.${n}`;
const ROOT = ip(1), TLD = ip(2), ATTACKER = ip(10), VICTIM = ip(11);
const FORGED = '6.6.6.6';

/** One forged answer for the victim question; the ID is patched per send. */
function forgedAnswer(): Buffer {
  return encodeMessage({
    id: 0, flags: 0x8400, rcode: RCODE.NOERROR, opcode: 0,
    questions: [{ name: 'www.victim.test', type: TYPE.A, class: 1 }],
    answers: [rr(`www.victim.test. 86400 IN A ${FORGED}`)], authority: [], additional: [],
  });
}

/**
 * Sends the forged answer with every ID to `port`, from the victim server's
 * address, in bursts that let the resolver read between them. Bounded: 65,536
 * datagrams, and it stops when `stop()` says so.
 */
const BURST = 32;
async function flood(net: ScriptedNet, port: number, host: string, stop: () => boolean): Promise<number> {
  const base = forgedAnswer();
  let sent = 0;
  for (let id = 0; id < 65536 && !stop(); id += BURST) {
    const burst: Array<Promise<void>> = [];
    for (let k = id; k < id + BURST; k++) {
      const b = Buffer.from(base);
      b.writeUInt16BE(k, 0);
      burst.push(new Promise((r) => net.sendFrom(VICTIM, b, port, host, () => r())));
    }
    await Promise.all(burst);
    sent += BURST;
    for (let y = 0; y < 8; y++) await new Promise((r) => setImmediate(r));
  }
  return sent;
}

describe('source-port attack: one query\'s port says nothing about another\'s', () => {
  const net = new ScriptedNet(PORT);
  const stats = emptyStats();
  // The victim query keeps listening for its whole budget: the attacker has all of it to cover the IDs.
  const cfg = testConfig(PORT, { timeoutMs: 1500, resolutionTimeoutMs: 3500 });
  const it2 = createIterator(cfg, stats, { rootHints: hints([['a.root.test', ROOT]]) });

  beforeAll(async () => {
    await net.start([
      rootDelegatingTest(ROOT, TLD),
      { address: TLD, entries: [
        { name: 'attacker.test', subdomain: true, reply: referral('attacker.test', [['ns1.attacker.test.', ATTACKER]]) },
        { name: 'victim.test', subdomain: true, reply: referral('victim.test', [['ns1.victim.test.', VICTIM]]) },
      ] },
      { address: ATTACKER, entries: [
        { name: 'bait.attacker.test', type: 'A', reply: { answer: ['bait.attacker.test. 300 IN A 192.0.2.10'] } },
        { name: 'attacker.test', subdomain: true, reply: nxdomain('attacker.test') },
      ] },
      // The victim's server answers its warm-up name, then plays dead for www.
      { address: VICTIM, entries: [
        { name: 'warm.victim.test', type: 'A', reply: { answer: ['warm.victim.test. 300 IN A 192.0.2.11'] } },
        { name: 'www.victim.test', type: 'A', reply: { drop: true } },
      ] },
    ]);
    // Warm both delegations, so the two questions below go straight to their zones' servers together.
    expect((await it2.resolve({ name: 'warm.victim.test', type: TYPE.A, class: 1 })).rcode).toBe(RCODE.NOERROR);
    expect((await it2.resolve({ name: 'nothing.attacker.test', type: TYPE.A, class: 1 })).rcode).toBe(RCODE.NXDOMAIN);
  }, 20_000);

  afterAll(async () => {
    await it2.close();
    await net.stop();
  });

  it('a flood of forged answers at every ID, aimed at the port the attacker saw, is not taken', async () => {
    let floodDone: Promise<number> | undefined;
    let finished = false;
    net.onUdpQuery = (q: SeenQuery, resolverAddress: string) => {
      if (q.server === ATTACKER && q.name.toLowerCase() === 'bait.attacker.test' && !floodDone) {
        floodDone = flood(net, q.srcPort, resolverAddress, () => finished);
      }
    };
    const [bait, victim] = await Promise.all([
      it2.resolve({ name: 'bait.attacker.test', type: TYPE.A, class: 1 }),
      it2.resolve({ name: 'www.victim.test', type: TYPE.A, class: 1 }),
    ]);
    finished = true;
    net.onUdpQuery = undefined;
    const sent = await floodDone;
    expect(bait.rcode).toBe(RCODE.NOERROR);
    // The flood really ran (it covered the whole ID space unless the victim resolution ended first).
    expect(sent).toBeGreaterThan(0);
    // The victim's server never answered: the only honest outcome is SERVFAIL, never the forged address.
    expect(rdatas(victim.answers).filter((l) => l.endsWith(` ${FORGED}`))).toEqual([]);
    expect(victim.rcode).toBe(RCODE.SERVFAIL);
    const cached = it2.cache.lookupName("www.victim.test", TYPE.A, 1, TRUST.GLUE);
    expect(cached.rrset).toBeUndefined();
    // The two questions went out at the same moment, on different ports.
    const baitPort = net.queriesTo(ATTACKER).find((q) => q.name.toLowerCase() === 'bait.attacker.test')!.srcPort;
    const victimPorts = net.queriesTo(VICTIM).filter((q) => q.name.toLowerCase() === 'www.victim.test').map((q) => q.srcPort);
    expect(victimPorts.length).toBeGreaterThan(0);
    expect(victimPorts).not.toContain(baitPort);
  }, 20_000);
});

describe('upstream source ports', () => {
  const net = new ScriptedNet(PORT + 1);
  const SINK = ip(20);
  beforeAll(async () => {
    await net.start([{ address: SINK, entries: [], fallback: { drop: true } }]);
  });
  afterAll(async () => { await net.stop(); });

  it.each(['auto', 'dgram'] as const)('every outstanding query has its own port, drawn uniformly from the ephemeral range (%s)', async (udpIo) => {
    const t = new UdpTcpTransport({ udpIo, ednsUdpSize: 1232, queryLocalhost: true, stats: emptyStats() });
    const N = 300;
    net.seen.length = 0;
    const q = (i: number) => ({ address: SINK, port: PORT + 1, name: `q${i}.sink.test`, type: TYPE.A, class: 1, timeoutMs: 5000, tcpTimeoutMs: 500, edns: true });
    // All N are outstanding together (the sink never answers). They leave in waves of 50, so the
    // sink's socket buffer never overflows, and the test reads the ports the sink saw.
    const pending: Array<Promise<unknown>> = [];
    const deadline = Date.now() + 4000;
    for (let i = 0; i < N; i += 50) {
      for (let k = i; k < i + 50; k++) pending.push(t.query(q(k)));
      while (net.seen.length < i + 50 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    }
    const outcomes = Promise.all(pending);
    const ports = net.seen.map((s) => s.srcPort);
    await t.close();
    await outcomes;
    expect(ports.length).toBe(N);
    // No port is shared between outstanding queries.
    expect(new Set(ports).size).toBe(N);
    // Uniform over the kernel's ephemeral range: they spread over most of it, and the port of
    // one query does not predict its neighbour's (the mean distance between two independent
    // uniform draws is a third of the range; sequential or clustered ports give far less).
    const [lo, hi] = ephemeralRange();
    for (const p of ports) { expect(p).toBeGreaterThanOrEqual(lo); expect(p).toBeLessThanOrEqual(hi); }
    const span = hi - lo + 1;
    expect(Math.max(...ports) - Math.min(...ports)).toBeGreaterThan(span * 0.9);
    let dist = 0;
    for (let i = 1; i < N; i++) dist += Math.abs(ports[i] - ports[i - 1]);
    const mean = dist / (N - 1) / span;
    expect(mean).toBeGreaterThan(0.25);
    expect(mean).toBeLessThan(0.42);
    net.seen.length = 0;
  }, 20_000);
});

function ephemeralRange(): [number, number] {
  try {
    const text = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (text.length === 2 && text.every(Number.isFinite)) return [text[0], text[1]];
  } catch { /* not Linux */ }
  return [32768, 60999];
}
