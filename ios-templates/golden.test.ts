// Golden files: the full config for every platform × protocol × probe type, plus the BGP
// prepend and include-ports variants. Regenerate after a deliberate change with
//   UPDATE_GOLDEN=1 npx vitest run ios-templates/golden.test.ts
// and review the diff like any other change to production config.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkGrammar } from './grammar.js';
import { allSwitches } from './inventory.js';
import { renderSwitch } from './render.js';
import { inv, matrixYaml, type MatrixOpts } from './testdata/fixture.js';

const DIR = new URL('./testdata/golden/', import.meta.url);
const UPDATE = process.env.UPDATE_GOLDEN === '1';

const CELLS: Array<[string, MatrixOpts]> = [];
for (const platform of ['ios', 'ios-xe', 'nx-os'] as const) {
  for (const protocol of ['ospf', 'bgp'] as const) {
    for (const probe of ['dns', 'http', 'tcp'] as const) CELLS.push([`${platform}-${protocol}-${probe}`, { platform, protocol, probe }]);
  }
  CELLS.push([`${platform}-bgp-prepend`, { platform, protocol: 'bgp', probe: 'dns', costAs: 'prepend' }]);
  CELLS.push([`${platform}-include-ports`, { platform, protocol: 'ospf', probe: 'dns', cef: 'include-ports' }]);
}

function golden(name: string, actual: string): void {
  const url = new URL(`${name}.cfg`, DIR);
  if (UPDATE) writeFileSync(url, actual);
  expect(existsSync(url), `missing golden ${name}.cfg (run with UPDATE_GOLDEN=1)`).toBe(true);
  expect(actual).toBe(readFileSync(url, 'utf8'));
}

describe('golden configs', () => {
  for (const [name, opts] of CELLS) {
    it(name, () => {
      const i = inv(matrixYaml(opts));
      const text = renderSwitch(i, allSwitches(i)[0], { source: 'inventory.yaml' });
      expect(checkGrammar(opts.platform, text.trimEnd().split('\n'))).toEqual([]);
      golden(name, text);
    });
  }
});

describe('what every config must contain', () => {
  for (const [name, opts] of CELLS) {
    it(name, () => {
      const i = inv(matrixYaml(opts));
      const lines = renderSwitch(i, allSwitches(i)[0]).trimEnd().split('\n');
      const nx = opts.platform === 'nx-os';
      const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
      for (const id of [100, 101, 102]) {
        // SLA operation, then its schedule, then its track, then its route: paste order.
        const sla = at(new RegExp(`^ip sla ${id}$`));
        const sched = at(new RegExp(`^ip sla schedule ${id} life forever start-time now$`));
        const track = at(new RegExp(`^track ${id} ip sla ${id} reachability$`));
        const route = at(nx ? new RegExp(`^ip route 192\\.0\\.2\\.53/32 \\S+ name dns0\\d tag 5353 track ${id}$`) : new RegExp(`^ip route 192\\.0\\.2\\.53 255\\.255\\.255\\.255 \\S+ name dns0\\d track ${id} tag 5353$`));
        expect([sla, sched, track, route].every((x) => x >= 0), `${id}: ${[sla, sched, track, route]}`).toBe(true);
        expect(sla < sched && sched < track && track < route).toBe(true);
        // threshold, timeout, frequency in that order, then the tag naming the node.
        const body = lines.slice(sla + 2, sla + 6).map((l) => l.trim().split(' ')[0]);
        expect(body).toEqual(['threshold', 'timeout', 'frequency', 'tag']);
        expect(lines[track + 1].trim()).toBe('delay down 10 up 30');
      }
      expect(lines.some((l) => / state$/.test(l))).toBe(false);
      // One switch in the site: nothing learned at equal cost, so no maximum-paths (which
      // would govern only learned routes and could lower the platform default).
      expect(lines.some((l) => /^\s*maximum-paths/.test(l))).toBe(false);
      expect(lines.some((l) => /^! No maximum-paths: it would govern routes learned through/.test(l))).toBe(true);
      expect(lines.some((l) => l.trim() === 'match tag 5353')).toBe(true);
      if (opts.protocol === 'ospf') {
        expect(lines.some((l) => l.trim() === 'set metric-type type-1')).toBe(true);
        expect(lines.some((l) => l.trim() === (nx ? 'redistribute static route-map ANYCAST-DNS' : 'redistribute static subnets route-map ANYCAST-DNS'))).toBe(true);
      } else if (opts.costAs === 'prepend') {
        expect(lines.some((l) => l.trim() === 'set as-path prepend 65001 65001')).toBe(true);
      } else {
        expect(lines.some((l) => l.trim() === 'set metric 10')).toBe(true);
      }
      expect(lines.some((l) => l === 'feature sla sender')).toBe(nx);
      expect(lines.some((l) => l.startsWith('ip cef load-sharing algorithm'))).toBe(!nx);
      // Every block is explained: the line before each section's first command is a comment.
      for (const re of [/^ip sla \d+$/, /^track /, /^ip route /, /^route-map /, /^router /]) {
        expect(lines[at(re) - 1]).toMatch(/^! \S/);
      }
    });
  }
});

/** A site of `k` switches with two nodes each, for the maximum-paths rule. */
function siteOf(k: number, platform: MatrixOpts['platform'], protocol: 'ospf' | 'bgp', failOpen = false): string {
  const switches = Array.from({ length: k }, (_, i) =>
    [`      - name: s${i + 1}`, `        platform: ${platform}`, `        slaBase: 100`, '        nodes:', `          - { name: n${i + 1}a, address: 10.1.${i}.11 }`, `          - { name: n${i + 1}b, address: 10.1.${i}.12 }`].join('\n'),
  ).join('\n');
  return [
    'service:',
    '  vip: 192.0.2.53',
    '  probe: { type: dns, name: probe.anycast.example, frequency: 5, timeout: 2000, threshold: 1000 }',
    '  track: { delayDown: 10, delayUp: 30 }',
    '  tag: 5353',
    ...(failOpen ? ['  failOpen: true'] : []),
    'routing:',
    `  protocol: ${protocol}`,
    protocol === 'ospf' ? '  ospf: { process: 1 }' : '  bgp: { asn: 65001 }',
    'sites:',
    '  - name: dc1',
    '    cost: 10',
    '    switches:',
    switches,
    '',
  ].join('\n');
}

describe('maximum-paths: only where learned equal-cost paths exceed the platform default', () => {
  const paths = (text: string) => renderSwitch(inv(text), allSwitches(inv(text))[0]).split('\n').filter((l) => /^\s*maximum-paths/.test(l)).map((l) => l.trim());
  it('is never emitted for a one-node or one-switch site (no maximum-paths 1)', () => {
    for (const platform of ['ios', 'ios-xe', 'nx-os'] as const) {
      for (const protocol of ['ospf', 'bgp'] as const) expect(paths(siteOf(1, platform, protocol))).toEqual([]);
    }
  });
  it('BGP (default 1): three switches in a site give maximum-paths 2 on each', () => {
    expect(paths(siteOf(3, 'ios', 'bgp'))).toEqual(['maximum-paths 2']);
    expect(paths(siteOf(3, 'nx-os', 'bgp'))).toEqual(['maximum-paths 2']);
    expect(paths(siteOf(2, 'ios', 'bgp'))).toEqual([]);
  });
  it('OSPF: IOS default 4, NX-OS default 8; the comment says what it governs', () => {
    expect(paths(siteOf(5, 'ios', 'ospf'))).toEqual([]);
    expect(paths(siteOf(6, 'ios', 'ospf'))).toEqual(['maximum-paths 5']);
    expect(paths(siteOf(6, 'nx-os', 'ospf'))).toEqual([]);
    const text = siteOf(6, 'ios', 'ospf');
    const out = renderSwitch(inv(text), allSwitches(inv(text))[0]);
    expect(out).toMatch(/! maximum-paths 5: governs routes learned through OSPF/);
    expect(out).toMatch(/not the statics\n! above/);
  });
});

describe('service.failOpen: floating statics', () => {
  it('adds one untracked distance-250 route per node after the tracked ones, grammar-checked', () => {
    for (const platform of ['ios', 'nx-os'] as const) {
      const text = siteOf(1, platform, 'ospf', true);
      const lines = renderSwitch(inv(text), allSwitches(inv(text))[0]).trimEnd().split('\n');
      expect(checkGrammar(platform, lines)).toEqual([]);
      const fl = lines.filter((l) => l.startsWith('ip route') && !/ track /.test(l));
      expect(fl).toEqual(
        platform === 'ios'
          ? ['ip route 192.0.2.53 255.255.255.255 10.1.0.11 250 name n1a tag 5353', 'ip route 192.0.2.53 255.255.255.255 10.1.0.12 250 name n1b tag 5353']
          : ['ip route 192.0.2.53/32 10.1.0.11 name n1a tag 5353 250', 'ip route 192.0.2.53/32 10.1.0.12 name n1b tag 5353 250'],
      );
      const lastTracked = lines.map((l, i) => (/ track \d+/.test(l) && l.startsWith('ip route') ? i : -1)).reduce((a, b) => Math.max(a, b));
      expect(lines.indexOf(fl[0])).toBeGreaterThan(lastTracked);
      expect(lines.join('\n')).toMatch(/Trade-off: while it is active, a node that is really dead/);
    }
  });
  it('is absent by default', () => {
    const text = siteOf(1, 'ios', 'ospf');
    expect(renderSwitch(inv(text), allSwitches(inv(text))[0])).not.toMatch(/ 250 name /);
  });
});
