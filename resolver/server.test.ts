// The front end to end over real sockets on 127.10.1.x, with a scripted Resolution
// standing in for the iterator.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import { buildQuery, parseMessage } from '../dns/message.js';
import { CLASS, RCODE, TYPE } from '../dns/constants.js';
import { rdataToText } from '../dns/rdata.js';
import { defaultResolverConfig, type ResolverConfig } from './config.js';
import { startSingle } from './server.js';
import { FakeResolution, answer, rec, tcpAsk, udpAsk, udpQuery } from '../test/resolver/helpers.js';

const HOST = '127.10.1.1';

function cfgWith(over: Partial<ResolverConfig> = {}): ResolverConfig {
  return { ...defaultResolverConfig(), listen: [{ host: HOST, port: 0 }], identity: 'node-a', ...over };
}

describe('startResolver (front with a scripted resolution)', () => {
  let clock = 1_000_000;
  const fake = new FakeResolution(async (req) => {
    const n = req.name.toLowerCase();
    if (n === 'slow.example') {
      await new Promise((r) => setTimeout(r, 150));
      return answer([rec(req.name, 300, 'A', '192.0.2.7')]);
    }
    if (n === 'nx.example') {
      return { rcode: RCODE.NXDOMAIN, answers: [], authority: [rec('example', 900, 'SOA', 'ns.example. host.example. 1 2 3 4 60')], additional: [], cacheTtl: 60 };
    }
    if (n === 'fail.example') return { rcode: RCODE.SERVFAIL, answers: [], authority: [], additional: [], cacheTtl: 0 };
    if (n === 'throws.example') throw new Error('boom');
    if (n === 'big.example') {
      const answers = Array.from({ length: 60 }, (_, i) => rec(req.name, 300, 'A', `10.0.${i >> 8}.${i & 255}`));
      return answer(answers);
    }
    if (n === 'huge.example') {
      const answers = Array.from({ length: 100 }, (_, i) => rec(req.name, 300, 'A', `10.1.${i >> 8}.${i & 255}`));
      return answer(answers);
    }
    if (n === 'zero.example') return answer([rec(req.name, 0, 'A', '192.0.2.9')], 0);
    return answer([rec(req.name, 300, 'A', '192.0.2.1')]);
  });
  let h: Awaited<ReturnType<typeof startSingle>>;
  let port = 0;

  beforeAll(async () => {
    h = await startSingle(cfgWith(), { resolution: fake, now: () => clock, log: () => {} });
    port = h.listening[0].port;
  });
  afterAll(async () => { await h.close(); });

  it('reports where it listens', () => {
    expect(h.listening).toEqual([{ address: HOST, port, family: 4 }]);
    expect(port).toBeGreaterThan(0);
  });

  it('resolves a miss, then serves the hit from cache with TTLs counting down', async () => {
    const before = fake.calls.length;
    const m1 = await udpQuery(HOST, port, { name: 'www.example', type: TYPE.A });
    expect(m1.rcode).toBe(0);
    expect(m1.answers.map((a) => rdataToText(a.type, a.rdata))).toEqual(['192.0.2.1']);
    expect(m1.answers[0].ttl).toBe(300);
    expect(m1.flags & 0x8180).toBe(0x8180); // QR, RD echoed, RA
    clock += 10_500;
    const m2 = await udpQuery(HOST, port, { name: 'WWW.Example', type: TYPE.A });
    expect(m2.questions[0].name).toBe('WWW.Example');
    expect(m2.answers[0].name).toBe('WWW.Example');
    expect(m2.answers[0].ttl).toBe(290);
    expect(fake.calls.length - before).toBe(1);
    const s = await h.stats();
    expect(s.cacheHits).toBeGreaterThanOrEqual(1);
    expect(s.cacheMisses).toBeGreaterThanOrEqual(1);
    expect(s.cacheEntries).toBeGreaterThanOrEqual(1);
    expect(s.cacheBytes).toBeGreaterThan(0);
  });

  it('expires an entry when its TTL runs out', async () => {
    await udpQuery(HOST, port, { name: 'expire.example', type: TYPE.A });
    const n = fake.calls.length;
    // (Before the last 10% of the TTL, where a hit would start a prefetch.)
    clock += 250_000;
    const m = await udpQuery(HOST, port, { name: 'expire.example', type: TYPE.A });
    expect(m.answers[0].ttl).toBe(50);
    expect(fake.calls.length).toBe(n);
    clock += 50_000;
    await udpQuery(HOST, port, { name: 'expire.example', type: TYPE.A });
    expect(fake.calls.length).toBe(n + 1);
  });

  it('never caches a TTL 0 answer', async () => {
    const n = fake.calls.length;
    await udpQuery(HOST, port, { name: 'zero.example', type: TYPE.A });
    await udpQuery(HOST, port, { name: 'zero.example', type: TYPE.A });
    expect(fake.calls.length).toBe(n + 2);
  });

  it('merges identical concurrent misses into one resolution', async () => {
    const n = fake.calls.length;
    const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => udpQuery(HOST, port, { name: i % 2 ? 'SLOW.example' : 'slow.EXAMPLE', type: TYPE.A })));
    expect(fake.calls.length).toBe(n + 1);
    replies.forEach((m, i) => {
      expect(m.rcode).toBe(0);
      expect(m.questions[0].name).toBe(i % 2 ? 'SLOW.example' : 'slow.EXAMPLE');
    });
  });

  it('caches NXDOMAIN for min(SOA TTL, MINIMUM) with the SOA TTL capped to it', async () => {
    const n = fake.calls.length;
    const m = await udpQuery(HOST, port, { name: 'nx.example', type: TYPE.A });
    expect(m.rcode).toBe(RCODE.NXDOMAIN);
    expect(m.authority[0].type).toBe(TYPE.SOA);
    expect(m.authority[0].ttl).toBe(60);
    clock += 30_000;
    const m2 = await udpQuery(HOST, port, { name: 'nx.example', type: TYPE.A });
    expect(m2.authority[0].ttl).toBe(30);
    expect(fake.calls.length).toBe(n + 1);
  });

  it('remembers SERVFAIL briefly and answers SERVFAIL when the back throws', async () => {
    const n = fake.calls.length;
    expect((await udpQuery(HOST, port, { name: 'fail.example', type: TYPE.A })).rcode).toBe(RCODE.SERVFAIL);
    expect((await udpQuery(HOST, port, { name: 'fail.example', type: TYPE.A })).rcode).toBe(RCODE.SERVFAIL);
    expect(fake.calls.length).toBe(n + 1);
    clock += 2_000;
    await udpQuery(HOST, port, { name: 'fail.example', type: TYPE.A });
    expect(fake.calls.length).toBe(n + 2);
    expect((await udpQuery(HOST, port, { name: 'throws.example', type: TYPE.A })).rcode).toBe(RCODE.SERVFAIL);
  });

  it('sets TC=1 for a client without EDNS when the answer exceeds 512 bytes, and serves it whole over TCP', async () => {
    const noEdns = await udpQuery(HOST, port, { name: 'big.example', type: TYPE.A });
    expect(noEdns.flags & 0x0200).toBe(0x0200);
    expect(noEdns.answers.length).toBe(0);
    expect(noEdns.questions[0].name).toBe('big.example');
    const edns = await udpQuery(HOST, port, { name: 'big.example', type: TYPE.A, ednsUdpSize: 4096 });
    expect(edns.flags & 0x0200).toBe(0);
    expect(edns.answers.length).toBe(60);
    expect(edns.edns?.udpSize).toBe(1232);
    const [tcp] = await tcpAsk(HOST, port, [buildQuery({ id: 7, name: 'big.example', type: TYPE.A, rd: true })]);
    const m = parseMessage(tcp);
    expect(m.id).toBe(7);
    expect(m.answers.length).toBe(60);
    expect(m.flags & 0x0200).toBe(0);
  });

  it('max_udp_size: a 1.6 KB answer is TC=1 at the default 1232, whole at 4096; the OPT record advertises the setting', async () => {
    const big = await udpQuery(HOST, port, { name: 'huge.example', type: TYPE.A, ednsUdpSize: 4096 });
    expect(big.flags & 0x0200).toBe(0x0200);
    expect(big.answers.length).toBe(0);
    const h2 = await startSingle(cfgWith({ maxUdpSize: 4096 }), { resolution: fake, now: () => clock, log: () => {} });
    try {
      const p2 = h2.listening[0].port;
      const whole = await udpQuery(HOST, p2, { name: 'huge.example', type: TYPE.A, ednsUdpSize: 4096 });
      expect(whole.flags & 0x0200).toBe(0);
      expect(whole.answers.length).toBe(100);
      expect(whole.edns?.udpSize).toBe(4096);
      // Still no more than the client said it takes.
      const small = await udpQuery(HOST, p2, { name: 'huge.example', type: TYPE.A, ednsUdpSize: 1400 });
      expect(small.flags & 0x0200).toBe(0x0200);
    } finally { await h2.close(); }
  });

  it('answers pipelined TCP queries on one connection', async () => {
    const qs = ['p1.example', 'p2.example', 'slow.example', 'p3.example'].map((name, i) => buildQuery({ id: 100 + i, name, type: TYPE.A, rd: true }));
    const replies = (await tcpAsk(HOST, port, qs)).map((b) => parseMessage(b));
    expect(replies.map((r) => r.id).sort()).toEqual([100, 101, 102, 103]);
    for (const r of replies) expect(r.rcode).toBe(0);
  });

  it('echoes DO, answers NSID, and answers BADVERS for EDNS version 1', async () => {
    const m = await udpQuery(HOST, port, { name: 'www.example', type: TYPE.A, ednsUdpSize: 1232, dnssecOk: true, ednsOptions: [{ code: 3, data: Buffer.alloc(0) }] });
    expect(m.edns?.dnssecOk).toBe(true);
    expect(m.edns?.options).toEqual([{ code: 3, data: Buffer.from('node-a') }]);
    const q = buildQuery({ id: 9, name: 'www.example', type: TYPE.A, rd: true, ednsUdpSize: 1232 });
    q[q.length - 11 + 6] = 1; // OPT version byte
    const r = parseMessage((await udpAsk(HOST, port, q))!);
    expect(r.rcode).toBe(RCODE.BADVERS);
    expect(r.answers.length).toBe(0);
  });

  it('answers CHAOS id.server and the probe name according to the probe mode', async () => {
    const id = await udpQuery(HOST, port, { name: 'id.server', type: TYPE.TXT, class: CLASS.CH });
    expect(rdataToText(TYPE.TXT, id.answers[0].rdata)).toBe('"node-a"');
    const ok = await udpQuery(HOST, port, { name: 'health.anycast-kit.invalid', type: TYPE.TXT });
    expect(ok.rcode).toBe(0);
    expect(ok.answers[0].ttl).toBe(0);
    h.setProbeMode('refused');
    const no = await udpQuery(HOST, port, { name: 'health.anycast-kit.invalid', type: TYPE.A });
    expect(no.rcode).toBe(RCODE.REFUSED);
    expect(no.answers.length).toBe(0);
    // 'silent' (drain/lameduck by default): no reply at all, and nothing goes upstream.
    h.setProbeMode('silent');
    const silentQ = buildQuery({ id: 8, name: 'health.anycast-kit.invalid', type: TYPE.A, rd: true });
    expect(await udpAsk(HOST, port, silentQ, { timeoutMs: 300 })).toBeUndefined();
    const still = await udpQuery(HOST, port, { name: 'id.server', type: TYPE.TXT, class: CLASS.CH });
    expect(still.rcode).toBe(0);
    h.setProbeMode('healthy');
    const a = await udpQuery(HOST, port, { name: 'Health.Anycast-Kit.Invalid', type: TYPE.A });
    expect(a.rcode).toBe(0);
    expect(rdataToText(TYPE.A, a.answers[0].rdata)).toBe('127.0.0.1');
  });

  it('never answers QR=1 and survives a flood of random and malformed packets', async () => {
    const sock = dgram.createSocket('udp4');
    let got = 0;
    let answeredResponse = 0;
    const sentIds = new Set<number>();
    sock.on('message', (msg) => {
      got++;
      if (sentIds.has((msg[0] << 8) | msg[1])) answeredResponse++;
    });
    await new Promise<void>((r) => sock.bind({ address: '127.10.1.2', port: 0 }, () => r()));
    let seed = 12345;
    const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed; };
    const base = buildQuery({ id: 1, name: 'www.example', type: TYPE.A, rd: true, ednsUdpSize: 1232 });
    for (let i = 0; i < 3000; i++) {
      let pkt: Buffer;
      if (i % 3 === 0) {
        pkt = Buffer.alloc(rnd() % 80);
        for (let j = 0; j < pkt.length; j++) pkt[j] = rnd() & 255;
      } else {
        pkt = Buffer.from(base.subarray(0, rnd() % (base.length + 1)));
        for (let k = 0; k < 3; k++) if (pkt.length) pkt[rnd() % pkt.length] = rnd() & 255;
      }
      if (i % 5 === 0 && pkt.length >= 12) {
        pkt[2] |= 0x80; // a response: must never be answered
        pkt[0] = 0xee; pkt[1] = (i / 5) & 0xff;
        sentIds.add((pkt[0] << 8) | pkt[1]);
      } else if (pkt.length >= 2 && pkt[0] === 0xee) {
        pkt[0] = 0x11;
      }
      sock.send(pkt, port, HOST);
      if (i % 200 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, 300));
    sock.close();
    expect(answeredResponse).toBe(0);
    expect(got).toBeGreaterThan(0);
    // Still serving afterwards.
    expect((await udpQuery(HOST, port, { name: 'www.example', type: TYPE.A })).rcode).toBe(0);
  });

  it('answers FORMERR to two questions and NOTIMP to a non-QUERY opcode', async () => {
    const q = buildQuery({ id: 5, name: 'www.example', type: TYPE.A, rd: true });
    const two = Buffer.from(q); two[5] = 2;
    expect(parseMessage((await udpAsk(HOST, port, two))!).rcode).toBe(RCODE.FORMERR);
    const notify = Buffer.from(q); notify[2] = (notify[2] & 0x87) | (4 << 3);
    const r = parseMessage((await udpAsk(HOST, port, notify))!);
    expect(r.rcode).toBe(RCODE.NOTIMP);
    expect(r.id).toBe(5);
  });
});

describe('ACL', () => {
  it('refuses clients outside --allow with no data, and allows those inside', async () => {
    const fake = new FakeResolution(() => answer([rec('www.example', 300, 'A', '192.0.2.1')]));
    const h = await startSingle(cfgWith({ allow: ['127.10.1.0/24', '::1'], listen: [{ host: '127.10.2.1', port: 0 }] }), { resolution: fake, log: () => {} });
    try {
      const port = h.listening[0].port;
      const inside = await udpQuery('127.10.2.1', port, { name: 'www.example', type: TYPE.A }, { source: '127.10.1.9' });
      expect(inside.rcode).toBe(0);
      const outside = await udpQuery('127.10.2.1', port, { name: 'www.example', type: TYPE.A }, { source: '127.10.3.9' });
      expect(outside.rcode).toBe(RCODE.REFUSED);
      expect(outside.answers.length + outside.authority.length + outside.additional.length).toBe(0);
      expect(outside.flags & 0x0080).toBe(0); // RA clear: no recursion for this client
      expect(inside.flags & 0x0080).toBe(0x0080);
      const s = await h.stats();
      expect(s.refusedAcl).toBe(1);
      expect(fake.calls.length).toBe(1);
    } finally {
      await h.close();
    }
  });
});

describe('probe name from outside --allow', () => {
  it('answers a switch probing from outside the client networks, and only the probe name', async () => {
    // A switch's IP SLA dns probe comes from the switch's own address, seldom a client network.
    const fake = new FakeResolution(() => answer([rec('www.example', 300, 'A', '192.0.2.1')]));
    const h = await startSingle(cfgWith({ allow: ['127.10.1.0/24'], listen: [{ host: '127.10.2.2', port: 0 }] }), { resolution: fake, log: () => {} });
    try {
      const port = h.listening[0].port;
      const probe = await udpQuery('127.10.2.2', port, { name: 'health.anycast-kit.invalid', type: TYPE.A }, { source: '127.10.4.1' });
      expect(probe.rcode).toBe(0);
      expect(rdataToText(TYPE.A, probe.answers[0].rdata)).toBe('127.0.0.1');
      const other = await udpQuery('127.10.2.2', port, { name: 'www.example', type: TYPE.A }, { source: '127.10.4.1' });
      expect(other.rcode).toBe(RCODE.REFUSED);
      expect(other.answers.length).toBe(0);
      const chaos = await udpQuery('127.10.2.2', port, { name: 'id.server', type: TYPE.TXT, class: CLASS.CH }, { source: '127.10.4.1' });
      expect(chaos.rcode).toBe(RCODE.REFUSED);
      h.setProbeMode('refused');
      const draining = await udpQuery('127.10.2.2', port, { name: 'health.anycast-kit.invalid', type: TYPE.A }, { source: '127.10.4.1' });
      expect(draining.rcode).toBe(RCODE.REFUSED);
      h.setProbeMode('silent');
      const q = buildQuery({ id: 7, name: 'health.anycast-kit.invalid', type: TYPE.A, rd: true });
      expect(await udpAsk('127.10.2.2', port, q, { source: '127.10.4.1', timeoutMs: 300 })).toBeUndefined();
      expect(fake.calls.length).toBe(0);
      expect((await h.stats()).refusedAcl).toBe(2);
    } finally {
      await h.close();
    }
  });
});

describe('TCP listener', () => {
  it('reassembles queries split across segments, closes idle connections and caps connections', async () => {
    const net = await import('node:net');
    const fake = new FakeResolution((req) => answer([rec(req.name, 300, 'A', '192.0.2.1')]));
    const h = await startSingle(cfgWith({ listen: [{ host: '127.10.2.2', port: 0 }], tcp: { idleTimeoutMs: 300, maxConnections: 2, maxPipelined: 4 } }), { resolution: fake, log: () => {} });
    const port = h.listening[0].port;
    try {
      // Byte-by-byte framing.
      const q = buildQuery({ id: 77, name: 'split.example', type: TYPE.A, rd: true });
      const framed = Buffer.concat([Buffer.from([q.length >> 8, q.length & 255]), q]);
      const sock = net.connect({ host: '127.10.2.2', port });
      const got = new Promise<Buffer>((resolve) => {
        let buf = Buffer.alloc(0);
        sock.on('data', (d) => { buf = Buffer.concat([buf, d]); if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) resolve(buf.subarray(2)); });
      });
      const closed = new Promise<number>((resolve) => sock.on('close', () => resolve(performance.now())));
      await new Promise<void>((r) => sock.once('connect', () => r()));
      for (const b of framed) { sock.write(Buffer.from([b])); await new Promise((r) => setTimeout(r, 1)); }
      const m = parseMessage(await got);
      expect(m.id).toBe(77);
      expect(m.answers.length).toBe(1);
      // Then it sends nothing: the server closes it after the idle timeout.
      const t0 = performance.now();
      const t1 = await closed;
      expect(t1 - t0).toBeGreaterThan(200);
      expect(t1 - t0).toBeLessThan(2000);

      // Connection cap: the third concurrent connection is closed by the server.
      const open = () => new Promise<import('node:net').Socket>((resolve) => { const s = net.connect({ host: '127.10.2.2', port }); s.once('connect', () => resolve(s)); s.on('error', () => {}); });
      const a = await open();
      const b = await open();
      await new Promise((r) => setTimeout(r, 50));
      const c = await open();
      const cClosed = await new Promise<boolean>((resolve) => { c.once('close', () => resolve(true)); setTimeout(() => resolve(false), 1000); });
      expect(cClosed).toBe(true);
      a.destroy(); b.destroy();
    } finally {
      await h.close();
    }
  });

  it('close() answers resolutions in flight before the sockets go', async () => {
    const fake = new FakeResolution(async (req) => { await new Promise((r) => setTimeout(r, 200)); return answer([rec(req.name, 300, 'A', '192.0.2.1')]); });
    const h = await startSingle(cfgWith({ listen: [{ host: '127.10.2.3', port: 0 }] }), { resolution: fake, log: () => {} });
    const port = h.listening[0].port;
    const pending = udpQuery('127.10.2.3', port, { name: 'late.example', type: TYPE.A });
    await new Promise((r) => setTimeout(r, 50));
    const closing = h.close();
    expect((await pending).rcode).toBe(0);
    await closing;
    expect(fake.closed).toBe(true);
  });
});

describe('non-recursive queries (RD=0)', () => {
  it('get local data but never the cache or recursion: REFUSED, as unbound answers "allow" clients', async () => {
    const fake = new FakeResolution((req) => answer([rec(req.name, 300, 'A', '192.0.2.1')]));
    const h = await startSingle(cfgWith({ listen: [{ host: '127.10.2.4', port: 0 }] }), { resolution: fake, log: () => {} });
    try {
      const port = h.listening[0].port;
      expect((await udpQuery('127.10.2.4', port, { name: 'www.example', type: TYPE.A })).rcode).toBe(0);
      const snoop = await udpQuery('127.10.2.4', port, { name: 'www.example', type: TYPE.A, rd: false });
      expect(snoop.rcode).toBe(RCODE.REFUSED);
      expect(snoop.answers.length).toBe(0);
      expect((await udpQuery('127.10.2.4', port, { name: 'other.example', type: TYPE.A, rd: false })).rcode).toBe(RCODE.REFUSED);
      expect(fake.calls.length).toBe(1);
      const local = await udpQuery('127.10.2.4', port, { name: 'localhost', type: TYPE.A, rd: false });
      expect(local.rcode).toBe(0);
      expect(rdataToText(TYPE.A, local.answers[0].rdata)).toBe('127.0.0.1');
      expect((await udpQuery('127.10.2.4', port, { name: 'id.server', type: TYPE.TXT, class: CLASS.CH, rd: false })).rcode).toBe(0);
    } finally {
      await h.close();
    }
  });
});
