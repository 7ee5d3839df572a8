// Change plans between two inventories, per switch, and the rollback that undoes them.
//
// Order of a plan (each step only refers to things that exist by then):
//   1. nodes that have gone: route, then track, then SLA (traffic leaves before the probe)
//   2. features and load sharing the new config needs
//   3. new nodes: SLA + schedule, track, route
//   4. SLA operations whose settings changed: `no ip sla N`, then the whole operation and its
//      schedule again (IOS and NX-OS cannot edit a scheduled operation)
//   5. in-place changes: track delays, static routes (old line negated, new line added)
//   6. route-map, then redistribution (additions before negations, so a clause is never empty)
//   7. a route-map that is no longer used, after nothing refers to it
// Unchanged blocks produce no lines at all. The rollback is the same computation from NEW
// back to OLD.

import { assertGrammar } from './grammar.js';
import { allSwitches, type Inventory, type Platform } from './inventory.js';
import { buildSwitch, type Block, type Cmd, type SwitchConfig } from './model.js';
import { renderCmds, renderSwitchLines } from './render.js';

export interface PlanSummary {
  removedNodes: string[];
  addedNodes: string[];
  recreatedSla: string[];
  modified: string[];
}

export interface SwitchPlan {
  name: string;
  platform: Platform;
  /** added/removed: the switch exists in only one inventory; replaced: its platform changed. */
  status: 'unchanged' | 'changed' | 'added' | 'removed' | 'replaced';
  /** Platform the rollback is written for (differs from `platform` only when replaced). */
  rollbackPlatform: Platform;
  plan: string[];
  rollback: string[];
  summary: PlanSummary;
}

function same(a: Cmd[], b: Cmd[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Lines that hold one value: a new value replaces the old one, so the old is not negated. */
function singleValueKey(text: string): string | undefined {
  const keys = ['maximum-paths ', 'set metric-type ', 'set metric ', 'set as-path prepend ', 'delay '];
  return keys.find((k) => text.startsWith(k));
}

function negateLeaves(cmds: Cmd[]): Cmd[] {
  return cmds.map((c) => (c.children ? { text: c.text, children: negateLeaves(c.children), close: c.close } : { text: `no ${c.text}` }));
}

/** Changes that turn children `from` into `to`: additions first, then negations. */
function diffChildren(from: Cmd[], to: Cmd[]): Cmd[] {
  const out: Cmd[] = [];
  for (const n of to) {
    const o = from.find((x) => x.text === n.text);
    if (!o) out.push(n);
    else if (n.children || o.children) {
      const sub = diffChildren(o.children ?? [], n.children ?? []);
      if (sub.length) out.push({ text: n.text, children: sub, close: n.close });
    }
  }
  for (const o of from) {
    if (to.some((x) => x.text === o.text)) continue;
    if (o.children) {
      out.push({ text: o.text, children: negateLeaves(o.children), close: o.close });
      continue;
    }
    const k = singleValueKey(o.text);
    if (k && to.some((x) => singleValueKey(x.text) === k)) continue;
    out.push({ text: `no ${o.text}` });
  }
  return out;
}

interface Step {
  comment: string[];
  cmds: Cmd[];
}

function nodeLabel(b: Block): string {
  return b.node ? `${b.node.name} ${b.node.address} (SLA/track ${b.node.slaId})` : b.key;
}

/** The ordered steps that turn switch config `from` into `to` (either may be absent). */
function diffSwitch(from: SwitchConfig | undefined, to: SwitchConfig | undefined, summary: PlanSummary): Step[] {
  const oldB = new Map((from?.blocks ?? []).map((b) => [b.key, b]));
  const newB = new Map((to?.blocks ?? []).map((b) => [b.key, b]));
  const steps: Step[] = [];
  const idOf = (k: string) => k.slice(k.indexOf(':') + 1);

  // 1. Nodes that have gone (their SLA key is absent from the new config).
  for (const b of from?.blocks ?? []) {
    if (b.section !== 'sla' || newB.has(b.key)) continue;
    const id = idOf(b.key);
    const cmds: Cmd[] = [];
    for (const k of [`failopen:${id}`, `route:${id}`, `track:${id}`, `sla:${id}`]) {
      const ob = oldB.get(k);
      if (ob && !newB.has(k)) cmds.push(...ob.remove.map((text) => ({ text })));
    }
    summary.removedNodes.push(b.node!.name);
    steps.push({ comment: [`Remove ${nodeLabel(b)}: route first, so traffic leaves before its probe goes.`], cmds });
  }

  // 2. Features and load sharing (never negated: other config may rely on them).
  for (const b of to?.blocks ?? []) {
    if (b.section !== 'feature' && b.section !== 'cef') continue;
    const ob = oldB.get(b.key);
    if (ob && same(ob.cmds, b.cmds)) continue;
    if (b.section === 'cef') summary.modified.push('load sharing');
    steps.push({ comment: [b.section === 'cef' ? 'Load sharing algorithm.' : 'Feature needed by the commands below.'], cmds: b.cmds });
  }

  // 3. New nodes.
  for (const b of to?.blocks ?? []) {
    if (b.section !== 'sla' || oldB.has(b.key)) continue;
    const id = idOf(b.key);
    const cmds: Cmd[] = [];
    for (const k of [`sla:${id}`, `track:${id}`, `route:${id}`, `failopen:${id}`]) {
      const nb = newB.get(k);
      if (nb && !oldB.has(k)) cmds.push(...nb.cmds);
    }
    summary.addedNodes.push(b.node!.name);
    steps.push({ comment: [`Add ${nodeLabel(b)}.`], cmds });
  }

  // 4. SLA operations whose settings changed: remove and add again.
  for (const b of to?.blocks ?? []) {
    const ob = oldB.get(b.key);
    if (b.section !== 'sla' || !ob || same(ob.cmds, b.cmds)) continue;
    summary.recreatedSla.push(b.node!.name);
    steps.push({
      comment: [
        `Re-create the SLA operation of ${nodeLabel(b)}: a scheduled operation cannot be edited.`,
        `Paste these lines at once: track ${idOf(b.key)} holds its state for its ${to!.delayDownS} s down delay.`,
      ],
      cmds: [...b.remove.map((text) => ({ text })), ...b.cmds],
    });
  }

  // 5. Track delays and static routes, changed in place.
  for (const section of ['track', 'route'] as const) {
    for (const b of to?.blocks ?? []) {
      const ob = oldB.get(b.key);
      if (b.section !== section || !ob || same(ob.cmds, b.cmds)) continue;
      summary.modified.push(`${section} of ${b.node!.name}`);
      if (section === 'track') {
        steps.push({ comment: [`Track of ${nodeLabel(b)}.`], cmds: [{ text: b.cmds[0].text, children: diffChildren(ob.cmds[0].children ?? [], b.cmds[0].children ?? []) }] });
      } else {
        // Negate first: re-entering a route to the same next hop could update it in place,
        // and a later `no` of the old line would then delete the new route.
        steps.push({ comment: [`Route of ${nodeLabel(b)}.`], cmds: [...ob.remove.map((text) => ({ text })), ...b.cmds] });
      }
    }
  }

  // 5b. Fail-open floating statics switched on or off (or changed) for nodes that stay.
  for (const b of from?.blocks ?? []) {
    if (b.section !== 'failopen' || newB.has(b.key) || !newB.has(`sla:${idOf(b.key)}`)) continue;
    summary.modified.push(`fail-open route of ${b.node!.name}`);
    steps.push({ comment: [`Remove the fail-open route of ${nodeLabel(b)}.`], cmds: b.remove.map((text) => ({ text })) });
  }
  for (const b of to?.blocks ?? []) {
    if (b.section !== 'failopen' || !oldB.has(`sla:${idOf(b.key)}`)) continue;
    const ob = oldB.get(b.key);
    if (ob && same(ob.cmds, b.cmds)) continue;
    summary.modified.push(`fail-open route of ${b.node!.name}`);
    steps.push({ comment: [`Fail-open route of ${nodeLabel(b)}.`], cmds: [...(ob ? ob.remove.map((text) => ({ text })) : []), ...b.cmds] });
  }

  // 6. Route-map, then redistribution.
  const rmNew = newB.get('route-map');
  const rmOld = oldB.get('route-map');
  if (rmNew && (!rmOld || rmOld.cmds[0].text !== rmNew.cmds[0].text)) {
    summary.modified.push('route-map');
    steps.push({ comment: ['Route-map carrying the site cost.'], cmds: rmNew.cmds });
  } else if (rmNew && rmOld && !same(rmOld.cmds, rmNew.cmds)) {
    summary.modified.push('route-map');
    steps.push({ comment: ['Route-map carrying the site cost.'], cmds: [{ text: rmNew.cmds[0].text, children: diffChildren(rmOld.cmds[0].children ?? [], rmNew.cmds[0].children ?? []) }] });
  }
  const rtNew = newB.get('router');
  const rtOld = oldB.get('router');
  if (rtNew && rtOld && rtOld.cmds[0].text === rtNew.cmds[0].text) {
    if (!same(rtOld.cmds, rtNew.cmds)) {
      summary.modified.push('redistribution');
      steps.push({ comment: ['Redistribution.'], cmds: [{ text: rtNew.cmds[0].text, children: diffChildren(rtOld.cmds[0].children ?? [], rtNew.cmds[0].children ?? []) }] });
    }
  } else {
    if (rtNew) {
      summary.modified.push('redistribution');
      steps.push({ comment: ['Redistribution into the routing process.'], cmds: rtNew.cmds });
    }
    if (rtOld) {
      if (!rtNew) summary.modified.push('redistribution');
      steps.push({ comment: ['Stop redistributing from the previous routing process (the process itself is left alone).'], cmds: [{ text: rtOld.cmds[0].text, children: negateLeaves(rtOld.cmds[0].children ?? []), close: rtOld.cmds[0].close }] });
    }
  }

  // 7. A route-map nothing refers to any more.
  if (rmOld && (!rmNew || rmOld.cmds[0].text !== rmNew.cmds[0].text)) {
    steps.push({ comment: ['Remove the route-map no longer used.'], cmds: rmOld.remove.map((text) => ({ text })) });
  }
  return steps;
}

function stepsToLines(steps: Step[], indent: number): string[] {
  const out: string[] = [];
  steps.forEach((s, i) => {
    out.push('!');
    s.comment.forEach((c, j) => out.push(j === 0 ? `! ${i + 1}. ${c}` : `!    ${c}`));
    renderCmds(s.cmds, indent, 0, out);
  });
  return out;
}

function countText(s: PlanSummary): string {
  const parts = [
    `${s.removedNodes.length} node(s) removed`,
    `${s.addedNodes.length} added`,
    `${s.recreatedSla.length} SLA operation(s) re-created`,
    `${s.modified.length} other change(s)`,
  ];
  return parts.join(', ');
}

function emptySummary(): PlanSummary {
  return { removedNodes: [], addedNodes: [], recreatedSla: [], modified: [] };
}

export interface PlanOptions {
  /** Labels for the two inventories in the comments (file names). */
  oldLabel?: string;
  newLabel?: string;
}

/** Plans for every switch in either inventory: new-inventory order, then removed switches. */
export function planChanges(oldInv: Inventory, newInv: Inventory, opts: PlanOptions = {}): SwitchPlan[] {
  const oldLabel = opts.oldLabel ?? 'the previous inventory';
  const newLabel = opts.newLabel ?? 'the new inventory';
  const oldSw = new Map(allSwitches(oldInv).map((s) => [s.name, s]));
  const newSw = new Map(allSwitches(newInv).map((s) => [s.name, s]));
  const names = [...newSw.keys(), ...[...oldSw.keys()].filter((n) => !newSw.has(n))];
  return names.map((name) => {
    const o = oldSw.get(name);
    const n = newSw.get(name);
    const platform = (n ?? o)!.platform;
    const head = (what: string) => [`! anycast-kit ${what} for ${name} (${platform})`];

    if (o && n && o.platform !== n.platform) {
      // Different command forms: no line-level diff makes sense. Paste the full config on the
      // replacement switch; the rollback is the old switch's full config.
      const plan = [...head(`platform change ${o.platform} -> ${n.platform}`), '! Configure the replacement switch with its full config:', ...renderSwitchLines(newInv, n)];
      const rollback = [...head('rollback'), '! Restore the previous switch with its full config:', ...renderSwitchLines(oldInv, o)];
      assertGrammar(n.platform, plan);
      assertGrammar(o.platform, rollback);
      return { name, platform, rollbackPlatform: o.platform, status: 'replaced', plan, rollback, summary: emptySummary() };
    }

    const oc = o ? buildSwitch(oldInv, o) : undefined;
    const nc = n ? buildSwitch(newInv, n) : undefined;
    const indent = (nc ?? oc)!.dialect.indent;
    const summary = emptySummary();
    const fwd = diffSwitch(oc, nc, summary);
    const back = diffSwitch(nc, oc, emptySummary());
    const status: SwitchPlan['status'] = !o ? 'added' : !n ? 'removed' : fwd.length ? 'changed' : 'unchanged';
    const plan = [
      ...head('change plan'),
      `! From ${oldLabel} to ${newLabel}: ${countText(summary)}.`,
      ...(fwd.length ? ['! Paste in global configuration mode, step by step, in this order.'] : ['! No changes: nothing to paste.']),
      ...stepsToLines(fwd, indent),
    ];
    const rollback = [
      ...head('rollback'),
      `! Returns ${name} to ${oldLabel}.`,
      ...(back.length ? [] : ['! No changes: nothing to paste.']),
      ...stepsToLines(back, indent),
    ];
    assertGrammar(platform, plan);
    assertGrammar(platform, rollback);
    return { name, platform, rollbackPlatform: platform, status, plan, rollback, summary };
  });
}
