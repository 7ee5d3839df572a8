// One switch's configuration as a list of blocks, each with a stable key, so the same
// model serves a full config (render.ts) and a change plan between two inventories
// (plan.ts). The per-platform command forms live in dialect.ts.

import type { Cmd } from './cmd.js';
import { dialectFor, type Dialect } from './dialect.js';
import type { Inventory, Node, Switch } from './inventory.js';

export type { Cmd };

/**
 * The order blocks appear in a full config, chosen so that a paste never refers to
 * something not yet defined: features, load sharing, SLA operations (each scheduled right
 * after it is defined), track objects, tracked static routes, route-map, redistribution.
 */
export type Section = 'feature' | 'cef' | 'sla' | 'track' | 'route' | 'failopen' | 'route-map' | 'router';
export const SECTION_ORDER: readonly Section[] = ['feature', 'cef', 'sla', 'track', 'route', 'failopen', 'route-map', 'router'];

export interface Block {
  /** Stable identity across inventories: "sla:101", "route:101", "router", ... */
  key: string;
  section: Section;
  /**
   * owned: created by this kit, removed whole with `remove`.
   * shared: lives in a process or global setting the switch already has (router ospf,
   * load sharing, features); only our own lines in it are ever added or negated.
   */
  owned: boolean;
  /** Never negated on removal (a feature another process may depend on). */
  keep?: boolean;
  cmds: Cmd[];
  remove: string[];
  /** Short "!" comment lines printed before the block. */
  comment: string[];
  node?: Node;
}

export interface SwitchConfig {
  sw: Switch;
  /** Track down delay: how long a re-created SLA operation may be missing unnoticed. */
  delayDownS: number;
  dialect: Dialect;
  blocks: Block[];
}

/** Builds the block list for one switch. Pure: no I/O, deterministic output. */
export function buildSwitch(inv: Inventory, sw: Switch): SwitchConfig {
  const d = dialectFor(sw.platform);
  const { service, routing } = inv;
  const blocks: Block[] = [];

  for (const f of d.features(inv)) {
    blocks.push({ key: `feature:${f}`, section: 'feature', owned: false, keep: true, cmds: [{ text: f }], remove: [], comment: [] });
  }
  if (sw.cefLoadSharing) {
    const cef = d.loadSharing(routing.cef.algorithm);
    // keep: a global hashing setting is never negated, only replaced by a new algorithm.
    if (cef) blocks.push({ key: 'cef', section: 'cef', owned: false, keep: true, cmds: [{ text: cef.line }], remove: [], comment: [] });
  }
  for (const n of sw.nodes) {
    const sla = d.slaOperation(service.probe, n);
    blocks.push({
      key: `sla:${n.slaId}`,
      section: 'sla',
      owned: true,
      cmds: [sla, { text: d.slaSchedule(n.slaId) }],
      remove: [`no ip sla ${n.slaId}`],
      comment: [`${n.name} ${n.address}`],
      node: n,
    });
  }
  for (const n of sw.nodes) {
    blocks.push({
      key: `track:${n.slaId}`,
      section: 'track',
      owned: true,
      cmds: [{ text: `track ${n.slaId} ip sla ${n.slaId} reachability`, children: [{ text: `delay down ${service.track.delayDownS} up ${service.track.delayUpS}` }] }],
      remove: [`no track ${n.slaId}`],
      comment: [],
      node: n,
    });
  }
  for (const n of sw.nodes) {
    const line = d.staticRoute(service.vip, n, service.tag);
    blocks.push({ key: `route:${n.slaId}`, section: 'route', owned: true, cmds: [{ text: line }], remove: [`no ${line}`], comment: [], node: n });
  }
  if (service.failOpen) {
    for (const n of sw.nodes) {
      const line = d.floatingRoute(service.vip, n, service.tag);
      blocks.push({ key: `failopen:${n.slaId}`, section: 'failopen', owned: true, cmds: [{ text: line }], remove: [`no ${line}`], comment: [], node: n });
    }
  }
  const rm = d.routeMap(inv, sw);
  blocks.push({ key: 'route-map', section: 'route-map', owned: true, cmds: [rm], remove: [`no ${rm.text}`], comment: [] });
  const router = d.router(inv, sw);
  blocks.push({ key: 'router', section: 'router', owned: false, cmds: [router], remove: [], comment: [] });
  return { sw, delayDownS: service.track.delayDownS, dialect: d, blocks };
}
