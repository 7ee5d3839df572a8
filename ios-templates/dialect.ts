// Command forms per platform. IOS and IOS-XE share one dialect (their differences
// for these commands are in platform support, not syntax); NX-OS has its own forms:
// features, prefix/length routes with `tag` before `track`, no `subnets` keyword, and
// `ip load-sharing` instead of CEF algorithms. Choices that Cisco's documents leave
// open are written down in README.md ("Syntax choices").

import type { Cmd } from './cmd.js';
import { DEFAULT_PROTOCOL_PATHS, FAIL_OPEN_DISTANCE, type CefAlgorithm, type Inventory, type Node, type Platform, type Probe, type Switch } from './inventory.js';

/**
 * How many equal-cost paths to the VIP this switch can learn through its routing process:
 * one per other switch of its site (same cost). `maximum-paths` governs only those learned
 * routes, never this switch's own static routes (static ECMP is the platform's own limit),
 * and it applies to every route of the process.
 */
export function learnedVipPaths(inv: Inventory, sw: Switch): number {
  const site = inv.sites.find((s) => s.name === sw.siteName);
  return site ? site.switches.filter((o) => o.name !== sw.name).length : 0;
}

/** `maximum-paths` only when the learned paths exceed the platform default: never lowers it. */
export function maximumPathsValue(inv: Inventory, sw: Switch): number | undefined {
  const want = Math.min(64, learnedVipPaths(inv, sw));
  return want > DEFAULT_PROTOCOL_PATHS[sw.platform][inv.routing.protocol] ? want : undefined;
}

function maximumPaths(inv: Inventory, sw: Switch): Cmd[] {
  const n = maximumPathsValue(inv, sw);
  return n === undefined ? [] : [{ text: `maximum-paths ${n}` }];
}

export interface Dialect {
  platform: Platform;
  /** Spaces per sub-mode level, as the platform's own `show running-config` prints them. */
  indent: number;
  features(inv: Inventory): string[];
  loadSharing(alg: CefAlgorithm): { line: string } | undefined;
  loadSharingNote(alg: CefAlgorithm): string[];
  slaOperation(probe: Probe, n: Node): Cmd;
  slaSchedule(id: number): string;
  staticRoute(vip: string, n: Node, tag: number): string;
  /** Fail-open: the untracked floating static through a node (service.failOpen). */
  floatingRoute(vip: string, n: Node, tag: number): string;
  routeMap(inv: Inventory, sw: Switch): Cmd;
  router(inv: Inventory, sw: Switch): Cmd;
  verify(inv: Inventory): string[];
}

function slaChildren(probe: Probe, n: Node): Cmd[] {
  // Order matters on paste: each value is checked against the ones already set (defaults
  // threshold 5000 ms, timeout 5000 ms, frequency 60 s), and threshold ≤ timeout ≤ frequency.
  return [
    { text: `threshold ${probe.thresholdMs}` },
    { text: `timeout ${probe.timeoutMs}` },
    { text: `frequency ${probe.frequencyS}` },
    { text: `tag ${n.name}` },
  ];
}

function slaOperation(probe: Probe, n: Node): Cmd {
  let op: string;
  if (probe.type === 'dns') op = `dns ${probe.name} name-server ${n.address}`;
  else if (probe.type === 'http') op = `http get http://${n.address}:${probe.port}${probe.path}`;
  // The node runs no Cisco IP SLA responder: without `control disable` the switch first
  // sends a control message to UDP 1967 and the operation fails on a non-Cisco target.
  else op = `tcp-connect ${n.address} ${probe.port} control disable`;
  return { text: `ip sla ${n.slaId}`, children: [{ text: op, children: slaChildren(probe, n) }] };
}

/** Route-map clause body: match our tag, then carry the site cost. */
function routeMapBody(inv: Inventory, sw: Switch): Cmd[] {
  const body: Cmd[] = [{ text: `match tag ${inv.service.tag}` }];
  if (inv.routing.protocol === 'ospf') {
    body.push({ text: `set metric ${sw.cost}` }, { text: 'set metric-type type-1' });
  } else if (inv.routing.bgp!.costAs === 'med') {
    body.push({ text: `set metric ${sw.cost}` });
  } else if (sw.cost > 0) {
    body.push({ text: `set as-path prepend ${Array(sw.cost).fill(inv.routing.bgp!.asn).join(' ')}` });
  }
  return body;
}

const ios: Dialect = {
  platform: 'ios',
  indent: 1,
  features: () => [],
  loadSharing(alg) {
    const line =
      alg === 'include-ports' ? 'ip cef load-sharing algorithm include-ports source destination' : `ip cef load-sharing algorithm ${alg}`;
    return { line };
  },
  loadSharingNote: () => [],
  slaOperation,
  slaSchedule: (id) => `ip sla schedule ${id} life forever start-time now`,
  staticRoute: (vip, n, tag) => `ip route ${vip} 255.255.255.255 ${n.address} name ${n.name} track ${n.slaId} tag ${tag}`,
  floatingRoute: (vip, n, tag) => `ip route ${vip} 255.255.255.255 ${n.address} ${FAIL_OPEN_DISTANCE} name ${n.name} tag ${tag}`,
  routeMap: (inv, sw) => ({ text: `route-map ${inv.routing.routeMap} permit 10`, children: routeMapBody(inv, sw) }),
  router(inv, sw) {
    const rm = inv.routing.routeMap;
    const paths = maximumPaths(inv, sw);
    if (inv.routing.protocol === 'ospf') {
      return { text: `router ospf ${inv.routing.ospf!.process}`, children: [{ text: `redistribute static subnets route-map ${rm}` }, ...paths] };
    }
    return {
      text: `router bgp ${inv.routing.bgp!.asn}`,
      children: [{ text: 'address-family ipv4', children: [{ text: `redistribute static route-map ${rm}` }, ...paths], close: 'exit-address-family' }],
    };
  },
  verify: (inv) => [
    'show ip sla summary',
    'show track brief',
    `show ip route ${inv.service.vip}`,
    `show ip cef exact-route <client-address> ${inv.service.vip}`,
  ],
};

const iosXe: Dialect = { ...ios, platform: 'ios-xe' };

const nxos: Dialect = {
  platform: 'nx-os',
  indent: 2,
  features: (inv) => ['feature sla sender', `feature ${inv.routing.protocol}`],
  loadSharing(alg) {
    if (alg !== 'include-ports') return undefined;
    return { line: 'ip load-sharing address source-destination port source-destination' };
  },
  loadSharingNote(alg) {
    if (alg === 'include-ports') return [];
    return [
      `NX-OS has no "ip cef load-sharing algorithm"; cef.algorithm ${alg} leaves the switch's`,
      'own "ip load-sharing address" setting unchanged (check it with: show ip load-sharing).',
    ];
  },
  slaOperation,
  slaSchedule: (id) => `ip sla schedule ${id} life forever start-time now`,
  staticRoute: (vip, n, tag) => `ip route ${vip}/32 ${n.address} name ${n.name} tag ${tag} track ${n.slaId}`,
  floatingRoute: (vip, n, tag) => `ip route ${vip}/32 ${n.address} name ${n.name} tag ${tag} ${FAIL_OPEN_DISTANCE}`,
  routeMap: (inv, sw) => ({ text: `route-map ${inv.routing.routeMap} permit 10`, children: routeMapBody(inv, sw) }),
  router(inv, sw) {
    const rm = inv.routing.routeMap;
    const paths = maximumPaths(inv, sw);
    if (inv.routing.protocol === 'ospf') {
      return { text: `router ospf ${inv.routing.ospf!.process}`, children: [{ text: `redistribute static route-map ${rm}` }, ...paths] };
    }
    return {
      text: `router bgp ${inv.routing.bgp!.asn}`,
      children: [{ text: 'address-family ipv4 unicast', children: [{ text: `redistribute static route-map ${rm}` }, ...paths] }],
    };
  },
  verify: (inv) => [
    'show ip sla statistics',
    'show track brief',
    `show ip route ${inv.service.vip}`,
    `show routing hash <client-address> ${inv.service.vip}`,
  ],
};

export function dialectFor(p: Platform): Dialect {
  return p === 'nx-os' ? nxos : p === 'ios-xe' ? iosXe : ios;
}
