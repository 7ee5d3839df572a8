// The lab's network: names, addresses and the iproute2 commands that build it, derived
// from an inventory. The plan is pure data (unit-tested); run.ts executes it.
//
//   client ns (akl-PID-c)                 switch ns (akl-PID-sI)           node ns (akl-PID-nJ)
//   sources 10.99.0.0/24 on lo            forwarding, L3 multipath hash    VIP/32 on lo
//   VIP via sw1 metric cost(site1) ─veth─ cl   VIP nexthop via NODE dev nJ ─veth─ up: NODE/32
//   VIP via sw2 metric cost(site2) ─veth─ ...  (the SLA/track emulator      anycast-kit node
//   (the "backbone": OSPF type-1 costs)         adds/removes nexthops)       + lab auth servers
//
// Every namespace is named akl-<pid>-<role>; both ends of every veth are created inside
// namespaces, so deleting the namespaces removes everything.

import type { Inventory, Node, Switch } from '../../ios-templates/inventory.js';
import { allSwitches } from '../../ios-templates/inventory.js';

export const PREFIX = 'akl-';
export const CLIENT_NET = '10.99.0';

export interface LabSwitch {
  sw: Switch;
  index: number;
  ns: string;
  /** Switch side / client side of the client link. */
  upAddr: string;
  clientAddr: string;
  nodes: LabNode[];
}

export interface LabNode {
  node: Node;
  index: number;
  ns: string;
  /** Interface name in the switch namespace. */
  swDev: string;
  gateway: string;
  switchIndex: number;
}

export interface LabPlan {
  runId: string;
  clientNs: string;
  switches: LabSwitch[];
  nodes: LabNode[];
  vip: string;
  /** Client source addresses (all on the client's lo). */
  sources: string[];
  /** Per namespace, the `ip -batch` lines that build it, in order. */
  batches: Array<{ ns: string; lines: string[] }>;
  /** Per namespace, sysctls to set: [key, value]. */
  sysctls: Array<{ ns: string; key: string; value: string }>;
}

export function nsNames(runId: string): { client: string; sw: (i: number) => string; node: (j: number) => string } {
  return { client: `${PREFIX}${runId}-c`, sw: (i) => `${PREFIX}${runId}-s${i}`, node: (j) => `${PREFIX}${runId}-n${j}` };
}

/** The run id is the parent's pid: stale namespaces of dead parents can be found and removed. */
export function ownerPid(ns: string): number | undefined {
  const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(ns);
  return m ? Number(m[1]) : undefined;
}

export function buildPlan(inv: Inventory, runId: string, sourceCount: number, hashSeed: number): LabPlan {
  if (sourceCount < 1 || sourceCount > 250) throw new RangeError('sources must be 1..250');
  const names = nsNames(runId);
  const vip = inv.service.vip;
  const switches: LabSwitch[] = [];
  const nodes: LabNode[] = [];
  allSwitches(inv).forEach((sw, i) => {
    const ls: LabSwitch = { sw, index: i, ns: names.sw(i), upAddr: `10.254.${i}.1`, clientAddr: `10.254.${i}.2`, nodes: [] };
    sw.nodes.forEach((node) => {
      const j = nodes.length;
      const ln: LabNode = { node, index: j, ns: names.node(j), swDev: `n${j}`, gateway: `10.255.${i}.1`, switchIndex: i };
      ls.nodes.push(ln);
      nodes.push(ln);
    });
    switches.push(ls);
  });
  const sources = Array.from({ length: sourceCount }, (_, k) => `${CLIENT_NET}.${k + 1}`);
  const batches: LabPlan['batches'] = [];
  const sysctls: LabPlan['sysctls'] = [];
  const client = names.client;
  // Namespaces are created by the runner; links are created from the client / switch side.
  const cl: string[] = ['link set lo up', `addr add ${CLIENT_NET}.0/24 dev lo`];
  for (const s of switches) {
    cl.push(`link add sw${s.index} type veth peer name cl netns ${s.ns}`);
    cl.push(`addr add ${s.clientAddr}/30 dev sw${s.index}`, `link set sw${s.index} up`);
    // Node addresses too, so a node can be measured alone (loadtest capacity --server NODE).
    for (const n of s.nodes) cl.push(`route add ${n.node.address}/32 via ${s.upAddr} dev sw${s.index}`);
  }
  batches.push({ ns: client, lines: cl });
  for (const s of switches) {
    const l: string[] = ['link set lo up', `addr add ${s.upAddr}/30 dev cl`, 'link set cl up', `route add ${CLIENT_NET}.0/24 via ${s.clientAddr} dev cl`];
    for (const n of s.nodes) {
      l.push(`link add ${n.swDev} type veth peer name uplink netns ${n.ns}`);
      l.push(`addr add ${n.gateway}/32 peer ${n.node.address}/32 dev ${n.swDev}`, `link set ${n.swDev} up`);
    }
    batches.push({ ns: s.ns, lines: l });
    sysctls.push(
      { ns: s.ns, key: 'net.ipv4.ip_forward', value: '1' },
      { ns: s.ns, key: 'net.ipv4.conf.all.rp_filter', value: '0' },
      // L3 hash (source, destination), as CEF's default "universal source destination".
      { ns: s.ns, key: 'net.ipv4.fib_multipath_hash_policy', value: '0' },
      { ns: s.ns, key: 'net.ipv4.fib_multipath_hash_seed', value: String(hashSeed) },
    );
  }
  for (const n of nodes) {
    batches.push({
      ns: n.ns,
      lines: [
        'link set lo up',
        `addr add ${vip}/32 dev lo`,
        `addr add ${n.node.address}/32 peer ${n.gateway}/32 dev uplink`,
        'link set uplink up',
        `route add default via ${n.gateway} dev uplink`,
      ],
    });
    sysctls.push({ ns: n.ns, key: 'net.ipv4.conf.all.rp_filter', value: '0' });
  }
  return { runId, clientNs: client, switches, nodes, vip, sources, batches, sysctls };
}

/** `ip route replace` line for the switch's multipath route to the VIP (undefined = delete). */
export function multipathLine(vip: string, hops: Array<{ address: string; dev: string }>, metric: number): string {
  if (!hops.length) return `route del ${vip}/32 metric ${metric}`;
  return `route replace ${vip}/32 metric ${metric} ${hops.map((h) => `nexthop via ${h.address} dev ${h.dev} onlink`).join(' ')}`;
}

/** Parses `ip route get` output: the next hop's address (or device when directly connected). */
export function parseRouteGet(text: string): { via?: string; dev?: string } {
  const via = /\bvia (\S+)/.exec(text)?.[1];
  const dev = /\bdev (\S+)/.exec(text)?.[1];
  return { via, dev };
}
