import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSocket } from 'node:dgram';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FLAG, RCODE, TYPE } from '../dns/constants.js';
import { buildQuery, parseMessage, type Message } from '../dns/message.js';
import { lowerName } from '../dns/name.js';
import { rdataName, rdataToText } from '../dns/rdata.js';
import { defaultZonesDir, startLab, type Lab } from './index.js';

function ask(address: string, port: number, name: string, type: number): Promise<Message> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    const t = setTimeout(() => { sock.close(); reject(new Error(`timeout from ${address}`)); }, 2000);
    sock.on('message', (m) => { clearTimeout(t); sock.close(); resolve(parseMessage(m)); });
    sock.send(buildQuery({ id: 1, name, type, ednsUdpSize: 1232 }), port, address);
  });
}

/**
 * A deliberately naive iterative walk from the lab root, enough to prove the lab
 * zones form one consistent tree: referrals, glue, glueless NS names, CNAMEs.
 */
async function walk(lab: Lab, name: string, type: number, depth = 0): Promise<{ rcode: number; answers: string[] }> {
  if (depth > 6) throw new Error('walk too deep');
  let servers = lab.servers.filter((s) => s.zones.includes('.')).map((s) => s.address);
  const answers: string[] = [];
  let qname = name;
  for (let step = 0; step < 20; step++) {
    const m = await ask(servers[0], lab.upstreamPort, qname, type);
    if (m.answers.length || m.rcode !== RCODE.NOERROR || (m.flags & FLAG.AA)) {
      answers.push(...m.answers.map((r) => `${lowerName(r.name)} ${rdataToText(r.type, r.rdata)}`));
      const last = m.answers[m.answers.length - 1];
      if (last && last.type === TYPE.CNAME && type !== TYPE.CNAME) {
        qname = rdataName(last.rdata);
        servers = lab.servers.filter((s) => s.zones.includes('.')).map((s) => s.address);
        continue;
      }
      return { rcode: m.rcode, answers };
    }
    const ns = m.authority.filter((r) => r.type === TYPE.NS).map((r) => rdataName(r.rdata));
    expect(ns.length).toBeGreaterThan(0);
    const glue = m.additional.filter((r) => r.type === TYPE.A).map((r) => rdataToText(r.type, r.rdata));
    if (glue.length) servers = glue;
    else servers = (await walk(lab, ns[0], TYPE.A, depth + 1)).answers.map((a) => a.split(' ')[1]).filter((a) => /^\d/.test(a));
  }
  throw new Error('too many steps');
}

describe('startLab', () => {
  let lab: Lab;
  beforeAll(async () => { lab = await startLab({ port: 0 }); });
  afterAll(async () => { await lab?.stop(); });

  it('starts every server on one port inside 127.53.0.0/16 and writes root hints', () => {
    expect(lab.upstreamPort).toBeGreaterThan(0);
    expect(lab.servers.length).toBeGreaterThanOrEqual(6);
    for (const s of lab.servers) {
      expect(s.address).toMatch(/^127\.53\./);
      expect(s.port).toBe(lab.upstreamPort);
    }
    expect(new Set(lab.servers.map((s) => s.address)).size).toBe(lab.servers.length);
    expect(lab.rootHints).toMatch(/^\.\s+3600000\s+NS\s+A\.ROOT-SERVERS\.LAB\.$/m);
    expect(lab.rootHints).toMatch(/^A\.ROOT-SERVERS\.LAB\.\s+3600000\s+A\s+127\.53\.0\.1$/m);
    expect(readFileSync(lab.rootHintsFile, 'utf8')).toBe(lab.rootHints);
  });

  it('forms one tree: www.example.lab from the root', async () => {
    expect(await walk(lab, 'www.example.lab', TYPE.A)).toEqual({ rcode: 0, answers: ['www.example.lab 192.0.2.10'] });
  });

  it('forms one tree: the CNAME chain across zones and the glueless delegation', async () => {
    expect(await walk(lab, 'alias.example.lab', TYPE.A)).toEqual({
      rcode: 0,
      answers: ['alias.example.lab cdn.hosting.example.', 'cdn.hosting.example web.glueless.lab.', 'web.glueless.lab 192.0.2.80'],
    });
  });

  it('has the sample records the README and banner promise', async () => {
    const at = lab.servers.find((s) => s.name === 'ns1.example.lab')!;
    const q = (n: string, t: number) => ask(at.address, lab.upstreamPort, n, t);
    expect((await q('nope.example.lab', TYPE.A)).rcode).toBe(RCODE.NXDOMAIN);
    expect((await q('b.ent.example.lab', TYPE.A))).toMatchObject({ rcode: 0, answers: [] });
    expect((await q('anything.wild.example.lab', TYPE.A)).answers).toHaveLength(1);
    expect((await q('example.lab', TYPE.MX)).answers).toHaveLength(1);
    expect((await q('_sip._udp.example.lab', TYPE.SRV)).answers).toHaveLength(1);
    expect((await q('unknown.example.lab', 65280)).answers.map((r) => r.rdata.toString('hex'))).toEqual(['0a000001']);
    const big = await q('big.example.lab', TYPE.TXT);
    expect(big.flags & FLAG.TC).toBe(FLAG.TC);
    // The probe name is answered by the node itself, never by the lab.
    expect((await q('probe.example.lab', TYPE.TXT)).rcode).toBe(RCODE.NXDOMAIN);
  });

  it('refuses a second lab on the same port with a clear message', async () => {
    await expect(startLab({ port: lab.upstreamPort })).rejects.toThrow(/lab cannot listen on 127\.53\.0\.1:\d+: EADDRINUSE/);
  });

  it('rejects a host outside 127/8', async () => {
    await expect(startLab({ host: '10.0.0.1', port: 0 })).rejects.toThrow(/127\.X prefix/);
  });
});

describe('lab manifest and zone errors', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'lab-zones-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the file, line and field of a bad manifest', async () => {
    cpSync(defaultZonesDir(), dir, { recursive: true });
    writeFileSync(join(dir, 'lab.yaml'), 'zones:\n  - name: lab.\n    file: nothere.zone\nservers:\n  - name: x\n    address: 10.1.1.1\n    zones: [lab.]\n');
    await expect(startLab({ zonesDir: dir, port: 0 })).rejects.toThrow(/lab\.yaml:3: zones\[0\]\.file: .*does not exist\n.*lab\.yaml:6: servers\[0\]\.address: expected an IPv4 address in 127\.53/);
  });

  it('names the file, line and field of a bad dnssec: mapping', async () => {
    cpSync(defaultZonesDir(), dir, { recursive: true });
    writeFileSync(join(dir, 'lab.yaml'), 'zones:\n  - name: lab.\n    file: lab.zone\n    dnssec: { algorithm: 3, denial: nsec5, fault: broken, colour: red }\n  - name: .\n    file: root.zone\n    dnssec: yes\nservers:\n  - name: x\n    address: 127.53.9.9\n    zones: [lab., .]\n');
    const err = await startLab({ zonesDir: dir, port: 0 }).then(() => undefined, (e: Error) => e.message);
    expect(err).toMatch(/lab\.yaml:4: zones\[0\]\.dnssec\.colour: unknown key/);
    expect(err).toMatch(/lab\.yaml:4: zones\[0\]\.dnssec\.algorithm: expected one of 5, 7, 8, 10, 13, 14, 15, 16/);
    expect(err).toMatch(/lab\.yaml:4: zones\[0\]\.dnssec\.denial: expected nsec or nsec3/);
    expect(err).toMatch(/lab\.yaml:4: zones\[0\]\.dnssec\.fault: expected one of bad-signature, expired, ds-mismatch/);
    expect(err).toMatch(/lab\.yaml:7: zones\[1\]\.dnssec: expected a mapping/);
  });

  it('serves the zones unsigned with dnssec: false', async () => {
    const lab = await startLab({ port: 0, host: '127.75', dnssec: false });
    try {
      expect(lab.trustAnchorFile).toBeUndefined();
      expect(lab.zones.every((z) => z.signed === undefined)).toBe(true);
      const m = await ask('127.75.2.1', lab.upstreamPort, 'example.lab', TYPE.DNSKEY);
      expect(m.answers).toEqual([]);
    } finally {
      await lab.stop();
    }
  });

  it('names the zone file and line of a bad record', async () => {
    cpSync(defaultZonesDir(), dir, { recursive: true });
    writeFileSync(join(dir, 'lab.zone'), readFileSync(join(defaultZonesDir(), 'lab.zone'), 'utf8') + 'broken IN A 300.1.1.1\n');
    await expect(startLab({ zonesDir: dir, port: 0 })).rejects.toThrow(/lab\.zone:\d+: A rdata "300\.1\.1\.1"/);
  });
});
