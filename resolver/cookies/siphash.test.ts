import { describe, expect, it } from 'vitest';
import { sipHash24, sipKey } from './siphash.js';
import { ServerCookies } from './server-cookie.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('SipHash-2-4', () => {
  // The reference implementation's vectors (key 00..0f, message 00..len-1).
  const key = sipKey(Uint8Array.from({ length: 16 }, (_, i) => i));
  const vectors: Array<[number, string]> = [
    [0, '310e0edd47db6f72'],
    [1, 'fd67dc93c539f874'],
    [2, '5a4fa9d909806c0d'],
    [8, '6224939a79f5f593'],
    [15, 'e545be4961ca29a1'],
    [63, '724506eb4c328a95'],
  ];
  for (const [len, want] of vectors) {
    it(`matches the reference vector for a ${len}-byte message`, () => {
      const out = new Uint8Array(8);
      sipHash24(key, Uint8Array.from({ length: len }, (_, i) => i), out);
      expect(toHex(out)).toBe(want);
    });
  }
});

describe('RFC 9018 server cookies (its appendix A examples)', () => {
  it('A.1: learns a new server cookie', () => {
    const sc = new ServerCookies([hex('e5e973e5a6b2a43f48e7dc849e37bfcf')]);
    const cc = hex('2464c4abcf10c957');
    const out = new Uint8Array(16);
    expect(sc.make(cc, 0, '198.51.100.100', 1559731985, out, 0)).toBe(true);
    expect(toHex(out)).toBe('010000005cf79f111f8130c3eee29480');
  });

  it('A.2: the same client a while later gets a fresh cookie, and its old one is accepted', () => {
    const sc = new ServerCookies([hex('e5e973e5a6b2a43f48e7dc849e37bfcf')]);
    const msg = hex('2464c4abcf10c957 010000005cf79f111f8130c3eee29480');
    // 1559734385 is 40 minutes later: still valid, but due for reissue.
    expect(sc.check(msg, 0, 8, 16, '198.51.100.100', 1559734385)).toBe('reissue');
    const out = new Uint8Array(16);
    sc.make(msg, 0, '198.51.100.100', 1559734385, out, 0);
    expect(toHex(out)).toBe('010000005cf7a871d4a564a1442aca77');
  });

  it('rejects a cookie from another address, a tampered hash, an expired or a future one', () => {
    const sc = new ServerCookies([hex('e5e973e5a6b2a43f48e7dc849e37bfcf')]);
    const msg = hex('2464c4abcf10c957 010000005cf79f111f8130c3eee29480');
    expect(sc.check(msg, 0, 8, 16, '198.51.100.100', 1559731985 + 10)).toBe('valid');
    expect(sc.check(msg, 0, 8, 16, '198.51.100.101', 1559731985 + 10)).toBe('invalid');
    expect(sc.check(msg, 0, 8, 16, '198.51.100.100', 1559731985 + 3601)).toBe('invalid');
    expect(sc.check(msg, 0, 8, 16, '198.51.100.100', 1559731985 - 301)).toBe('invalid');
    const bad = msg.slice();
    bad[23] ^= 1;
    expect(sc.check(bad, 0, 8, 16, '198.51.100.100', 1559731985 + 10)).toBe('invalid');
  });

  it('accepts a cookie made with the previous secret (rotation) and asks for a reissue', () => {
    const old = hex('e5e973e5a6b2a43f48e7dc849e37bfcf');
    const sc = new ServerCookies([hex('00112233445566778899aabbccddeeff'), old]);
    const msg = hex('2464c4abcf10c957 010000005cf79f111f8130c3eee29480');
    expect(sc.check(msg, 0, 8, 16, '198.51.100.100', 1559731985 + 10)).toBe('reissue');
    expect(new ServerCookies([hex('00112233445566778899aabbccddeeff')]).check(msg, 0, 8, 16, '198.51.100.100', 1559731985 + 10)).toBe('invalid');
  });

  it('hashes IPv6 clients with all 16 bytes, and IPv4-mapped ones as IPv4', () => {
    const sc = new ServerCookies([hex('e5e973e5a6b2a43f48e7dc849e37bfcf')]);
    const cc = hex('2464c4abcf10c957');
    const a = new Uint8Array(16), b = new Uint8Array(16), c = new Uint8Array(16);
    sc.make(cc, 0, '::ffff:198.51.100.100', 1559731985, a, 0);
    expect(toHex(a)).toBe('010000005cf79f111f8130c3eee29480');
    sc.make(cc, 0, '2001:db8::1', 1559731985, b, 0);
    sc.make(cc, 0, '2001:db8::2', 1559731985, c, 0);
    expect(toHex(b)).not.toBe(toHex(c));
  });
});
