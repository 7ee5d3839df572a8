import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../common/yaml-source.js';
import { loadTopology, parseTopologyText } from './topology.js';

function messages(text: string): string[] {
  try {
    parseTopologyText('topo.yaml', text);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).message.split('\n');
  }
  throw new Error('expected a ConfigError');
}

describe('topology validation', () => {
  it('reads the example shape with defaults', () => {
    const t = parseTopologyText('t.yaml', `
vip: 192.0.2.53
sites:
  - name: dc1
    clients: [ { cidr: 10.1.0.0/16, qps: 60000 } ]
    nodes:
      - { name: n2, address: 10.1.0.12, capacity: 20000 }
      - { name: n1, address: 10.1.0.11, capacity: 20000 }
`);
    expect([t.algorithm, t.overload, t.id]).toEqual(['seed-xor', 1, 0]);
    expect(t.sites[0].nodes.map((n) => n.name)).toEqual(['n1', 'n2']); // sorted by address
    expect(t.warnings).toEqual(['site dc1 has no failover: its clients are dropped while it is withdrawn']);
  });

  it('reports every mistake as FILE:LINE: FIELD: MESSAGE', () => {
    const text = [
      'vip: 192.0.2.300', // 1
      'model: { algorithm: ecmp, overload: 0 }', // 2
      'colour: blue', // 3
      'sites:', // 4
      '  - name: dc1', // 5
      '    clients: [ { cidr: 10.1.0.5/16, qps: 60k } ]', // 6
      '    failover: [dc1, dc9]', // 7
      '    nodes:', // 8
      '      - { name: a, address: 10.1.0.11, capacity: 20000 }', // 9
      '      - { name: a, address: 10.1.0.11, capacity: -1 }', // 10
      '  - name: dc2', // 11
      '    nodes: []', // 12
    ].join('\n');
    expect(messages(text)).toEqual([
      'topo.yaml:1: vip: "192.0.2.300" is not an IPv4 address',
      'topo.yaml:2: model.algorithm: must be one of seed-xor, universal, include-ports, even, got "ecmp"',
      'topo.yaml:2: model.overload: must be a number above 0 (1.0 = withdrawn above capacity), got 0',
      'topo.yaml:3: colour: unknown field (expected vip, model, sites)',
      'topo.yaml:6: sites[0].clients[0].cidr: "10.1.0.5/16" has host bits set; did you mean 10.1.0.0/16?',
      'topo.yaml:6: sites[0].clients[0].qps: must be a number >= 0, got "60k"',
      'topo.yaml:7: sites[0].failover[0]: a site cannot fail over to itself',
      'topo.yaml:7: sites[0].failover[1]: "dc9" is not a site (sites: dc1, dc2)',
      'topo.yaml:10: sites[0].nodes[1].name: name "a" is already used at sites[0].nodes[0].name; site and node names must be unique (--fail takes either)',
      'topo.yaml:10: sites[0].nodes[1].address: 10.1.0.11 is already used by a',
      'topo.yaml:10: sites[0].nodes[1].capacity: must be a number above 0, got -1',
      'topo.yaml:12: sites[1].nodes: required: a list of { name, address, capacity }',
    ]);
  });

  it('reports YAML syntax errors with their line', () => {
    expect(messages('vip: 192.0.2.53\nsites:\n  - name: [dc1\n')[0]).toMatch(/^topo\.yaml:\d+: \(top\): YAML syntax: /);
  });

  it('requires sites and a vip', () => {
    expect(messages('model: { algorithm: even }\n')).toEqual([
      'topo.yaml:1: vip: required: the anycast service address (IPv4)',
      'topo.yaml:1: sites: required: a list of sites, each with name, clients, failover and nodes',
    ]);
  });

  it('reads clientsFile relative to the topology and carries its errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'topo-'));
    writeFileSync(join(dir, 'good.txt'), '10.1.0.0/24 2560\n');
    writeFileSync(join(dir, 'bad.txt'), '10.1.0.0/24\nnot-an-address\n');
    const base = (f: string) => `vip: 192.0.2.53\nsites:\n  - name: dc1\n    clientsFile: ${f}\n    nodes: [ { name: a, address: 10.1.0.11, capacity: 1 } ]\n`;
    writeFileSync(join(dir, 'ok.yaml'), base('good.txt'));
    writeFileSync(join(dir, 'bad.yaml'), base('bad.txt'));
    writeFileSync(join(dir, 'missing.yaml'), base('nope.txt'));
    expect(loadTopology(join(dir, 'ok.yaml')).sites[0].clients).toMatchObject([{ count: 256, qps: 2560 }]);
    expect(() => loadTopology(join(dir, 'bad.yaml'))).toThrow(/bad\.yaml:4: sites\[0\]\.clientsFile: bad\.txt:2: address: "not-an-address" is not an IPv4 address/);
    expect(() => loadTopology(join(dir, 'missing.yaml'))).toThrow(/missing\.yaml:4: sites\[0\]\.clientsFile: cannot read "nope\.txt"/);
    expect(() => loadTopology(join(dir, 'absent.yaml'))).toThrow(/absent\.yaml:0: \(top\): cannot read: ENOENT/);
  });
});
