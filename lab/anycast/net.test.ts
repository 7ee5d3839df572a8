import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { YamlSource } from '../../common/yaml-source.js';
import { parseInventory } from '../../ios-templates/inventory.js';
import { buildPlan, multipathLine, ownerPid, parseRouteGet } from './net.js';

const file = new URL('./example.yaml', import.meta.url);
const inv = parseInventory(YamlSource.fromText('example.yaml', readFileSync(file, 'utf8')));

describe('lab network plan', () => {
  const plan = buildPlan(inv, '4242', 250, 7);

  it('names every namespace akl-<pid>-<role>, one per switch and node plus the client', () => {
    const names = [plan.clientNs, ...plan.switches.map((s) => s.ns), ...plan.nodes.map((n) => n.ns)];
    expect(names).toEqual(['akl-4242-c', 'akl-4242-s0', 'akl-4242-s1', 'akl-4242-n0', 'akl-4242-n1', 'akl-4242-n2', 'akl-4242-n3', 'akl-4242-n4']);
    expect(names.every((n) => ownerPid(n) === 4242)).toBe(true);
    expect(ownerPid('deckard-ns1')).toBeUndefined();
  });

  it('creates both ends of every veth inside namespaces (nothing in the root namespace)', () => {
    const adds = plan.batches.flatMap((b) => b.lines.filter((l) => l.startsWith('link add')).map((l) => `${b.ns}: ${l}`));
    expect(adds).toHaveLength(2 + 5);
    for (const a of adds) expect(a).toMatch(/type veth peer name \S+ netns akl-4242-/);
    // Every batch targets one of our namespaces.
    expect(plan.batches.every((b) => b.ns.startsWith('akl-4242-'))).toBe(true);
  });

  it('puts the VIP on lo in each node namespace, the node address on its uplink, a default route to its switch', () => {
    const n0 = plan.batches.find((b) => b.ns === 'akl-4242-n0')!.lines;
    expect(n0).toContain('addr add 192.0.2.53/32 dev lo');
    expect(n0).toContain('addr add 10.1.0.11/32 peer 10.255.0.1/32 dev uplink');
    expect(n0).toContain('route add default via 10.255.0.1 dev uplink');
  });

  it('sets an L3 multipath hash with a fixed seed and forwarding on every switch', () => {
    const s0 = plan.sysctls.filter((s) => s.ns === 'akl-4242-s0').map((s) => `${s.key}=${s.value}`);
    expect(s0).toEqual(expect.arrayContaining(['net.ipv4.ip_forward=1', 'net.ipv4.fib_multipath_hash_policy=0', 'net.ipv4.fib_multipath_hash_seed=7']));
    expect(plan.sources).toHaveLength(250);
    expect(plan.sources[0]).toBe('10.99.0.1');
  });

  it('writes the multipath route and parses ip route get', () => {
    expect(multipathLine('192.0.2.53', [{ address: '10.1.0.11', dev: 'n0' }, { address: '10.1.0.12', dev: 'n1' }], 1))
      .toBe('route replace 192.0.2.53/32 metric 1 nexthop via 10.1.0.11 dev n0 onlink nexthop via 10.1.0.12 dev n1 onlink');
    expect(multipathLine('192.0.2.53', [], 1)).toBe('route del 192.0.2.53/32 metric 1');
    expect(parseRouteGet('192.0.2.53 from 10.99.0.7 via 10.1.0.12 dev n1 \\    cache iif cl')).toEqual({ via: '10.1.0.12', dev: 'n1' });
  });

  it('refuses a source count it cannot place', () => {
    expect(() => buildPlan(inv, '1', 0, 0)).toThrow(RangeError);
    expect(() => buildPlan(inv, '1', 251, 0)).toThrow(RangeError);
  });
});
