// Full configuration text for one switch: blocks in paste order, each section headed by
// "!" comments that say what it is for. Every line is checked against the grammar before
// it is returned, so a generator bug fails here instead of on a production switch.

import { assertGrammar } from './grammar.js';
import { DEFAULT_PROTOCOL_PATHS, FAIL_OPEN_DISTANCE, type Inventory, type Switch } from './inventory.js';
import { learnedVipPaths, maximumPathsValue } from './dialect.js';
import { buildSwitch, SECTION_ORDER, type Block, type Cmd, type Section, type SwitchConfig } from './model.js';

/** Renders commands with the platform's indentation; a closer sits at its opener's indent. */
export function renderCmds(cmds: Cmd[], indent: number, depth = 0, out: string[] = []): string[] {
  const pad = ' '.repeat(indent * depth);
  for (const c of cmds) {
    out.push(pad + c.text);
    if (c.children) renderCmds(c.children, indent, depth + 1, out);
    if (c.close) out.push(pad + c.close);
  }
  return out;
}

function sectionComment(section: Section, inv: Inventory, cfg: SwitchConfig): string[] {
  const { service, routing } = inv;
  const sw = cfg.sw;
  const p = service.probe;
  switch (section) {
    case 'feature':
      return ['Enable the NX-OS features used below (no effect if already enabled).'];
    case 'cef':
      return [
        'Load sharing: how the switch hashes flows over the equal-cost routes to the VIP.',
        'The destination is always the VIP, so only client source addresses (and source',
        'ports, with include-ports) spread queries across nodes.',
      ];
    case 'sla':
      return [
        `IP SLA: one ${p.type === 'tcp' ? 'TCP connect' : p.type.toUpperCase()} probe per node, every ${p.frequencyS} s; a reply later than`,
        `${p.timeoutMs} ms counts as a failure. Threshold ${p.thresholdMs} ms only logs slowness.`,
        'A scheduled operation cannot be edited: to change one, remove it (no ip sla N)',
        'and paste it again (anycast-kit ios --previous prints that plan).',
        ...(p.type === 'http' ? ['The switch speaks HTTP/1.0 only; the node must answer HTTP/1.0 requests.'] : []),
      ];
    case 'track':
      return [
        'Track objects follow each probe\'s REACHABILITY, not its state: a slow but answering',
        'node stays in service, so slowness never turns into withdrawal and cascade.',
        `Down after ${service.track.delayDownS} s of failure, up after ${service.track.delayUpS} s of success (damps flapping).`,
      ];
    case 'route':
      return [
        `Anycast routes: ${service.vip}/32 to every node, each withdrawn when its track goes down.`,
        `Tag ${service.tag} marks them for redistribution; ${sw.nodes.length} equal-cost path${sw.nodes.length === 1 ? '' : 's'} (CEF limit ${sw.maxPaths}).`,
      ];
    case 'failopen':
      return [
        `Fail-open (service.failOpen): an untracked floating static through every node, distance ${FAIL_OPEN_DISTANCE}.`,
        'It is installed only while no better route to the VIP exists: every tracked route',
        'above is down AND no other site announces the VIP. A fault that fails every probe at',
        'once (a broken probe name on every node) then leaves the service on, not black-holed.',
        'Trade-off: while it is active, a node that is really dead keeps its share of clients',
        '(nothing withdraws it), and a switch cut off from the other sites keeps sending to',
        'its own nodes. A site whose nodes all died still fails over: the next site\'s route wins.',
      ];
    case 'route-map': {
      const carry =
        routing.protocol === 'ospf'
          ? [`as OSPF external type-1 metric ${sw.cost}: type-1 adds the internal path`, 'cost, so clients reach the nearest site and fail over to the next.']
          : routing.bgp!.costAs === 'med'
            ? [`as BGP MED ${sw.cost} (lower is preferred).`]
            : [`as ${sw.cost} AS-path prepend${sw.cost === 1 ? '' : 's'} (the shorter path is preferred).`];
      return [
        `Route-map: only statics tagged ${service.tag} are redistributed; every other static`,
        `hits the implicit deny. Site ${sw.siteName} cost ${sw.cost} is carried`,
        ...carry,
      ];
    }
    case 'router':
      return [
        routing.protocol === 'ospf'
          ? `Redistribute the anycast statics into the existing OSPF process ${routing.ospf!.process}.`
          : `Redistribute the anycast statics into the existing BGP process (AS ${routing.bgp!.asn}).`,
        ...pathsComment(inv, sw),
      ];
  }
}

/** What `maximum-paths` would govern here, and why it is (or is not) emitted. */
function pathsComment(inv: Inventory, sw: Switch): string[] {
  const k = learnedVipPaths(inv, sw);
  const def = DEFAULT_PROTOCOL_PATHS[sw.platform][inv.routing.protocol];
  const proto = inv.routing.protocol.toUpperCase();
  const n = maximumPathsValue(inv, sw);
  if (n !== undefined) {
    return [
      `maximum-paths ${n}: governs routes learned through ${proto} (for the VIP: from this site's ${k} other switches`,
      'once this switch\'s own nodes are withdrawn), for every route of the process; not the statics',
      `above, whose ECMP is the platform's own limit. Emitted because ${k} exceeds the ${sw.platform} default ${def}.`,
    ];
  }
  return [
    `No maximum-paths: it would govern routes learned through ${proto}, not the statics above`,
    `(their ECMP is the platform's own limit), and the ${sw.platform} default ${def} already covers`,
    `the ${k} equal-cost path${k === 1 ? '' : 's'} from this site's other switches. A lower value would cut ECMP for every route.`,
  ];
}

export interface RenderOptions {
  /** Named in the header comment, e.g. the inventory file name. */
  source?: string;
}

/** The full config for one switch, as lines (no trailing newline). */
export function renderSwitchLines(inv: Inventory, sw: Switch, opts: RenderOptions = {}): string[] {
  const cfg = buildSwitch(inv, sw);
  const d = cfg.dialect;
  const out: string[] = [];
  const c = (s: string) => out.push(s ? `! ${s}` : '!');
  c(`anycast-kit: ${sw.name} (${sw.platform}), site ${sw.siteName}, cost ${sw.cost}`);
  c(`Anycast DNS ${inv.service.vip}/32 through ${sw.nodes.length} node${sw.nodes.length === 1 ? '' : 's'}: ${sw.nodes.map((n) => n.name).join(', ')}.`);
  if (opts.source) c(`Generated from ${opts.source}; change the inventory and regenerate rather than editing.`);
  c('Paste in global configuration mode (configure terminal).');
  for (const note of d.loadSharingNote(inv.routing.cef.algorithm)) c(note);
  if (!sw.cefLoadSharing) c('cefLoadSharing is false for this switch: its load-sharing setting is left unchanged.');
  for (const section of SECTION_ORDER) {
    const blocks = cfg.blocks.filter((b) => b.section === section);
    if (!blocks.length) continue;
    c('');
    for (const line of sectionComment(section, inv, cfg)) c(line);
    for (const b of blocks) emitBlock(b, d.indent, out);
  }
  c('');
  c('Verify:');
  for (const v of d.verify(inv)) c(`  ${v}`);
  assertGrammar(sw.platform, out);
  return out;
}

function emitBlock(b: Block, indent: number, out: string[]): void {
  for (const line of b.comment) out.push(`! ${line}`);
  renderCmds(b.cmds, indent, 0, out);
}

/** The full config for one switch as text ending in a newline. */
export function renderSwitch(inv: Inventory, sw: Switch, opts: RenderOptions = {}): string {
  return renderSwitchLines(inv, sw, opts).join('\n') + '\n';
}
