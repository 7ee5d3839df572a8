#!/usr/bin/env node
// anycast-kit: one thin file per subcommand. Each exports `run(argv): Promise<number>`
// returning the exit status; this file only dispatches and turns thrown errors into
// a message and status 1 (usage errors are status 2, raised as UsageError).

import { UsageError } from '../common/args.js';
import { reexecWithHeapFlags } from '../common/runtime.js';

/** Commands that run for days and answer DNS: they get the GC settings of common/runtime.ts. */
const LONG_RUNNING = new Set(['lab', 'resolver', 'node']);

interface Command {
  summary: string;
  load: () => Promise<{ run: (argv: string[]) => Promise<number> }>;
}

const COMMANDS: Record<string, Command> = {
  lab: { summary: 'run the self-contained lab node: a mini-internet on loopback and a node recursing through it', load: () => import('./lab.js') },
  resolver: { summary: 'run the caching recursive resolver', load: () => import('./resolver.js') },
  node: { summary: 'run the deployable node: resolver, health endpoint, metrics and SNMP agent', load: () => import('./node.js') },
  control: { summary: 'send a command to a running resolver or node over its control socket (reload, flush, stats, dump-cache...)', load: () => import('./control.js') },
  ios: { summary: 'render switch config (IOS, IOS-XE, NX-OS) from a site inventory', load: () => import('./ios.js') },
  loadtest: { summary: 'load generator (run, capacity) and CEF/failover model (cef, failover, plan)', load: () => import('./loadtest.js') },
};

function usage(): string {
  const lines = ['usage: anycast-kit <command> [flags]', '', 'commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(10)} ${c.summary}`);
  lines.push('', "run 'anycast-kit <command> --help' for a command's flags");
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name ? 0 : 2;
  }
  if (name === '--version') {
    const { readFileSync } = await import('node:fs');
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(pkg.version + '\n');
    return 0;
  }
  const cmd = COMMANDS[name];
  // `lab anycast` is a bounded experiment run, not a server: no re-exec (its pid names its namespaces).
  if (cmd && LONG_RUNNING.has(name) && rest[0] !== 'anycast' && !rest.includes('--help') && !rest.includes('-h')) reexecWithHeapFlags();
  if (!cmd) {
    process.stderr.write(`anycast-kit: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  try {
    const mod = await cmd.load();
    return await mod.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`anycast-kit ${name}: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`anycast-kit ${name}: ${(err as Error).message ?? String(err)}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => { if (code !== -1) process.exitCode = code; },
  (err: unknown) => { process.stderr.write(`anycast-kit: ${String(err)}\n`); process.exitCode = 1; },
);
