// Transport on real loopback sockets (127.20.9.x): matching, TC → TCP, limits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import net from 'node:net';
import { Canceller, UdpTcpTransport, isForbiddenDestination, isLocalAddress, matchReply, randomId } from './upstream.js';
import { buildQuery, encodeMessage, parseMessage, type Message } from '../../dns/message.js';
import { FLAG, TYPE } from '../../dns/constants.js';
import { emptyStats } from '../stats.js';

const ADDR = '127.20.9.1';
const SPOOF = '127.20.9.2';
const PORT = 10591;

type Behaviour = (q: Message, reply: (m: Partial<Message>, opts?: { from?: dgram.Socket; id?: number }) => void) => void;
let behaviour: Behaviour = () => {};
let tcpBehaviour: ((q: Message, sock: net.Socket) => void) | undefined;
let server: dgram.Socket, spoof: dgram.Socket, tcpServer: net.Server;

function answer(q: Message, m: Partial<Message>, id?: number): Buffer {
  return encodeMessage({
    id: id ?? q.id, flags: FLAG.QR | FLAG.AA, rcode: 0, opcode: 0, questions: q.questions,
    answers: [], authority: [], additional: [], ...m,
  });
}

/** The test server's normal handler: answers as `behaviour` says. */
function serve(buf: Buffer, rinfo: dgram.RemoteInfo): void {
  const q = parseMessage(buf);
  behaviour(q, (m, o = {}) => (o.from ?? server).send(answer(q, m, o.id), rinfo.port, rinfo.address));
}

beforeAll(async () => {
  // Room for a burst of queries (the many-answers-at-once test): the default buffer holds about 200.
  server = dgram.createSocket({ type: 'udp4', recvBufferSize: 1 << 21, sendBufferSize: 1 << 21 });
  spoof = dgram.createSocket('udp4');
  await new Promise<void>((r) => server.bind(PORT, ADDR, r));
  await new Promise<void>((r) => spoof.bind(PORT, SPOOF, r));
  server.on('message', serve);
  tcpServer = net.createServer((c) => {
    c.on('data', (d) => { const q = parseMessage(d.subarray(2)); tcpBehaviour?.(q, c); });
    c.on('error', () => {});
  });
  await new Promise<void>((r) => tcpServer.listen(PORT, ADDR, r));
});

afterAll(async () => {
  server.close(); spoof.close();
  await new Promise<void>((r) => tcpServer.close(() => r()));
});

const A = (ip: string) => ({ name: 'www.example', type: TYPE.A, class: 1, ttl: 60, rdata: Buffer.from(ip.split('.').map(Number)) });
const question = { address: ADDR, port: PORT, name: 'www.example', type: TYPE.A, class: 1, timeoutMs: 400, tcpTimeoutMs: 400, edns: true };

// Both UDP paths: fastudp (batched sends, errors reported at flush) and node:dgram.
describe.each(['fastudp', 'dgram'] as const)('upstream transport (%s)', (io) => {
  const udpIo = io === 'dgram' ? 'dgram' as const : 'auto' as const;
  it('classifies local addresses', () => {
    for (const a of ['127.0.0.1', '127.53.1.2', '0.0.0.0', '0.1.2.3', '::1', '::', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) expect(isLocalAddress(a), a).toBe(true);
    for (const a of ['192.0.2.1', '128.0.0.1', '::2', '2001:db8::1', '::ffff:192.0.2.1']) expect(isLocalAddress(a), a).toBe(false);
  });

  it('never sends to multicast, broadcast or reserved addresses', async () => {
    for (const a of ['224.0.0.251', '239.255.255.250', '255.255.255.255', '240.0.0.1', 'ff02::fb', '::ffff:224.0.0.1']) expect(isForbiddenDestination(a), a).toBe(true);
    for (const a of ['223.255.255.255', '192.0.2.1', '2001:db8::1', '127.0.0.1']) expect(isForbiddenDestination(a), a).toBe(false);
    const stats = emptyStats();
    const t = new UdpTcpTransport({ udpIo, ednsUdpSize: 1232, queryLocalhost: true, stats });
    expect(await t.query({ ...question, address: '255.255.255.255' })).toMatchObject({ kind: 'error', code: 'BAD_DESTINATION' });
    expect(await t.query({ ...question, address: '224.0.0.251' })).toMatchObject({ kind: 'error', code: 'BAD_DESTINATION' });
    expect(stats.upstreamQueries).toBe(0);
    await t.close();
  });

  it('random IDs are spread over the 16-bit space', () => {
    const ids = new Set(Array.from({ length: 2000 }, randomId));
    expect(ids.size).toBeGreaterThan(1900);
  });

  it('matchReply checks ID, QR and the question (case-insensitive)', () => {
    const q = { name: 'WwW.Example', type: TYPE.A, class: 1 };
    const msg = parseMessage(buildQuery({ id: 7, name: 'www.example', type: TYPE.A }));
    const reply = encodeMessage({ ...msg, flags: FLAG.QR });
    expect(matchReply(reply, 7, q)).not.toBe('mismatch');
    expect(matchReply(reply, 8, q)).toBe('mismatch');
    expect(matchReply(encodeMessage({ ...msg, flags: 0 }), 7, q)).toBe('mismatch');
    expect(matchReply(reply, 7, { ...q, type: TYPE.AAAA })).toBe('mismatch');
    expect(matchReply(reply, 7, { ...q, name: 'www.example.org' })).toBe('mismatch');
  });

  it('refuses loopback destinations unless queryLocalhost is set, without sending', async () => {
    const stats = emptyStats();
    const t = new UdpTcpTransport({ udpIo, ednsUdpSize: 1232, queryLocalhost: false, stats });
    const out = await t.query(question);
    expect(out).toMatchObject({ kind: 'error', code: 'LOCAL_REFUSED' });
    expect(stats.upstreamQueries).toBe(0);
    await t.close();
  });

  it('ignores replies with a wrong ID, wrong question or from the wrong address, and takes the real one', async () => {
    const stats = emptyStats();
    const t = new UdpTcpTransport({ udpIo, ednsUdpSize: 1232, queryLocalhost: true, stats });
    let sawEdns = 0;
    behaviour = (q, reply) => {
      if (q.edns?.udpSize === 1232) sawEdns++;
      reply({ answers: [A('6.6.6.1')] }, { id: (q.id + 1) & 0xffff });
      reply({ answers: [A('6.6.6.2')], questions: [{ name: 'www.evil', type: TYPE.A, class: 1 }] });
      reply({ answers: [A('6.6.6.3')] }, { from: spoof });
      setTimeout(() => reply({ answers: [A('192.0.2.1')] }), 20);
    };
    const out = await t.query(question);
    expect(out.kind, JSON.stringify(out)).toBe('answer');
    if (out.kind !== 'answer') return;
    expect([...out.msg.answers[0].rdata]).toEqual([192, 0, 2, 1]);
    expect(sawEdns).toBe(1);
    expect(stats.upstreamQueries).toBe(1);
    // The wrong ID and the wrong question reach us and are counted; the reply from the wrong
    // address never does: the query's socket is connected, so the kernel drops it.
    expect(stats.upstreamErrors).toBe(2);
    await t.close();
  });

  it('gives every query a socket of its own on a fresh random port, closed when the query is settled', async () => {
    const ports: number[] = [];
    behaviour = (q, reply) => reply({ answers: [A('192.0.2.1')] });
    server.on('message', (_b, rinfo) => ports.push(rinfo.port));
    const t = new UdpTcpTransport({ udpIo, ednsUdpSize: 1232, queryLocalhost: true, stats: emptyStats() });
    // A burst of one event-loop turn: no two share a port.
    const burst = await Promise.all(Array.from({ length: 150 }, () => t.query(question)));
    expect(burst.filter((o) => o.kind === 'answer')).toHaveLength(150);
    expect(new Set(ports).size).toBe(150);
    expect(t.openSockets).toBe(0);
    // One after another: a new random draw each time (two of 30 draws from ~28k ports may meet by chance).
    ports.length = 0;
    for (let i = 0; i < 30; i++) expect((await t.query(question)).kind).toBe('answer');
    expect(new Set(ports).size).toBeGreaterThanOrEqual(28);
    expect(t.openSockets).toBe(0);
    await t.close();
    server.removeAllListeners('message');
    server.on('message', serve);
  });

  it('keeps at most maxUdpSockets queries outstanding; the rest wait their turn and still get answers', async () => {
    let inServer = 0, most = 0;
    behaviour = (q, reply) => { inServer++; most = Math.max(most, inServer); setTimeout(() => { inServer--; reply({ answers: [A('192.0.2.1')] }); }, 20); };
    const t = new UdpTcpTransport({ udpIo, ednsUdpSize: 1232, queryLocalhost: true, stats: emptyStats(), maxUdpSockets: 4 });
    const all = await Promise.all(Array.from({ length: 20 }, () => t.query(question)));
    expect(all.filter((o) => o.kind === 'answer')).toHaveLength(20);
    expect(most).toBeLessThanOrEqual(4);
    expect(most).toBeGreaterThanOrEqual(2);
    expect(t.openSockets).toBe(0);
    await t.close();
  });

  it('a lingering query gives its socket place to a waiting one, and lingers not at all while others wait', async () => {
    behaviour = () => {};
    const t = new UdpTcpTransport({ udpIo, ednsUdpSize: 1232, queryLocalhost: true, stats: emptyStats(), maxUdpSockets: 1 });
    const first = await t.query({ ...question, timeoutMs: 20, lingerMs: 10_000 });
    if (first.kind !== 'timeout' || !first.late) throw new Error('expected a lingering timeout');
    // The one place is held by the lingering query; a new query must not wait 10 s for it.
    behaviour = (_q, reply) => reply({ answers: [A('192.0.2.3')] });
    const t0 = performance.now();
    const second = await t.query(question);
    expect(second.kind).toBe('answer');
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(await first.late).toEqual({ kind: 'timeout', tcp: false });
    expect(t.places.lingerYielded).toBe(1);
    // A query timing out while another waits does not linger: the waiter gets the place.
    behaviour = () => {};
    const [a, b] = await Promise.all([t.query({ ...question, timeoutMs: 30, lingerMs: 10_000 }), t.query({ ...question, timeoutMs: 30, lingerMs: 10_000 })]);
    expect(a).toEqual({ kind: 'timeout', tcp: false });
    expect(b.kind).toBe('timeout');
    if (b.kind === 'timeout') b.late?.catch(() => {});
    await t.close();
    expect(t.openSockets).toBe(0);
  });

  it('a query waiting for a socket place gives up when its budget is spent or it is cancelled, and leaves the queue', async () => {
    behaviour = () => {};
    const t = new UdpTcpTransport({ udpIo, ednsUdpSize: 1232, queryLocalhost: true, stats: emptyStats(), maxUdpSockets: 1 });
    // The place is held (no lingering: a plain 300 ms timeout).
    const holder = t.query({ ...question, timeoutMs: 300 });
    await new Promise((r) => setTimeout(r, 5));
    const t0 = performance.now();
    // Its budget (timeout + linger) is 60 ms: it is not sent, and says why.
    const starved = await t.query({ ...question, timeoutMs: 40, lingerMs: 20 });
    expect(starved).toMatchObject({ kind: 'error', code: 'NO_SOCKET' });
    expect(performance.now() - t0).toBeLessThan(250);
    // A cancelled waiter leaves at once and does not use up the place's hand-over.
    const c = new Canceller();
    const cancelled = t.query({ ...question, timeoutMs: 1000, signal: c.signal });
    behaviour = (_q, reply) => reply({ answers: [A('192.0.2.4')] });
    const next = t.query({ ...question, timeoutMs: 1000 });
    expect(t.waitingForSocket).toBe(2);
    c.abort();
    expect(await cancelled).toMatchObject({ kind: 'error', code: 'CLOSED' });
    expect(t.waitingForSocket).toBe(1);
    expect(await holder).toEqual({ kind: 'timeout', tcp: false });
    expect((await next).kind).toBe('answer');
    expect(t.places).toMatchObject({ queued: 3, expired: 1 });
    expect(t.openSockets).toBe(0);
    await t.close();
  });

  it('with 0x20 randomises the case of the name sent and takes only a reply that repeats it exactly', async () => {
    const sent: string[] = [];
    const stats = emptyStats();
    // A server that copies the case back: answered.
    behaviour = (q, reply) => { sent.push(q.questions[0].name); reply({ answers: [A('192.0.2.1')] }); };
    const t = new UdpTcpTransport({ udpIo, ednsUdpSize: 1232, queryLocalhost: true, stats, use0x20: true });
    const long = { ...question, name: 'abcdefghijklmnopqrstuvwxyz.example' };
    for (let i = 0; i < 8; i++) expect((await t.query(long)).kind).toBe('answer');
    expect(new Set(sent).size).toBeGreaterThan(1);
    expect(sent.every((n) => n.toLowerCase() === long.name)).toBe(true);
    // A reply that lower-cases the name (a forger who does not know the case, or a server that does not copy it) is not taken.
    behaviour = (q, reply) => reply({ questions: [{ ...q.questions[0], name: q.questions[0].name.toLowerCase() === q.questions[0].name ? q.questions[0].name.toUpperCase() : q.questions[0].name.toLowerCase() }], answers: [A('6.6.6.6')] });
    const before = stats.upstreamErrors;
    expect((await t.query({ ...long, timeoutMs: 150 })).kind).toBe('timeout');
    expect(stats.upstreamErrors).toBeGreaterThan(before);
    await t.close();
  });

  it('a send the kernel refuses fails its query at once, not at the timeout, and the rest of the turn still goes out', async () => {
    const stats = emptyStats();
    const t = new UdpTcpTransport({ udpIo, ednsUdpSize: 1232, queryLocalhost: true, stats });
    behaviour = (q, reply) => reply({ answers: [A('192.0.2.1')] });
    const t0 = performance.now();
    // Port 0 is no destination (EINVAL): queued in the same turn as two good queries.
    const [good1, bad, good2] = await Promise.all([t.query(question), t.query({ ...question, port: 0, timeoutMs: 5000 }), t.query(question)]);
    expect(bad).toMatchObject({ kind: 'error', code: 'NETWORK' });
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(good1.kind).toBe('answer');
    expect(good2.kind).toBe('answer');
    expect(stats.upstreamErrors).toBeGreaterThanOrEqual(1);
    await t.close();
  });

  it('times out when nothing answers and counts it', async () => {
    const stats = emptyStats();
    const t = new UdpTcpTransport({ udpIo, ednsUdpSize: 1232, queryLocalhost: true, stats });
    behaviour = () => {};
    expect(await t.query({ ...question, timeoutMs: 50 })).toEqual({ kind: 'timeout', tcp: false });
    expect(stats.upstreamTimeouts).toBe(1);
    await t.close();
  });

  it('after the timeout, keeps listening for lingerMs and hands over a late answer', async () => {
    const stats = emptyStats();
    const t = new UdpTcpTransport({ udpIo, ednsUdpSize: 1232, queryLocalhost: true, stats });
    behaviour = (_q, reply) => setTimeout(() => reply({ answers: [A('192.0.2.7')] }), 150);
    const out = await t.query({ ...question, timeoutMs: 40, lingerMs: 1000 });
    expect(out.kind).toBe('timeout');
    if (out.kind !== 'timeout' || !out.late) throw new Error('no late promise');
    const late = await out.late;
    expect(late.kind).toBe('answer');
    if (late.kind === 'answer') expect(late.rttMs).toBeGreaterThanOrEqual(140);
    expect(stats.upstreamTimeouts).toBe(1);
    // Lingering ends with a timeout when nothing comes, and an abort cancels it at once.
    behaviour = () => {};
    const silent = await t.query({ ...question, timeoutMs: 20, lingerMs: 60 });
    expect(silent.kind === 'timeout' && (await silent.late!).kind).toBe('timeout');
    const ac = new AbortController();
    const cancelled = await t.query({ ...question, timeoutMs: 20, lingerMs: 10_000, signal: ac.signal });
    ac.abort();
    expect(cancelled.kind === 'timeout' && (await cancelled.late!)).toMatchObject({ kind: 'error', code: 'CLOSED' });
    // The iterator's lighter Canceller does the same, and one already cancelled sends nothing.
    const c = new Canceller();
    const viaCanceller = await t.query({ ...question, timeoutMs: 20, lingerMs: 10_000, signal: c.signal });
    c.abort();
    expect(viaCanceller.kind === 'timeout' && (await viaCanceller.late!)).toMatchObject({ kind: 'error', code: 'CLOSED' });
    const sent = stats.upstreamQueries;
    expect(await t.query({ ...question, signal: c.signal })).toMatchObject({ kind: 'error', code: 'CLOSED' });
    expect(stats.upstreamQueries).toBe(sent);
    await t.close();
  });

  it.runIf(io === 'fastudp')('decides a timeout only after reading every reply already in the kernel', async () => {
    // 160 answers arrive at once and then the event loop is busy past every query's
    // timeout: when it turns again, more answers wait than one read of the set takes
    // (64). Each must be read and taken before its timer can call it a timeout.
    const N = 160;
    // Generous, so that a loaded box still gets the queries to the server before any timer is due.
    const TIMEOUT_MS = 400;
    const stats = emptyStats();
    const t = new UdpTcpTransport({ udpIo, ednsUdpSize: 1232, queryLocalhost: true, stats });
    const held: Array<() => void> = [];
    let replied = 0;
    let sentAt = 0;
    let flushTimer: NodeJS.Timeout | undefined;
    const flush = () => {
      clearTimeout(flushTimer);
      replied += held.length;
      for (const send of held.splice(0)) send();
      const until = sentAt + TIMEOUT_MS + 40;
      while (performance.now() < until) { /* busy: no read until every timer is due */ }
    };
    behaviour = (_q, reply) => {
      held.push(() => reply({ answers: [A('192.0.2.5')] }));
      // All of them, or (a query lost on a loaded box) what came within 150 ms.
      if (held.length === N) flush();
      else if (held.length === 1) flushTimer = setTimeout(flush, 150);
    };
    sentAt = performance.now();
    const all = await Promise.all(Array.from({ length: N }, () => t.query({ ...question, timeoutMs: TIMEOUT_MS })));
    expect(replied, 'replies sent at once: more than one read of the set takes').toBeGreaterThan(128);
    // Every reply that was sent was taken; only queries the server never saw timed out.
    expect(all.filter((o) => o.kind === 'answer')).toHaveLength(replied);
    expect(stats.upstreamTimeouts).toBe(N - replied);
    await t.close();
  });

  it('falls back to TCP on TC=1 and reads a length-prefixed answer', async () => {
    const stats = emptyStats();
    const t = new UdpTcpTransport({ udpIo, ednsUdpSize: 1232, queryLocalhost: true, stats });
    behaviour = (_q, reply) => reply({ flags: FLAG.QR | FLAG.AA | FLAG.TC });
    tcpBehaviour = (q, c) => {
      const big = Array.from({ length: 100 }, (_, i) => A(`192.0.2.${i}`));
      const out = answer(q, { answers: big });
      const frame = Buffer.alloc(2 + out.length);
      frame.writeUInt16BE(out.length);
      out.copy(frame, 2);
      // Split the frame to check reassembly.
      c.write(frame.subarray(0, 1));
      setTimeout(() => c.write(frame.subarray(1, 300)), 5);
      setTimeout(() => c.write(frame.subarray(300)), 10);
    };
    const out = await t.query(question);
    expect(out.kind).toBe('answer');
    if (out.kind === 'answer') {
      expect(out.tcp).toBe(true);
      expect(out.msg.answers).toHaveLength(100);
    }
    expect(stats.upstreamQueries).toBe(2);
    await t.close();
  });

  it('a TCP answer that does not match the question is an error, and a silent TCP server times out', async () => {
    const stats = emptyStats();
    const t = new UdpTcpTransport({ udpIo, ednsUdpSize: 1232, queryLocalhost: true, stats });
    behaviour = (_q, reply) => reply({ flags: FLAG.QR | FLAG.TC });
    tcpBehaviour = (q, c) => {
      const out = answer(q, {}, (q.id + 1) & 0xffff);
      const frame = Buffer.alloc(2 + out.length); frame.writeUInt16BE(out.length); out.copy(frame, 2);
      c.write(frame);
    };
    expect(await t.query(question)).toMatchObject({ kind: 'error', code: 'TCP_FAILED' });
    tcpBehaviour = () => {};
    expect(await t.query({ ...question, tcpTimeoutMs: 50 })).toEqual({ kind: 'timeout', tcp: true });
    await t.close();
  });

  it('a garbage reply carrying our ID is a MALFORMED error', async () => {
    const stats = emptyStats();
    const t = new UdpTcpTransport({ udpIo, ednsUdpSize: 1232, queryLocalhost: true, stats });
    behaviour = (q) => {};
    server.removeAllListeners('message');
    server.on('message', (buf, rinfo) => {
      const bad = Buffer.alloc(30, 0xc0);
      buf.copy(bad, 0, 0, 2);
      bad[2] = 0x84; bad[3] = 0; bad.writeUInt16BE(1, 4); bad.writeUInt16BE(5, 6);
      server.send(bad, rinfo.port, rinfo.address);
    });
    try {
      expect(await t.query(question)).toMatchObject({ kind: 'error', code: 'MALFORMED' });
    } finally {
      server.removeAllListeners('message');
      server.on('message', serve);
      await t.close();
    }
  });
});
