// fastudp against node:dgram peers on loopback (127.80.0.0/16 and ::1): batched sockets, and the
// one-socket-per-query set the resolver's upstream transport uses.
// CI builds the addon and sets ANYCAST_KIT_REQUIRE_NATIVE=1, so there these tests
// cannot pass by skipping; elsewhere they are skipped when there is no compiler.

import { afterEach, describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import { ERRNO, FastUdpSocket, QuerySockets, fastUdp, fastUdpStatus, ipv6Text } from './index.js';

const binding = fastUdp();
const required = process.env.ANYCAST_KIT_REQUIRE_NATIVE === '1';

describe('address text', () => {
  it('writes IPv6 as RFC 5952 says, as Node does', () => {
    const words = (hex: string) => {
      const b = Buffer.from(hex.replace(/ /g, ''), 'hex');
      return [b.readInt32BE(0), b.readInt32BE(4), b.readInt32BE(8), b.readInt32BE(12)] as const;
    };
    expect(ipv6Text(...words('00000000 00000000 00000000 00000001'))).toBe('::1');
    expect(ipv6Text(...words('00000000 00000000 00000000 00000000'))).toBe('::');
    expect(ipv6Text(...words('20010db8 00000000 00000000 00000001'))).toBe('2001:db8::1');
    expect(ipv6Text(...words('20010db8 00000001 00010001 00010001'))).toBe('2001:db8:0:1:1:1:1:1'); // one zero group stays
    expect(ipv6Text(...words('20010000 00000001 00000000 00000001'))).toBe('2001:0:0:1::1'); // the longest run
    expect(ipv6Text(...words('20010db8 00000000 00010000 00000001'))).toBe('2001:db8::1:0:0:1'); // first of equal runs
    expect(ipv6Text(...words('00000000 00000000 0000ffff c0000201'))).toBe('::ffff:192.0.2.1');
    expect(ipv6Text(...words('fe800000 00000000 abcdef01 23456789'))).toBe('fe80::abcd:ef01:2345:6789');
  });
});

describe.skipIf(binding === null && !required)('FastUdpSocket', () => {
  const open: Array<{ close(): void }> = [];
  afterEach(() => { for (const s of open.splice(0)) try { s.close(); } catch { /* closed */ } });

  it('is built where CI requires it', () => {
    expect(fastUdpStatus()).toEqual({ available: true, reason: 'loaded' });
  });

  async function client(host = '127.80.0.2'): Promise<{ sock: dgram.Socket; got: Buffer[]; port: number }> {
    const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    open.push(sock);
    const got: Buffer[] = [];
    sock.on('message', (m) => got.push(m));
    await new Promise<void>((r) => sock.bind(0, host, () => r()));
    return { sock, got, port: sock.address().port };
  }

  const until = async (cond: () => boolean, ms = 3000) => {
    const end = Date.now() + ms;
    while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  };

  it('answers a burst in batches, each reply to its sender, with the sender\'s address as text', async () => {
    const seen: string[] = [];
    // A burst of 300 unpaced datagrams needs more than the default receive buffer.
    const srv = new FastUdpSocket(binding!, { host: '127.80.0.1', port: 0, recvBufferBytes: 1 << 20 }, {
      onUdp(s, msg, address, port) {
        seen.push(`${address}:${port}`);
        s.send(Buffer.concat([Buffer.from('re:'), msg]), port, address);
      },
    });
    open.push(srv);
    const a = await client('127.80.0.2');
    const b = await client('127.80.0.3');
    const n = 300;
    for (let i = 0; i < n; i++) (i % 2 ? b : a).sock.send(Buffer.from(`q${i}`), srv.address().port, '127.80.0.1');
    await until(() => a.got.length + b.got.length === n);
    expect(a.got.map(String).sort()).toEqual(Array.from({ length: n / 2 }, (_, i) => `re:q${2 * i}`).sort());
    expect(b.got.map(String).sort()).toEqual(Array.from({ length: n / 2 }, (_, i) => `re:q${2 * i + 1}`).sort());
    expect(new Set(seen)).toEqual(new Set([`127.80.0.2:${a.port}`, `127.80.0.3:${b.port}`]));
    const c = srv.counters();
    expect(c.recvDatagrams).toBe(n);
    expect(c.recvBatches).toBeLessThanOrEqual(n);
  });

  it('sends replies made later (after the batch) to the right address, and copies of messages stay intact', async () => {
    const kept: Buffer[] = [];
    const srv = new FastUdpSocket(binding!, { host: '127.80.0.1', port: 0 }, {
      onUdp(s, msg, address, port) {
        const copy = Buffer.from(msg); // the view is reused after the batch
        kept.push(copy);
        setTimeout(() => s.send(Buffer.concat([Buffer.from('late:'), copy]), port, address), 5);
      },
    });
    open.push(srv);
    const a = await client();
    for (let i = 0; i < 100; i++) a.sock.send(Buffer.from(`m${i}`), srv.address().port, '127.80.0.1');
    await until(() => a.got.length === 100);
    expect(a.got.map(String).sort()).toEqual(Array.from({ length: 100 }, (_, i) => `late:m${i}`).sort());
    expect(kept.map(String).sort()).toEqual(Array.from({ length: 100 }, (_, i) => `m${i}`).sort());
  });

  it('keeps a batch\'s replies when answers resolved in promises queue more as the batch ends (no reply lost, none sent twice)', async () => {
    // The resolver answers a cache hit at once (queued for the batch's sendmmsg) and a
    // SERVFAIL from a dead zone a promise later. Node runs those promises as the batch
    // callback returns, before the addon sent the batch's replies: they must not take
    // the queued replies' places in the out slab.
    const srv = new FastUdpSocket(binding!, { host: '127.80.0.1', port: 0, recvBufferBytes: 1 << 20 }, {
      onUdp(s, msg, address, port) {
        const text = String(msg);
        if (text.startsWith('attack')) void Promise.resolve().then(() => s.send(Buffer.from(`re:${text}`), port, address));
        else s.send(Buffer.from(`re:${text}`), port, address);
      },
    });
    open.push(srv);
    const attacker = await client(), legit = await client('127.80.0.3');
    const port = srv.address().port;
    for (let i = 0; i < 20; i++) {
      for (let j = 0; j < 3; j++) attacker.sock.send(Buffer.from(`attack${i}.${j}`), port, '127.80.0.1');
      legit.sock.send(Buffer.from(`legit${i}`), port, '127.80.0.1');
    }
    await until(() => legit.got.length >= 20 && attacker.got.length >= 60, 2000);
    await new Promise((r) => setTimeout(r, 50)); // any duplicate would have come by now
    expect(legit.got.map(String).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `re:legit${i}`).sort());
    expect(attacker.got.map(String).sort()).toEqual(Array.from({ length: 60 }, (_, k) => `re:attack${Math.floor(k / 3)}.${k % 3}`).sort());
    expect(srv.counters().sendDropped).toBe(0);
  });

  it('drops datagrams longer than a slot without handing them on, and keeps serving', async () => {
    let calls = 0;
    const srv = new FastUdpSocket(binding!, { host: '127.80.0.1', port: 0, slotBytes: 1024 }, {
      onUdp(s, msg, address, port) { calls++; s.send(msg, port, address); },
    });
    open.push(srv);
    const a = await client();
    a.sock.send(Buffer.alloc(3000, 1), srv.address().port, '127.80.0.1');
    a.sock.send(Buffer.from('small'), srv.address().port, '127.80.0.1');
    await until(() => a.got.length === 1);
    expect(a.got.map(String)).toEqual(['small']);
    expect(calls).toBe(1);
    expect(srv.oversize).toBe(1);
  });

  it('queues and flushes on a connected socket, and stops cleanly when closed inside a batch', async () => {
    const peer = await client('127.80.0.4');
    let handled = 0;
    const s = new FastUdpSocket(binding!, { host: '127.80.0.5', port: 0 }, {
      onUdp(sock) { handled++; sock.close(); },
    });
    open.push(s);
    s.connect('127.80.0.4', peer.port);
    for (let i = 0; i < 150; i++) expect(s.queue(Buffer.from(`d${i}`))).toBe(true);
    expect(s.flush()).toBe(150);
    await until(() => peer.got.length === 150);
    expect(peer.got.map(String)).toEqual(Array.from({ length: 150 }, (_, i) => `d${i}`));
    // Three datagrams arrive in one batch; the handler closes the socket at the first.
    for (let i = 0; i < 3; i++) peer.sock.send(Buffer.from('x'), s.address().port, '127.80.0.5');
    await until(() => handled > 0);
    await new Promise((r) => setTimeout(r, 50));
    expect(handled).toBe(1);
    expect(() => s.send(Buffer.from('y'), peer.port, '127.80.0.4')).toThrow(/closed/);
  });

  it('sends what is queued when closed in the same turn (an answer that waited for the upstream, then shutdown)', async () => {
    const peer = await client('127.80.0.6');
    const s = new FastUdpSocket(binding!, { host: '127.80.0.7', port: 0 }, { onUdp() {} });
    open.push(s);
    // Outside a receive batch, send() queues the datagram for the next check phase.
    s.send(Buffer.from('late answer'), peer.port, '127.80.0.6');
    s.close();
    await until(() => peer.got.length === 1, 1000);
    expect(peer.got.map(String)).toEqual(['late answer']);
  });

  it('serves IPv6 (::1) with the same calls', async () => {
    const srv = new FastUdpSocket(binding!, { host: '::1', port: 0 }, {
      onUdp(s, msg, address, port) { s.send(Buffer.from(address), port, address); setTimeout(() => s.send(msg, port, address), 1); },
    });
    open.push(srv);
    const a = await client('::1');
    a.sock.send(Buffer.from('six'), srv.address().port, '::1');
    await until(() => a.got.length === 2);
    expect(a.got.map(String).sort()).toEqual(['::1', 'six']);
  });

  it('reports a port in use as EADDRINUSE', async () => {
    const a = await client('127.80.0.6');
    expect(() => new FastUdpSocket(binding!, { host: '127.80.0.6', port: a.port }, { onUdp() {} })).toThrow(expect.objectContaining({ code: 'EADDRINUSE' }));
  });
});

describe.skipIf(binding === null && !required)('QuerySockets (one socket per upstream query)', () => {
  async function echoServer(host: string): Promise<{ sock: dgram.Socket; port: number; seen: number[] }> {
    const sock = dgram.createSocket('udp4');
    const seen: number[] = [];
    await new Promise<void>((r) => sock.bind(0, host, r));
    sock.on('message', (m, ri) => { seen.push(ri.port); sock.send(m, ri.port, ri.address); });
    return { sock, port: sock.address().port, seen };
  }

  it('opens, binds the port asked, connects, sends in one call, hands the reply over, and closes', async () => {
    const srv = await echoServer('127.80.1.1');
    const qs = new QuerySockets(binding!);
    const got: string[] = [];
    const ids: number[] = [];
    await new Promise<void>((done) => {
      for (let i = 0; i < 20; i++) {
        const id = qs.open(4, 0, '127.80.1.1', srv.port, Buffer.from(`q${i}`), {
          onReply: (msg) => { got.push(msg.toString()); qs.close(id); if (got.length === 20) done(); },
          onError: (e) => { throw new Error(`errno ${e}`); },
        });
        expect(id).toBeGreaterThanOrEqual(0);
        ids.push(id);
      }
    });
    expect(got.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `q${i}`).sort());
    // Twenty sockets at once: twenty source ports.
    expect(new Set(srv.seen).size).toBe(20);
    expect(qs.openCount).toBe(0);
    expect(qs.counters()).toMatchObject({ opened: 20, replies: 20 });
    srv.sock.close();
  });

  it('binds exactly the local port given, and says EADDRINUSE (nothing left open) when it is taken', async () => {
    const srv = await echoServer('127.80.1.2');
    const qs = new QuerySockets(binding!);
    const taken = dgram.createSocket('udp4');
    await new Promise<void>((r) => taken.bind(0, '0.0.0.0', r));
    const port = taken.address().port;
    const h = { onReply: () => {}, onError: () => {} };
    expect(qs.open(4, port, '127.80.1.2', srv.port, Buffer.from('x'), h)).toBe(-ERRNO.EADDRINUSE);
    expect(qs.openCount).toBe(0);
    taken.close();
    await new Promise((r) => setTimeout(r, 10));
    const id = qs.open(4, port, '127.80.1.2', srv.port, Buffer.from('x'), h);
    expect(id).toBeGreaterThanOrEqual(0);
    expect(qs.localPort(id)).toBe(port);
    await new Promise((r) => setTimeout(r, 20));
    expect(srv.seen).toEqual([port]);
    qs.close(id);
    srv.sock.close();
  });

  it('reports a port unreachable (ICMP) on the connected socket as ECONNREFUSED, and ignores datagrams from anyone else', async () => {
    const qs = new QuerySockets(binding!);
    // A port nothing listens on.
    const probe = dgram.createSocket('udp4');
    await new Promise<void>((r) => probe.bind(0, '127.80.1.3', r));
    const deadPort = probe.address().port;
    probe.close();
    const errno = await new Promise<number>((resolve, reject) => {
      const id = qs.open(4, 0, '127.80.1.3', deadPort, Buffer.from('x'), { onReply: () => reject(new Error('a reply from nowhere')), onError: (e) => { qs.close(id); resolve(e); } });
      setTimeout(() => reject(new Error('no ICMP error within 2 s')), 2000);
    });
    expect(errno).toBe(ERRNO.ECONNREFUSED);
    // A stranger writing to the socket's port: the connected socket never sees it.
    const srv = await echoServer('127.80.1.4');
    srv.sock.removeAllListeners('message');
    const replies: string[] = [];
    const id = qs.open(4, 0, '127.80.1.4', srv.port, Buffer.from('x'), { onReply: (m) => replies.push(m.toString()), onError: () => {} });
    const local = qs.localPort(id);
    const stranger = dgram.createSocket('udp4');
    await new Promise<void>((r) => stranger.bind(0, '127.80.1.5', r));
    await new Promise<void>((r) => stranger.send(Buffer.from('forged'), local, '127.0.0.1', () => r()));
    await new Promise((r) => setTimeout(r, 50));
    expect(replies).toEqual([]);
    qs.close(id);
    stranger.close();
    srv.sock.close();
  });
});

describe.skipIf(binding === null && !required)('memory calls (resolver/startup-memory.ts)', () => {
  it('trim() reports what malloc_trim did; dropPages() refuses an unaligned or empty range and unmaps a clean code mapping', async () => {
    const b = binding!;
    expect([0, 1]).toContain(b.trim!());
    expect(b.dropPages!(4097, 4096)).toBe(-22); // EINVAL: not page-aligned
    expect(b.dropPages!(4096, 0)).toBe(-22);
    const { readFileSync } = await import('node:fs');
    const { cleanFileMappings } = await import('../resolver/startup-memory.js');
    const own = cleanFileMappings(readFileSync('/proc/self/smaps', 'utf8')).find((m) => m.path === process.execPath);
    expect(own).toBeDefined();
    expect(b.dropPages!(own!.start, own!.end - own!.start)).toBe(0);
    // The process keeps running the code it maps back in.
    expect([3, 1, 2].sort()).toEqual([1, 2, 3]);
  });
});
