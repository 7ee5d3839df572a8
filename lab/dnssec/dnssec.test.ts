import { execFileSync } from 'node:child_process';
import { verify } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLASS, TYPE } from '../../dns/constants.js';
import type { ResourceRecord } from '../../dns/message.js';
import { nameToWire } from '../../dns/name.js';
import { rdataFromText } from '../../dns/rdata.js';
import { base32hex, bitmapTypes, buildNsecChain, findNsec, fromBase32hex, nsec3Hash, typeBitmap } from './denial.js';
import { ALGORITHMS, dnskeyRdata, dsRdata, generateKey, keyTag, publicKeyFromDnskey } from './keys.js';
import { compareNames, signRRset, signedData } from './sign.js';
import { signZone } from './zone.js';

const rr = (name: string, type: number, text: string, ttl = 300): ResourceRecord => ({ name, type, class: CLASS.IN, ttl, rdata: rdataFromText(type, text) });

function verifyRrsig(rrsig: ResourceRecord, rrset: ResourceRecord[], dnskey: Buffer): boolean {
  const alg = rrsig.rdata[2];
  const info = ALGORITHMS.get(alg)!;
  const signerEnd = 18 + nameToWire(readSigner(rrsig.rdata)).length;
  const head = rrsig.rdata.subarray(0, signerEnd);
  const sig = rrsig.rdata.subarray(signerEnd);
  const key = publicKeyFromDnskey(dnskey);
  const data = signedData(head, rrset);
  return info.kind === 'ec' ? verify(info.hash, data, { key, dsaEncoding: 'ieee-p1363' }, sig) : verify(info.hash, data, key, sig);
}

function readSigner(rdata: Buffer): string {
  const labels: string[] = [];
  for (let p = 18; rdata[p] !== 0; p += rdata[p] + 1) labels.push(rdata.subarray(p + 1, p + 1 + rdata[p]).toString('latin1'));
  return labels.join('.');
}

describe('keys and signatures (node:crypto)', () => {
  it.each([...ALGORITHMS.keys()])('algorithm %i: a signature verifies with the key rebuilt from its DNSKEY, and not over other data', (alg) => {
    const key = generateKey(alg);
    const set = [rr('www.Example.com', TYPE.A, '192.0.2.1'), rr('www.example.com', TYPE.A, '192.0.2.2')];
    const sig = signRRset(set, key, { signer: 'example.com', inception: 1_700_000_000, expiration: 1_800_000_000 });
    expect(sig.rdata[2]).toBe(alg);
    expect(sig.rdata.readUInt16BE(16)).toBe(key.keyTag);
    expect(verifyRrsig(sig, set, key.dnskey)).toBe(true);
    expect(verifyRrsig(sig, [...set].reverse(), key.dnskey)).toBe(true); // canonical order, not input order
    expect(verifyRrsig(sig, [set[0]], key.dnskey)).toBe(false);
  });

  it('a wildcard expansion verifies against the wildcard signature (labels field)', () => {
    const key = generateKey(13);
    const sig = signRRset([rr('*.w.example.com', TYPE.A, '192.0.2.9')], key, { signer: 'example.com', inception: 1, expiration: 2 });
    expect(sig.rdata[3]).toBe(3);
    expect(verifyRrsig(sig, [rr('a.b.w.example.com', TYPE.A, '192.0.2.9')], key.dnskey)).toBe(true);
  });
});

const LDNS = existsSync('/usr/bin/ldns-keygen') && existsSync('/usr/bin/ldns-signzone');

describe.skipIf(!LDNS)('agreement with ldns (Debian ldnsutils)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ak-dnssec-ldns-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const names: Record<number, string> = { 8: 'RSASHA256', 13: 'ECDSAP256SHA256', 15: 'ED25519' };

  it.each([8, 13, 15])('algorithm %i: key tag and DS of an ldns-keygen key match ours, and ldns-signzone signatures verify over our canonical form', (alg) => {
    const sub = mkdtempSync(join(dir, `a${alg}-`));
    const base = execFileSync('ldns-keygen', ['-a', names[alg], '-k', 'example.com'], { cwd: sub, encoding: 'utf8' }).trim();
    const keyLine = readFileSync(join(sub, `${base}.key`), 'utf8').split('\n')[0];
    const m = /DNSKEY\s+(\d+) (\d+) (\d+) (\S+)/.exec(keyLine)!;
    const dnskey = dnskeyRdata(Number(m[1]), Number(m[3]), Buffer.from(m[4], 'base64'));
    const tag = Number(/\+(\d+)$/.exec(base)![1]);
    expect(keyTag(dnskey)).toBe(tag);
    const dsLine = readFileSync(join(sub, `${base}.ds`), 'utf8');
    const hex = /DS\s+\d+ \d+ 2 ([0-9a-fA-F]+)/.exec(dsLine)![1];
    expect(dsRdata('example.com', dnskey, 2).subarray(4).toString('hex')).toBe(hex.toLowerCase());

    // Upper-case names in rdata and owners: the canonical form lower-cases them.
    writeFileSync(join(sub, 'zone'), `$ORIGIN example.com.
$TTL 300
@ SOA NS1.Example.com. h.example.com. 1 3600 900 604800 60
@ NS NS1.Example.com.
@ MX 10 Mail.EXAMPLE.com.
WWW A 192.0.2.1
www A 192.0.2.2
ns1 A 192.0.2.53
`);
    execFileSync('ldns-signzone', ['-o', 'example.com', '-f', join(sub, 'signed'), join(sub, 'zone'), join(sub, base)], { cwd: sub });
    const signed = readFileSync(join(sub, 'signed'), 'utf8').split('\n');
    const sigFor = (owner: string, type: string) => {
      const line = signed.find((l) => new RegExp(`^${owner.replace(/\./g, '\\.')}\\.\\s+\\d+\\s+IN\\s+RRSIG\\s+${type}\\s`, 'i').test(l));
      expect(line, `${owner} RRSIG ${type}`).toBeDefined();
      const f = line!.split(/\s+/);
      const t = (s: string) => Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8), +s.slice(8, 10), +s.slice(10, 12), +s.slice(12, 14)) / 1000;
      const head = Buffer.alloc(18);
      head.writeUInt16BE(type === 'A' ? TYPE.A : TYPE.MX, 0);
      head[2] = Number(f[5]); head[3] = Number(f[6]); head.writeUInt32BE(Number(f[7]), 4);
      head.writeUInt32BE(t(f[8]), 8); head.writeUInt32BE(t(f[9]), 12); head.writeUInt16BE(Number(f[10]), 16);
      const rdata = Buffer.concat([head, nameToWire(f[11]), Buffer.from(f.slice(12).join(''), 'base64')]);
      return { name: owner, type: TYPE.RRSIG, class: CLASS.IN, ttl: 300, rdata };
    };
    const aSet = [rr('WWW.example.com', TYPE.A, '192.0.2.1'), rr('www.example.com', TYPE.A, '192.0.2.2')];
    expect(verifyRrsig(sigFor('www.example.com', 'A'), aSet, dnskey)).toBe(true);
    expect(verifyRrsig(sigFor('example.com', 'MX'), [rr('example.com', TYPE.MX, '10 Mail.EXAMPLE.com')], dnskey)).toBe(true);
    expect(verifyRrsig(sigFor('example.com', 'MX'), [rr('example.com', TYPE.MX, '20 mail.example.com')], dnskey)).toBe(false);
    expect(readdirSync(sub).length).toBeGreaterThan(3);
  });
});

describe('denial of existence', () => {
  it('type bitmaps (RFC 4034 4.3 example: A MX RRSIG NSEC TYPE1234)', () => {
    const b = typeBitmap([TYPE.A, TYPE.MX, TYPE.RRSIG, TYPE.NSEC, 1234]);
    expect(b.toString('hex')).toBe('0006400100000003' + '041b' + '00'.repeat(26) + '20');
    expect(bitmapTypes(b)).toEqual([1, 15, 46, 47, 1234]);
  });

  it('NSEC3 hash and base32hex (RFC 5155 appendix A: example, salt aabbccdd, 12 iterations)', () => {
    const h = nsec3Hash('example', { iterations: 12, salt: Buffer.from('aabbccdd', 'hex') });
    expect(base32hex(h)).toBe('0p9mhaveqvm6t7vbl5lop2u3t2rp3tom');
    expect(fromBase32hex('0p9mhaveqvm6t7vbl5lop2u3t2rp3tom').equals(h)).toBe(true);
    expect(base32hex(nsec3Hash('a.example', { iterations: 12, salt: Buffer.from('aabbccdd', 'hex') }))).toBe('35mthgpgcu1qg68fab165klnsnk3dpvl');
  });

  it('canonical order (RFC 4034 6.1 example) and covering NSEC lookup', () => {
    const ordered = ['example', 'a.example', 'yljkjljk.a.example', 'Z.a.example', 'zABC.a.EXAMPLE', 'z.example', '\\001.z.example', '*.z.example', '\\200.z.example'];
    const shuffled = [...ordered].reverse();
    expect(shuffled.sort(compareNames)).toEqual(ordered);
    const chain = buildNsecChain(['example', 'b.example', 'd.example'].map((name) => ({ name, types: [TYPE.A] })), 60);
    expect(findNsec(chain, 'c.example')).toMatchObject({ matches: false, entry: { name: 'b.example' } });
    expect(findNsec(chain, 'd.example').matches).toBe(true);
    expect(findNsec(chain, 'z.example').entry.name).toBe('d.example'); // the last NSEC wraps to the apex
  });

  it('signZone: DNSKEY at the apex, NSEC chain over authoritative names only, delegation signed only in its DS', () => {
    const z = signZone('example', [
      rr('example', TYPE.SOA, 'ns.example h.example 1 3600 900 604800 60', 3600), rr('example', TYPE.NS, 'ns.example'),
      rr('ns.example', TYPE.A, '192.0.2.53'), rr('sub.example', TYPE.NS, 'ns.sub.example'), rr('ns.sub.example', TYPE.A, '192.0.2.54'),
      rr('a.b.example', TYPE.TXT, '"x"'),
    ], { algorithm: 13 });
    expect(z.records.some((r) => r.type === TYPE.DNSKEY)).toBe(true);
    expect(z.dnssec.nsec!.map((n) => n.name)).toEqual(['example', 'a.b.example', 'ns.example', 'sub.example']);
    expect(bitmapTypes(z.dnssec.nsec![3].rr.rdata.subarray(nameToWire('example').length))).toEqual([TYPE.NS, TYPE.RRSIG, TYPE.NSEC]);
    expect(z.dnssec.sigs.has('sub.example|2')).toBe(false);
    expect(z.dnssec.sigs.has('ns.sub.example|1')).toBe(false);
    expect(z.dnssec.nsec![0].rr.ttl).toBe(60);
    const n3 = signZone('example', [rr('example', TYPE.SOA, 'ns.example h.example 1 3600 900 604800 60'), rr('example', TYPE.NS, 'ns.example'), rr('a.b.example', TYPE.TXT, '"x"')], { algorithm: 13, denial: 'nsec3' });
    expect(n3.dnssec.nsec3!.chain.length).toBe(3); // apex, a.b, and the empty non-terminal b
    expect(n3.records.some((r) => r.type === TYPE.NSEC3PARAM)).toBe(true);
  });
});
