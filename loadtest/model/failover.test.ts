import { describe, expect, it } from 'vitest';
import { FailoverModel, worstScenario } from './failover.js';
import { planCapacity } from './plan.js';
import { parseTopologyText } from './topology.js';
import { threeSite } from './testdata/three-site.js';

const THREE_SITES = (dc2Cap: number, opts = 'algorithm: even, overload: 1.0') => threeSite({ model: opts, dc2Capacity: dc2Cap });

const brief = (steps: ReturnType<FailoverModel['simulate']>['steps']) =>
  steps.map((s) => ({ step: s.step, offered: s.sites.map((x) => [x.site, x.offeredQps, x.nodesUp]), withdrawn: s.withdrawn, dropped: s.droppedQps }));

describe('three-site cascade (hand-computed, even split)', () => {
  const model = new FailoverModel(parseTopologyText('t.yaml', THREE_SITES(20000)));

  it('losing dc1 overloads dc2, then dc3, then drops everything', () => {
    // Step 0: dc1's 60000 go to dc2: 90000 / 3 = 30000 > 20000 -> all dc2 withdrawn.
    // Step 1: dc1 and dc2 clients go to dc3: 110000 / 4 = 27500 > 25000 -> all dc3 withdrawn.
    // Step 2: no site is up: 110000 dropped, nothing left to withdraw.
    const r = model.simulate(['dc1']);
    expect(brief(r.steps)).toEqual([
      { step: 0, offered: [['dc1', 0, 0], ['dc2', 90000, 3], ['dc3', 20000, 4]], withdrawn: ['dc2-a', 'dc2-b', 'dc2-c'], dropped: 0 },
      { step: 1, offered: [['dc1', 0, 0], ['dc2', 0, 0], ['dc3', 110000, 4]], withdrawn: ['dc3-a', 'dc3-b', 'dc3-c', 'dc3-d'], dropped: 0 },
      { step: 2, offered: [['dc1', 0, 0], ['dc2', 0, 0], ['dc3', 0, 0]], withdrawn: [], dropped: 110000 },
    ]);
    expect(r.steps[0].sites[1].hottestUtilization).toBe(1.5);
    expect([r.offeredQps, r.servedQps, r.droppedQps, r.cascaded]).toEqual([110000, 0, 110000, true]);
    expect(r.withdrawn).toEqual(['dc2-a', 'dc2-b', 'dc2-c', 'dc3-a', 'dc3-b', 'dc3-c', 'dc3-d']);
    expect(r.sites.map((s) => [s.site, s.state, s.nodesUp, s.clientsServedBy])).toEqual([
      ['dc1', 'failed', 0, null],
      ['dc2', 'lost', 0, null],
      ['dc3', 'lost', 0, null],
    ]);
    expect(r.nodes.find((n) => n.node === 'dc3-b')).toMatchObject({ state: 'withdrawn', withdrawnAtStep: 1, qps: 0 });
  });

  it('with nothing failed every node carries its share', () => {
    const r = model.simulate([]);
    expect(r.steps).toHaveLength(1);
    expect(r.nodes.map((n) => n.qps)).toEqual([20000, 20000, 20000, 10000, 10000, 10000, 5000, 5000, 5000, 5000]);
    expect(r.cascaded).toBe(false);
  });

  it('--all-single: 13 scenarios, dc1 and each dc1 node cascade, dc3 drops', () => {
    const m = model.allSingle();
    expect(m.scenarios.map((s) => [s.name, s.cascaded, s.droppedQps])).toEqual([
      ['dc1', true, 110000],
      ['dc2', false, 0], // 50000 / 4 = 12500 at dc3
      ['dc3', false, 20000], // dc3 has no failover
      ['dc1-a', true, 110000], // 60000 / 2 = 30000 > 25000: dc1 goes, then as above
      ['dc1-b', true, 110000],
      ['dc1-c', true, 110000],
      ['dc2-a', false, 0],
      ['dc2-b', false, 0],
      ['dc2-c', false, 0],
      ['dc3-a', false, 0],
      ['dc3-b', false, 0],
      ['dc3-c', false, 0],
      ['dc3-d', false, 0],
    ]);
    expect([m.total, m.cascaded, m.withDrops]).toEqual([13, 4, 5]);
    expect(m.scenarios[3].sites.map((s) => s.state)).toEqual(['lost', 'lost', 'lost']);
    // Same drops as losing dc1, but the cascade takes 9 nodes (dc1-b, dc1-c too), not 7.
    expect(worstScenario(m)?.name).toBe('dc1-a');
    expect(m.scenarios[3].withdrawn).toHaveLength(9);
  });

  it('plans 4 / 5 / 2 nodes and verifies the plan has no cascade', () => {
    // dc1: 60000 own; 3 nodes = 20000 but one lost leaves 30000 > 25000; 4 nodes: 20000 after a loss.
    // dc2: 30000 + dc1's 60000 = 90000 / 20000 -> 5 nodes (18000 each); one lost: 30000/4.
    // dc3: 20000 + dc2's 30000 = 50000 / 25000 -> 2 nodes, exactly at capacity; one lost: 20000.
    const p = planCapacity(parseTopologyText('t.yaml', THREE_SITES(20000)));
    expect(p.sites.map((s) => [s.site, s.recommendedNodes, s.change, s.worstScenario])).toEqual([
      ['dc1', 4, 1, 'one node lost here'],
      ['dc2', 5, 2, 'site dc1 lost'],
      ['dc3', 2, -2, 'site dc2 lost'],
    ]);
    expect(p.sites[2].worstUtilization).toBe(1);
    expect(p.verification).toEqual({ scenarios: 3 + 11, cascaded: 0, withDrops: 1 });
    expect(p.achievable).toBe(true);
  });
});

describe('exactly at capacity', () => {
  it('does not cascade (even): 90000 / 3 = 30000 on 30000-qps nodes', () => {
    const r = new FailoverModel(parseTopologyText('t.yaml', THREE_SITES(30000))).simulate(['dc1']);
    expect(r.cascaded).toBe(false);
    expect(r.steps).toHaveLength(1);
    expect(r.steps[0].sites[1]).toMatchObject({ offeredQps: 90000, hottestQps: 30000, hottestUtilization: 1 });
    expect([r.servedQps, r.droppedQps]).toEqual([110000, 0]);
  });

  it('honours overload: 24000 x 1.25 = 30000 holds, 23999 x 1.25 does not', () => {
    expect(new FailoverModel(parseTopologyText('t.yaml', THREE_SITES(24000, 'algorithm: even, overload: 1.25'))).simulate(['dc1']).cascaded).toBe(false);
    expect(new FailoverModel(parseTopologyText('t.yaml', THREE_SITES(23999, 'algorithm: even, overload: 1.25'))).simulate(['dc1']).cascaded).toBe(true);
  });

  it('does not cascade under seed-xor when the table splits exactly', () => {
    // A /16 covers all 65536 keys once; with 4 nodes the 16-row table gives each node
    // 16384 keys: 90000 / 4 = 22500 each, exactly the capacity.
    const text = `
vip: 192.0.2.53
model: { algorithm: seed-xor }
sites:
  - name: a
    clients: [ { cidr: 10.1.0.0/16, qps: 90000 } ]
    nodes:
      - { name: a1, address: 10.1.0.11, capacity: 22500 }
      - { name: a2, address: 10.1.0.12, capacity: 22500 }
      - { name: a3, address: 10.1.0.13, capacity: 22500 }
      - { name: a4, address: 10.1.0.14, capacity: 22500 }
`;
    const r = new FailoverModel(parseTopologyText('t.yaml', text)).simulate([]);
    expect(r.nodes.map((n) => n.qps)).toEqual([22500, 22500, 22500, 22500]);
    expect(r.cascaded).toBe(false);
  });
});

describe('CEF imbalance decides, not the average', () => {
  it('a /24 on 3 nodes: mean 8533 fits 8550 but the hottest (8600) does not, then 2 nodes get 12800', () => {
    // seed-xor, VIP 192.0.2.53, 10.1.5.0/24 at 100 qps per address: 86/85/85 addresses
    // on paths 0..2 (see cef.test.ts) -> 8500, 8600, 8500. Path 1 = 10.1.0.12 = a2.
    // With 2 nodes the 16-row table splits the 256 keys 128/128 -> 12800 each.
    const text = `
vip: 192.0.2.53
model: { algorithm: seed-xor, overload: 1.0 }
sites:
  - name: A
    clients: [ { cidr: 10.1.5.0/24, qps: 25600 } ]
    failover: [B]
    nodes:
      - { name: a3, address: 10.1.0.13, capacity: 8550 }
      - { name: a1, address: 10.1.0.11, capacity: 8550 }
      - { name: a2, address: 10.1.0.12, capacity: 8550 }
  - name: B
    nodes:
      - { name: b1, address: 10.2.0.11, capacity: 20000 }
      - { name: b2, address: 10.2.0.12, capacity: 20000 }
`;
    const r = new FailoverModel(parseTopologyText('t.yaml', text)).simulate([]);
    expect(r.steps.map((s) => s.withdrawn)).toEqual([['a2'], ['a1', 'a3'], []]);
    expect(r.steps[0].sites[0]).toMatchObject({ hottestNode: 'a2', hottestQps: 8600 });
    expect(r.steps[1].sites[0]).toMatchObject({ nodesUp: 2, hottestQps: 12800 });
    expect(r.steps[2].sites[1]).toMatchObject({ offeredQps: 25600, nodesUp: 2, serving: ['A'] });
    expect(r.nodes.filter((n) => n.site === 'B').map((n) => n.qps)).toEqual([12800, 12800]);
    expect([r.cascaded, r.servedQps, r.droppedQps]).toEqual([true, 25600, 0]);
    expect(r.sites.map((s) => s.state)).toEqual(['lost', 'ok']);
  });
});

describe('--fail names', () => {
  it('takes nodes as well as sites and rejects unknown names', () => {
    const model = new FailoverModel(parseTopologyText('t.yaml', THREE_SITES(20000)));
    const r = model.simulate(['dc2-a', 'dc3-a']);
    expect(r.name).toBe('dc2-a+dc3-a');
    expect(r.nodes.filter((n) => n.state === 'failed').map((n) => n.node)).toEqual(['dc2-a', 'dc3-a']);
    expect(() => model.simulate(['dc9'])).toThrow(/--fail "dc9" is neither a site nor a node in t.yaml \(sites: dc1, dc2, dc3\)/);
  });
});
