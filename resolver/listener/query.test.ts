import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { buildQuery } from '../../dns/message.js';
import { MAX_KEY_LEN, QS, QueryInfo, readQuery } from './query.js';

const key = Buffer.alloc(MAX_KEY_LEN + 4);
const read = (b: Buffer) => { const q = new QueryInfo(); return { st: readQuery(b, q, key), q }; };

describe('readQuery', () => {
  it('reads the question and lower-cases the key, without EDNS', () => {
    const { st, q } = read(buildQuery({ id: 1, name: 'WwW.ExAmple.com', type: 28, rd: true }));
    expect(st).toBe(QS.OK);
    expect(q.qtype).toBe(28);
    expect(q.qclass).toBe(1);
    expect(q.hasOpt).toBe(false);
    expect(q.udpSize).toBe(512);
    expect(key.subarray(0, q.keyLen).toString('latin1')).toBe('\x03www\x07example\x03com\x00\x00\x1c\x00\x01');
    expect(q.qEnd).toBe(12 + 17 + 4);
  });

  it('gives the same key whatever the case, and different keys per type and class', () => {
    const k = (name: string, type = 1, cls = 1) => { const { q } = read(buildQuery({ id: 1, name, type, class: cls })); return key.subarray(0, q.keyLen).toString('latin1'); };
    expect(k('EXAMPLE.com')).toBe(k('example.COM'));
    expect(k('example.com', 1)).not.toBe(k('example.com', 28));
    expect(k('example.com', 16, 1)).not.toBe(k('example.com', 16, 3));
  });

  it('reads EDNS: size, DO, version and the NSID option', () => {
    const { st, q } = read(buildQuery({ id: 1, name: 'a.b', type: 1, ednsUdpSize: 4096, dnssecOk: true, ednsOptions: [{ code: 10, data: Buffer.alloc(8) }, { code: 3, data: Buffer.alloc(0) }] }));
    expect(st).toBe(QS.OK);
    expect(q).toMatchObject({ hasOpt: true, udpSize: 4096, dnssecOk: true, nsid: true, ednsVersion: 0 });
  });

  it('drops short packets and responses (QR=1)', () => {
    expect(read(Buffer.alloc(11)).st).toBe(QS.DROP);
    const r = buildQuery({ id: 1, name: 'a.b', type: 1 });
    r[2] |= 0x80;
    expect(read(r).st).toBe(QS.DROP);
  });

  it('answers FORMERR, NOTIMP, BADVERS and REFUSED where they belong', () => {
    const base = () => buildQuery({ id: 1, name: 'a.b', type: 1, ednsUdpSize: 1232 });
    const two = base(); two[5] = 2;
    expect(read(two).st).toBe(QS.FORMERR);
    const none = base(); none[5] = 0;
    expect(read(none).st).toBe(QS.FORMERR);
    const ans = base(); ans[7] = 1;
    expect(read(ans).st).toBe(QS.FORMERR);
    const notify = base(); notify[2] = 4 << 3;
    expect(read(notify).st).toBe(QS.NOTIMP);
    const v1 = base(); v1[v1.length - 11 + 6] = 1;
    expect(read(v1).st).toBe(QS.BADVERS);
    const twoOpt = Buffer.concat([base(), base().subarray(base().length - 11)]); twoOpt[11] = 2;
    expect(read(twoOpt).st).toBe(QS.FORMERR);
    const ptr = Buffer.from(base()); ptr[12] = 0xc0; ptr[13] = 12;
    expect(read(ptr).st).toBe(QS.FORMERR);
    const cut = base().subarray(0, 18);
    expect(read(cut).st).toBe(QS.FORMERR);
    expect(read(buildQuery({ id: 1, name: 'a.b', type: 252 })).st).toBe(QS.REFUSED); // AXFR
    expect(read(buildQuery({ id: 1, name: 'a.b', type: 41 })).st).toBe(QS.FORMERR);  // OPT as qtype
    expect(read(buildQuery({ id: 1, name: 'a.b', type: 254 })).st).toBe(QS.NOTIMP);  // MAILA
  });

  it('rejects names over 255 bytes', () => {
    const label = 'a'.repeat(63);
    const ok = [label, label, label, 'a'.repeat(61)].join('.'); // 64*3 + 62 + 1 = 255
    expect(read(buildQuery({ id: 1, name: ok, type: 1 })).st).toBe(QS.OK);
    const b = buildQuery({ id: 1, name: ok, type: 1 });
    // Grow the last label by one byte: 256 bytes on the wire.
    const grown = Buffer.concat([b.subarray(0, 12 + 192), Buffer.from([62]), Buffer.alloc(62, 0x61), b.subarray(12 + 192 + 62)]);
    expect(read(grown).st).toBe(QS.FORMERR);
  });

  it('never throws and stays within the packet on random input', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 600 }), (bytes) => {
      const q = new QueryInfo();
      const st = readQuery(Buffer.from(bytes), q, key);
      expect([0, 1, 2, 3, 4, 5]).toContain(st);
      expect(q.qEnd).toBeLessThanOrEqual(bytes.length);
      expect(q.keyLen).toBeLessThanOrEqual(259);
      if (bytes.length >= 12 && bytes[2] & 0x80) expect(st).toBe(QS.DROP);
    }), { numRuns: 5000 });
  });
});
