// Client cookies towards an authoritative server on loopback (127.77.17.1): sent,
// learnt, BADCOOKIE answered with one retry, a foreign client cookie ignored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import { encodeMessage, parseMessage, type Message } from '../../dns/message.js';
import { FLAG, TYPE } from '../../dns/constants.js';
import { emptyStats } from '../stats.js';
import { UdpTcpTransport } from '../transport/upstream.js';
import { ClientCookies } from './client-cookie.js';

const ADDR = '127.77.17.1';
const PORT = 10593;
const SERVER_COOKIE = Buffer.from('0100000011223344aabbccddeeff0011', 'hex');

let server: dgram.Socket;
const seen: Array<Buffer | undefined> = [];
/** What the server does with the n-th query (0-based). */
let script: (q: Message, n: number) => Array<{ rcode: number; cookie?: Buffer }> = () => [];

function reply(q: Message, rcode: number, cookie?: Buffer): Buffer {
  return encodeMessage({
    id: q.id, flags: FLAG.QR | FLAG.AA, rcode, opcode: 0, questions: q.questions, answers: [], authority: [], additional: [],
    edns: { udpSize: 1232, extendedRcode: 0, version: 0, dnssecOk: false, options: cookie ? [{ code: 10, data: cookie }] : [] },
  });
}

beforeAll(async () => {
  server = dgram.createSocket('udp4');
  await new Promise<void>((r) => server.bind(PORT, ADDR, r));
  server.on('message', (buf, rinfo) => {
    const q = parseMessage(buf);
    const c = q.edns?.options.find((o) => o.code === 10)?.data;
    seen.push(c);
    for (const r of script(q, seen.length - 1)) server.send(reply(q, r.rcode, r.cookie), rinfo.port, rinfo.address);
  });
});
afterAll(() => { server.close(); });

const ask = (t: UdpTcpTransport) => t.query({ address: ADDR, port: PORT, name: 'www.example', type: TYPE.A, class: 1, timeoutMs: 500, tcpTimeoutMs: 500, edns: true });

describe('client cookies upstream', () => {
  it('sends a client cookie, learns the server cookie from BADCOOKIE, retries once with it', async () => {
    seen.length = 0;
    const stats = emptyStats();
    const t = new UdpTcpTransport({ ednsUdpSize: 1232, queryLocalhost: true, stats, cookies: new ClientCookies() });
    script = (q, n) => {
      const cc = q.edns!.options.find((o) => o.code === 10)!.data.subarray(0, 8);
      // The first query has no server cookie: BADCOOKIE with one; then NOERROR.
      return [{ rcode: n === 0 ? 23 : 0, cookie: Buffer.concat([cc, SERVER_COOKIE]) }];
    };
    const out = await ask(t);
    expect(out.kind).toBe('answer');
    expect(out.kind === 'answer' && out.msg.rcode).toBe(0);
    expect(seen.length).toBe(2);
    expect(seen[0]!.length).toBe(8);
    expect(seen[1]!.subarray(8)).toEqual(SERVER_COOKIE);
    expect(seen[1]!.subarray(0, 8)).toEqual(seen[0]);
    expect(stats.defence.upstreamBadcookie).toBe(1);
    // The next query carries the learnt server cookie from the start.
    await ask(t);
    expect(seen[2]!.subarray(8)).toEqual(SERVER_COOKIE);
    await t.close();
  });

  it('ignores a reply whose client cookie is not ours and takes the real one', async () => {
    seen.length = 0;
    const stats = emptyStats();
    const t = new UdpTcpTransport({ ednsUdpSize: 1232, queryLocalhost: true, stats, cookies: new ClientCookies() });
    script = (q) => {
      const cc = q.edns!.options.find((o) => o.code === 10)!.data.subarray(0, 8);
      const forged = Buffer.from(cc); forged[0] ^= 0xff;
      return [{ rcode: 3, cookie: Buffer.concat([forged, SERVER_COOKIE]) }, { rcode: 0, cookie: Buffer.concat([cc, SERVER_COOKIE]) }];
    };
    const out = await ask(t);
    expect(out.kind === 'answer' && out.msg.rcode).toBe(0);
    expect(stats.upstreamErrors).toBe(1);
    await t.close();
  });

  it('gives each server its own client cookie', () => {
    const c = new ClientCookies();
    expect(c.clientCookie('192.0.2.1')).not.toEqual(c.clientCookie('192.0.2.2'));
    expect(c.clientCookie('192.0.2.1')).toEqual(c.clientCookie('192.0.2.1'));
  });
});
