// Prefetch through the real front and real sockets (127.10.1.4x), with a scripted
// Resolution that counts calls and can be told to fail or to hold its answer.
import { describe, expect, it } from 'vitest';
import { RCODE, TYPE } from '../dns/constants.js';
import { rdataToText } from '../dns/rdata.js';
import type { Message } from '../dns/message.js';
import { defaultResolverConfig } from './config.js';
import { startSingle } from './server.js';
import { FakeResolution, answer, rec, udpQuery } from '../test/resolver/helpers.js';

async function fixture(host: string, prefetch = true) {
  const state = { clock: 1_000_000, ip: '192.0.2.1', fail: false, hold: undefined as Promise<void> | undefined };
  const fake = new FakeResolution(async (req) => {
    if (state.hold) await state.hold;
    if (state.fail) return { rcode: RCODE.SERVFAIL, answers: [], authority: [], additional: [], cacheTtl: 0 };
    return answer([rec(req.name, 100, 'A', state.ip)]);
  });
  const cfg = { ...defaultResolverConfig(), listen: [{ host, port: 0 }], identity: 't', prefetch };
  const h = await startSingle(cfg, { resolution: fake, now: () => state.clock, log: () => {} });
  const port = h.listening[0].port;
  const ask = (name: string) => udpQuery(host, port, { name, type: TYPE.A });
  return { state, fake, h, ask };
}

const ip = (m: Message) => rdataToText(m.answers[0].type, m.answers[0].rdata);
const settle = () => new Promise((r) => setTimeout(r, 30));

describe('prefetch: an answer asked for in the last 10% of its TTL is refreshed in the background, once', () => {
  it('refreshes once, answers from the cache meanwhile, and the fresh answer replaces the old', async () => {
    const f = await fixture('127.10.1.41');
    try {
      await f.ask('www.example');
      expect(f.fake.calls.length).toBe(1);
      // 89% of the TTL: a plain hit.
      f.state.clock += 89_000;
      expect((await f.ask('www.example')).answers[0].ttl).toBe(11);
      await settle();
      expect(f.fake.calls.length).toBe(1);
      // 91%: the client is answered from the cache at once, and one refresh starts.
      let release!: () => void;
      f.state.hold = new Promise<void>((r) => { release = r; });
      f.state.ip = '192.0.2.2';
      f.state.clock += 2_000;
      const hit = await f.ask('www.example');
      expect(ip(hit)).toBe('192.0.2.1');
      expect(hit.answers[0].ttl).toBe(9);
      expect(f.fake.calls.length).toBe(2);
      // More hits in the window while it runs: no second refresh.
      for (let i = 0; i < 5; i++) expect(ip(await f.ask('WWW.example'))).toBe('192.0.2.1');
      expect(f.fake.calls.length).toBe(2);
      f.state.hold = undefined;
      release();
      await settle();
      // The refreshed answer is in the cache with its full TTL, before the old one would have expired.
      const after = await f.ask('www.example');
      expect(ip(after)).toBe('192.0.2.2');
      expect(after.answers[0].ttl).toBe(100);
      expect(f.fake.calls.length).toBe(2);
      const s = await f.h.stats();
      expect(s.cachePrefetches).toBe(1);
      expect(s.cacheMisses).toBe(1);
    } finally { await f.h.close(); }
  });

  it('a refresh that fails leaves the entry in place and is not retried for it', async () => {
    const f = await fixture('127.10.1.42');
    try {
      await f.ask('fail.example');
      f.state.fail = true;
      f.state.clock += 95_000;
      expect(ip(await f.ask('fail.example'))).toBe('192.0.2.1');
      await settle();
      expect(f.fake.calls.length).toBe(2);
      const again = await f.ask('fail.example');
      expect(again.rcode).toBe(RCODE.NOERROR);
      expect(again.answers[0].ttl).toBe(5);
      await settle();
      expect(f.fake.calls.length).toBe(2);
    } finally { await f.h.close(); }
  });

  it('off (prefetch: false): no refresh before expiry', async () => {
    const f = await fixture('127.10.1.43', false);
    try {
      await f.ask('off.example');
      f.state.clock += 95_000;
      await f.ask('off.example');
      await settle();
      expect(f.fake.calls.length).toBe(1);
      expect((await f.h.stats()).cachePrefetches).toBe(0);
    } finally { await f.h.close(); }
  });
});
