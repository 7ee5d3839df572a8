import { describe, expect, it } from 'vitest';
import { YamlSource } from '../../common/yaml-source.js';
import { FLAG } from '../../dns/constants.js';
import { readResolverSection } from '../config.js';
import { ForwardTable, forwardDelegationPoint, forwardedView, parseForwardAddress } from './forward.js';

const fromYaml = (text: string) => {
  const src = YamlSource.fromText('node.yaml', text);
  const cfg = readResolverSection(src);
  return { cfg, issues: src.issues.slice().sort((a, b) => a.line - b.line).map((i) => `${i.file}:${i.line}: ${i.field}: ${i.message}`) };
};

describe('forward_zones config', () => {
  it('reads zones, addresses with and without @PORT, IPv6, and forward_first', () => {
    const { cfg, issues } = fromYaml(`
resolver:
  forward_zones:
    - zone: Corp.Example.
      addresses: [10.0.0.1, "10.0.0.2@5353", "2001:db8::53"]
      forward_first: true
    - zone: "."
      addresses: 192.0.2.1
`);
    expect(issues).toEqual([]);
    expect(cfg.forwardZones).toEqual([
      { zone: 'corp.example', addresses: [{ host: '10.0.0.1', port: 53 }, { host: '10.0.0.2', port: 5353 }, { host: '2001:db8::53', port: 53 }], first: true },
      { zone: '', addresses: [{ host: '192.0.2.1', port: 53 }], first: false },
    ]);
  });

  it('names FILE:LINE: FIELD for every mistake at once', () => {
    const { issues } = fromYaml(`
resolver:
  forward_zones:
    - zone: corp.example
      addresses: [dns.corp.example, "10.0.0.1@99999"]
      forward_first: yes please
      via: tcp
    - zone: corp.example
      addresses: []
    - just a string
`);
    expect(issues).toEqual([
      'node.yaml:5: resolver.forward_zones[0].addresses[0]: "dns.corp.example" is not an IP address (ADDR or ADDR@PORT; names are not resolved here)',
      'node.yaml:5: resolver.forward_zones[0].addresses[1]: "10.0.0.1@99999": port must be 1-65535',
      'node.yaml:6: resolver.forward_zones[0].forward_first: must be true or false, got "yes please"',
      'node.yaml:7: resolver.forward_zones[0].via: unknown key (known: zone, addresses, forward_first)',
      'node.yaml:8: resolver.forward_zones[1].zone: zone corp.example is listed twice',
      'node.yaml:9: resolver.forward_zones[1].addresses: must be a non-empty list of ADDR or ADDR@PORT',
      'node.yaml:10: resolver.forward_zones[2]: must be a mapping { zone, addresses, forward_first }',
    ]);
    expect(fromYaml('resolver:\n  forward_zones: { zone: x }\n').issues).toEqual(['node.yaml:2: resolver.forward_zones: must be a list of { zone, addresses, forward_first }']);
  });
});

describe('ForwardTable', () => {
  const t = new ForwardTable([
    { zone: 'example', addresses: [{ host: '192.0.2.1', port: 53 }], first: false },
    { zone: 'a.example', addresses: [{ host: '192.0.2.2', port: 5300 }], first: true },
  ]);
  it('matches the closest zone at or above the name, case-insensitively, and nothing outside', () => {
    expect(t.match('www.A.example')?.zone).toBe('a.example');
    expect(t.match('a.example')?.zone).toBe('a.example');
    expect(t.match('b.example')?.zone).toBe('example');
    expect(t.match('example')?.zone).toBe('example');
    expect(t.match('xa.example')?.zone).toBe('example');
    expect(t.match('example.org')).toBeUndefined();
    expect(t.match('')).toBeUndefined();
    expect(new ForwardTable([{ zone: '', addresses: [{ host: '192.0.2.9', port: 53 }], first: false }]).match('any.thing')?.zone).toBe('');
  });

  it('a forward delegation point holds the forwarders with their ports', () => {
    const dp = forwardDelegationPoint(t.match('x.a.example')!);
    expect(dp.zone).toBe('a.example');
    expect([...dp.addresses.values()].flat()).toEqual(['192.0.2.2']);
    expect(dp.forward?.ports.get('192.0.2.2')).toBe(5300);
    expect(dp.forward?.zone.first).toBe(true);
  });

  it('a forwarder reply (RA, no AA) is judged as an answer', () => {
    const v = forwardedView({ id: 1, flags: FLAG.QR | FLAG.RA | FLAG.RD, opcode: 0, rcode: 0, questions: [], answers: [], authority: [], additional: [] });
    expect(v.flags & FLAG.AA).toBe(FLAG.AA);
    expect(v.flags & FLAG.RA).toBe(0);
  });

  it('parses addresses', () => {
    expect(parseForwardAddress('::1@5353')).toEqual({ host: '::1', port: 5353 });
    expect(() => parseForwardAddress('10.0.0.1:53')).toThrow(/not an IP address/);
  });
});
