import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { FLAG, RCODE, TYPE } from '../../dns/constants.js';
import { buildQuery, parseMessage } from '../../dns/message.js';
import { answerQuery, startAuthServer, type AuthServer } from './server.js';
import { Zone, ZoneSet } from './zone.js';
import { parseZoneText } from './zonefile.js';

const big = Array.from({ length: 8 }, (_, i) => `big TXT "${String(i).repeat(200)}"`).join('\n');
const r = parseZoneText(`$TTL 300
@ SOA ns1 hostmaster 1 3600 900 604800 60
  NS ns1
ns1 A 192.0.2.1
www A 192.0.2.10
mid TXT "${'m'.repeat(250)}" "${'n'.repeat(250)}"
${big}
`, { file: 't', origin: 'srv.lab.' });
const zones = new ZoneSet([Zone.fromRecords('srv.lab', r.records)]);

const udp = { tcp: false };
const reply = (packet: Buffer, ctx = udp) => parseMessage(answerQuery(zones, packet, ctx)!);

describe('answerQuery', () => {
  it('answers with AA, the question echoed, RD copied, and an OPT when asked with EDNS', () => {
    const m = reply(buildQuery({ id: 99, name: 'www.srv.lab', type: TYPE.A, rd: true, ednsUdpSize: 4096 }));
    expect(m.id).toBe(99);
    expect(m.flags & (FLAG.QR | FLAG.AA | FLAG.RD)).toBe(FLAG.QR | FLAG.AA | FLAG.RD);
    expect(m.questions).toEqual([{ name: 'www.srv.lab', type: TYPE.A, class: 1 }]);
    expect(m.answers).toHaveLength(1);
    expect(m.edns?.udpSize).toBe(1232);
  });

  it('drops responses (QR=1) and runts', () => {
    const q = buildQuery({ id: 1, name: 'www.srv.lab', type: TYPE.A });
    q[2] |= 0x80;
    expect(answerQuery(zones, q, udp)).toBeNull();
    expect(answerQuery(zones, Buffer.alloc(11), udp)).toBeNull();
  });

  it('answers FORMERR to garbage after a header', () => {
    const junk = Buffer.from('12340000000100000000000005', 'hex');
    const out = answerQuery(zones, junk, udp)!;
    expect(out.readUInt16BE(0)).toBe(0x1234);
    expect(out.readUInt16BE(2) & 0xf).toBe(RCODE.FORMERR);
  });

  it('sets TC on UDP when the answer exceeds 512 without EDNS, or the EDNS size (capped at 1232)', () => {
    const mid = buildQuery({ id: 2, name: 'mid.srv.lab', type: TYPE.TXT });
    expect(reply(mid).flags & FLAG.TC).toBe(FLAG.TC);
    expect(reply(mid).answers).toEqual([]);
    const midEdns = buildQuery({ id: 2, name: 'mid.srv.lab', type: TYPE.TXT, ednsUdpSize: 1232 });
    expect(reply(midEdns).flags & FLAG.TC).toBe(0);
    const bigEdns = buildQuery({ id: 3, name: 'big.srv.lab', type: TYPE.TXT, ednsUdpSize: 65000 });
    expect(reply(bigEdns).flags & FLAG.TC).toBe(FLAG.TC);
    const viaTcp = reply(bigEdns, { tcp: true });
    expect(viaTcp.flags & FLAG.TC).toBe(0);
    expect(viaTcp.answers).toHaveLength(8);
    expect(answerQuery(zones, bigEdns, { tcp: false, maxUdpSize: 4096 })!.length).toBeGreaterThan(1232);
  });

  it('answers BADVERS to EDNS version 1 and NOTIMP to other opcodes', () => {
    const q = buildQuery({ id: 4, name: 'www.srv.lab', type: TYPE.A, ednsUdpSize: 1232 });
    q[q.length - 5] = 1; // OPT TTL bytes: extended rcode, VERSION, DO+Z
    expect(reply(q).rcode).toBe(RCODE.BADVERS);
    const n = buildQuery({ id: 5, name: 'www.srv.lab', type: TYPE.A });
    n[2] |= 4 << 3; // opcode NOTIFY
    expect(reply(n).rcode).toBe(RCODE.NOTIMP);
  });
});

describe('startAuthServer', () => {
  let srv: AuthServer;
  beforeAll(async () => { srv = await startAuthServer({ zones, address: '127.53.240.1', port: 0 }); });
  afterAll(async () => { await srv.close(); });

  it('serves UDP and TCP on the same port', async () => {
    expect(srv.port).toBeGreaterThan(0);
    const sock = createSocket('udp4');
    const got = await new Promise<Buffer>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('timeout')), 2000);
      sock.on('message', (m) => { clearTimeout(t); resolve(m); });
      sock.send(buildQuery({ id: 7, name: 'www.srv.lab', type: TYPE.A }), srv.port, srv.address);
    });
    sock.close();
    expect(parseMessage(got).answers).toHaveLength(1);
  });

  it('answers pipelined TCP queries, split across segments, in order', async () => {
    const frames = [11, 12, 13].map((id) => {
      const q = buildQuery({ id, name: id === 12 ? 'big.srv.lab' : 'www.srv.lab', type: id === 12 ? TYPE.TXT : TYPE.A });
      const f = Buffer.alloc(q.length + 2);
      f.writeUInt16BE(q.length, 0);
      q.copy(f, 2);
      return f;
    });
    const all = Buffer.concat(frames);
    const ids = await new Promise<number[]>((resolve, reject) => {
      const s = connect({ host: srv.address, port: srv.port });
      const t = setTimeout(() => { s.destroy(); reject(new Error('timeout')); }, 3000);
      let buf = Buffer.alloc(0);
      const out: number[] = [];
      s.on('connect', () => {
        // One byte, then the rest: the server must reassemble frames.
        s.write(all.subarray(0, 1));
        setTimeout(() => s.write(all.subarray(1)), 20);
      });
      s.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const m = parseMessage(buf.subarray(2, 2 + buf.readUInt16BE(0)));
          out.push(m.id);
          if (m.id === 12) expect(m.answers).toHaveLength(8);
          buf = buf.subarray(2 + buf.readUInt16BE(0));
        }
        if (out.length === 3) { clearTimeout(t); s.destroy(); resolve(out); }
      });
      s.on('error', reject);
    });
    expect(ids).toEqual([11, 12, 13]);
  });

  it('fails clearly when the address is taken', async () => {
    await expect(startAuthServer({ zones, address: srv.address, port: srv.port })).rejects.toThrow(/EADDRINUSE/);
  });
});
