// Interop: the lab's authoritative server and NSD (Debian) serve the same zone
// files; the same questions go to both over UDP (with and without EDNS) and TCP,
// and the answers must agree: rcode, AA, TC and every section.
// NSD runs with minimal-responses: yes, the policy our server follows.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { CLASS, TYPE, buildQuery, parseMessage } from '../../dns/index.js';
import { Zone, ZoneSet, startAuthServer, type AuthServer } from '../../lab/authserver/index.js';
import { query, startNsd, summarize, tcpExchange, udpExchange, type NsdHandle, type Target } from './harness.js';

/** Header fields and counts of a raw reply, plus the sections when it parses. */
function rawSummary(raw: Buffer): unknown {
  const flags = raw.readUInt16BE(2);
  const head = { id: raw.readUInt16BE(0), flags: flags.toString(16), counts: [4, 6, 8, 10].map((o) => raw.readUInt16BE(o)) };
  try {
    const m = parseMessage(raw);
    return { ...head, ...summarize(m), do: m.edns?.dnssecOk ?? null, rcodeFull: m.rcode };
  } catch (e) {
    return { ...head, parse: (e as Error).message };
  }
}

const here = fileURLToPath(new URL('.', import.meta.url));
const labZones = join(here, '../../lab/zones');
const ZONES = [
  { name: '.', file: join(labZones, 'root.zone') },
  { name: 'lab.', file: join(labZones, 'lab.zone') },
  { name: 'example.', file: join(labZones, 'example.zone') },
  { name: 'example.lab.', file: join(labZones, 'example.lab.zone') },
  { name: 'hosting.example.', file: join(labZones, 'hosting.example.zone') },
  { name: 'glueless.lab.', file: join(labZones, 'glueless.lab.zone') },
  { name: 'edge.example.', file: join(here, 'zones/edge.example.zone') },
  { name: 'wild.example.', file: join(here, 'zones/wild.example.zone') },
];

// Ports are fixed per address inside the lab's 127.53.0.0/16; these addresses are used by this file only.
const NSD_AT: Target = { address: '127.53.250.1', port: 15301 };
const OURS_AT: Target = { address: '127.53.250.2', port: 15301 };

let nsd: NsdHandle | undefined;
let ours: AuthServer | undefined;

beforeAll(async () => {
  const zones = new ZoneSet(ZONES.map((z) => Zone.load(z.file, z.name)));
  ours = await startAuthServer({ zones, address: OURS_AT.address, port: OURS_AT.port });
  nsd = await startNsd(NSD_AT.address, NSD_AT.port, ZONES);
});

afterAll(async () => {
  await ours?.close();
  await nsd?.stop();
});

const T = TYPE;
const NAMES: Array<[string, number[]]> = [
  // the lab zones
  ['', [T.NS, T.SOA, T.A, T.ANY]],
  ['lab', [T.NS, T.SOA, T.A, T.DS]],
  ['nonexistent-tld', [T.A]],
  ['www.example.lab', [T.A, T.AAAA, T.MX, T.TXT, T.ANY]],
  ['WwW.ExAmPlE.lAb', [T.A]],
  ['example.lab', [T.MX, T.TXT, T.NS, T.SOA, T.A, T.DS]],
  ['ftp.example.lab', [T.A, T.CNAME, T.AAAA, T.TXT]],
  ['alias.example.lab', [T.A, T.CNAME]],
  ['cdn.hosting.example', [T.A]],
  ['web.glueless.lab', [T.A, T.AAAA]],
  ['glueless.lab', [T.NS, T.SOA]],
  ['anything.glueless.lab', [T.A]],
  ['_sip._udp.example.lab', [T.SRV, T.A]],
  ['foo.wild.example.lab', [T.A, T.TXT, T.AAAA, T.MX]],
  ['a.b.wild.example.lab', [T.A]],
  ['exists.wild.example.lab', [T.A, T.TXT]],
  ['x.exists.wild.example.lab', [T.A]],
  ['*.wild.example.lab', [T.A]],
  ['wild.example.lab', [T.A]],
  ['ent.example.lab', [T.A, T.TXT]],
  ['b.ent.example.lab', [T.A]],
  ['a.b.ent.example.lab', [T.A]],
  ['z.b.ent.example.lab', [T.A]],
  ['unknown.example.lab', [65280, T.A]],
  ['big.example.lab', [T.TXT]],
  ['nope.example.lab', [T.A]],
  ['ns1.example.lab', [T.A]],
  ['host.hosting.example', [T.A]],
  ['ns1.nic.lab', [T.A, T.AAAA]],
  ['a.root-servers.lab', [T.A]],
  // edge cases
  ['edge.example', [T.NS, T.MX, T.SOA, T.ANY, T.A]],
  ['c1.edge.example', [T.A, T.TXT, T.CNAME, T.AAAA]],
  ['loop1.edge.example', [T.A]],
  ['l0.edge.example', [T.A]],
  ['l5.edge.example', [T.A]],
  ['self.edge.example', [T.A]],
  ['dangling.edge.example', [T.A]],
  ['out.edge.example', [T.A]],
  ['outside.edge.example', [T.A]],
  ['intochild.edge.example', [T.A]],
  ['intowild.edge.example', [T.A, T.MX]],
  ['child.edge.example', [T.A, T.NS, T.DS, T.SOA]],
  ['deep.host.child.edge.example', [T.A]],
  ['ns1.child.edge.example', [T.A]],
  ['child2.edge.example', [T.A]],
  ['child3.edge.example', [T.DS, T.A, T.NS]],
  ['x.child3.edge.example', [T.DS]],
  ['q.w.edge.example', [T.A, T.MX, T.TXT]],
  ['sub.w.edge.example', [T.A, T.TXT]],
  ['x.sub.w.edge.example', [T.A]],
  ['zz.cn.edge.example', [T.A, T.CNAME, T.TXT]],
  ['q.deep.edge.example', [T.A]],
  ['a.q.deep.edge.example', [T.A]],
  ['*.deep.edge.example', [T.A]],
  ['a.*.deep.edge.example', [T.A]],
  ['b.*.deep.edge.example', [T.A]],
  ['ent.edge.example', [T.TXT]],
  ['c.ent.edge.example', [T.TXT]],
  ['b.c.ent.edge.example', [T.TXT]],
  ['a.b.c.ent.edge.example', [T.TXT]],
  ['x.a.b.c.ent.edge.example', [T.TXT]],
  ['dn.edge.example', [T.A, T.DNAME]],
  ['x.dn.edge.example', [T.A]],
  ['x.dn2.edge.example', [T.A]],
  ['y.dn2.edge.example', [T.A]],
  ['r1.edge.example', [T.A]],
  ['r2.edge.example', [T.A]],
  ['r3.edge.example', [T.A]],
  ['r4.edge.example', [T.A]],
  ['mixedcase.sub.edge.example', [T.A]],
  ['sub.edge.example', [T.A]],
  ['txt.edge.example', [T.TXT]],
  ['srv._tcp.edge.example', [T.SRV]],
  ['u.edge.example', [65280, 65281, T.ANY]],
  ['caa.edge.example', [T.CAA]],
  ['ptr.edge.example', [T.PTR]],
  ['multi.edge.example', [T.A]],
  ['wild.example', [T.A, T.TXT, T.NS]],
  ['anything.wild.example', [T.A, T.TXT, T.AAAA]],
  ['z.wild.example', [T.A]],
  ['y.z.wild.example', [T.A]],
  ['q.x.y.z.wild.example', [T.A]],
  ['deleg.wild.example', [T.A]],
  ['x.deleg.wild.example', [T.A]],
  ['ns.deleg.wild.example', [T.A]],
];

const CASES = NAMES.flatMap(([name, types]) => types.map((type) => ({ name, type })));

async function compare(name: string, type: number, o: { tcp?: boolean; edns?: number; class?: number }) {
  const [a, b] = await Promise.all([query(NSD_AT, name, type, o), query(OURS_AT, name, type, o)]);
  return { nsd: summarize(a), ours: summarize(b) };
}

describe('authserver answers like NSD', () => {
  it('over UDP with EDNS 1232', async () => {
    const diffs: string[] = [];
    for (const c of CASES) {
      const r = await compare(c.name, c.type, { edns: 1232 });
      if (JSON.stringify(r.ours) !== JSON.stringify(r.nsd)) diffs.push(`${c.name} type ${c.type}\n  nsd  ${JSON.stringify(r.nsd)}\n  ours ${JSON.stringify(r.ours)}`);
    }
    expect(diffs.join('\n')).toBe('');
    expect(CASES.length).toBeGreaterThan(130);
  });

  it('over UDP without EDNS (512-byte limit)', async () => {
    for (const c of CASES) {
      const r = await compare(c.name, c.type, {});
      expect(r.ours, `${c.name} type ${c.type}`).toEqual(r.nsd);
    }
  });

  it('over TCP', async () => {
    for (const c of CASES) {
      const r = await compare(c.name, c.type, { tcp: true, edns: 1232 });
      expect(r.ours, `${c.name} type ${c.type}`).toEqual(r.nsd);
    }
  });

  it('agrees on a seeded random mix of names built from the zones\' labels', async () => {
    const labels = ['www', 'example', 'lab', 'wild', 'w', 'ent', 'b', 'c', 'child', 'ns1', 'sub', 'x', '*', 'deep', 'dn', 'dn2',
      'edge', 'glueless', 'hosting', 'cdn', 'alias', 'exists', 'deleg', 'z', 'y', 'a', 'cn', 'l3', 'MixedCase', 'nothing'];
    const suffixes = ['', 'lab', 'example', 'example.lab', 'edge.example', 'wild.example', 'wild.example.lab', 'child.edge.example', 'w.edge.example', 'ent.edge.example', 'hosting.example', 'glueless.lab'];
    const types = [T.A, T.AAAA, T.TXT, T.MX, T.NS, T.SOA, T.CNAME, T.ANY, T.DS, T.SRV, T.DNAME, 65280, 99];
    let seed = 20250101;
    const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
    const diffs: string[] = [];
    for (let i = 0; i < 300; i++) {
      const parts = Array.from({ length: rnd(3) }, () => labels[rnd(labels.length)]);
      const name = [...parts, suffixes[rnd(suffixes.length)]].filter((p) => p !== '').join('.');
      const type = types[rnd(types.length)];
      const o = [{ edns: 1232 }, {}, { tcp: true }][rnd(3)];
      const r = await compare(name, type, o);
      if (JSON.stringify(r.ours) !== JSON.stringify(r.nsd)) diffs.push(`${name} type ${type} ${JSON.stringify(o)}\n  nsd  ${JSON.stringify(r.nsd)}\n  ours ${JSON.stringify(r.ours)}`);
    }
    expect(diffs.join('\n')).toBe('');
  });

  it('truncates the big TXT set on UDP and serves it whole on TCP', async () => {
    const udp = await compare('big.example.lab', TYPE.TXT, { edns: 1232 });
    expect(udp.ours.tc).toBe(true);
    const tcp = await compare('big.example.lab', TYPE.TXT, { tcp: true });
    expect((tcp.ours.answer as string[]).length).toBe(7);
    expect(tcp.ours).toEqual(tcp.nsd);
  });

  it('handles odd and malformed queries the same way', async () => {
    const q = (init: Partial<Parameters<typeof buildQuery>[0]> = {}) =>
      buildQuery({ id: 0x1234, name: 'www.example.lab', type: TYPE.A, ...init });
    const withFlags = (b: Buffer, set: number) => { const c = Buffer.from(b); c.writeUInt16BE(c.readUInt16BE(2) | set, 2); return c; };
    const withCount = (b: Buffer, at: number, v: number) => { const c = Buffer.from(b); c.writeUInt16BE(v, at); return c; };
    const cases: Array<[string, Buffer, boolean]> = [
      ['no question', withCount(q(), 4, 0).subarray(0, 12), false],
      ['two questions counted, one sent', withCount(q(), 4, 2), false],
      ['answer count in a query', withCount(q(), 6, 1), false],
      ['cut inside the question', q().subarray(0, 20), false],
      ['EDNS version 1', (() => { const b = q({ ednsUdpSize: 1232 }); b[b.length - 5] = 1; return b; })(), false],
      ['opcode STATUS', withFlags(q(), 2 << 11), false],
      ['opcode UPDATE', withFlags(q(), 5 << 11), false],
      ['RD and CD echoed', q({ rd: true, cd: true }), false],
      ['DO bit echoed', q({ ednsUdpSize: 1232, dnssecOk: true }), false],
      ['small EDNS buffer', q({ name: 'big.example.lab', type: TYPE.TXT, ednsUdpSize: 100 }), false],
      ['large EDNS buffer', q({ name: 'big.example.lab', type: TYPE.TXT, ednsUdpSize: 65000 }), false],
      ['AXFR over TCP', q({ name: 'example.lab', type: TYPE.AXFR }), true],
      ['AXFR over UDP', q({ name: 'example.lab', type: TYPE.AXFR }), false],
    ];
    const diffs: string[] = [];
    for (const [what, packet, tcp] of cases) {
      const ex = (t: Target) => (tcp ? tcpExchange(t, packet) : udpExchange(t, packet)).then(rawSummary, (e: Error) => `no reply (${e.message.split(' ')[0]})`);
      const [a, b] = await Promise.all([ex(NSD_AT), ex(OURS_AT)]);
      if (JSON.stringify(a) !== JSON.stringify(b)) diffs.push(`${what}\n  nsd  ${JSON.stringify(a)}\n  ours ${JSON.stringify(b)}`);
    }
    expect(diffs.join('\n')).toBe('');
  });

  it('never answers a packet with QR=1', async () => {
    const resp = buildQuery({ id: 7, name: 'www.example.lab', type: TYPE.A });
    resp.writeUInt16BE(0x8000, 2);
    await expect(udpExchange(OURS_AT, resp, 500)).rejects.toThrow(/timeout/);
    await expect(udpExchange(NSD_AT, resp, 500)).rejects.toThrow(/timeout/);
  });

  it('refuses other classes', async () => {
    for (const [name, cls] of [['www.example.lab', CLASS.CH], ['www.example.lab', CLASS.HS]] as const) {
      const r = await compare(name, TYPE.A, { class: cls });
      expect(r.ours.rcode).toBe('REFUSED');
      expect(r.ours).toEqual(r.nsd);
    }
  });
});
