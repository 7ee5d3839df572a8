// What clients see apart from resolution: the access list (clients outside
// --allow get REFUSED with no data and cause no upstream query), CHAOS id.server /
// hostname.bind and NSID, and a flood of malformed packets that must neither crash
// the resolver nor draw a reply to a packet with QR=1. Both resolvers run with
// the same allow list, 127.30.5.128/25. Loopback: 127.30.5.0/24.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import { CLASS, EDNS_OPTION, FLAG, rcodeName, TYPE } from '../../dns/constants.js';
import { buildQuery, encodeMessage, parseMessage } from '../../dns/message.js';
import { nameToWire } from '../../dns/name.js';
import { rdataToText } from '../../dns/rdata.js';
import { query, tcpExchange } from '../../bench/harness/client.js';
import { HOST } from '../../bench/harness/zones.js';
import { sleep } from '../../bench/harness/proc.js';
import { askOnce, describe1, normalise, Scoreboard, type Target } from './harness/compare.js';
import { startPair, type Pair } from './harness/fixture.js';
import { reply, rr, startAuthServer, type AuthServer } from './harness/authserver.js';

const PREFIX = '127.30.5';
const ALLOWED = `${PREFIX}.128/25`;
const IDENT = { unbound: 'interop-unbound', ours: 'interop-ours' };
const board = new Scoreboard('clients: ACL, CHAOS, malformed flood (127.30.5.0/24)');
let pair: Pair;
let counting: AuthServer;
const a = (h: number) => `${PREFIX}.${h}`;
const denied = a(HOST.clientDenied);

beforeAll(async () => {
  // dyn.interop answers everything, so we can see whether a refused client caused recursion.
  counting = await startAuthServer(a(HOST.dyn), (q) => {
    const qn = q.questions[0];
    if (qn.type === TYPE.A) return { msg: reply(q, { answers: [rr(qn.name, TYPE.A, 300, '192.0.2.33')] }) };
    return { msg: reply(q, { authority: [rr('dyn.interop', TYPE.SOA, 300, 'ns.dyn.interop. h.dyn.interop. 1 2 3 4 60')] }) };
  });
  pair = await startPair(PREFIX, {
    allow: [ALLOWED],
    identity: IDENT,
    unboundExtra: [`nsid: "ascii_${IDENT.unbound}"`, `outgoing-interface: ${a(HOST.unbound)}`],
  });
});
afterAll(async () => {
  board.print();
  await pair?.stop();
  await counting?.close();
});

const fromUnbound = (addr: string) => addr === a(HOST.unbound);

describe('clients outside --allow', () => {
  it('get REFUSED with no records over UDP, and cause no upstream query', async () => {
    const seen: Record<string, { rcode: string; ra: boolean; records: number; size: number; qsize: number }> = {};
    for (const t of pair.targets) {
      const name = `acl-${t.name}.dyn.interop`;
      const q = buildQuery({ id: 4242, name, type: TYPE.A, rd: true, ednsUdpSize: 1232 });
      const r = await query(name, TYPE.A, { server: t.address, port: t.port, localAddress: denied, id: 4242, timeoutMs: 3000 });
      seen[t.name] = {
        rcode: rcodeName(r.msg.rcode), ra: (r.msg.flags & FLAG.RA) !== 0,
        records: r.msg.answers.length + r.msg.authority.length + r.msg.additional.length, size: r.raw.length, qsize: q.length,
      };
    }
    const show = (x: (typeof seen)[string]) => `${x.rcode} ra=${x.ra ? 1 : 0}, ${x.records} records, ${x.size} B for a ${x.qsize} B query`;
    const good = (x: (typeof seen)[string]) => x.rcode === 'REFUSED' && !x.ra && x.records === 0 && x.size <= x.qsize;
    if (pair.ours) board.record({ case: 'client outside --allow, UDP', agree: good(seen.ours), unbound: show(seen.unbound), ours: show(seen.ours) });
    for (const [who, x] of Object.entries(seen)) {
      expect(x.rcode, who).toBe('REFUSED');
      expect(x.records, `${who}: records in a REFUSED reply`).toBe(0);
      expect(x.size, `${who}: a refusal is no bigger than the query`).toBeLessThanOrEqual(x.qsize);
      // RA says recursion is available to this client; for a refused client it is not (unbound and BIND clear it).
      expect(x.ra, `${who}: RA in a refusal`).toBe(false);
    }
    await sleep(300);
    const upstream = counting.seen.filter((s) => s.name.toLowerCase().startsWith('acl-'));
    expect(upstream, 'upstream queries caused by refused clients').toEqual([]);
    // The same names from an allowed client do go upstream: the check above could have failed.
    for (const t of pair.targets) {
      const r = await askOnce(t, `acl-${t.name}.dyn.interop`, TYPE.A, { localAddress: pair.client });
      expect(r.msg.answers.length, `${t.name} from an allowed client`).toBe(1);
    }
    expect(counting.seen.filter((s) => s.name.toLowerCase().startsWith('acl-')).length).toBeGreaterThanOrEqual(pair.targets.length);
  });

  it('get REFUSED (or a closed connection) with no records over TCP', async () => {
    const seen: Record<string, string> = {};
    for (const t of pair.targets) {
      const q = buildQuery({ id: 4343, name: 'www.a.interop', type: TYPE.A, rd: true, ednsUdpSize: 1232 });
      const out = await tcpExchange([q], { server: t.address, port: t.port, localAddress: denied, timeoutMs: 3000 }).then(
        (rs) => { const m = parseMessage(rs[0]); return { rcode: rcodeName(m.rcode), records: m.answers.length + m.authority.length + m.additional.length }; },
        (e: Error) => ({ rcode: `no reply (${e.message.slice(0, 60)})`, records: 0 }),
      );
      expect(out.records, t.name).toBe(0);
      expect(out.rcode === 'REFUSED' || out.rcode.startsWith('no reply (TCP connection') || out.rcode.includes('ECONNRESET'), `${t.name}: ${out.rcode}`).toBe(true);
      seen[t.name] = out.rcode;
    }
    if (pair.ours) board.record({ case: 'client outside --allow, TCP', agree: seen.ours === seen.unbound, unbound: seen.unbound, ours: seen.ours });
  });

  it('are refused CHAOS queries too (no identity leaks to outsiders)', async () => {
    const got: Record<string, import('../../dns/message.js').Message> = {};
    for (const t of pair.targets) {
      got[t.name] = (await query('id.server', TYPE.TXT, { server: t.address, port: t.port, class: CLASS.CH, localAddress: denied, timeoutMs: 3000 })).msg;
    }
    // unbound leaves OPT out of a refusal; whether OPT is echoed is not compared.
    const strip = (x: string) => x.replace(/,?edns/, '').replace('[,', '[');
    const shown = Object.fromEntries(Object.entries(got).map(([k, m]) => [k, describe1(normalise(m))]));
    if (pair.ours) board.record({ case: 'CHAOS id.server from outside --allow', agree: strip(shown.ours) === strip(shown.unbound), unbound: shown.unbound, ours: shown.ours });
    for (const [who, m] of Object.entries(got)) {
      expect(rcodeName(m.rcode), who).toBe('REFUSED');
      expect(m.answers.length + m.authority.length + m.additional.length, `${who}: records`).toBe(0);
      expect(m.flags & FLAG.RA, `${who}: RA in a refusal`).toBe(0);
    }
  });

  it('while clients inside get answers', async () => {
    for (const t of pair.targets) {
      const r = await askOnce(t, 'www.a.interop', TYPE.A, { localAddress: a(HOST.client + 50) });
      expect(rcodeName(r.msg.rcode), t.name).toBe('NOERROR');
      expect(r.msg.answers).toHaveLength(2);
    }
  });
});

describe('node identity', () => {
  for (const qname of ['id.server', 'hostname.bind']) {
    it(`CHAOS ${qname} TXT returns the identity`, async () => {
      const seen: Record<string, string> = {};
      for (const t of pair.targets) {
        const r = await askOnce(t, qname, TYPE.TXT, { class: CLASS.CH, localAddress: pair.client });
        expect(rcodeName(r.msg.rcode), t.name).toBe('NOERROR');
        expect(r.msg.answers, t.name).toHaveLength(1);
        const ans = r.msg.answers[0];
        expect(ans.class, `${t.name}: class`).toBe(CLASS.CH);
        expect(ans.name.toLowerCase()).toBe(qname);
        expect(rdataToText(TYPE.TXT, ans.rdata), t.name).toBe(`"${IDENT[t.name]}"`);
        seen[t.name] = rdataToText(TYPE.TXT, ans.rdata);
      }
      if (pair.ours) board.record({ case: `CHAOS ${qname}`, agree: true, unbound: seen.unbound, ours: seen.ours });
    });
  }

  it('NSID (RFC 5001) carries the identity', async () => {
    const seen: Record<string, string> = {};
    for (const t of pair.targets) {
      const r = await askOnce(t, 'www.a.interop', TYPE.A, { localAddress: pair.client, ednsOptions: [{ code: EDNS_OPTION.NSID, data: Buffer.alloc(0) }] });
      const nsid = r.msg.edns?.options.find((o) => o.code === EDNS_OPTION.NSID);
      expect(nsid?.data.toString(), t.name).toBe(IDENT[t.name]);
      seen[t.name] = nsid?.data.toString() ?? '-';
    }
    if (pair.ours) board.record({ case: 'NSID', agree: true, unbound: seen.unbound, ours: seen.ours });
  });

  it('id.server in class IN is an ordinary name, resolved from the root', async () => {
    const got: Record<string, string> = {};
    for (const t of pair.targets) got[t.name] = describe1(normalise((await askOnce(t, 'id.server', TYPE.TXT, { localAddress: pair.client })).msg));
    expect(got.unbound).toMatch(/^NXDOMAIN/);
    if (pair.ours) {
      board.record({ case: 'id.server IN TXT', agree: got.ours === got.unbound, unbound: got.unbound, ours: got.ours });
      expect(got.ours).toBe(got.unbound);
    }
  });
});

// ---------------------------------------------------------------- malformed flood

/** Deterministic PRNG so a failing flood can be replayed. */
function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function header(id: number, flags: number, qd: number, an = 0, ns = 0, ar = 0): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0); h.writeUInt16BE(flags, 2);
  h.writeUInt16BE(qd, 4); h.writeUInt16BE(an, 6); h.writeUInt16BE(ns, 8); h.writeUInt16BE(ar, 10);
  return h;
}
const tc = (type: number, cls = 1) => { const b = Buffer.alloc(4); b.writeUInt16BE(type, 0); b.writeUInt16BE(cls, 2); return b; };
const opt = (size: number, ttl: number, rdata: Buffer) => {
  const b = Buffer.alloc(11); b.writeUInt16BE(TYPE.OPT, 1); b.writeUInt16BE(size, 3); b.writeUInt32BE(ttl >>> 0, 5); b.writeUInt16BE(rdata.length, 9);
  return Buffer.concat([b, rdata]);
};

/** Packet families, each sent from its own socket so replies can be counted per family. */
function floodPackets(rand: () => number, perFamily: number): Record<string, Buffer[]> {
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));
  const id = () => Math.floor(rand() * 65536);
  const www = Buffer.concat([nameToWire('www.a.interop'), tc(TYPE.A)]);
  const fam: Record<string, () => Buffer> = {
    'short (0-11 bytes)': () => bytes(Math.floor(rand() * 12)),
    'random bytes, QR=0': () => { const b = bytes(12 + Math.floor(rand() * 300)); b[2] &= 0x7f; return b; },
    'random bytes, QR=1': () => { const b = bytes(12 + Math.floor(rand() * 300)); b[2] |= 0x80; return b; },
    'well-formed responses (QR=1)': () => encodeMessage({
      id: id(), flags: 0x8180, rcode: 0, opcode: 0, questions: [{ name: 'www.a.interop', type: TYPE.A, class: 1 }],
      answers: [rr('www.a.interop', TYPE.A, 300, '192.0.2.1')], authority: [], additional: [],
    }),
    'compression pointer loops': () => {
      const kind = Math.floor(rand() * 3);
      if (kind === 0) return Buffer.concat([header(id(), 0x0100, 1), Buffer.from([0xc0, 0x0c]), tc(TYPE.A)]); // points at itself
      if (kind === 1) return Buffer.concat([header(id(), 0x0100, 1), Buffer.from([0x01, 0x61, 0xc0, 0x0c]), tc(TYPE.A)]); // a -> a -> ...
      return Buffer.concat([header(id(), 0x0100, 1), Buffer.from([0xc0, 0xff]), tc(TYPE.A)]); // forward / past the end
    },
    'bad section counts': () => {
      const kind = Math.floor(rand() * 4);
      if (kind === 0) return header(id(), 0x0100, 0);
      if (kind === 1) return Buffer.concat([header(id(), 0x0100, 2), www, www]);
      if (kind === 2) return Buffer.concat([header(id(), 0x0100, 1, 65535), www]);
      return Buffer.concat([header(id(), 0x0100, 3), www]);
    },
    'other opcodes': () => {
      const op = [1, 2, 3, 4, 5, 6, 15][Math.floor(rand() * 7)];
      return Buffer.concat([header(id(), 0x0100 | (op << 11), 1), www]);
    },
    'bad EDNS': () => {
      const kind = Math.floor(rand() * 3);
      if (kind === 0) return Buffer.concat([header(id(), 0x0100, 1, 0, 0, 2), www, opt(1232, 0, Buffer.alloc(0)), opt(1232, 0, Buffer.alloc(0))]);
      if (kind === 1) return Buffer.concat([header(id(), 0x0100, 1, 0, 0, 1), www, opt(1232, 1 << 16, Buffer.alloc(0))]); // version 1
      return Buffer.concat([header(id(), 0x0100, 1, 0, 0, 1), www, opt(1232, 0, Buffer.from([0, 3, 0, 40, 1]))]); // option overruns
    },
    'bad names': () => {
      const kind = Math.floor(rand() * 3);
      if (kind === 0) return Buffer.concat([header(id(), 0x0100, 1), Buffer.from([0x40, 0x61, 0]), tc(TYPE.A)]); // extended label type
      if (kind === 1) return Buffer.concat([header(id(), 0x0100, 1), ...Array.from({ length: 9 }, () => Buffer.from([63, ...Buffer.alloc(63, 0x61)])), Buffer.from([0]), tc(TYPE.A)]); // > 255 bytes
      return Buffer.concat([header(id(), 0x0100, 1), Buffer.from([5, 0x61, 0x62])]); // cut inside a label
    },
  };
  const out: Record<string, Buffer[]> = {};
  for (const [k, gen] of Object.entries(fam)) out[k] = Array.from({ length: perFamily }, gen);
  return out;
}

interface FloodResult { sent: number; replies: number; badReplies: string[]; bytesIn: number; bytesOut: number }

async function flood(t: Target, packets: Record<string, Buffer[]>): Promise<Record<string, FloodResult>> {
  const out: Record<string, FloodResult> = {};
  const socks: dgram.Socket[] = [];
  try {
    for (const [fam, list] of Object.entries(packets)) {
      const r: FloodResult = { sent: list.length, replies: 0, badReplies: [], bytesIn: 0, bytesOut: 0 };
      out[fam] = r;
      const s = dgram.createSocket('udp4');
      socks.push(s);
      s.on('message', (b, rinfo) => {
        if (rinfo.address !== t.address) return;
        r.replies++;
        r.bytesIn += b.length;
        if (b.length < 12 || !(b[2] & 0x80)) r.badReplies.push(`reply without QR (${b.length} B)`);
        if (b.length > 1232) r.badReplies.push(`reply of ${b.length} B`);
      });
      await new Promise<void>((res) => s.bind(0, pair.client, () => res()));
      for (let i = 0; i < list.length; i++) {
        s.send(list[i], t.port, t.address);
        r.bytesOut += list[i].length;
        if (i % 25 === 24) await sleep(2);
      }
    }
    await sleep(1500);
  } finally {
    for (const s of socks) s.close();
  }
  return out;
}

describe('a flood of malformed packets', () => {
  it('never crashes the resolver and never draws a reply to a QR=1 packet', async () => {
    const perFamily = 150;
    const results: Record<string, Record<string, FloodResult>> = {};
    for (const t of pair.targets) {
      results[t.name] = await flood(t, floodPackets(mulberry32(20240601), perFamily));
      // TCP: garbage inside a frame, then a frame cut short and the connection closed.
      await tcpExchange([Buffer.from('this is not a dns message at all')], { server: t.address, port: t.port, localAddress: pair.client, timeoutMs: 1500 }).catch(() => []);
      await tcpExchange([header(7, 0x0100, 1)], { server: t.address, port: t.port, localAddress: pair.client, timeoutMs: 1500 }).catch(() => []);
    }
    for (const t of pair.targets) {
      const d = t.name === 'ours' ? pair.ours! : pair.unbound;
      expect(d.daemon.exited(), `${t.name} exited during the flood:\n${d.daemon.log()}`).toBeUndefined();
      const r = await askOnce(t, 'www.a.interop', TYPE.A, { localAddress: pair.client });
      expect(r.msg.answers, `${t.name} still answers`).toHaveLength(2);
      const res = results[t.name];
      expect(res['random bytes, QR=1'].replies, `${t.name}: replies to random QR=1 packets`).toBe(0);
      expect(res['well-formed responses (QR=1)'].replies, `${t.name}: replies to responses`).toBe(0);
      for (const [fam, x] of Object.entries(res)) expect(x.badReplies, `${t.name} ${fam}`).toEqual([]);
    }
    for (const fam of Object.keys(results.unbound)) {
      const u = results.unbound[fam], o = results.ours;
      const show = (x: FloodResult) => `${x.replies}/${x.sent} answered, ${x.bytesIn} B out for ${x.bytesOut} B in`;
      if (o) board.record({ case: `flood: ${fam}`, agree: !fam.includes('QR=1') || o[fam].replies === 0, unbound: show(u), ours: show(o[fam]) });
    }
  }, 60_000);
});
