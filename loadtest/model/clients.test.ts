import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../common/yaml-source.js';
import { parseClientsText } from './clients.js';
import { parseCidr, parseIPv4 } from './ipv4.js';

describe('parseClientsText', () => {
  it('reads addresses and CIDRs, defaulting to 1 qps per address', () => {
    const g = parseClientsText('c.txt', '# heavy forwarder\n203.0.113.9 2500\n\n10.1.0.0/16   # 65536 qps\n198.51.100.0/24 12.5\n');
    expect(g).toEqual([
      { base: parseIPv4('203.0.113.9'), count: 1, qps: 2500, origin: 'c.txt:2' },
      { base: parseIPv4('10.1.0.0'), count: 65536, qps: 65536, origin: 'c.txt:4' },
      { base: parseIPv4('198.51.100.0'), count: 256, qps: 12.5, origin: 'c.txt:5' },
    ]);
  });

  it('reports every bad line as FILE:LINE: FIELD: MESSAGE', () => {
    const text = ['10.0.0.0/24', '10.0.0.300', '10.0.1.0/24 -5', '10.0.2.5/24', '2001:db8::1', '10.0.3.0/24 1 2', '10.0.4.0/33', '10.0.5.0/24 1k'].join('\n');
    let err: unknown;
    try {
      parseClientsText('clients.txt', text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message.split('\n')).toEqual([
      'clients.txt:2: address: "10.0.0.300" is not an IPv4 address',
      'clients.txt:3: qps: "-5" is not a non-negative number of queries per second',
      'clients.txt:4: address: "10.0.2.5/24" has host bits set; did you mean 10.0.2.0/24?',
      'clients.txt:5: address: "2001:db8::1" is IPv6; the CEF model covers IPv4 only',
      'clients.txt:6: line: expected "ADDRESS_OR_CIDR [QPS]", got 3 words',
      'clients.txt:7: address: "/33" is not a prefix length 0-32',
      'clients.txt:8: qps: "1k" is not a non-negative number of queries per second',
    ]);
  });

  it('rejects a file with no clients', () => {
    expect(() => parseClientsText('empty.txt', '# nothing\n\n')).toThrow(/empty.txt:0: \(top\): no clients/);
  });
});

describe('ipv4', () => {
  it('parses strictly', () => {
    expect(parseIPv4('255.255.255.255')).toBe(0xffffffff);
    expect(parseIPv4('1.2.3')).toBeUndefined();
    expect(parseIPv4('01.2.3.4')).toBeUndefined();
    expect(parseCidr('0.0.0.0/0')).toEqual({ base: 0, prefixLen: 0, count: 2 ** 32 });
    expect(parseCidr('10.0.0.1')).toEqual({ base: 0x0a000001, prefixLen: 32, count: 1 });
  });
});
