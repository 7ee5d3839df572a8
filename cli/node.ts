// anycast-kit node: the deployable unit (resolver + health endpoint + metrics + SNMP).
// Signals: SIGTERM/SIGINT start lameduck (health 503 at once, DNS answers on for the
// lameduck time, then exit; a second signal exits at once); SIGUSR1 toggles drain.

import { parseFlags, UsageError } from '../common/args.js';
import { YamlSource } from '../common/yaml-source.js';
import {
  applyResolverFlags, checkResolverConfig, defaultResolverConfig, readResolverSection, RESOLVER_FLAGS_HELP,
  resolverFlagOptions, type ResolverFlagValues,
} from '../resolver/config.js';
import { lowerName } from '../dns/name.js';
import { checkSections, DEFAULT_PROBE_NAME, parseListen, readNodeSections, resolveSections, type NodeSectionsInput } from '../healthcheck/config.js';
import { nodeResolverConfig, startNode } from '../node/node.js';
import { startOpsRuntime } from '../resolver/control/runtime.js';
import type { NodeConfig } from '../node/config.js';

const USAGE = `usage: anycast-kit node [--config FILE] [every resolver flag] --health-listen ADDR:PORT
                        [--snmp-listen ADDR:PORT] [--snmp-community NAME] [--drain-file PATH] [--json]

Runs the deployable node: the caching recursive resolver, the health endpoint the
switches' IP SLA probes read (GET /health, /health/detail), Prometheus metrics
(GET /metrics) and an SNMP agent, under one config file (sections resolver:,
health:, snmp:, metrics:). Flags override the file.

Node flags:
  --health-listen ADDR:PORT  HTTP listener for /health, /health/detail and /metrics
                             (required here or as health.listen)
  --snmp-listen ADDR:PORT    SNMP agent (UDP); off unless given here or as snmp.listen
  --snmp-community NAME      read-only SNMPv2c community (replaces snmp.communities);
                             v3 users (SHA-2 + AES) come from snmp.users in the file
  --drain-file PATH          while this file exists /health answers 503 and the probe
                             name gets no answer (health.drainProbeAnswer: refused for
                             REFUSED); DNS keeps answering
  --json                     print one JSON line to stdout once everything listens

Resolver flags (as for anycast-kit resolver):
${RESOLVER_FLAGS_HELP}
  -h, --help                 this help

Signals: SIGTERM or SIGINT start lameduck (503 at once, DNS answers for health.lameduck
seconds, then the cache dump is written when warm_start.dump_file is set, then exit; a
second signal exits at once). SIGUSR1 toggles drain. SIGHUP reloads the resolver
settings of the config file (a bad file is reported as FILE:LINE: FIELD: MESSAGE and
the running config stays); anycast-kit control reload does the same.
Environment: ANYCAST_KIT_UDP=dgram uses node:dgram instead of the fastudp addon
(native/README.md); ANYCAST_KIT_NO_REEXEC=1 keeps V8's default young generation and heap growth.
Every setting, the state machine and how to pick the timers: healthcheck/README.md`;

const nodeFlagOptions = {
  ...resolverFlagOptions,
  'health-listen': { type: 'string' },
  'snmp-listen': { type: 'string' },
  'snmp-community': { type: 'string' },
  'drain-file': { type: 'string' },
  json: { type: 'boolean' },
} as const;

type NodeFlagValues = ResolverFlagValues & {
  'health-listen'?: string;
  'snmp-listen'?: string;
  'snmp-community'?: string;
  'drain-file'?: string;
  json?: boolean;
};

function listenFlag(name: string, text: string) {
  const hp = parseListen(text);
  if (!hp) throw new UsageError(`--${name} "${text}" must be ADDR:PORT or [V6]:PORT with an IP address`);
  return hp;
}

/** Builds the node config from the file (when given) and the flags (which win). */
export function nodeConfigFromFlags(flags: NodeFlagValues): NodeConfig {
  let resolverBase = defaultResolverConfig();
  let sections: NodeSectionsInput = {};
  if (flags.config !== undefined) {
    const src = YamlSource.load(flags.config);
    resolverBase = readResolverSection(src);
    sections = readNodeSections(src);
    src.throwIfIssues();
  }
  const resolver = applyResolverFlags(resolverBase, flags);
  checkResolverConfig(resolver);

  const health = { ...sections.health };
  const snmp = { ...sections.snmp };
  if (flags['health-listen'] !== undefined) health.listen = listenFlag('health-listen', flags['health-listen']);
  if (flags['snmp-listen'] !== undefined) snmp.listen = listenFlag('snmp-listen', flags['snmp-listen']);
  if (flags['snmp-community'] !== undefined) {
    const c = flags['snmp-community'];
    if (c.length === 0 || c.length > 64) throw new UsageError('--snmp-community must be 1 to 64 characters');
    snmp.communities = [c];
  }
  if (flags['drain-file'] !== undefined) {
    if (flags['drain-file'] === '') throw new UsageError('--drain-file needs a path');
    health.drainFile = flags['drain-file'];
  }
  if (health.probeName && resolver.probe.name !== DEFAULT_PROBE_NAME && lowerName(resolver.probe.name) !== lowerName(health.probeName)) {
    throw new UsageError(`health.probeName "${health.probeName}" and resolver.probe.name "${resolver.probe.name}" differ: set one of them (the node answers health.probeName)`);
  }
  const resolved = resolveSections({ health, snmp, metrics: sections.metrics }, resolver.probe.name);
  if ((snmp.communities?.length || snmp.users?.length) && !resolved.snmp.listen && flags['snmp-community'] !== undefined) {
    throw new UsageError('--snmp-community needs --snmp-listen (or snmp.listen in --config)');
  }
  const problems = checkSections(resolved);
  if (problems.length) {
    throw new UsageError(problems.map((p) => `${p.field}: ${p.message}`).join('\n  '));
  }
  return { resolver, ...resolved };
}

function hostPort(a: { address: string; port: number }): string {
  return a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

export async function run(argv: string[]): Promise<number> {
  const { values, help } = parseFlags<NodeFlagValues>(argv, nodeFlagOptions);
  if (help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const cfg = nodeConfigFromFlags(values);
  const log = (msg: string) => process.stderr.write(`anycast-kit node: ${msg}\n`);
  const h = cfg.health;
  if (h.lameduckSource === 'minimum') {
    log(`lameduck is ${h.lameduckMs / 1000} s (the minimum): the config gives no switch SLA timing; set health.sla or health.lameduck`);
  }
  // SIGHUP's default action kills the process: until the reload handler is in, a HUP
  // is remembered and acted on once the node is up.
  let earlyHup = false;
  const onEarlyHup = () => { earlyHup = true; };
  process.on('SIGHUP', onEarlyHup);
  const node = await startNode(cfg, { log });
  const running = nodeResolverConfig(cfg);
  const loadResolver = () => {
    const next = nodeConfigFromFlags(values);
    const { resolver: _r, ...others } = next;
    const { resolver: _c, ...now } = cfg;
    if (JSON.stringify(others) !== JSON.stringify(now)) log('reload: health, snmp and metrics settings changed in the file; they take effect at the next restart');
    return nodeResolverConfig(next);
  };
  const ops = await startOpsRuntime({ handle: node.resolver, cfg: running, load: loadResolver, log, status: () => ({ health: node.health, serving: node.serving }) })
    .catch(async (err: unknown) => { await node.close(); throw err; });
  process.off('SIGHUP', onEarlyHup);
  if (earlyHup) void ops.reload();

  // Signal handlers go in before we say we listen: whoever reads that line may signal
  // at once, and a SIGTERM with no handler yet kills the process outright (no lameduck).
  // One handler per signal for the whole life of the process, so a second signal never
  // meets the default disposition either.
  const onUsr1 = () => {
    if (node.health === 'lameduck') return;
    const on = node.toggleDrain();
    log(`SIGUSR1: drain ${on ? 'on' : 'off'}`);
  };
  process.on('SIGUSR1', onUsr1);
  let forced = false;
  const force = (s: NodeJS.Signals) => {
    if (forced) return;
    forced = true;
    log(`${s} again: exiting now`);
    void node.close().finally(() => process.exit(1));
    setTimeout(() => process.exit(1), 2000).unref();
  };
  let stopping = false;
  let onFirst: (s: NodeJS.Signals) => void = () => {};
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => { onFirst = resolve; });
  const onSignal = (s: NodeJS.Signals) => {
    if (stopping) { force(s); return; }
    stopping = true;
    onFirst(s);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  const dns = node.resolver.listening.map(hostPort).join(', ');
  log(`dns on ${dns}; health on http://${hostPort(node.http)}/health` +
    (node.metricsHttp ? `; metrics on http://${hostPort(node.metricsHttp)}/metrics` : cfg.metrics.enabled ? ' (and /metrics)' : '') +
    (node.snmp ? `; snmp on ${hostPort(node.snmp)}` : '') +
    `; probe ${h.probeName} every ${h.intervalMs / 1000} s, rise ${h.rise}, fall ${h.fall}, lameduck ${h.lameduckMs / 1000} s` +
    (h.drainFile ? `; drain file ${h.drainFile}` : ''));
  if (values.json) {
    process.stdout.write(JSON.stringify({
      event: 'listening', pid: process.pid, dns: node.resolver.listening, health: node.http,
      metrics: node.metricsHttp ?? (cfg.metrics.enabled ? node.http : null), snmp: node.snmp ?? null,
      lameduckS: h.lameduckMs / 1000, workers: cfg.resolver.workers,
    }) + '\n');
  }

  const signal = await stopSignal;
  log(`${signal}: lameduck for ${h.lameduckMs / 1000} s (health 503, DNS still answering), then exit`);
  await node.shutdown();
  await ops.close();
  process.off('SIGUSR1', onUsr1);
  if (forced) return 1;
  log('stopped');
  // Anything still holding the event loop (a worker slow to exit) must not keep a stopped node alive.
  setTimeout(() => process.exit(0), 2000).unref();
  return 0;
}
