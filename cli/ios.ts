// anycast-kit ios: render switch config (IOS, IOS-XE, NX-OS) from a site inventory,
// a change plan against a previous inventory, or one node's host-side snippet.
// Validation errors: every one printed as FILE:LINE: FIELD: MESSAGE, exit 2, nothing written.

import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { formatIssue } from '../common/yaml-source.js';
import { parseFlags, UsageError } from '../common/args.js';
import {
  allSwitches,
  ConfigError,
  hostSnippet,
  loadInventory,
  planChanges,
  renderHostSnippet,
  renderSwitchLines,
  type Inventory,
} from '../ios-templates/index.js';

const HELP = `usage: anycast-kit ios --inventory FILE [--switch NAME] [--out DIR] [--previous FILE] [--format text|json]
       anycast-kit ios --inventory FILE --host NODE-NAME [--out DIR] [--format text|json]

Renders paste-ready IOS / IOS-XE / NX-OS config for every switch in a site inventory:
one IP SLA probe, track object and tracked static route per node, the route-map and
redistribution that carry the site cost, maximum-paths and load sharing.

  --inventory FILE   site inventory (YAML); see ios-templates/README.md
  --switch NAME      only this switch
  --out DIR          write DIR/<switch>.cfg (plans: DIR/<switch>.plan.cfg and .rollback.cfg)
                     instead of printing; with --host, DIR/<node>.node.yaml, .service, .vip.sh
  --previous FILE    print the ordered change plan from FILE to --inventory, then its rollback
  --host NODE-NAME   print that node's host side: VIP on a dummy interface, node.yaml, systemd unit
  --format text|json text (default) or the same result as JSON for automation
  --json             same as --format json

Exit status: 0 ok, 2 invalid inventory or command line (every error is printed; nothing is written).`;

interface Flags {
  inventory?: string;
  switch?: string;
  out?: string;
  previous?: string;
  format?: string;
  json?: boolean;
  host?: string;
}

function writeFiles(dir: string, files: Array<[string, string]>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of files) writeFileSync(join(dir, name), text);
  for (const [name] of files) process.stderr.write(`wrote ${join(dir, name)}\n`);
}

function loadBoth(file: string, previous: string | undefined): { inv: Inventory; old?: Inventory } {
  // Validate both files before failing, so one run shows every error in both.
  const issues = [];
  let inv: Inventory | undefined;
  let old: Inventory | undefined;
  try {
    inv = loadInventory(file);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    issues.push(...e.issues);
  }
  if (previous !== undefined) {
    try {
      old = loadInventory(previous);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      issues.push(...e.issues);
    }
  }
  if (issues.length) throw new ConfigError(issues);
  return { inv: inv!, old };
}

export async function run(argv: string[]): Promise<number> {
  const { values: f, help } = parseFlags<Flags>(argv, {
    inventory: { type: 'string' },
    switch: { type: 'string' },
    out: { type: 'string' },
    previous: { type: 'string' },
    format: { type: 'string' },
    json: { type: 'boolean' },
    host: { type: 'string' },
  });
  if (help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  if (!f.inventory) throw new UsageError('--inventory FILE is required (see --help)');
  const format = f.json ? 'json' : (f.format ?? 'text');
  if (format !== 'text' && format !== 'json') throw new UsageError(`--format must be text or json, got "${format}"`);
  if (f.host !== undefined && (f.previous !== undefined || f.switch !== undefined)) {
    throw new UsageError('--host cannot be combined with --previous or --switch');
  }
  const json = format === 'json';
  const say = (obj: unknown) => process.stdout.write(JSON.stringify(obj, null, 2) + '\n');

  let inv: Inventory;
  let old: Inventory | undefined;
  try {
    ({ inv, old } = loadBoth(f.inventory, f.previous));
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    for (const i of e.issues) process.stderr.write(formatIssue(i) + '\n');
    process.stderr.write(`anycast-kit ios: ${e.issues.length} error(s); nothing written\n`);
    if (json) say({ ok: false, errors: e.issues });
    return 2;
  }

  if (f.host !== undefined) {
    let s;
    try {
      s = hostSnippet(inv, f.host);
    } catch (e) {
      const names = allSwitches(inv).flatMap((sw) => sw.nodes.map((n) => n.name));
      throw new UsageError(`${(e as Error).message}; nodes: ${names.join(', ')}`);
    }
    if (f.out) {
      writeFiles(f.out, [
        [`${s.node.name}.node.yaml`, s.nodeYaml],
        [`${s.node.name}.service`, s.systemdUnit],
        [`${s.node.name}.vip.sh`, '#!/bin/sh\nset -e\n' + s.linuxCommands.join('\n') + '\n'],
      ]);
    } else if (json) {
      say({ ok: true, node: { name: s.node.name, address: s.node.address, switch: s.switchName, slaId: s.node.slaId }, vip: s.vip, linuxCommands: s.linuxCommands, nodeConfig: s.nodeConfig, nodeYaml: s.nodeYaml, systemdUnit: s.systemdUnit, timing: s.timing });
    } else {
      process.stdout.write(renderHostSnippet(s));
    }
    return 0;
  }

  const known = new Set([...allSwitches(inv), ...(old ? allSwitches(old) : [])].map((s) => s.name));
  if (f.switch !== undefined && !known.has(f.switch)) {
    throw new UsageError(`no switch named "${f.switch}"; switches: ${[...known].join(', ')}`);
  }
  const wanted = (name: string) => f.switch === undefined || f.switch === name;

  if (old) {
    const plans = planChanges(old, inv, { oldLabel: basename(f.previous!), newLabel: basename(f.inventory) }).filter((p) => wanted(p.name));
    if (f.out) {
      writeFiles(f.out, plans.flatMap((p) => [[`${p.name}.plan.cfg`, p.plan.join('\n') + '\n'], [`${p.name}.rollback.cfg`, p.rollback.join('\n') + '\n']] as Array<[string, string]>));
    } else if (json) {
      say({ ok: true, switches: plans });
    } else {
      for (const p of plans) {
        process.stdout.write(`! ==== ${p.name} ====\n${p.plan.join('\n')}\n!\n! ==== ${p.name} rollback ====\n${p.rollback.join('\n')}\n`);
      }
    }
    return 0;
  }

  const source = basename(f.inventory);
  const rendered = allSwitches(inv)
    .filter((s) => wanted(s.name))
    .map((sw) => ({ sw, lines: renderSwitchLines(inv, sw, { source }) }));
  if (f.out) {
    writeFiles(f.out, rendered.map(({ sw, lines }) => [`${sw.name}.cfg`, lines.join('\n') + '\n']));
  } else if (json) {
    say({
      ok: true,
      switches: rendered.map(({ sw, lines }) => ({
        name: sw.name,
        platform: sw.platform,
        site: sw.siteName,
        cost: sw.cost,
        nodes: sw.nodes.map((n) => ({ name: n.name, address: n.address, slaId: n.slaId, trackId: n.slaId })),
        config: lines.join('\n') + '\n',
      })),
    });
  } else {
    for (const { sw, lines } of rendered) process.stdout.write(`! ==== ${sw.name} ====\n${lines.join('\n')}\n`);
  }
  return 0;
}
