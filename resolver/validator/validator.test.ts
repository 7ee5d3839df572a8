// Validator tests with real signatures: keys are generated with node:crypto, RRsets
// signed over their RFC 4034 canonical form, and each rule is checked both ways
// (the valid case passes, the broken one fails).

import { generateKeyPairSync, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RCODE, TYPE } from '../../dns/constants.js';
import type { ResourceRecord } from '../../dns/message.js';
import { nameToWire } from '../../dns/name.js';
import type { Resolution, ResolveRequest, ResolveResult } from '../iterator/types.js';
import { AnchorSet, parseAnchors } from './anchors.js';
import { base32hexEncode, dsDigest, ecdsaSignatureDer, keyTag, nsec3Hash, parseNsec, parseNsec3, parseRrsig, signedData } from './crypto.js';
import { MAX_NSEC3_ITERATIONS, nsec3Nodata, nsec3Nxdomain, nsecNodata, nsecNxdomain, nsecWildcardAnswer } from './denial.js';
import { MAX_KEYS_PER_TAG, serialLess, sigsFor, verifyRRset, zoneKeys } from './verify.js';
import { Validator } from './validator.js';
import { Front } from '../front.js';
import { defaultResolverConfig } from '../config.js';
import { buildQuery, parseMessage } from '../../dns/message.js';
import type { Replier } from '../listener/replier.js';

const NOW = 1_700_000_000;

interface TestKey { alg: number; priv: KeyObject; rdata: Buffer; tag: number; zone: string }

function makeKey(zone: string, alg: number, ksk = true): TestKey {
  let pub: Buffer;
  let priv: KeyObject;
  if (alg === 8 || alg === 10 || alg === 5 || alg === 7) {
    const kp = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const j = kp.publicKey.export({ format: 'jwk' });
    const e = Buffer.from(j.e!, 'base64url'); const n = Buffer.from(j.n!, 'base64url');
    pub = Buffer.concat([Buffer.from([e.length]), e, n]); priv = kp.privateKey;
  } else if (alg === 13 || alg === 14) {
    const kp = generateKeyPairSync('ec', { namedCurve: alg === 13 ? 'P-256' : 'P-384' });
    const j = kp.publicKey.export({ format: 'jwk' });
    pub = Buffer.concat([Buffer.from(j.x!, 'base64url'), Buffer.from(j.y!, 'base64url')]); priv = kp.privateKey;
  } else {
    const kp = alg === 15 ? generateKeyPairSync('ed25519') : generateKeyPairSync('ed448');
    pub = Buffer.from(kp.publicKey.export({ format: 'jwk' }).x!, 'base64url'); priv = kp.privateKey;
  }
  const head = Buffer.alloc(4);
  head.writeUInt16BE(ksk ? 257 : 256, 0); head[2] = 3; head[3] = alg;
  const rdata = Buffer.concat([head, pub]);
  return { alg, priv, rdata, tag: keyTag(rdata), zone };
}

const HASH: Record<number, string | null> = { 5: 'sha1', 7: 'sha1', 8: 'sha256', 10: 'sha512', 13: 'sha256', 14: 'sha384', 15: null, 16: null };

function rr(name: string, type: number, rdata: Buffer, ttl = 300): ResourceRecord {
  return { name, type, class: 1, ttl, rdata };
}

function signSet(set: ResourceRecord[], k: TestKey, opts: { inception?: number; expiration?: number; labels?: number } = {}): ResourceRecord {
  const head = Buffer.alloc(18);
  head.writeUInt16BE(set[0].type, 0); head[2] = k.alg;
  head[3] = opts.labels ?? (set[0].name === '' ? 0 : set[0].name.split('.').filter((l) => l !== '*').length);
  head.writeUInt32BE(set[0].ttl, 4);
  head.writeUInt32BE((opts.expiration ?? NOW + 86400) >>> 0, 8);
  head.writeUInt32BE((opts.inception ?? NOW - 3600) >>> 0, 12);
  head.writeUInt16BE(k.tag, 16);
  const unsigned = Buffer.concat([head, nameToWire(k.zone)]);
  const data = signedData(parseRrsig(Buffer.concat([unsigned, Buffer.alloc(1)]))!, set)!;
  const h = HASH[k.alg];
  const sig = k.alg === 13 || k.alg === 14 ? cryptoSign(h!, data, { key: k.priv, dsaEncoding: 'ieee-p1363' }) : cryptoSign(h, data, k.priv);
  return rr(set[0].name, TYPE.RRSIG, Buffer.concat([unsigned, sig]), set[0].ttl);
}

function dsOf(k: TestKey, digestType = 2): ResourceRecord {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(k.tag, 0); head[2] = k.alg; head[3] = digestType;
  return rr(k.zone, TYPE.DS, Buffer.concat([head, dsDigest(k.zone, k.rdata, digestType)!]));
}

const A = (ip: string) => Buffer.from(ip.split('.').map(Number));
/** An NSEC type bitmap (window 0 only) listing `types`. */
const bm = (...types: number[]) => { const b = Buffer.alloc(8); let max = 0; for (const t of types) { b[t >> 3] |= 0x80 >> (t & 7); max = Math.max(max, (t >> 3) + 1); } return Buffer.concat([Buffer.from([0, max]), b.subarray(0, max)]); };

describe('signature verification, every algorithm', () => {
  for (const alg of [5, 7, 8, 10, 13, 14, 15, 16]) {
    it(`algorithm ${alg}: a good signature verifies, a changed RRset does not`, () => {
      const k = makeKey('example', alg);
      const set = [rr('www.example', TYPE.A, A('192.0.2.1')), rr('www.example', TYPE.A, A('192.0.2.2'))];
      const sig = signSet(set, k);
      const keys = zoneKeys([rr('example', TYPE.DNSKEY, k.rdata)]);
      expect(verifyRRset(set, sigsFor(set, [sig]), keys, 'example', NOW).ok).toBe(true);
      // Order and letter case do not matter (canonical form)...
      const reordered = [rr('WWW.Example', TYPE.A, A('192.0.2.2')), rr('www.example', TYPE.A, A('192.0.2.1'))];
      expect(verifyRRset(reordered, sigsFor(reordered, [sig]), keys, 'example', NOW).ok).toBe(true);
      // ...but the data does.
      const changed = [rr('www.example', TYPE.A, A('192.0.2.1')), rr('www.example', TYPE.A, A('192.0.2.3'))];
      const v = verifyRRset(changed, sigsFor(changed, [sig]), keys, 'example', NOW);
      expect(v.ok).toBe(false);
      expect(v.failure).toBe('bad-sig');
    });
  }

  it('validity window in serial arithmetic: expired, not yet valid, and across the 2^32 wrap', () => {
    const k = makeKey('example', 13);
    const set = [rr('a.example', TYPE.A, A('192.0.2.1'))];
    const keys = zoneKeys([rr('example', TYPE.DNSKEY, k.rdata)]);
    const expired = signSet(set, k, { inception: NOW - 7200, expiration: NOW - 1 });
    expect(verifyRRset(set, sigsFor(set, [expired]), keys, 'example', NOW).failure).toBe('expired');
    const early = signSet(set, k, { inception: NOW + 100, expiration: NOW + 7200 });
    expect(verifyRRset(set, sigsFor(set, [early]), keys, 'example', NOW).failure).toBe('not-yet-valid');
    // A window that straddles 2^32 is valid just after the wrap.
    const wrap = signSet(set, k, { inception: 0xffffff00, expiration: 0x100 });
    expect(verifyRRset(set, sigsFor(set, [wrap]), keys, 'example', 0x10).ok).toBe(true);
    expect(serialLess(0xffffff00, 0x10)).toBe(true);
    expect(serialLess(0x10, 0xffffff00)).toBe(false);
  });

  it('labels field: a wildcard signature verifies the expanded name; too many labels is bogus', () => {
    const k = makeKey('example', 15);
    const wild = [rr('*.example', TYPE.A, A('192.0.2.9'))];
    const sig = signSet(wild, k, { labels: 1 });
    const keys = zoneKeys([rr('example', TYPE.DNSKEY, k.rdata)]);
    const expanded = [rr('foo.example', TYPE.A, A('192.0.2.9'))];
    const sigAtName = { ...sig, name: 'foo.example' };
    expect(verifyRRset(expanded, sigsFor(expanded, [sigAtName]), keys, 'example', NOW).ok).toBe(true);
    const good = signSet(expanded, k);
    const tooMany = { ...good, rdata: Buffer.from(good.rdata) };
    tooMany.rdata[3] = 3; // more labels than the owner has
    expect(verifyRRset(expanded, sigsFor(expanded, [good]), keys, 'example', NOW).ok).toBe(true);
    expect(verifyRRset(expanded, sigsFor(expanded, [tooMany]), keys, 'example', NOW).ok).toBe(false);
  });

  it('KeyTrap: keys sharing one tag are tried at most MAX_KEYS_PER_TAG times, so a hostile set costs milliseconds', () => {
    const good = makeKey('example', 13);
    const set = [rr('a.example', TYPE.A, A('192.0.2.1'))];
    const sig = signSet(set, good);
    // 200 bogus keys claiming the same tag and algorithm, and 50 signatures.
    const bad = Array.from({ length: 200 }, () => ({ ...zoneKeys([rr('example', TYPE.DNSKEY, makeKey('example', 13).rdata)])[0], keyTag: good.tag }));
    const sigs = Array.from({ length: 50 }, () => parseRrsig(sig.rdata)!);
    const t0 = performance.now();
    const v = verifyRRset(set, sigs, bad, 'example', NOW);
    const ms = performance.now() - t0;
    expect(v.ok).toBe(false);
    expect(v.work).toBeLessThanOrEqual(8 * MAX_KEYS_PER_TAG);
    expect(ms).toBeLessThan(2000);
  });
});

describe('verification fast path: DER signatures and remembered outcomes', () => {
  it('an RFC 6605 signature turned into DER verifies with the bare key, for P-256 and P-384, and a changed one does not', () => {
    for (const [curve, size, hash] of [['P-256', 32, 'sha256'], ['P-384', 48, 'sha384']] as const) {
      const kp = generateKeyPairSync('ec', { namedCurve: curve });
      // Enough signatures that r or s with the top bit set (a 0x00 pad) and a leading zero byte both occur.
      for (let i = 0; i < 48; i++) {
        const data = Buffer.from(`data ${i}`);
        const p1363 = cryptoSign(hash, data, { key: kp.privateKey, dsaEncoding: 'ieee-p1363' });
        expect(p1363.length).toBe(2 * size);
        expect(cryptoVerify(hash, data, kp.publicKey, ecdsaSignatureDer(p1363, size))).toBe(true);
        const bent = Buffer.from(p1363);
        bent[size - 1] ^= 1;
        expect(cryptoVerify(hash, data, kp.publicKey, ecdsaSignatureDer(bent, size))).toBe(false);
      }
    }
  });

  it('a verification done before does not carry over to other data, another signature, another key, or an expired window', () => {
    const k = makeKey('example', 13);
    const other = makeKey('example', 13);
    const set = [rr('m.example', TYPE.A, A('192.0.2.1'))];
    const sig = signSet(set, k);
    const keys = zoneKeys([rr('example', TYPE.DNSKEY, k.rdata)]);
    for (let i = 0; i < 3; i++) expect(verifyRRset(set, sigsFor(set, [sig]), keys, 'example', NOW).ok).toBe(true);
    const changed = [rr('m.example', TYPE.A, A('192.0.2.2'))];
    for (let i = 0; i < 3; i++) expect(verifyRRset(changed, sigsFor(changed, [sig]), keys, 'example', NOW).failure).toBe('bad-sig');
    const bentSig = { ...sig, rdata: Buffer.from(sig.rdata) };
    bentSig.rdata[bentSig.rdata.length - 1] ^= 1;
    expect(verifyRRset(set, sigsFor(set, [bentSig]), keys, 'example', NOW).ok).toBe(false);
    // Another key claiming the same tag: its own verification, which fails.
    const impostor = [{ ...zoneKeys([rr('example', TYPE.DNSKEY, other.rdata)])[0], keyTag: k.tag }];
    expect(verifyRRset(set, sigsFor(set, [sig]), impostor, 'example', NOW).failure).toBe('bad-sig');
    // The validity window is checked on every use: the remembered good signature is expired two days on.
    expect(verifyRRset(set, sigsFor(set, [sig]), keys, 'example', NOW + 2 * 86400).failure).toBe('expired');
    expect(verifyRRset(set, sigsFor(set, [sig]), keys, 'example', NOW).ok).toBe(true);
  });
});

describe('NSEC denial', () => {
  const bitmap = (...types: number[]): Buffer => {
    const bytes = Buffer.alloc(32);
    let max = 0;
    for (const t of types) { bytes[t >> 3] |= 0x80 >> (t & 7); max = Math.max(max, (t >> 3) + 1); }
    return Buffer.concat([Buffer.from([0, max]), bytes.subarray(0, max)]);
  };
  const nsec = (owner: string, next: string, ...types: number[]) => parseNsec(rr(owner, TYPE.NSEC, Buffer.concat([nameToWire(next), bitmap(...types)])))!;
  const apex = nsec('example', 'a.example', TYPE.SOA, TYPE.NS, TYPE.NSEC, TYPE.RRSIG);
  const a = nsec('a.example', 'c.b.example', TYPE.A, TYPE.NSEC, TYPE.RRSIG);
  const cb = nsec('c.b.example', 'example', TYPE.A, TYPE.NSEC, TYPE.RRSIG);

  it('NXDOMAIN needs the name and the wildcard denied', () => {
    expect(nsecNxdomain('aa.example', [apex, a, cb]).status).toBe('secure');
    // The wildcard *.example sorts between example and a.example: only apex covers it.
    expect(nsecNxdomain('aa.example', [a, cb]).status).toBe('bogus');
    expect(nsecNxdomain('a.example', [apex, a, cb]).status).toBe('bogus');
  });

  it('NODATA at a name, at an empty non-terminal, and a wildcard NODATA', () => {
    expect(nsecNodata('a.example', TYPE.AAAA, [a]).status).toBe('secure');
    expect(nsecNodata('a.example', TYPE.A, [a]).status).toBe('bogus');
    // b.example is an empty non-terminal: a.example's NSEC covers it and its next name is below it.
    expect(nsecNodata('b.example', TYPE.A, [a]).status).toBe('secure');
    const wc = nsec('*.w.example', 'x.example', TYPE.TXT, TYPE.NSEC, TYPE.RRSIG);
    const cover = nsec('w.example', '*.w.example', TYPE.NS, TYPE.SOA);
    const coverQ = nsec('*.w.example', 'x.example', TYPE.TXT);
    expect(nsecNodata('q.w.example', TYPE.A, [coverQ, cover, wc]).status).toBe('secure');
    expect(nsecNodata('q.w.example', TYPE.TXT, [coverQ, cover, wc]).status).toBe('bogus');
  });

  it('a wildcard answer is legitimate only with the name denied', () => {
    expect(nsecWildcardAnswer('z.a.example', [a]).status).toBe('secure');
    expect(nsecWildcardAnswer('z.a.example', [apex]).status).toBe('bogus');
  });

  it('insecure delegation: the parent NSEC at the cut has NS, no DS, no SOA', () => {
    const cut = nsec('sub.example', 'z.example', TYPE.NS, TYPE.NSEC, TYPE.RRSIG);
    expect(nsecNodata('sub.example', TYPE.DS, [cut]).status).toBe('secure');
    const withDs = nsec('sub.example', 'z.example', TYPE.NS, TYPE.DS, TYPE.NSEC, TYPE.RRSIG);
    expect(nsecNodata('sub.example', TYPE.DS, [withDs]).status).toBe('bogus');
    // The child's apex NSEC (SOA) cannot deny the DS that lives in the parent.
    const child = nsec('sub.example', 'a.sub.example', TYPE.NS, TYPE.SOA, TYPE.NSEC);
    expect(nsecNodata('sub.example', TYPE.DS, [child]).status).toBe('bogus');
  });
});

describe('NSEC3 denial', () => {
  const salt = Buffer.from('aabbccdd', 'hex');
  const zone = 'example';
  const h = (n: string, it = 2) => nsec3Hash(n, salt, it);
  const bitmap = (...types: number[]): Buffer => {
    const bytes = Buffer.alloc(32);
    let max = 0;
    for (const t of types) { bytes[t >> 3] |= 0x80 >> (t & 7); max = Math.max(max, (t >> 3) + 1); }
    return Buffer.concat([Buffer.from([0, max]), bytes.subarray(0, max)]);
  };
  /** A chain of NSEC3 records for the given existing names (and their types). */
  function chain(names: Array<[string, number[]]>, opts: { iterations?: number; optOut?: boolean } = {}) {
    const it = opts.iterations ?? 2;
    const hashed = names.map(([n, t]) => ({ hash: h(n, it), types: t })).sort((x, y) => Buffer.compare(x.hash, y.hash));
    return hashed.map((e, i) => {
      const next = hashed[(i + 1) % hashed.length].hash;
      const head = Buffer.alloc(5);
      head[0] = 1; head[1] = opts.optOut ? 1 : 0; head.writeUInt16BE(it, 2); head[4] = salt.length;
      const rdata = Buffer.concat([head, salt, Buffer.from([next.length]), next, bitmap(...e.types)]);
      return parseNsec3(rr(`${base32hexEncode(e.hash)}.${zone}`, TYPE.NSEC3, rdata))!;
    });
  }
  const zoneNames: Array<[string, number[]]> = [
    ['example', [TYPE.SOA, TYPE.NS]], ['a.example', [TYPE.A]], ['b.example', []], ['c.b.example', [TYPE.A]],
  ];

  it('NXDOMAIN: closest encloser matched, next closer and wildcard covered', () => {
    const recs = chain(zoneNames);
    expect(nsec3Nxdomain('x.a.example', recs, { hashes: 0 }).status).toBe('secure');
    expect(nsec3Nxdomain('a.example', recs, { hashes: 0 }).status).toBe('bogus');
    // Without the closest encloser's own NSEC3 there is no proof.
    const ce = h('a.example');
    expect(nsec3Nxdomain('x.a.example', recs.filter((r) => !r.ownerHash!.equals(ce)), { hashes: 0 }).status).toBe('bogus');
  });

  it('NODATA at a name and at an empty non-terminal; type present is bogus', () => {
    const recs = chain(zoneNames);
    expect(nsec3Nodata('a.example', TYPE.AAAA, recs, { hashes: 0 }).status).toBe('secure');
    expect(nsec3Nodata('a.example', TYPE.A, recs, { hashes: 0 }).status).toBe('bogus');
    expect(nsec3Nodata('b.example', TYPE.A, recs, { hashes: 0 }).status).toBe('secure');
  });

  it('wildcard NODATA: the wildcard matched without the type', () => {
    const recs = chain([...zoneNames, ['*.example', [TYPE.TXT]]]);
    expect(nsec3Nodata('q.example', TYPE.A, recs, { hashes: 0 }).status).toBe('secure');
    expect(nsec3Nodata('q.example', TYPE.TXT, recs, { hashes: 0 }).status).toBe('bogus');
  });

  it('opt-out: a DS question whose next closer an opt-out NSEC3 covers is insecure; without opt-out bogus', () => {
    expect(nsec3Nodata('unsigned.example', TYPE.DS, chain(zoneNames, { optOut: true }), { hashes: 0 }).status).toBe('insecure');
    expect(nsec3Nodata('unsigned.example', TYPE.DS, chain(zoneNames), { hashes: 0 }).status).toBe('bogus');
  });

  it('NXDOMAIN whose next closer name lies in an opt-out span is insecure (RFC 5155 9.2), secure without opt-out', () => {
    expect(nsec3Nxdomain('x.a.example', chain(zoneNames, { optOut: true }), { hashes: 0 }).status).toBe('insecure');
    expect(nsec3Nxdomain('x.a.example', chain(zoneNames), { hashes: 0 }).status).toBe('secure');
  });

  it(`RFC 9276: iterations above ${MAX_NSEC3_ITERATIONS} make the answer insecure with EDE 27`, () => {
    const p = nsec3Nxdomain('x.a.example', chain(zoneNames, { iterations: MAX_NSEC3_ITERATIONS + 1 }), { hashes: 0 });
    expect(p).toMatchObject({ status: 'insecure', ede: 27 });
    expect(nsec3Nxdomain('x.a.example', chain(zoneNames, { iterations: MAX_NSEC3_ITERATIONS }), { hashes: 0 }).status).toBe('secure');
  });

  it('CVE-2023-50868: the hash budget bounds the work of a hostile deep name', () => {
    const recs = chain(zoneNames, { iterations: MAX_NSEC3_ITERATIONS });
    const deep = Array.from({ length: 120 }, () => 'x').join('.') + '.example';
    const budget = { hashes: 0 };
    const t0 = performance.now();
    const p = nsec3Nxdomain(deep, recs, budget);
    expect(p.status).toBe('bogus');
    expect(budget.hashes).toBeLessThanOrEqual(64);
    // 64 hashes of 150 iterations: tens of ms on a loaded CI machine; unbounded it would be 120+ hashes per name.
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});

describe('chain of trust through a scripted resolution', () => {
  // root (anchor) -> example (DS in root) -> A www.example; plus insecure.example without DS.
  const rootKey = makeKey('', 8);
  const exKey = makeKey('example', 13);
  const rootKeys = [rr('', TYPE.DNSKEY, rootKey.rdata)];
  const exKeys = [rr('example', TYPE.DNSKEY, exKey.rdata)];
  const ds = [dsOf(exKey)];
  const www = [rr('www.example', TYPE.A, A('192.0.2.80'))];

  /** An NXDOMAIN of example. whose proof is the zone's two NSEC spans (apex -> www -> apex), signed. */
  function exampleNxdomain(): ResolveResult {
    const soaRdata = Buffer.concat([nameToWire('ns.example'), nameToWire('h.example'), Buffer.from([0, 0, 0, 1, 0, 0, 14, 16, 0, 0, 14, 16, 0, 0, 14, 16, 0, 0, 1, 44])]);
    const soa = [rr('example', TYPE.SOA, soaRdata)];
    const apexNsec = [rr('example', TYPE.NSEC, Buffer.concat([nameToWire('www.example'), bm(TYPE.SOA, TYPE.NS, TYPE.NSEC, TYPE.RRSIG, TYPE.DNSKEY)]))];
    const wwwNsec = [rr('www.example', TYPE.NSEC, Buffer.concat([nameToWire('example'), bm(TYPE.A, TYPE.NSEC, TYPE.RRSIG)]))];
    const proof = [...apexNsec, signSet(apexNsec, exKey), ...wwwNsec, signSet(wwwNsec, exKey), signSet(soa, exKey)];
    return { rcode: RCODE.NXDOMAIN, answers: [], authority: soa, additional: [], cacheTtl: 300, sigs: [], proof };
  }

  function resolution(over: Partial<Record<string, ResolveResult>> = {}): Resolution & { asked: string[] } {
    const asked: string[] = [];
    const ok = (answers: ResourceRecord[], sigs: ResourceRecord[]): ResolveResult => ({ rcode: RCODE.NOERROR, answers, authority: [], additional: [], cacheTtl: 300, sigs, proof: [] });
    const table: Record<string, ResolveResult> = {
      '/48': ok(rootKeys, [signSet(rootKeys, rootKey)]),
      'example/43': ok(ds, [signSet(ds, rootKey)]),
      'example/48': ok(exKeys, [signSet(exKeys, exKey)]),
      'www.example/1': ok(www, [signSet(www, exKey)]),
      ...over,
    };
    return {
      asked,
      async resolve(req: ResolveRequest) {
        const k = `${req.name}/${req.type}`;
        asked.push(k);
        return table[k] ?? { rcode: RCODE.SERVFAIL, answers: [], authority: [], additional: [], cacheTtl: 0 };
      },
    };
  }
  const anchors = () => new AnchorSet([dsOf(rootKey)]);

  it('secure: AD for a DO client, RRSIGs only with DO', async () => {
    const v = new Validator(resolution(), { anchors: anchors(), nowSec: () => NOW });
    const withDo = await v.resolve({ name: 'www.example', type: TYPE.A, class: 1, dnssecOk: true });
    expect(withDo.rcode).toBe(RCODE.NOERROR);
    expect(withDo.ad).toBe(true);
    expect(withDo.answers.map((r) => r.type)).toEqual([TYPE.A, TYPE.RRSIG]);
    const plain = await v.resolve({ name: 'www.example', type: TYPE.A, class: 1 });
    expect(plain.ad).toBeUndefined();
    expect(plain.answers.map((r) => r.type)).toEqual([TYPE.A]);
  });

  it('bogus: a DS that matches no key is SERVFAIL with EDE 9, cached; CD=1 returns the data', async () => {
    const other = makeKey('example', 13);
    const badDs = [dsOf(other)];
    const res = resolution({ 'example/43': { rcode: 0, answers: badDs, authority: [], additional: [], cacheTtl: 300, sigs: [signSet(badDs, rootKey)], proof: [] } });
    const v = new Validator(res, { anchors: anchors(), nowSec: () => NOW });
    const r = await v.resolve({ name: 'www.example', type: TYPE.A, class: 1, dnssecOk: true });
    expect(r.rcode).toBe(RCODE.SERVFAIL);
    expect(r.ede?.code).toBe(9);
    const before = res.asked.length;
    await v.resolve({ name: 'www.example', type: TYPE.A, class: 1, dnssecOk: true });
    expect(res.asked.length).toBe(before); // the bogus verdict is kept (val-bogus-ttl)
    const cd = await v.resolve({ name: 'www.example', type: TYPE.A, class: 1, dnssecOk: true, cd: true });
    expect(cd.rcode).toBe(RCODE.NOERROR);
    expect(cd.ad).toBeUndefined();
  });

  it('bogus: a changed answer fails (EDE 6); an expired signature gives EDE 7', async () => {
    const forged = [rr('www.example', TYPE.A, A('203.0.113.66'))];
    const v = new Validator(resolution({ 'www.example/1': { rcode: 0, answers: forged, authority: [], additional: [], cacheTtl: 300, sigs: [signSet(www, exKey)], proof: [] } }), { anchors: anchors(), nowSec: () => NOW });
    expect((await v.resolve({ name: 'www.example', type: TYPE.A, class: 1 })).ede?.code).toBe(6);
    const v2 = new Validator(resolution({ 'www.example/1': { rcode: 0, answers: www, authority: [], additional: [], cacheTtl: 300, sigs: [signSet(www, exKey, { expiration: NOW - 10, inception: NOW - 1000 })], proof: [] } }), { anchors: anchors(), nowSec: () => NOW });
    expect((await v2.resolve({ name: 'www.example', type: TYPE.A, class: 1 })).ede?.code).toBe(7);
  });

  it('a DS with only an unsupported digest type makes the zone insecure, not bogus (RFC 6840 5.2)', async () => {
    const odd = [{ ...dsOf(exKey), rdata: Buffer.concat([dsOf(exKey).rdata.subarray(0, 3), Buffer.from([99]), dsOf(exKey).rdata.subarray(4)]) }];
    const v = new Validator(resolution({ 'example/43': { rcode: 0, answers: odd, authority: [], additional: [], cacheTtl: 300, sigs: [signSet(odd, rootKey)], proof: [] } }), { anchors: anchors(), nowSec: () => NOW });
    const r = await v.resolve({ name: 'www.example', type: TYPE.A, class: 1, dnssecOk: true });
    expect(r.rcode).toBe(RCODE.NOERROR);
    expect(r.ad).toBeUndefined();
  });

  it('negative trust anchor: a broken zone below it is served, without AD', async () => {
    const forged = [rr('www.example', TYPE.A, A('203.0.113.66'))];
    const res = resolution({ 'www.example/1': { rcode: 0, answers: forged, authority: [], additional: [], cacheTtl: 300, sigs: [signSet(www, exKey)], proof: [] } });
    const v = new Validator(res, { anchors: new AnchorSet([dsOf(rootKey)], ['example']), nowSec: () => NOW });
    const r = await v.resolve({ name: 'www.example', type: TYPE.A, class: 1, dnssecOk: true });
    expect(r.rcode).toBe(RCODE.NOERROR);
    expect(r.ad).toBeUndefined();
  });

  it('RFC 8198: after one validated NXDOMAIN, another name in the same NSEC span is denied without asking upstream', async () => {
    const res = resolution({ 'aaa.example/1': exampleNxdomain(), 'zzz.example/1': exampleNxdomain() });
    const v = new Validator(res, { anchors: anchors(), nowSec: () => NOW });
    const first = await v.resolve({ name: 'zzz.example', type: TYPE.A, class: 1, dnssecOk: true });
    expect(first.rcode).toBe(RCODE.NXDOMAIN);
    expect(first.ad).toBe(true);
    const asked = res.asked.length;
    const second = await v.resolve({ name: 'yyy.example', type: TYPE.AAAA, class: 1, dnssecOk: true });
    expect(second.rcode).toBe(RCODE.NXDOMAIN);
    expect(second.ad).toBe(true);
    expect(res.asked.length).toBe(asked); // nothing asked upstream
    expect(second.authority.some((r) => r.type === TYPE.NSEC)).toBe(true);
    expect(v.synthesised).toBe(1);
    // NODATA from the NSEC at the name itself: www.example has A, not TXT.
    const nodata = await v.resolve({ name: 'www.example', type: TYPE.TXT, class: 1, dnssecOk: true });
    expect(nodata.rcode).toBe(RCODE.NOERROR);
    expect(nodata.answers).toEqual([]);
    expect(nodata.ad).toBe(true);
    expect(nodata.authority.map((r) => r.type)).toEqual([TYPE.SOA, TYPE.RRSIG, TYPE.NSEC, TYPE.RRSIG]);
    expect(res.asked.length).toBe(asked);
    expect(v.synthesised).toBe(2);
    // The zone's own apex NSEC (SOA in its bitmap) never denies the zone's DS.
    const ds = await v.resolve({ name: 'example', type: TYPE.DS, class: 1, dnssecOk: true });
    expect(ds.answers.some((r) => r.type === TYPE.DS)).toBe(true);
    expect(v.synthesised).toBe(2);
    // A name the spans do not cover (it exists: www.example) is asked upstream as usual.
    await v.resolve({ name: 'www.example', type: TYPE.A, class: 1 });
    expect(res.asked.length).toBeGreaterThan(asked);
    // With aggressive NSEC off, the same question goes upstream.
    const res2 = resolution({ 'zzz.example/1': exampleNxdomain(), 'yyy.example/28': exampleNxdomain() });
    const off = new Validator(res2, { anchors: anchors(), nowSec: () => NOW, aggressiveNsec: false });
    await off.resolve({ name: 'zzz.example', type: TYPE.A, class: 1 });
    await off.resolve({ name: 'yyy.example', type: TYPE.AAAA, class: 1 });
    expect(res2.asked).toContain('yyy.example/28');
  });

  it('flushNames and flushNegative (control: flush, flush-zone, flush-negative) drop NSEC spans and zone keys', async () => {
    const res = resolution({ 'zzz.example/1': exampleNxdomain(), 'yyy.example/1': exampleNxdomain(), 'xxx.example/1': exampleNxdomain() });
    const v = new Validator(res, { anchors: anchors(), nowSec: () => NOW });
    const askedFor = (name: string) => res.asked.filter((k) => k.startsWith(`${name}/`)).length;
    await v.resolve({ name: 'zzz.example', type: TYPE.A, class: 1 });
    // Flushing a name outside the zone keeps the spans: yyy is still denied from them.
    expect(v.flushNames((n) => n === 'other.example')).toBe(0);
    await v.resolve({ name: 'yyy.example', type: TYPE.A, class: 1 });
    expect(askedFor('yyy.example')).toBe(0);
    // flush-zone example: the spans and the zone's keys go, so the next name is asked
    // upstream and the keys fetched again.
    const keysAsked = askedFor('example');
    expect(v.flushNames((n) => n === 'example' || n.endsWith('.example'))).toBeGreaterThanOrEqual(3);
    await v.resolve({ name: 'yyy.example', type: TYPE.A, class: 1 });
    expect(askedFor('yyy.example')).toBe(1);
    expect(askedFor('example')).toBeGreaterThan(keysAsked);
    // flush-negative: the spans learnt since go as well.
    expect(v.flushNegative()).toBeGreaterThanOrEqual(2);
    await v.resolve({ name: 'xxx.example', type: TYPE.A, class: 1 });
    expect(askedFor('xxx.example')).toBe(1);
  });

  it('a negative answer whose SOA was changed or stripped of its RRSIG is bogus, though its NSEC proof is genuine', async () => {
    // An attacker who cannot forge the NSEC can still rewrite the SOA beside it: its
    // minimum field sets how long the denial is cached. AD covers the authority section.
    const soaOf = (minimum: number) => [rr('example', TYPE.SOA, Buffer.concat([nameToWire('ns.example'), nameToWire('h.example'), Buffer.from([0, 0, 0, 1, 0, 0, 14, 16, 0, 0, 14, 16, 0, 0, 14, 16]), Buffer.from([minimum >>> 24, (minimum >>> 16) & 255, (minimum >>> 8) & 255, minimum & 255])]))];
    const soa = soaOf(300);
    const wwwNsec = [rr('www.example', TYPE.NSEC, Buffer.concat([nameToWire('zzz.example'), bm(TYPE.A, TYPE.NSEC, TYPE.RRSIG)]))];
    const nsecProof = [...wwwNsec, signSet(wwwNsec, exKey)];
    const nodata = (authority: ResourceRecord[], soaSigs: ResourceRecord[]): ResolveResult => ({ rcode: RCODE.NOERROR, answers: [], authority, additional: [], cacheTtl: 300, sigs: [], proof: [...nsecProof, ...soaSigs] });
    const ask = (r: ResolveResult) => new Validator(resolution({ 'www.example/28': r }), { anchors: anchors(), nowSec: () => NOW }).resolve({ name: 'www.example', type: TYPE.AAAA, class: 1, dnssecOk: true });

    const genuine = await ask(nodata(soa, [signSet(soa, exKey)]));
    expect(genuine.rcode).toBe(RCODE.NOERROR);
    expect(genuine.ad).toBe(true);

    const changed = await ask(nodata(soaOf(604800), [signSet(soa, exKey)]));
    expect(changed.rcode).toBe(RCODE.SERVFAIL);
    expect(changed.ede?.code).toBe(6);

    const unsigned = await ask(nodata(soa, []));
    expect(unsigned.rcode).toBe(RCODE.SERVFAIL);
    expect(unsigned.ede?.code).toBe(10);
  });

  it('a DNAME into its own parent: both CNAMEs it synthesises are checked against it, and the answer is secure', async () => {
    // d.example DNAME example. rewrites a.d.d.example to a.d.example, then to a.example.
    const dname = [rr('d.example', TYPE.DNAME, nameToWire('example'))];
    const txt = [rr('a.example', TYPE.TXT, Buffer.from('\x03end', 'latin1'))];
    const chain = (second: string): ResolveResult => ({
      rcode: RCODE.NOERROR, authority: [], additional: [], cacheTtl: 300, proof: [],
      answers: [...dname, rr('a.d.d.example', TYPE.CNAME, nameToWire('a.d.example')), rr('a.d.example', TYPE.CNAME, nameToWire(second)), ...txt],
      sigs: [signSet(dname, exKey), signSet(txt, exKey)],
    });
    const ask = (r: ResolveResult) => new Validator(resolution({ 'a.d.d.example/16': r }), { anchors: anchors(), nowSec: () => NOW }).resolve({ name: 'a.d.d.example', type: TYPE.TXT, class: 1, dnssecOk: true });
    const good = await ask(chain('a.example'));
    expect(good.rcode).toBe(RCODE.NOERROR);
    expect(good.ad).toBe(true);
    // A second CNAME that does not follow the DNAME is caught like the first.
    expect((await ask(chain('a.evil.example'))).rcode).toBe(RCODE.SERVFAIL);
  });

  it('NSEC records beside a plain positive answer are not passed on to a DO client', async () => {
    const stray = [rr('www.example', TYPE.NSEC, Buffer.concat([nameToWire('zzz.example'), bm(TYPE.A)]))];
    const proof = [...stray, signSet(stray, exKey)];
    const v = new Validator(resolution({ 'www.example/1': { rcode: RCODE.NOERROR, answers: www, authority: [], additional: [], cacheTtl: 300, sigs: [signSet(www, exKey)], proof } }), { anchors: anchors(), nowSec: () => NOW });
    const r = await v.resolve({ name: 'www.example', type: TYPE.A, class: 1, dnssecOk: true });
    expect(r.ad).toBe(true);
    expect(r.authority).toEqual([]);
  });

  it('root key sentinel (RFC 8509): is-ta / not-ta labels turn a secure A or AAAA answer into SERVFAIL by the root anchors', async () => {
    const pad = (n: number) => String(n).padStart(5, '0');
    const other = (rootKey.tag + 1) % 65536;
    const names = [`root-key-sentinel-is-ta-${pad(rootKey.tag)}.example`, `root-key-sentinel-is-ta-${pad(other)}.example`, `root-key-sentinel-not-ta-${pad(rootKey.tag)}.example`, `root-key-sentinel-not-ta-${pad(other)}.example`];
    const table: Record<string, ResolveResult> = {};
    for (const n of names) {
      for (const [type, rdata] of [[TYPE.A, A('192.0.2.1')], [TYPE.TXT, Buffer.from('\x01x', 'latin1')]] as const) {
        const set = [rr(n, type, rdata)];
        table[`${n}/${type}`] = { rcode: RCODE.NOERROR, answers: set, authority: [], additional: [], cacheTtl: 300, sigs: [signSet(set, exKey)], proof: [] };
      }
    }
    const v = new Validator(resolution(table), { anchors: anchors(), nowSec: () => NOW });
    const rcodes = async (type: number, cd = false) => Promise.all(names.map(async (n) => (await v.resolve({ name: n, type, class: 1, cd })).rcode));
    // is-ta of the anchor's tag and not-ta of another tag answer; the other two fail.
    expect(await rcodes(TYPE.A)).toEqual([RCODE.NOERROR, RCODE.SERVFAIL, RCODE.SERVFAIL, RCODE.NOERROR]);
    // Other types, and CD=1, are left alone.
    expect(await rcodes(TYPE.TXT)).toEqual([0, 0, 0, 0]);
    expect(await rcodes(TYPE.A, true)).toEqual([0, 0, 0, 0]);
  });

  it('KeyTrap at the chain level: a DNSKEY set of 100 keys sharing one tag costs milliseconds and ends bogus', async () => {
    const many = Array.from({ length: 100 }, () => makeKey('example', 13));
    const tag = many[0].tag;
    // Force one key tag on all of them by construction: signatures all claim it.
    const keysRr = many.map((k) => rr('example', TYPE.DNSKEY, k.rdata));
    const sigs = many.slice(1, 40).map((k) => signSet(keysRr, { ...k, tag }));
    const v = new Validator(resolution({ 'example/48': { rcode: 0, answers: keysRr, authority: [], additional: [], cacheTtl: 300, sigs, proof: [] } }), { anchors: anchors(), nowSec: () => NOW });
    const t0 = performance.now();
    const r = await v.resolve({ name: 'www.example', type: TYPE.A, class: 1 });
    expect(r.rcode).toBe(RCODE.SERVFAIL);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('a DS denial signed by the zone itself is refused, and does not wait on its own keys', async () => {
    const nsec = [rr('example', TYPE.NSEC, Buffer.concat([nameToWire('zz.example'), bm(TYPE.NS)]))];
    const res = resolution({ 'example/43': { rcode: 0, answers: [], authority: [], additional: [], cacheTtl: 300, sigs: [], proof: [...nsec, signSet(nsec, exKey)] } });
    const v = new Validator(res, { anchors: anchors(), nowSec: () => NOW });
    const r = await v.resolve({ name: 'www.example', type: TYPE.A, class: 1 });
    expect(r.rcode).toBe(RCODE.SERVFAIL);
  }, 3000);

  it('TTLs are capped by the RRSIG original TTL', async () => {
    const long = [rr('www.example', TYPE.A, A('192.0.2.80'), 100000)];
    const sig = signSet([rr('www.example', TYPE.A, A('192.0.2.80'), 60)], exKey);
    const v = new Validator(resolution({ 'www.example/1': { rcode: 0, answers: long, authority: [], additional: [], cacheTtl: 100000, sigs: [sig], proof: [] } }), { anchors: anchors(), nowSec: () => NOW });
    const r = await v.resolve({ name: 'www.example', type: TYPE.A, class: 1 });
    expect(r.rcode).toBe(RCODE.NOERROR);
    expect(r.answers[0].ttl).toBeLessThanOrEqual(60);
    expect(r.cacheTtl).toBeLessThanOrEqual(60);
  });
});

describe('trust anchor files', () => {
  it('reads DS and DNSKEY records and reports FILE:LINE: FIELD for bad ones', () => {
    const issues: Array<{ file: string; line: number; field: string; message: string }> = [];
    const recs = parseAnchors([
      '; comment',
      '. IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D',
      'example. 3600 IN DNSKEY 257 3 13 ( AAEC',
      '  AwQ= )',
      'bad. IN A 192.0.2.1',
      'bad2. IN DS 1 8 2 XYZ',
    ].join('\n'), 'ta.conf', issues);
    expect(recs.map((r) => r.type)).toEqual([TYPE.DS, TYPE.DNSKEY]);
    expect(issues.map((i) => `${i.file}:${i.line}: ${i.field}`)).toEqual(['ta.conf:5: type', 'ta.conf:6: DS']);
  });
});

describe('front with the validator: DO, CD and AD variants kept apart in the answer cache', () => {
  it('a DO client gets RRSIGs and AD, a plain client neither, a CD client no AD; each variant cached on its own', async () => {
    const rootKey = makeKey('', 13);
    const rootKeys = [rr('', TYPE.DNSKEY, rootKey.rdata)];
    const www = [rr('www', TYPE.A, A('192.0.2.7'))];
    let upstream = 0;
    const table: Record<string, ResolveResult> = {
      '/48': { rcode: 0, answers: rootKeys, authority: [], additional: [], cacheTtl: 300, sigs: [signSet(rootKeys, rootKey)], proof: [] },
      'www/1': { rcode: 0, answers: www, authority: [], additional: [], cacheTtl: 300, sigs: [signSet(www, rootKey)], proof: [] },
    };
    const inner: Resolution = { async resolve(req) { upstream++; return table[`${req.name}/${req.type}`] ?? { rcode: RCODE.SERVFAIL, answers: [], authority: [], additional: [], cacheTtl: 0 }; } };
    const cfg = defaultResolverConfig();
    cfg.validator!.enabled = true;
    const front = new Front({ cfg, resolution: new Validator(inner, { anchors: new AnchorSet([dsOf(rootKey)]), nowSec: () => NOW }) });
    const ask = (o: { dnssecOk?: boolean; cd?: boolean }) => new Promise<ReturnType<typeof parseMessage>>((resolve) => {
      const r: Replier = { framing: 0, address: '127.0.0.1', send: (b) => resolve(parseMessage(b)), hold: () => r };
      front.handle(buildQuery({ id: 7, name: 'www', type: TYPE.A, rd: true, cd: o.cd, ednsUdpSize: 1232, dnssecOk: o.dnssecOk }), r);
    });
    const AD = 0x20;
    const withDo = await ask({ dnssecOk: true });
    expect(withDo.flags & AD).toBe(AD);
    expect(withDo.answers.map((x) => x.type)).toEqual([TYPE.A, TYPE.RRSIG]);
    const plain = await ask({});
    expect(plain.flags & AD).toBe(0);
    expect(plain.answers.map((x) => x.type)).toEqual([TYPE.A]);
    const cd = await ask({ dnssecOk: true, cd: true });
    expect(cd.flags & AD).toBe(0);
    const before = upstream;
    // Hits: each variant from its own entry, nothing resolved again.
    expect((await ask({ dnssecOk: true })).answers.map((x) => x.type)).toEqual([TYPE.A, TYPE.RRSIG]);
    expect((await ask({})).answers.map((x) => x.type)).toEqual([TYPE.A]);
    expect(upstream).toBe(before);
    expect(front.stats().cacheHits).toBe(2);
  });
});
