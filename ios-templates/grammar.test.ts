import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkGrammar, GrammarError, assertGrammar } from './grammar.js';
import type { Platform } from './inventory.js';

const DIR = new URL('./testdata/golden/', import.meta.url);
const goldens = readdirSync(DIR).filter((f) => f.endsWith('.cfg'));

function platformOf(file: string): Platform {
  return file.startsWith('nx-os') ? 'nx-os' : file.startsWith('ios-xe') ? 'ios-xe' : 'ios';
}

function linesOf(file: string): string[] {
  return readFileSync(new URL(file, DIR), 'utf8').trimEnd().split('\n');
}

describe('grammar check', () => {
  it('has golden files to check', () => {
    expect(goldens.length).toBeGreaterThanOrEqual(24);
  });

  it('accepts every line of every golden config', () => {
    for (const f of goldens) expect(checkGrammar(platformOf(f), linesOf(f)), f).toEqual([]);
  });

  it('catches a typo in any keyword of any emitted command (every golden, every keyword)', () => {
    let mutants = 0;
    for (const f of goldens) {
      const lines = linesOf(f);
      lines.forEach((line, i) => {
        if (line.startsWith('!')) return;
        const indent = line.length - line.trimStart().length;
        const tokens = line.trimStart().split(' ');
        tokens.forEach((tok, j) => {
          if (!/^[a-z][a-z-]*$/.test(tok)) return; // keywords, not values
          const typo = [...tokens];
          typo[j] = tok.length > 3 ? tok.slice(0, 2) + tok.slice(3) : tok + 'x'; // drop a letter
          const mutated = [...lines];
          mutated[i] = ' '.repeat(indent) + typo.join(' ');
          mutants++;
          expect(checkGrammar(platformOf(f), mutated).length, `${f}:${i + 1}: ${mutated[i]}`).toBeGreaterThan(0);
        });
      });
    }
    expect(mutants).toBeGreaterThan(1000);
  });

  it('catches every line moved one level in or out', () => {
    for (const f of goldens.slice(0, 6)) {
      const p = platformOf(f);
      const unit = p === 'nx-os' ? 2 : 1;
      const lines = linesOf(f);
      lines.forEach((line, i) => {
        if (line.startsWith('!')) return;
        const deeper = [...lines];
        deeper[i] = ' '.repeat(unit) + line;
        expect(checkGrammar(p, deeper).length, `${f}:${i + 1} indented`).toBeGreaterThan(0);
        if (line.startsWith(' ')) {
          const shallower = [...lines];
          shallower[i] = line.slice(unit);
          expect(checkGrammar(p, shallower).length, `${f}:${i + 1} outdented`).toBeGreaterThan(0);
        }
      });
    }
  });

  const BAD: Array<[Platform, string[], RegExp]> = [
    ['ios', ['track 100 ip sla 100 state'], /not a command/],
    ['ios', ['ip sla 100', ' dns probe.example name-server 10.1.0.300'], /not a command/],
    ['ios', ['ip route 192.0.2.53/32 10.1.0.11 name a tag 1 track 1'], /not a command/],
    ['nx-os', ['ip route 192.0.2.53 255.255.255.255 10.1.0.11 name a track 1 tag 1'], /not a command/],
    ['nx-os', ['track 501 ip sla 501 reachability'], /not a command/],
    ['ios', ['track 1001 ip sla 1001 reachability'], /not a command/],
    ['nx-os', ['ip cef load-sharing algorithm universal'], /not a command/],
    ['ios', ['router ospf 1', ' redistribute static route-map ANYCAST-DNS'], /not a command/],
    ['nx-os', ['router ospf 1', '  redistribute static subnets route-map ANYCAST-DNS'], /not a command/],
    ['ios', ['ip sla 1', ' http get http://10.1.0.1:8053/health?x'], /"\?"/],
    ['ios', ['ip sla 1', ' tcp-connect 10.1.0.1 8053'], /not a command/],
    ['ios', ['no router ospf 1'], /not a command/],
    ['nx-os', ['no feature ospf'], /not a command/],
    ['ios', ['ip sla 1 '], /trailing whitespace/],
    ['ios', [''], /blank line/],
    ['ios', ['\tip sla 1'], /tab/],
    ['ios', ['ip sla 1', '  threshold 1'], /indented 2 level/],
    ['ios', [' ! comment'], /column 0/],
    ['ios', ['route-map ANYCAST-DNS permit 10', ' set metric-type type-2'], /not a command/],
    ['ios', ['route-map ANYCAST-DNS permit 10', ' set as-path prepend 1 2 3 4 5 6 7 8 9 10 11'], /not a command/],
    ['ios', ['router bgp 65001', ' redistribute static route-map X'], /not a command/],
    ['ios', ['ip sla schedule 1 life forever'], /not a command/],
    ['ios', ['ip route 192.0.2.53 255.255.255.255 10.1.0.11 name café track 1 tag 1'], /non-ASCII/],
  ];
  for (const [p, lines, re] of BAD) {
    it(`refuses ${p}: ${JSON.stringify(lines.at(-1))}`, () => {
      const issues = checkGrammar(p, lines);
      expect(issues.length).toBeGreaterThan(0);
      expect(issues[0].message).toMatch(re);
      expect(issues[0].line).toBe(lines.length);
    });
  }

  it('accepts the change-plan forms it emits', () => {
    expect(
      checkGrammar('ios', [
        'no ip route 192.0.2.53 255.255.255.255 10.1.0.11 name a track 1 tag 1',
        'no track 1',
        'no ip sla 1',
        'route-map ANYCAST-DNS permit 10',
        ' no match tag 5353',
        'router bgp 65001',
        ' address-family ipv4',
        '  no redistribute static route-map ANYCAST-DNS',
        ' exit-address-family',
        'no route-map ANYCAST-DNS permit 10',
      ]),
    ).toEqual([]);
  });

  it('never accepts random garbage lines', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), (s) => {
        // Lines made of arbitrary characters: only a "!" comment may pass.
        const ok = checkGrammar('ios', [s]).length === 0;
        return !ok || s.startsWith('!');
      }),
      { numRuns: 500 },
    );
  });

  it('assertGrammar throws a GrammarError naming the line', () => {
    expect(() => assertGrammar('ios', ['ip sla 1', ' dns x name-server 10.0.0.1', '  frequncy 5'])).toThrow(GrammarError);
    expect(() => assertGrammar('ios', ['ip sla 1', ' dns x name-server 10.0.0.1', '  frequncy 5'])).toThrow(/line 3/);
  });
});
