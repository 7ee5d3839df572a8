import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FailoverModel } from './failover.js';
import { SPLIT_ALGORITHMS, type SplitAlgorithm } from './hash.js';
import type { Topology } from './topology.js';

const arbTopology = (algorithms: readonly SplitAlgorithm[]) =>
  fc
    .record({
      algorithm: fc.constantFrom(...algorithms),
      overload: fc.double({ min: 0.5, max: 2, noNaN: true }),
      id: fc.nat({ max: 0xffffffff }),
      sites: fc.array(
        fc.record({
          nodes: fc.array(fc.integer({ min: 500, max: 40000 }), { minLength: 1, maxLength: 6 }),
          clients: fc.array(fc.record({ net: fc.nat({ max: 0xffffff }), len: fc.integer({ min: 20, max: 32 }), qps: fc.integer({ min: 0, max: 60000 }) }), { maxLength: 3 }),
          failover: fc.array(fc.nat({ max: 5 }), { maxLength: 3 }),
        }),
        { minLength: 1, maxLength: 5 },
      ),
    })
    .map(({ algorithm, overload, id, sites }): Topology => ({
      vip: 0xc0000235,
      algorithm,
      overload,
      id,
      warnings: [],
      sites: sites.map((s, si) => ({
        name: `s${si}`,
        clients: s.clients.map((c) => {
          const count = 2 ** (32 - c.len);
          const base = ((0x0a000000 + c.net * 256) >>> 0) - ((((0x0a000000 + c.net * 256) >>> 0) % count));
          return { base, count, qps: c.qps };
        }),
        failover: [...new Set(s.failover.filter((f) => f < sites.length && f !== si))].map((f) => `s${f}`),
        nodes: s.nodes.map((cap, ni) => ({ name: `s${si}n${ni}`, site: `s${si}`, address: 0x0b000000 + si * 256 + ni, capacityQps: cap })),
      })),
    }));

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a), Math.abs(b));

describe('failover model properties', () => {
  it('conserves load: served + dropped = offered, and up nodes carry exactly what is served, within capacity', () => {
    fc.assert(
      fc.property(arbTopology(SPLIT_ALGORITHMS), fc.array(fc.nat(), { maxLength: 3 }), (topo, picks) => {
        const model = new FailoverModel(topo);
        const names = [...model.names().sites, ...model.names().nodes];
        const fail = [...new Set(picks.map((p) => names[p % names.length]))];
        const r = model.simulate(fail);
        const offered = topo.sites.reduce((a, s) => a + s.clients.reduce((b, c) => b + c.qps, 0), 0);
        expect(close(r.offeredQps, offered)).toBe(true);
        expect(close(r.servedQps + r.droppedQps, offered)).toBe(true);
        const carried = r.nodes.reduce((a, n) => a + n.qps, 0);
        expect(close(carried, r.servedQps)).toBe(true);
        for (const n of r.nodes) expect(n.qps <= n.limitQps * (1 + 1e-9)).toBe(true);
        expect(r.steps.length).toBeLessThanOrEqual(r.nodes.length + 1);
        expect(r.steps[r.steps.length - 1].withdrawn).toEqual([]);
      }),
      { numRuns: 150 },
    );
  });

  it('under even, adding a node never makes things worse: no survivor is lost and no more is dropped', () => {
    fc.assert(
      fc.property(
        arbTopology(['even']),
        fc.array(fc.nat(), { maxLength: 3 }),
        fc.nat(),
        fc.integer({ min: 1, max: 40000 }),
        (topo, picks, siteIdx, cap) => {
          const before = new FailoverModel(topo);
          const names = [...before.names().sites, ...before.names().nodes];
          const fail = [...new Set(picks.map((p) => names[p % names.length]))];
          const k = siteIdx % topo.sites.length;
          const grown: Topology = {
            ...topo,
            sites: topo.sites.map((s, i) => (i !== k ? s : { ...s, nodes: [...s.nodes, { name: 'extra', site: s.name, address: 0x0c000001, capacityQps: cap }] })),
          };
          const a = before.simulate(fail);
          const b = new FailoverModel(grown).simulate(fail);
          const upAfter = new Set(b.nodes.filter((n) => n.state === 'up').map((n) => n.node));
          for (const n of a.nodes) if (n.state === 'up') expect(upAfter.has(n.node)).toBe(true);
          expect(b.droppedQps).toBeLessThanOrEqual(a.droppedQps + 1e-6);
          expect(b.servedQps).toBeGreaterThanOrEqual(a.servedQps - 1e-6);
        },
      ),
      { numRuns: 200 },
    );
  });
});
