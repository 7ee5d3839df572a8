import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { checkGrammar } from './grammar.js';
import { allSwitches, type Inventory } from './inventory.js';
import { planChanges } from './plan.js';
import { renderSwitchLines } from './render.js';
import { BASE, EXAMPLE, exampleNext, inv } from './testdata/fixture.js';
import { isLeftover, SimSwitch } from './testdata/simulator.js';


function edit(text: string, ...edits: Array<[string, string]>): string {
  for (const [from, to] of edits) {
    expect(text.includes(from), `"${from}" not in text`).toBe(true);
    text = text.replace(from, to);
  }
  return text;
}

/** Running config of `name` after pasting its full config from `i` (empty if absent). */
function simFull(i: Inventory, name: string, indent: number): SimSwitch {
  const sw = allSwitches(i).find((s) => s.name === name);
  return new SimSwitch(indent).apply(sw ? renderSwitchLines(i, sw) : []);
}

/**
 * The core property: for every switch, pasting the plan onto the old running config gives
 * the new one, and pasting the rollback onto that gives the old one back.
 */
function checkRoundTrip(oldInv: Inventory, newInv: Inventory): void {
  for (const p of planChanges(oldInv, newInv)) {
    expect(checkGrammar(p.platform, p.plan)).toEqual([]);
    expect(checkGrammar(p.rollbackPlatform, p.rollback)).toEqual([]);
    if (p.status === 'replaced') continue;
    const indent = p.platform === 'nx-os' ? 2 : 1;
    const after = simFull(oldInv, p.name, indent).apply(p.plan);
    const want = simFull(newInv, p.name, indent).flat();
    const got = after.flat();
    expect(got.filter((l) => !want.includes(l)).filter((l) => !isLeftover(l)), `${p.name}: lines left behind`).toEqual([]);
    expect(want.filter((l) => !got.includes(l)), `${p.name}: lines missing after the plan`).toEqual([]);
    const back = after.apply(p.rollback).flat();
    const orig = simFull(oldInv, p.name, indent).flat();
    expect(back.filter((l) => !orig.includes(l)).filter((l) => !isLeftover(l)), `${p.name}: rollback left lines behind`).toEqual([]);
    expect(orig.filter((l) => !back.includes(l)), `${p.name}: rollback did not restore`).toEqual([]);
  }
}

describe('change plans', () => {
  const base = inv(BASE);

  it('switches fail-open on and off, and removes a node with its floating route (round trip on the simulator)', () => {
    const on = inv(edit(BASE, ['  tag: 5353\n', '  tag: 5353\n  failOpen: true\n']));
    checkRoundTrip(base, on);
    checkRoundTrip(on, base);
    const plan = planChanges(base, on).find((p) => p.name === 'dc1-sw1')!;
    expect(plan.plan.filter((l) => / 250 name /.test(l))).toEqual([
      'ip route 192.0.2.53 255.255.255.255 10.1.0.11 250 name dc1-dns01 tag 5353',
      'ip route 192.0.2.53 255.255.255.255 10.1.0.12 250 name dc1-dns02 tag 5353',
    ]);
    // A node removed while fail-open is on: its floating route goes first, before the tracked one.
    const fewer = inv(edit(BASE, ['  tag: 5353\n', '  tag: 5353\n  failOpen: true\n'], ['          - { name: dc1-dns02, address: 10.1.0.12 }\n', '']));
    checkRoundTrip(on, fewer);
    const rm = planChanges(on, fewer).find((p) => p.name === 'dc1-sw1')!.plan.filter((l) => l.startsWith('no ip route'));
    expect(rm).toEqual([
      'no ip route 192.0.2.53 255.255.255.255 10.1.0.12 250 name dc1-dns02 tag 5353',
      'no ip route 192.0.2.53 255.255.255.255 10.1.0.12 name dc1-dns02 track 101 tag 5353',
    ]);
  });

  it('plans nothing when nothing changed, and says so', () => {
    const plans = planChanges(base, base);
    expect(plans.map((p) => p.status)).toEqual(['unchanged', 'unchanged']);
    for (const p of plans) {
      expect(p.plan.filter((l) => !l.startsWith('!'))).toEqual([]);
      expect(p.plan.join('\n')).toMatch(/No changes: nothing to paste/);
    }
  });

  it('orders removal (route, track, SLA), then additions, then re-created SLAs, then in-place changes', () => {
    const next = inv(
      edit(
        BASE,
        ['          - { name: dc1-dns02, address: 10.1.0.12 }\n', '          - { name: dc1-dns03, address: 10.1.0.13, slaId: 110 }\n'],
        ['frequency: 5', 'frequency: 10'],
        ['delayUp: 30', 'delayUp: 60'],
      ),
    );
    const p = planChanges(base, next).find((x) => x.name === 'dc1-sw1')!;
    const cmds = p.plan.filter((l) => !l.startsWith('!'));
    const at = (s: string) => {
      const i = cmds.indexOf(s);
      expect(i, s).toBeGreaterThanOrEqual(0);
      return i;
    };
    const rmRoute = at('no ip route 192.0.2.53 255.255.255.255 10.1.0.12 name dc1-dns02 track 101 tag 5353');
    const rmTrack = at('no track 101');
    const rmSla = at('no ip sla 101');
    const addSla = at('ip sla 110');
    const addRoute = at('ip route 192.0.2.53 255.255.255.255 10.1.0.13 name dc1-dns03 track 110 tag 5353');
    const recreate = at('no ip sla 100');
    const again = cmds.indexOf('ip sla 100', recreate);
    expect(rmRoute < rmTrack && rmTrack < rmSla && rmSla < addSla && addSla < addRoute && addRoute < recreate && recreate < again).toBe(true);
    expect(cmds[again + 1]).toBe(' dns probe.anycast.example name-server 10.1.0.11');
    expect(cmds.slice(again + 2, again + 5)).toEqual(['  threshold 1000', '  timeout 2000', '  frequency 10']);
    expect(cmds).toContain('ip sla schedule 100 life forever start-time now');
    // Track delay changed in place after the re-creation; no "no delay" (a new value replaces it).
    expect(cmds.slice(again)).toContain(' delay down 10 up 60');
    expect(cmds.some((l) => l.includes('no delay'))).toBe(false);
    expect(p.summary).toEqual({ removedNodes: ['dc1-dns02'], addedNodes: ['dc1-dns03'], recreatedSla: ['dc1-dns01'], modified: ['track of dc1-dns01'] });
    // Unchanged lines are left untouched: maximum-paths (still 2 nodes) and the route-map.
    expect(cmds.some((l) => /maximum-paths|route-map|router/.test(l))).toBe(false);
    // The other switch only re-creates its SLA and edits its track.
    const nx = planChanges(base, next).find((x) => x.name === 'dc2-sw1')!;
    expect(nx.plan.filter((l) => !l.startsWith('!'))).toEqual([
      'no ip sla 200',
      'ip sla 200',
      '  dns probe.anycast.example name-server 10.2.0.11',
      '    threshold 1000',
      '    timeout 2000',
      '    frequency 10',
      '    tag dc2-dns01',
      'ip sla schedule 200 life forever start-time now',
      'track 200 ip sla 200 reachability',
      '  delay down 10 up 60',
    ]);
    checkRoundTrip(base, next);
  });

  it('adds a new match tag before negating the old one, so the clause never matches every static', () => {
    const next = inv(edit(BASE, ['tag: 5353', 'tag: 6000']));
    const p = planChanges(base, next)[0];
    const cmds = p.plan.filter((l) => !l.startsWith('!'));
    expect(cmds.indexOf(' match tag 6000')).toBeGreaterThan(-1);
    expect(cmds.indexOf(' match tag 6000')).toBeLessThan(cmds.indexOf(' no match tag 5353'));
    // Each route is negated before it is re-added with the new tag.
    expect(cmds.indexOf('no ip route 192.0.2.53 255.255.255.255 10.1.0.11 name dc1-dns01 track 100 tag 5353')).toBeLessThan(
      cmds.indexOf('ip route 192.0.2.53 255.255.255.255 10.1.0.11 name dc1-dns01 track 100 tag 6000'),
    );
    checkRoundTrip(base, next);
  });

  const SCENARIOS: Array<[string, Array<[string, string]>]> = [
    ['node removed', [['          - { name: dc1-dns02, address: 10.1.0.12 }\n', '']]],
    ['node added', [['          - { name: dc2-dns01, address: 10.2.0.11 }\n', '          - { name: dc2-dns01, address: 10.2.0.11 }\n          - { name: dc2-dns02, address: 10.2.0.12 }\n']]],
    ['node address changed', [['address: 10.1.0.12', 'address: 10.1.0.22']]],
    ['probe type changed', [['    type: dns\n    name: probe.anycast.example\n', '    type: http\n    path: /health\n    port: 8053\n']]],
    ['threshold changed', [['threshold: 1000', 'threshold: 500']]],
    ['VIP changed', [['vip: 192.0.2.53', 'vip: 192.0.2.54']]],
    ['site cost changed', [['cost: 20', 'cost: 30']]],
    ['OSPF to BGP', [['protocol: ospf', 'protocol: bgp\n  bgp: { asn: 65001 }']]],
    ['OSPF to BGP with prepends', [['protocol: ospf', 'protocol: bgp\n  bgp: { asn: 65001, costAs: prepend }'], ['cost: 10', 'cost: 1'], ['cost: 20', 'cost: 3']]],
    ['OSPF process changed', [['process: 1', 'process: 2']]],
    ['CEF algorithm changed', [['algorithm: universal', 'algorithm: include-ports']]],
    ['route-map renamed', [['  cef: { algorithm: universal }\n', '  cef: { algorithm: universal }\n  routeMap: DNS-VIP\n']]],
    ['switch renumbered', [['slaBase: 100', 'slaBase: 300']]],
    ['switch removed', [['  - name: dc2\n    cost: 20\n    switches:\n      - name: dc2-sw1\n        platform: nx-os\n        slaBase: 200\n        nodes:\n          - { name: dc2-dns01, address: 10.2.0.11 }\n', '']]],
    ['switch added', [['          - { name: dc2-dns01, address: 10.2.0.11 }\n', '          - { name: dc2-dns01, address: 10.2.0.11 }\n      - name: dc2-sw2\n        platform: ios-xe\n        slaBase: 300\n        nodes:\n          - { name: dc2-dns02, address: 10.2.0.12 }\n']]],
  ];
  for (const [name, edits] of SCENARIOS) {
    it(`pastes cleanly onto the old config and rolls back: ${name}`, () => {
      const next = inv(edit(BASE, ...edits));
      checkRoundTrip(base, next);
      const changed = planChanges(base, next).filter((p) => p.status !== 'unchanged');
      expect(changed.length, 'the scenario must change something').toBeGreaterThan(0);
    });
  }

  it('replaces a switch whose platform changed with its full config, both ways', () => {
    const next = inv(edit(BASE, ['platform: nx-os', 'platform: ios-xe']));
    const p = planChanges(base, next).find((x) => x.name === 'dc2-sw1')!;
    expect(p.status).toBe('replaced');
    expect(p.plan).toContain('ip route 192.0.2.53 255.255.255.255 10.2.0.11 name dc2-dns01 track 200 tag 5353');
    expect(p.rollback).toContain('ip route 192.0.2.53/32 10.2.0.11 name dc2-dns01 tag 5353 track 200');
  });

  it('matches the golden plan for the README example', () => {
    const old = inv(EXAMPLE, 'inventory.yaml');
    const next = inv(exampleNext(), 'inventory-v2.yaml');
    const text = planChanges(old, next, { oldLabel: 'inventory.yaml', newLabel: 'inventory-v2.yaml' })
      .map((p) => `! ==== ${p.name} ====\n${p.plan.join('\n')}\n!\n! ==== ${p.name} rollback ====\n${p.rollback.join('\n')}\n`)
      .join('');
    const url = new URL('./testdata/golden/plan-example.txt', import.meta.url);
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(url, text);
    expect(existsSync(url)).toBe(true);
    expect(text).toBe(readFileSync(url, 'utf8'));
    checkRoundTrip(old, next);
  });

  it('holds for random pairs of inventories', () => {
    fc.assert(
      fc.property(arbInventory(), arbInventory(), (a, b) => {
        checkRoundTrip(inv(a), inv(b));
      }),
      { numRuns: 150 },
    );
  });
});

/** Random but valid inventories over a fixed pool of nodes (so identities carry across). */
function arbInventory(): fc.Arbitrary<string> {
  const pool = Array.from({ length: 8 }, (_, i) => ({ name: `n${i}`, address: `10.0.0.${i + 10}` }));
  return fc
    .record({
      probe: fc.constantFrom('dns', 'http', 'tcp'),
      frequency: fc.integer({ min: 2, max: 10 }),
      timeout: fc.constantFrom(500, 1000, 2000),
      delayDown: fc.integer({ min: 1, max: 180 }),
      delayUp: fc.integer({ min: 1, max: 180 }),
      tag: fc.constantFrom(5353, 6000),
      vip: fc.constantFrom('192.0.2.53', '198.51.100.53'),
      protocol: fc.constantFrom('ospf', 'bgp'),
      costAs: fc.constantFrom('med', 'prepend'),
      cef: fc.constantFrom('universal', 'original', 'include-ports'),
      platforms: fc.tuple(fc.constantFrom('ios', 'ios-xe', 'nx-os'), fc.constantFrom('ios', 'ios-xe', 'nx-os')),
      costs: fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 })),
      // Which switch (0, 1) each pool node sits on, or -1 for absent.
      placement: fc.array(fc.constantFrom(-1, 0, 1), { minLength: 8, maxLength: 8 }),
      bases: fc.tuple(fc.constantFrom(100, 120), fc.constantFrom(200, 220)),
    })
    .map((r) => {
      const nodesOf = (s: number) => pool.filter((_, i) => r.placement[i] === s);
      const switches = [0, 1].map((s) => ({ s, nodes: nodesOf(s) })).filter((x) => x.nodes.length > 0);
      const sites = switches.length
        ? switches.map(({ s, nodes }) => ({
            name: `site${s}`,
            cost: r.costs[s],
            switches: [{ name: `sw${s}`, platform: r.platforms[s], slaBase: r.bases[s], nodes }],
          }))
        : [{ name: 'site0', cost: 1, switches: [{ name: 'sw0', platform: r.platforms[0], slaBase: r.bases[0], nodes: [pool[0]] }] }];
      const probe: Record<string, unknown> = { type: r.probe, frequency: r.frequency, timeout: r.timeout, threshold: 500 };
      if (r.probe === 'dns') probe.name = 'probe.anycast.example';
      if (r.probe === 'http') probe.path = '/health';
      if (r.probe !== 'dns') probe.port = 8053;
      return stringify({
        service: { vip: r.vip, probe, track: { delayDown: r.delayDown, delayUp: r.delayUp }, tag: r.tag },
        routing: { protocol: r.protocol, ospf: { process: 1 }, bgp: { asn: 65001, costAs: r.costAs }, cef: { algorithm: r.cef } },
        sites,
      });
    });
}
