import { describe, expect, it } from 'vitest';
import { ConfigError, type ConfigIssue } from '../common/yaml-source.js';
import { allNodes, allSwitches } from './inventory.js';
import { BASE, inv } from './testdata/fixture.js';

/** Applies string replacements to BASE; each `from` must occur exactly once. */
function mutate(...edits: Array<[string, string]>): string {
  let t = BASE;
  for (const [from, to] of edits) {
    expect(t.split(from).length - 1, `"${from}" must occur once in BASE`).toBe(1);
    t = t.replace(from, to);
  }
  return t;
}

/** 1-based number of the LAST line containing (or matching) `needle`. */
function lineOf(text: string, needle: string | RegExp): number {
  const lines = text.split('\n');
  let found = -1;
  lines.forEach((l, i) => {
    if (typeof needle === 'string' ? l.includes(needle) : needle.test(l)) found = i;
  });
  expect(found, `"${needle}" not found`).toBeGreaterThanOrEqual(0);
  return found + 1;
}

function issues(text: string): ConfigIssue[] {
  try {
    inv(text);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).issues;
  }
  return [];
}

interface Case {
  rule: string;
  edits: Array<[string, string]>;
  field: string;
  /**
   * Text on the line the error must point at. A missing key points at the first line of the
   * mapping it belongs in.
   */
  at: string | RegExp;
  message: RegExp;
}

const sixteen = Array.from({ length: 17 }, (_, i) => `          - { name: n${i}, address: 10.9.0.${i + 1} }`).join('\n');

const CASES: Case[] = [
  {
    rule: 'at most 16 nodes per switch',
    edits: [['          - { name: dc1-dns02, address: 10.1.0.12 }', `          - { name: dc1-dns02, address: 10.1.0.12 }\n${sixteen}`]],
    field: 'sites[0].switches[0].nodes',
    at: '- { name: dc1-dns01',
    message: /19 nodes, but at most 16 equal-cost paths/,
  },
  {
    rule: 'maxPaths lowers the limit',
    edits: [['        slaBase: 100\n', '        slaBase: 100\n        maxPaths: 1\n']],
    field: 'sites[0].switches[0].nodes',
    at: '- { name: dc1-dns01',
    message: /2 nodes, but at most 1 equal-cost paths/,
  },
  {
    rule: 'node names unique across the inventory',
    edits: [['{ name: dc2-dns01,', '{ name: dc1-dns01,']],
    field: 'sites[1].switches[0].nodes[0].name',
    at: 'address: 10.2.0.11',
    message: /node name "dc1-dns01" is already used at sites\[0\]\.switches\[0\]\.nodes\[0\]/,
  },
  {
    rule: 'node addresses unique across the inventory',
    edits: [['address: 10.2.0.11', 'address: 10.1.0.12']],
    field: 'sites[1].switches[0].nodes[0].address',
    at: '{ name: dc2-dns01',
    message: /address 10\.1\.0\.12 is already used by node dc1-dns02/,
  },
  {
    rule: 'SLA IDs unique on one switch (explicit slaId)',
    edits: [['{ name: dc1-dns02, address: 10.1.0.12 }', '{ name: dc1-dns02, address: 10.1.0.12, slaId: 100 }']],
    field: 'sites[0].switches[0].nodes[1].slaId',
    at: 'slaId: 100',
    message: /SLA\/track ID 100 is used twice on switch dc1-sw1/,
  },
  {
    rule: 'SLA ID within 1-2147483647',
    edits: [['{ name: dc1-dns02, address: 10.1.0.12 }', '{ name: dc1-dns02, address: 10.1.0.12, slaId: 2147483648 }']],
    field: 'sites[0].switches[0].nodes[1].slaId',
    at: 'slaId: 2147483648',
    message: /between 1 and 2147483647/,
  },
  {
    rule: 'slaBase within 1-2147483647',
    edits: [['slaBase: 100', 'slaBase: 0']],
    field: 'sites[0].switches[0].slaBase',
    at: 'slaBase: 0',
    message: /between 1 and 2147483647, got 0/,
  },
  {
    rule: 'track ID within the IOS range 1-1000',
    edits: [['slaBase: 100', 'slaBase: 1000']],
    field: 'sites[0].switches[0].slaBase',
    at: 'slaBase: 1000',
    message: /SLA\/track ID 1001 for node dc1-dns02 is outside the ios track range 1-1000/,
  },
  {
    rule: 'track ID within the NX-OS range 1-500',
    edits: [['slaBase: 200', 'slaBase: 501']],
    field: 'sites[1].switches[0].slaBase',
    at: 'slaBase: 501',
    message: /SLA\/track ID 501 for node dc2-dns01 is outside the nx-os track range 1-500/,
  },
  {
    rule: 'threshold ≤ timeout',
    edits: [['threshold: 1000', 'threshold: 2500']],
    field: 'service.probe.threshold',
    at: 'threshold: 2500',
    message: /threshold 2500 ms must not exceed timeout 2000 ms/,
  },
  {
    rule: 'timeout ≤ frequency × 1000',
    edits: [['frequency: 5', 'frequency: 1']],
    field: 'service.probe.timeout',
    at: 'timeout: 2000',
    message: /timeout 2000 ms must not exceed frequency 1 s = 1000 ms/,
  },
  {
    rule: 'timeout ≤ 60000 ms (paste order against the default frequency)',
    edits: [['frequency: 5', 'frequency: 120'], ['timeout: 2000', 'timeout: 90000']],
    field: 'service.probe.timeout',
    at: 'timeout: 90000',
    message: /between 1 and 60000 ms/,
  },
  {
    rule: 'threshold ≤ 5000 ms (paste order against the default timeout)',
    edits: [['frequency: 5', 'frequency: 10'], ['timeout: 2000', 'timeout: 9000'], ['threshold: 1000', 'threshold: 6000']],
    field: 'service.probe.threshold',
    at: 'threshold: 6000',
    message: /between 1 and 5000 ms/,
  },
  {
    rule: 'delay down within 1-180',
    edits: [['delayDown: 10', 'delayDown: 0']],
    field: 'service.track.delayDown',
    at: 'delayDown: 0',
    message: /between 1 and 180 seconds, got 0/,
  },
  {
    rule: 'delay up within 1-180',
    edits: [['delayUp: 30', 'delayUp: 181']],
    field: 'service.track.delayUp',
    at: 'delayUp: 181',
    message: /between 1 and 180 seconds, got 181/,
  },
  {
    rule: 'valid IPv4 node address',
    edits: [['address: 10.1.0.12', 'address: 10.1.0.256']],
    field: 'sites[0].switches[0].nodes[1].address',
    at: '10.1.0.256',
    message: /"10\.1\.0\.256" is not a valid IPv4 address/,
  },
  {
    rule: 'no leading zeros in IPv4',
    edits: [['address: 10.1.0.12', 'address: 10.1.0.012']],
    field: 'sites[0].switches[0].nodes[1].address',
    at: '10.1.0.012',
    message: /not a valid IPv4 address.*no leading zeros/,
  },
  {
    rule: 'valid IPv4 VIP',
    edits: [['vip: 192.0.2.53', 'vip: 192.0.2']],
    field: 'service.vip',
    at: 'vip: 192.0.2',
    message: /"192\.0\.2" is not a valid IPv4 address/,
  },
  {
    rule: 'unicast node address',
    edits: [['address: 10.1.0.12', 'address: 224.0.0.5']],
    field: 'sites[0].switches[0].nodes[1].address',
    at: '224.0.0.5',
    message: /multicast/,
  },
  {
    rule: 'VIP not equal to a node address',
    edits: [['address: 10.1.0.12', 'address: 192.0.2.53']],
    field: 'sites[0].switches[0].nodes[1].address',
    at: '{ name: dc1-dns02',
    message: /is the service VIP/,
  },
  {
    rule: 'required key present: service.vip',
    edits: [['  vip: 192.0.2.53\n', '']],
    field: 'service.vip',
    at: 'probe:',
    message: /required key is missing/,
  },
  {
    rule: 'required key present: node address',
    edits: [['{ name: dc1-dns02, address: 10.1.0.12 }', '{ name: dc1-dns02 }']],
    field: 'sites[0].switches[0].nodes[1].address',
    at: '{ name: dc1-dns02 }',
    message: /required key is missing/,
  },
  {
    rule: 'required key present: dns probe name',
    edits: [['    name: probe.anycast.example\n', '']],
    field: 'service.probe.name',
    at: 'type: dns',
    message: /required key is missing/,
  },
  {
    rule: 'required key present: http probe path',
    edits: [['    type: dns\n    name: probe.anycast.example\n', '    type: http\n    port: 8053\n']],
    field: 'service.probe.path',
    at: 'type: http',
    message: /required key is missing/,
  },
  {
    rule: 'required key present: tcp probe port',
    edits: [['    type: dns\n    name: probe.anycast.example\n', '    type: tcp\n']],
    field: 'service.probe.port',
    at: 'type: tcp',
    message: /required key is missing/,
  },
  {
    rule: 'required section present: bgp settings when protocol is bgp',
    edits: [['protocol: ospf', 'protocol: bgp']],
    field: 'routing.bgp',
    at: 'protocol: bgp',
    message: /required BGP settings \(protocol is bgp\) is missing/,
  },
  {
    rule: 'right type: integer',
    edits: [['frequency: 5', 'frequency: 5s']],
    field: 'service.probe.frequency',
    at: 'frequency: 5s',
    message: /must be a whole number of seconds, got the string "5s"/,
  },
  {
    rule: 'right type: string',
    edits: [['- name: dc1\n', '- name: [dc1]\n']],
    field: 'sites[0].name',
    at: '- name: [dc1]',
    message: /must be a string, got a list/,
  },
  {
    rule: 'right type: list',
    edits: [['        nodes:\n          - { name: dc2-dns01, address: 10.2.0.11 }\n', '        nodes: { name: dc2-dns01 }\n']],
    field: 'sites[1].switches[0].nodes',
    at: 'nodes: { name: dc2-dns01 }',
    message: /must be a list \(nodes\), got a mapping/,
  },
  {
    rule: 'right type: mapping',
    edits: [['  track: { delayDown: 10, delayUp: 30 }', '  track: 10']],
    field: 'service.track',
    at: 'track: 10',
    message: /must be a mapping/,
  },
  {
    rule: 'enumerations: platform',
    edits: [['platform: ios\n', 'platform: junos\n']],
    field: 'sites[0].switches[0].platform',
    at: 'platform: junos',
    message: /one of ios \| ios-xe \| nx-os, got "junos"/,
  },
  {
    rule: 'enumerations: probe type',
    edits: [['type: dns', 'type: icmp']],
    field: 'service.probe.type',
    at: 'type: icmp',
    message: /one of dns \| http \| tcp/,
  },
  {
    rule: 'unknown keys are refused with a suggestion',
    edits: [['slaBase: 100', 'slabase: 100']],
    field: 'sites[0].switches[0].slabase',
    at: 'slabase: 100',
    message: /unknown key; did you mean "slaBase"\?/,
  },
  {
    rule: 'dns probe on NX-OS with an IPv6 address',
    edits: [['address: 10.2.0.11', 'address: "2001:db8::11"']],
    field: 'sites[1].switches[0].nodes[0].address',
    at: '2001:db8::11',
    message: /NX-OS's IP SLA DNS operation is IPv4 only/,
  },
  {
    rule: 'IPv6 next hop on IOS',
    edits: [['address: 10.1.0.12', 'address: "2001:db8::12"']],
    field: 'sites[0].switches[0].nodes[1].address',
    at: '2001:db8::12',
    message: /IPv4 static route, so its next hop must be IPv4/,
  },
  {
    rule: 'http path safe to paste (no "?")',
    edits: [['    type: dns\n    name: probe.anycast.example\n', '    type: http\n    path: /health?x=1\n    port: 8053\n']],
    field: 'service.probe.path',
    at: 'path: /health?x=1',
    message: /no "\?"/,
  },
  {
    rule: 'port range',
    edits: [['    type: dns\n    name: probe.anycast.example\n', '    type: tcp\n    port: 70000\n']],
    field: 'service.probe.port',
    at: 'port: 70000',
    message: /between 1 and 65535/,
  },
  {
    rule: 'dns probe name is a hostname',
    edits: [['name: probe.anycast.example', 'name: probe.anycast.example.']],
    field: 'service.probe.name',
    at: 'probe.anycast.example.',
    message: /not a DNS hostname/,
  },
  {
    rule: 'names usable in commands and file names',
    edits: [['- name: dc1-sw1', '- name: dc1/sw1']],
    field: 'sites[0].switches[0].name',
    at: 'dc1/sw1',
    message: /not a usable name/,
  },
  {
    rule: 'node names fit the 16-character IP SLA tag',
    edits: [['{ name: dc1-dns02,', '{ name: dc1-resolver-node-02,']],
    field: 'sites[0].switches[0].nodes[1].name',
    at: 'dc1-resolver-node-02',
    message: /20 characters; a node name is also its IP SLA tag, which holds at most 16/,
  },
  {
    rule: 'switch names unique',
    edits: [['- name: dc2-sw1', '- name: dc1-sw1']],
    field: 'sites[1].switches[0].name',
    at: /^      - name: dc1-sw1$/,
    message: /switch name "dc1-sw1" is already used at sites\[0\]\.switches\[0\]/,
  },
  {
    rule: 'site names unique',
    edits: [['- name: dc2\n', '- name: dc1\n']],
    field: 'sites[1].name',
    at: /^  - name: dc1$/,
    message: /site name "dc1" is already used/,
  },
  {
    rule: 'OSPF metric range',
    edits: [['cost: 20', 'cost: 16777215']],
    field: 'sites[1].cost',
    at: 'cost: 16777215',
    message: /between 1 and 16777214/,
  },
  {
    rule: 'prepend count range',
    edits: [['protocol: ospf', 'protocol: bgp\n  bgp: { asn: 65001, costAs: prepend }']],
    field: 'sites[1].cost',
    at: 'cost: 20',
    message: /between 0 and 10 AS-path prepends \(routing\.bgp\.costAs is prepend\), got 20/,
  },
  {
    rule: 'client CIDRs',
    edits: [['  tag: 5353\n', '  tag: 5353\n  clients: [10.0.0.1/8]\n']],
    field: 'service.clients[0]',
    at: 'clients:',
    message: /not an IPv4 CIDR/,
  },
];

describe('inventory validation: one error test per rule', () => {
  it('accepts the base inventory', () => {
    const i = inv(BASE);
    expect(allSwitches(i).map((s) => s.name)).toEqual(['dc1-sw1', 'dc2-sw1']);
    expect(allNodes(i).map((n) => `${n.name}=${n.slaId}`)).toEqual(['dc1-dns01=100', 'dc1-dns02=101', 'dc2-dns01=200']);
  });

  for (const c of CASES) {
    it(c.rule, () => {
      const text = mutate(...c.edits);
      const found = issues(text);
      const hit = found.find((i) => i.field === c.field && c.message.test(i.message));
      expect(hit, `expected ${c.field} ~ ${c.message}, got:\n${found.map((i) => `${i.line}: ${i.field}: ${i.message}`).join('\n')}`).toBeDefined();
      expect(hit!.file).toBe('inventory.yaml');
      expect(hit!.line).toBe(lineOf(text, c.at));
    });
  }

  it('maxPaths raises the 16-path limit', () => {
    const text = mutate(['          - { name: dc1-dns02, address: 10.1.0.12 }', `          - { name: dc1-dns02, address: 10.1.0.12 }\n${sixteen}`], ['        slaBase: 100\n', '        slaBase: 100\n        maxPaths: 32\n']);
    expect(allSwitches(inv(text))[0].nodes).toHaveLength(19);
  });

  it('reports a YAML syntax error with its line', () => {
    const text = mutate(['  tag: 5353\n', '  tag: [5353\n']);
    const found = issues(text);
    expect(found.length).toBeGreaterThan(0);
    expect(found[0].message).toMatch(/YAML syntax/);
  });

  it('reports every error of a bad inventory in one pass, sorted by line', () => {
    const text = mutate(['threshold: 1000', 'threshold: 2500'], ['delayUp: 30', 'delayUp: 0'], ['address: 10.1.0.12', 'address: 10.1.0.256'], ['slaBase: 200', 'slabase: 200']);
    const found = issues(text);
    expect(found.map((i) => i.field)).toEqual(
      expect.arrayContaining(['service.probe.threshold', 'service.track.delayUp', 'sites[0].switches[0].nodes[1].address', 'sites[1].switches[0].slabase']),
    );
    const lines = found.map((i) => i.line);
    expect([...lines].sort((a, b) => a - b)).toEqual(lines);
  });

  // IOS numbers IP SLA operations and track objects per device: the same ID on two
  // switches is valid, and so is a default range that meets another switch's slaBase.
  it('accepts the same SLA/track IDs on two different switches', () => {
    const i = inv(mutate(['slaBase: 200', 'slaBase: 100']));
    expect(allNodes(i).map((n) => `${n.switchName}:${n.slaId}`)).toEqual(['dc1-sw1:100', 'dc1-sw1:101', 'dc2-sw1:100']);
    const j = inv(mutate(['slaBase: 200', 'slaBase: 101']));
    expect(allNodes(j).map((n) => n.slaId)).toEqual([100, 101, 101]);
  });

  it('accepts a default slaBase range that meets another switch\'s explicit slaBase', () => {
    // dc2-sw1 is the second switch: its default base 200 equals dc1-sw1's explicit one.
    const i = inv(mutate(['        slaBase: 200\n', ''], ['        slaBase: 100\n', '        slaBase: 200\n']));
    expect(allNodes(i).map((n) => n.slaId)).toEqual([200, 201, 200]);
  });

  it('still refuses a default ID that repeats an explicit slaId on the same switch', () => {
    const found = issues(mutate(['{ name: dc1-dns02, address: 10.1.0.12 }', '{ name: dc1-dns02, address: 10.1.0.12 }\n          - { name: dc1-dns03, address: 10.1.0.13, slaId: 101 }']));
    expect(found.map((f) => f.message).join('\n')).toMatch(/SLA\/track ID 101 is used twice on switch dc1-sw1/);
  });

  it('service.failOpen defaults to false and must be a boolean', () => {
    expect(inv(BASE).service.failOpen).toBe(false);
    expect(inv(mutate(['  tag: 5353\n', '  tag: 5353\n  failOpen: true\n'])).service.failOpen).toBe(true);
    const found = issues(mutate(['  tag: 5353\n', '  tag: 5353\n  failOpen: maybe\n']));
    expect(found.some((f) => f.field === 'service.failOpen')).toBe(true);
  });

  it('gives default slaBase blocks of 100 in inventory order', () => {
    const text = mutate(['        slaBase: 100\n', ''], ['        slaBase: 200\n', '']);
    expect(allNodes(inv(text)).map((n) => n.slaId)).toEqual([100, 101, 200]);
  });
});
