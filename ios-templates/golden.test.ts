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
      expect(lines.filter((l) => /^\s*maximum-paths 3$/.test(l))).toHaveLength(1);
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
