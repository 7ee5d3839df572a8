// The command grammar this generator knows, per platform and configuration mode. Every
// line we print (full configs and change plans) must match a rule of the mode it is
// indented into, so a misspelt keyword, a wrong argument order or a mis-indented line is
// caught by the tests and at run time instead of by a production switch.
//
// Patterns are space-separated tokens: a literal word, or a typed slot:
//   <int:MIN-MAX>  <ipv4>  <prefix32>  <host>  <url>  <name>  <slatag>  <rmname>  <asn>  <asn...>
// `no` + any leaf command of a mode is accepted in that mode (change plans negate lines),
// except features and load-sharing, which this generator never negates.

import { HOST_PATTERN, NAME_PATTERN, PATH_PATTERN, RMNAME_PATTERN, SLA_TAG_PATTERN } from './patterns.js';
import { parseIpv4 } from '../common/ip.js';
import type { Platform } from './inventory.js';

interface Rule {
  pattern: string;
  /** Mode entered by this command. */
  enters?: string;
  /** Command that leaves the entered mode (printed at the opener's indent). */
  close?: string;
  /** Never negated by this generator (features, global hashing): `no` + it is refused. */
  keep?: boolean;
}

interface Grammar {
  indent: number;
  modes: Record<string, Rule[]>;
}

const SLA_ID = '<int:1-2147483647>';
const OP_PARAMS: Rule[] = [
  { pattern: 'threshold <int:0-2147483647>' },
  { pattern: 'timeout <int:0-604800000>' },
  { pattern: 'frequency <int:1-604800>' },
  { pattern: 'tag <slatag>' },
];
const SLA_MODE: Rule[] = [
  { pattern: 'dns <host> name-server <ipv4>', enters: 'ip-sla-dns' },
  { pattern: 'http get <url>', enters: 'ip-sla-http' },
  { pattern: 'tcp-connect <ipv4> <int:1-65535> control disable', enters: 'ip-sla-tcp' },
];
const TRACK_MODE: Rule[] = [{ pattern: 'delay down <int:0-180> up <int:0-180>' }];
const ROUTE_MAP_MODE: Rule[] = [
  { pattern: 'match tag <int:0-4294967295>' },
  { pattern: 'set metric <int:0-4294967295>' },
  { pattern: 'set metric-type type-1' },
  { pattern: 'set as-path prepend <asn...>' },
];

function trackId(max: number): string {
  return `<int:1-${max}>`;
}

/**
 * The global lines that remove a probe's IP SLA, track and route-map. They enter a mode, so
 * the generic `no` + leaf rule does not cover them. The same on both platforms but for the
 * track range.
 */
function probeRemovals(trackMax: number): Rule[] {
  return [
    { pattern: `no ip sla ${SLA_ID}` },
    { pattern: `no track ${trackId(trackMax)}` },
    { pattern: 'no route-map <rmname> permit <int:1-65535>' },
  ];
}

/** The IP SLA, track and route-map modes, the same on both platforms. */
const PROBE_MODES: Record<string, Rule[]> = {
  'ip-sla': SLA_MODE,
  'ip-sla-dns': OP_PARAMS,
  'ip-sla-http': OP_PARAMS,
  'ip-sla-tcp': OP_PARAMS,
  track: TRACK_MODE,
  'route-map': ROUTE_MAP_MODE,
};

const IOS: Grammar = {
  indent: 1,
  modes: {
    global: [
      { pattern: `ip sla ${SLA_ID}`, enters: 'ip-sla' },
      { pattern: `ip sla schedule ${SLA_ID} life forever start-time now` },
      { pattern: `track ${trackId(1000)} ip sla ${SLA_ID} reachability`, enters: 'track' },
      { pattern: `ip route <ipv4> 255.255.255.255 <ipv4> name <name> track ${trackId(1000)} tag <int:1-4294967295>` },
      { pattern: 'ip route <ipv4> 255.255.255.255 <ipv4> <int:1-255> name <name> tag <int:1-4294967295>' },
      { pattern: 'route-map <rmname> permit <int:1-65535>', enters: 'route-map' },
      { pattern: 'router ospf <int:1-65535>', enters: 'router-ospf' },
      { pattern: 'router bgp <asn>', enters: 'router-bgp' },
      { pattern: 'ip cef load-sharing algorithm universal', keep: true },
      { pattern: 'ip cef load-sharing algorithm original', keep: true },
      { pattern: 'ip cef load-sharing algorithm include-ports source destination', keep: true },
      ...probeRemovals(1000),
    ],
    ...PROBE_MODES,
    'router-ospf': [{ pattern: 'redistribute static subnets route-map <rmname>' }, { pattern: 'maximum-paths <int:1-64>' }],
    'router-bgp': [{ pattern: 'address-family ipv4', enters: 'router-bgp-af', close: 'exit-address-family' }],
    'router-bgp-af': [{ pattern: 'redistribute static route-map <rmname>' }, { pattern: 'maximum-paths <int:1-64>' }],
  },
};

const NXOS: Grammar = {
  indent: 2,
  modes: {
    global: [
      { pattern: 'feature sla sender', keep: true },
      { pattern: 'feature ospf', keep: true },
      { pattern: 'feature bgp', keep: true },
      { pattern: `ip sla ${SLA_ID}`, enters: 'ip-sla' },
      { pattern: `ip sla schedule ${SLA_ID} life forever start-time now` },
      { pattern: `track ${trackId(500)} ip sla ${SLA_ID} reachability`, enters: 'track' },
      { pattern: `ip route <prefix32> <ipv4> name <name> tag <int:1-4294967295> track ${trackId(500)}` },
      { pattern: 'ip route <prefix32> <ipv4> name <name> tag <int:1-4294967295> <int:1-255>' },
      { pattern: 'route-map <rmname> permit <int:1-65535>', enters: 'route-map' },
      { pattern: 'router ospf <int:1-65535>', enters: 'router-ospf' },
      { pattern: 'router bgp <asn>', enters: 'router-bgp' },
      { pattern: 'ip load-sharing address source-destination port source-destination', keep: true },
      ...probeRemovals(500),
    ],
    ...PROBE_MODES,
    'router-ospf': [{ pattern: 'redistribute static route-map <rmname>' }, { pattern: 'maximum-paths <int:1-64>' }],
    'router-bgp': [{ pattern: 'address-family ipv4 unicast', enters: 'router-bgp-af' }],
    'router-bgp-af': [{ pattern: 'redistribute static route-map <rmname>' }, { pattern: 'maximum-paths <int:1-64>' }],
  },
};

export function grammarFor(p: Platform): Grammar {
  return p === 'nx-os' ? NXOS : IOS;
}

const NAME_RE = new RegExp(`^${NAME_PATTERN}$`);
const SLA_TAG_RE = new RegExp(`^${SLA_TAG_PATTERN}$`);
const HOST_RE = new RegExp(`^${HOST_PATTERN}$`);
const RMNAME_RE = new RegExp(`^${RMNAME_PATTERN}$`);
const URL_RE = new RegExp(`^http://([0-9.]+):(\\d{1,5})(${PATH_PATTERN})$`);

function matchInt(tok: string, min: number, max: number): boolean {
  if (!/^(0|[1-9]\d*)$/.test(tok)) return false;
  const n = Number(tok);
  return n >= min && n <= max;
}

function matchSlot(slot: string, tok: string): boolean {
  const m = /^<([a-z0-9]+)(?::(\d+)-(\d+))?>$/.exec(slot);
  if (!m) return false;
  switch (m[1]) {
    case 'int':
      return matchInt(tok, Number(m[2]), Number(m[3]));
    case 'asn':
      return matchInt(tok, 1, 4294967295);
    case 'ipv4':
      return parseIpv4(tok) >= 0;
    case 'prefix32':
      return tok.endsWith('/32') && parseIpv4(tok.slice(0, -3)) >= 0;
    case 'host':
      return HOST_RE.test(tok);
    case 'name':
      return NAME_RE.test(tok);
    case 'slatag':
      return SLA_TAG_RE.test(tok);
    case 'rmname':
      return RMNAME_RE.test(tok);
    case 'url': {
      const u = URL_RE.exec(tok);
      return !!u && parseIpv4(u[1]) >= 0 && matchInt(u[2], 1, 65535);
    }
  }
  return false;
}

function matchPattern(pattern: string, text: string): boolean {
  const pt = pattern.split(' ');
  const tt = text.split(' ');
  for (let i = 0; i < pt.length; i++) {
    const p = pt[i];
    if (p === '<asn...>') {
      // Variadic tail: one or more ASNs, at most 10 (more prepends only hide a mistake).
      const rest = tt.slice(i);
      return rest.length >= 1 && rest.length <= 10 && rest.every((t) => matchInt(t, 1, 4294967295));
    }
    const t = tt[i];
    if (t === undefined) return false;
    if (p.startsWith('<') ? !matchSlot(p, t) : p !== t) return false;
  }
  return pt.length === tt.length;
}

function findRule(rules: Rule[], text: string): Rule | undefined {
  const direct = rules.find((r) => matchPattern(r.pattern, text));
  if (direct) return direct;
  if (text.startsWith('no ')) {
    const rest = text.slice(3);
    const leaf = rules.find((r) => !r.enters && !r.keep && !r.pattern.startsWith('no ') && matchPattern(r.pattern, rest));
    if (leaf) return { pattern: `no ${leaf.pattern}` };
  }
  return undefined;
}

export interface GrammarIssue {
  /** 1-based line number in the checked text. */
  line: number;
  text: string;
  message: string;
}

/**
 * Checks configuration lines for one platform. Comment lines ("!" at column 0) are
 * skipped; every other line must be a known command of the mode its indentation puts
 * it in. Returns every problem found.
 */
export function checkGrammar(platform: Platform, lines: string[]): GrammarIssue[] {
  const g = grammarFor(platform);
  const issues: GrammarIssue[] = [];
  const stack: Array<{ mode: string; close?: string }> = [{ mode: 'global' }];
  lines.forEach((raw, i) => {
    const bad = (message: string) => issues.push({ line: i + 1, text: raw, message });
    if (raw === '') return bad('blank line (use "!" to separate blocks)');
    if (/[\t\r]/.test(raw)) return bad('tab or carriage return');
    if (/\s$/.test(raw)) return bad('trailing whitespace');
    if (raw.startsWith('!')) return;
    if (/[^\x20-\x7e]/.test(raw)) return bad('non-ASCII character');
    if (raw.includes('?')) return bad('"?" opens CLI help instead of being typed');
    const text = raw.trimStart();
    const spaces = raw.length - text.length;
    if (text.startsWith('!')) return bad('comment must start at column 0');
    if (/ {2}/.test(text)) return bad('double space inside a command');
    if (spaces % g.indent !== 0) return bad(`indent of ${spaces} is not a multiple of ${g.indent}`);
    const depth = spaces / g.indent;
    if (depth > stack.length - 1) return bad(`indented ${depth} level(s), but only ${stack.length - 1} sub-mode(s) are open`);
    const inner = stack[depth + 1];
    if (inner?.close === text) {
      stack.length = depth + 1;
      return;
    }
    stack.length = depth + 1;
    const mode = stack[depth].mode;
    const rule = findRule(g.modes[mode] ?? [], text);
    if (!rule) return bad(`not a command this generator knows in ${platform} ${mode} mode`);
    if (rule.enters) stack.push({ mode: rule.enters, close: rule.close });
  });
  return issues;
}

/** GrammarError's machine code (a closed set of one; see docs/errors.md). */
export type GrammarErrorCode = 'GRAMMAR';

/** Thrown when generated output fails the grammar: a bug in the generator, never in input. */
export class GrammarError extends Error {
  readonly code: GrammarErrorCode = 'GRAMMAR';
  constructor(readonly platform: Platform, readonly issues: GrammarIssue[]) {
    super(
      `internal error: generated ${platform} config failed the grammar check:\n` +
        issues.map((i) => `  line ${i.line}: ${i.message}: ${JSON.stringify(i.text)}`).join('\n'),
    );
    this.name = 'GrammarError';
  }
}

export function assertGrammar(platform: Platform, lines: string[]): void {
  const issues = checkGrammar(platform, lines);
  if (issues.length) throw new GrammarError(platform, issues);
}
