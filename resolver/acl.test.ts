import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BlockList } from 'node:net';
import { Acl, AclError, parseIpv4, parseIpv6 } from './acl.js';

describe('parseIpv4', () => {
  it('reads dotted quads and rejects everything else', () => {
    expect(parseIpv4('127.0.0.1')).toBe(0x7f000001);
    expect(parseIpv4('255.255.255.255')).toBe(0xffffffff);
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1..2.3', 'a.b.c.d', '1.2.3.4 ', '::1']) expect(parseIpv4(bad)).toBe(-1);
  });
});

describe('parseIpv6', () => {
  const words = (t: string) => { const w = new Uint32Array(4); return parseIpv6(t, w) ? [...w] : null; };
  it('reads the text forms', () => {
    expect(words('::1')).toEqual([0, 0, 0, 1]);
    expect(words('::')).toEqual([0, 0, 0, 0]);
    expect(words('2001:db8::1')).toEqual([0x20010db8, 0, 0, 1]);
    expect(words('::ffff:127.0.0.1')).toEqual([0, 0, 0xffff, 0x7f000001]);
    expect(words('fe80::1%eth0')).toEqual([0xfe800000, 0, 0, 1]);
    expect(words('1:2:3:4:5:6:7:8')).toEqual([0x10002, 0x30004, 0x50006, 0x70008]);
  });
  it('rejects malformed text', () => {
    for (const bad of ['1::2::3', ':1', '1:', '12345::', '1:2:3:4:5:6:7:8:9', 'g::1', '1.2.3.4', '']) expect(words(bad)).toBeNull();
  });
});

describe('Acl', () => {
  it('allows the default networks and nothing else', () => {
    const acl = new Acl(['127.0.0.0/8', '::1']);
    expect(acl.allows('127.10.1.1')).toBe(true);
    expect(acl.allows('::1')).toBe(true);
    expect(acl.allows('::ffff:127.0.0.1')).toBe(true); // IPv4-mapped on a dual-stack socket
    expect(acl.allows('128.0.0.1')).toBe(false);
    expect(acl.allows('::2')).toBe(false);
    expect(acl.allows('::ffff:10.0.0.1')).toBe(false);
    expect(acl.allows('garbage')).toBe(false);
  });
  it('remembers the last answer without mixing up addresses', () => {
    const acl = new Acl(['10.0.0.0/8']);
    expect(acl.allows('10.1.1.1')).toBe(true);
    expect(acl.allows('10.1.1.1')).toBe(true);
    expect(acl.allows('11.1.1.1')).toBe(false);
    expect(acl.allows('10.1.1.1')).toBe(true);
  });
  it('rejects bad networks with a message naming them', () => {
    expect(() => new Acl(['10.0.0.1/8'])).toThrow(/host bits set.*10\.0\.0\.0\/8/);
    expect(() => new Acl(['10.0.0.0/33'])).toThrow(AclError);
    expect(() => new Acl(['2001:db8::/129'])).toThrow(/above 128/);
    expect(() => new Acl(['example.com'])).toThrow(/not an IPv4 or IPv6 network/);
  });
  it('agrees with node:net BlockList on random addresses and networks', () => {
    const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((a) => a.join('.'));
    const v6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((g) => g.map((x) => x.toString(16)).join(':'));
    fc.assert(fc.property(v4, fc.nat(32), v4, v6, fc.nat(128), v6, (net4, bits4, addr4, net6, bits6, addr6) => {
      // Clear host bits so both accept the network.
      const n4 = new Uint32Array(4);
      const base4 = (parseIpv4(net4) & (bits4 === 0 ? 0 : (0xffffffff << (32 - bits4)) >>> 0)) >>> 0;
      const net4c = [base4 >>> 24, (base4 >>> 16) & 255, (base4 >>> 8) & 255, base4 & 255].join('.');
      parseIpv6(net6, n4);
      for (let k = 0; k < 4; k++) {
        const b = Math.max(0, Math.min(32, bits6 - 32 * k));
        n4[k] = (n4[k] & (b === 0 ? 0 : (0xffffffff << (32 - b)) >>> 0)) >>> 0;
      }
      const net6c = Array.from({ length: 8 }, (_, i) => ((n4[i >> 1] >>> (i & 1 ? 0 : 16)) & 0xffff).toString(16)).join(':');
      // Separate lists: BlockList lets an IPv6 rule such as ::/0 cover IPv4 addresses
      // too; ours keeps "--allow ::/0" to IPv6 (mapped sources match IPv4 rules).
      const acl4 = new Acl([`${net4c}/${bits4}`]);
      const acl6 = new Acl([`${net6c}/${bits6}`]);
      const bl4 = new BlockList();
      bl4.addSubnet(net4c, bits4, 'ipv4');
      const bl6 = new BlockList();
      bl6.addSubnet(net6c, bits6, 'ipv6');
      expect(acl4.allows(addr4)).toBe(bl4.check(addr4, 'ipv4'));
      expect(acl6.allows(addr6)).toBe(bl6.check(addr6, 'ipv6'));
      expect(acl4.allows(`::ffff:${addr4}`)).toBe(bl4.check(addr4, 'ipv4'));
    }), { numRuns: 500 });
  });
});
