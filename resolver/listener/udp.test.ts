// The UDP listener (bindUdp) on loopback 127.80.2.0/24: every reply reaches its client
// when cache hits (answered at once) and answers resolved in promises (a dead zone's
// SERVFAIL, a held miss) share a receive batch, and a reply that cannot be sent is
// counted (udpRepliesUnsent, the udp_replies_unsent_total metric), never lost silently.

import { afterEach, describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import { fastUdp } from '../../native/index.js';
import type { QueryHandler } from './replier.js';
import { bindUdp, udpRepliesUnsent, type UdpListenSocket } from './udp.js';

const binding = fastUdp();
const required = process.env.ANYCAST_KIT_REQUIRE_NATIVE === '1';

describe('bindUdp', () => {
  const open: Array<{ close(): void }> = [];
  afterEach(() => { for (const s of open.splice(0)) try { s.close(); } catch { /* closed */ } });

  async function client(host: string): Promise<{ sock: dgram.Socket; got: string[] }> {
    const sock = dgram.createSocket('udp4');
    open.push(sock);
    const got: string[] = [];
    sock.on('message', (m) => got.push(String(m)));
    await new Promise<void>((r) => sock.bind(0, host, () => r()));
    return { sock, got };
  }

  const until = async (cond: () => boolean, ms: number) => {
    const end = Date.now() + ms;
    while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  };

  it('answers a legitimate client inside a flood whose answers come a promise later, each reply once', async () => {
    const handler: QueryHandler = {
      handle(query, replier) {
        const text = String(query);
        if (text.startsWith('flood')) {
          const held = replier.hold();
          void Promise.resolve().then(() => held.send(Buffer.from(`re:${text}`)));
        } else replier.send(Buffer.from(`re:${text}`));
      },
    };
    const srv = await bindUdp({ host: '127.80.2.1', port: 0 }, handler);
    open.push(srv);
    const port = srv.address().port;
    const flood = await client('127.80.2.2'), legit = await client('127.80.2.3');
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 5; i++) flood.sock.send(`flood${round}.${i}`, port, '127.80.2.1');
      legit.sock.send(`legit${round}`, port, '127.80.2.1');
      await new Promise((r) => setTimeout(r, 2));
    }
    await until(() => legit.got.length >= 10 && flood.got.length >= 50, 2000);
    await new Promise((r) => setTimeout(r, 50)); // a reply sent twice would have arrived by now
    expect(legit.got.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `re:legit${i}`).sort());
    expect(flood.got.sort()).toEqual(Array.from({ length: 50 }, (_, k) => `re:flood${Math.floor(k / 5)}.${k % 5}`).sort());
    expect(udpRepliesUnsent(srv)).toBe(0);
  });

  it.skipIf(binding === null && !required)('counts replies the kernel refuses (fastudp), also after close', async () => {
    const srv: UdpListenSocket = await bindUdp({ host: '127.80.2.1', port: 0 }, { handle() { /* no replies */ } });
    open.push(srv);
    expect(udpRepliesUnsent(srv)).toBe(0);
    // Port 0 is refused by sendmmsg (EINVAL): the queued path. 70,000 bytes do not fit a datagram (EMSGSIZE): the direct path.
    srv.send(Buffer.from('x'), 0, '127.80.2.9');
    srv.send(Buffer.alloc(70_000), 5353, '127.80.2.9');
    await until(() => udpRepliesUnsent(srv) >= 2, 1000);
    expect(udpRepliesUnsent(srv)).toBe(2);
    await new Promise<void>((r) => srv.close(() => r()));
    expect(udpRepliesUnsent(srv)).toBe(2);
  });
});
