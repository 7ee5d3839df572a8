import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSocket, type Socket } from 'node:dgram';
import { encodeMessage, FLAG, parseMessage, RCODE } from '../dns/index.js';
import { dnsProbe, probeAddressFor } from './probe.js';

const HOST = '127.60.1.2';

describe('dnsProbe', () => {
  let srv: Socket;
  let port: number;
  let dropFirst = 0;
  let seen = 0;
  let forge: 'none' | 'wrong-id' | 'wrong-name' | 'not-response' = 'none';

  beforeAll(async () => {
    srv = createSocket('udp4');
    srv.on('message', (buf, rinfo) => {
      seen++;
      if (dropFirst > 0) { dropFirst--; return; }
      const q = parseMessage(buf);
      const out = encodeMessage({
        id: forge === 'wrong-id' ? (q.id + 1) & 0xffff : q.id,
        flags: forge === 'not-response' ? 0 : FLAG.QR, rcode: RCODE.NOERROR, opcode: 0,
        questions: forge === 'wrong-name' ? [{ ...q.questions[0], name: 'other.example' }] : q.questions,
        answers: [], authority: [], additional: [],
      });
      srv.send(out, rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => srv.bind(0, HOST, () => r()));
    port = srv.address().port;
  });
  afterAll(() => srv.close());

  it('gets an answer and its round trip', async () => {
    const r = await dnsProbe({ target: { address: HOST, port }, name: 'Probe.Example', timeoutMs: 500 });
    expect(r).toMatchObject({ answered: true, rcode: 0, rcodeName: 'NOERROR' });
    expect(r.rttMs).toBeGreaterThan(0);
  });

  it('retries within the timeout, so one dropped datagram is not "no answer"', async () => {
    dropFirst = 1;
    expect((await dnsProbe({ target: { address: HOST, port }, name: 'p.example', timeoutMs: 400, attempts: 1 })).answered).toBe(false);
    dropFirst = 2; seen = 0;
    const r = await dnsProbe({ target: { address: HOST, port }, name: 'p.example', timeoutMs: 600, attempts: 3 });
    expect(r.answered).toBe(true);
    expect(seen).toBe(3);
    dropFirst = 3;
    const r2 = await dnsProbe({ target: { address: HOST, port }, name: 'p.example', timeoutMs: 300, attempts: 3 });
    expect(r2).toMatchObject({ answered: false, error: 'timeout after 300 ms (3 tries)' });
    dropFirst = 0;
  });

  it('ignores answers that do not match its ID, question or QR bit', async () => {
    for (const f of ['wrong-id', 'wrong-name', 'not-response'] as const) {
      forge = f;
      expect((await dnsProbe({ target: { address: HOST, port }, name: 'p.example', timeoutMs: 200 })).answered, f).toBe(false);
    }
    forge = 'none';
  });

  it('reports an unreachable port as no answer, without throwing', async () => {
    const r = await dnsProbe({ target: { address: HOST, port: 9 }, name: 'p.example', timeoutMs: 200 });
    expect(r.answered).toBe(false);
  });

  it('maps wildcard listen addresses to loopback', () => {
    expect(probeAddressFor('0.0.0.0')).toBe('127.0.0.1');
    expect(probeAddressFor('::')).toBe('::1');
    expect(probeAddressFor('192.0.2.1')).toBe('192.0.2.1');
  });
});
