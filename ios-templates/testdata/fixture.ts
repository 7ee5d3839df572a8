// Inventory texts for the tests: one hand-laid-out base (so error tests can point at exact
// lines) and a generator for the platform × protocol × probe golden matrix.
import { readFileSync } from 'node:fs';
import { YamlSource } from '../../common/yaml-source.js';
import { parseInventory, type Inventory } from '../inventory.js';

export const BASE = `service:
  vip: 192.0.2.53
  probe:
    type: dns
    name: probe.anycast.example
    frequency: 5
    timeout: 2000
    threshold: 1000
  track: { delayDown: 10, delayUp: 30 }
  tag: 5353
routing:
  protocol: ospf
  ospf: { process: 1 }
  cef: { algorithm: universal }
sites:
  - name: dc1
    cost: 10
    switches:
      - name: dc1-sw1
        platform: ios
        slaBase: 100
        nodes:
          - { name: dc1-dns01, address: 10.1.0.11 }
          - { name: dc1-dns02, address: 10.1.0.12 }
  - name: dc2
    cost: 20
    switches:
      - name: dc2-sw1
        platform: nx-os
        slaBase: 200
        nodes:
          - { name: dc2-dns01, address: 10.2.0.11 }
`;

export interface MatrixOpts {
  platform: 'ios' | 'ios-xe' | 'nx-os';
  protocol: 'ospf' | 'bgp';
  probe: 'dns' | 'http' | 'tcp';
  costAs?: 'med' | 'prepend';
  cef?: 'universal' | 'original' | 'include-ports';
}

/** A one-switch inventory (three nodes) for one cell of the golden matrix. */
export function matrixYaml(o: MatrixOpts): string {
  const probe =
    o.probe === 'dns'
      ? '    type: dns\n    name: probe.anycast.example\n'
      : o.probe === 'http'
        ? '    type: http\n    path: /health\n    port: 8053\n'
        : '    type: tcp\n    port: 8053\n';
  const routing =
    o.protocol === 'ospf'
      ? '  protocol: ospf\n  ospf: { process: 1 }\n'
      : `  protocol: bgp\n  bgp: { asn: 65001${o.costAs ? `, costAs: ${o.costAs}` : ''} }\n`;
  return `service:
  vip: 192.0.2.53
  probe:
${probe}    frequency: 5
    timeout: 2000
    threshold: 1000
  track: { delayDown: 10, delayUp: 30 }
  tag: 5353
routing:
${routing}  cef: { algorithm: ${o.cef ?? 'universal'} }
sites:
  - name: dc1
    cost: ${o.costAs === 'prepend' ? 2 : 10}
    switches:
      - name: sw1
        platform: ${o.platform}
        slaBase: 100
        nodes:
          - { name: dns01, address: 10.1.0.11 }
          - { name: dns02, address: 10.1.0.12 }
          - { name: dns03, address: 10.1.0.13 }
`;
}

export function inv(text: string, file = 'inventory.yaml'): Inventory {
  return parseInventory(YamlSource.fromText(file, text));
}

/** The README example, and its second version: dc1-dns02 retired, dc2-dns04 added, timeout 1500 ms. */
export const EXAMPLE = readFileSync(new URL('../examples/inventory.yaml', import.meta.url), 'utf8');

export function exampleNext(): string {
  const edits: Array<[string, string]> = [
    ['          - { name: dc1-dns02, address: 10.1.0.12 }\n', ''],
    ['          - { name: dc2-dns03, address: 10.2.0.13 }\n', '          - { name: dc2-dns03, address: 10.2.0.13 }\n          - { name: dc2-dns04, address: 10.2.0.14 }\n'],
    ['    timeout: 2000 ', '    timeout: 1500 '],
  ];
  let t = EXAMPLE;
  for (const [from, to] of edits) {
    if (!t.includes(from)) throw new Error(`example inventory changed: "${from}" not found`);
    t = t.replace(from, to);
  }
  return t;
}
