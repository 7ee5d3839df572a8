// anycast-kit lab: the mini-internet on loopback (lab/zones, served by lab/authserver)
// and a full node recursing through it. No Internet access and no root needed.

import { parseFlags, parseHostPort, intFlag, UsageError } from '../common/args.js';
import { startLabNode, DEFAULT_HEALTH, DEFAULT_IDENTITY, DEFAULT_LISTEN, DEFAULT_SNMP } from '../lab/node.js';
import { LAB_PORT } from '../lab/index.js';

const HELP = `usage: anycast-kit lab [--listen ADDR:PORT] [--health-listen ADDR:PORT] [--snmp-listen ADDR:PORT]
                      [--lab-port PORT] [--identity NAME] [--json]

Starts the lab: a root, two TLDs (lab., example.) and sample zones, each served by
the kit's authoritative server on its own address in 127.53.0.0/16, all on one
high port; then the node (resolver, health endpoint, metrics) recursing through
them. Prints dig commands to try and runs until Ctrl-C (SIGINT) or SIGTERM.

  --listen ADDR:PORT          resolver address; repeat for more (default ${DEFAULT_LISTEN.host}:${DEFAULT_LISTEN.port})
  --health-listen ADDR:PORT   health endpoint and /metrics (default ${DEFAULT_HEALTH.host}:${DEFAULT_HEALTH.port})
  --snmp-listen ADDR:PORT     SNMP agent, v2c community "lab" (default ${DEFAULT_SNMP.host}:${DEFAULT_SNMP.port}; "off" for none)
  --lab-port PORT             port of the lab's authoritative servers (default ${LAB_PORT}; 0 = any free port)
  --identity NAME             the node's name for id.server and NSID (default ${DEFAULT_IDENTITY})
  --json                      print one JSON line describing the lab once it is up, instead of the banner
  -h, --help                  this help

The zones are in lab/zones/ (see lab/README.md to add one).

anycast-kit lab anycast [--inventory FILE] ... builds the anycast lab in network namespaces
(root) and runs its experiments: see anycast-kit lab anycast --help.`;

interface Flags {
  listen?: string[];
  'health-listen'?: string;
  'snmp-listen'?: string;
  'lab-port'?: string;
  identity?: string;
  json?: boolean;
}

export async function run(argv: string[]): Promise<number> {
  if (argv[0] === 'anycast') return (await import('./lab-anycast.js')).run(argv.slice(1));
  const { values, help } = parseFlags<Flags>(argv, {
    listen: { type: 'string', multiple: true },
    'health-listen': { type: 'string' },
    'snmp-listen': { type: 'string' },
    'lab-port': { type: 'string' },
    identity: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const listen = (values.listen ?? []).map((l) => parseHostPort(l, 'listen'));
  const health = values['health-listen'] === undefined ? undefined : parseHostPort(values['health-listen'], 'health-listen');
  const snmpText = values['snmp-listen'];
  const snmp = snmpText === 'off' ? undefined
    : { listen: snmpText === undefined ? DEFAULT_SNMP : parseHostPort(snmpText, 'snmp-listen'), community: 'lab' };
  const labPort = intFlag('lab-port', values['lab-port'], 0, 65535);
  if (values.identity !== undefined && !/^[\x21-\x7e]{1,255}$/.test(values.identity)) {
    throw new UsageError(`--identity "${values.identity}" must be 1-255 printable ASCII characters without spaces`);
  }

  // SIGHUP's default action would kill the lab (exit 129, no cleanup). The lab is
  // built from flags, with no config file to re-read: a HUP is logged and ignored.
  process.on('SIGHUP', () => process.stderr.write('lab: SIGHUP: the lab has no config file to reload; ignored\n'));

  let ln: Awaited<ReturnType<typeof startLabNode>>;
  try {
    ln = await startLabNode({
      listen, health, snmp, identity: values.identity,
      lab: { port: labPort },
      log: (l) => process.stderr.write(`lab: ${l}\n`),
    });
  } catch (err) {
    const msg = (err as Error).message;
    // Port 5353 is also mDNS's; a desktop's avahi may hold it.
    if (/EADDRINUSE/.test(msg) && !/the lab cannot listen/.test(msg)) {
      throw new Error(`${msg} (another lab or an mDNS responder may hold it: pick free ports with --listen, --health-listen, --snmp-listen)`);
    }
    throw err;
  }

  // Handlers go in before anything is printed: a script that reads our output may
  // signal at once, and a signal with no handler yet kills the lab without cleanup.
  const stopped = new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      process.stderr.write(`lab: ${sig}, stopping\n`);
      // A second signal while stopping exits at once (added before the first handlers
      // go, so no signal ever finds none).
      const force = () => process.exit(130);
      process.once('SIGINT', force);
      process.once('SIGTERM', force);
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve();
    };
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });

  const commands = ln.tryCommands();
  if (values.json) {
    process.stdout.write(JSON.stringify({
      listen: ln.node.resolver.listening,
      health: ln.node.http,
      snmp: ln.node.snmp ?? null,
      identity: ln.identity,
      lab: { port: ln.lab.upstreamPort, rootHintsFile: ln.lab.rootHintsFile, servers: ln.lab.servers, zones: ln.lab.zones.map((z) => z.name), trustAnchorFile: ln.lab.trustAnchorFile, signed: ln.lab.zones.filter((z) => z.signed).map((z) => z.name) },
      try: commands.map((c) => c.command),
    }) + '\n');
  } else {
    const zones = ln.lab.zones.map((z) => z.name).join(' ');
    const first = ln.lab.servers[0].address;
    const lines = [
      'anycast-kit lab: a mini-internet on loopback and a node recursing through it',
      '',
      `  lab         ${ln.lab.servers.length} authoritative servers on ${first.split('.').slice(0, 2).join('.')}.0.0/16, port ${ln.lab.upstreamPort}; zones: ${zones}`,
      ...(ln.lab.trustAnchorFile ? [`  dnssec      ${ln.lab.zones.filter((z) => z.signed).length} zones signed (fresh keys); the root's trust anchor: ${ln.lab.trustAnchorFile}`] : []),
      `  resolver    ${ln.node.resolver.listening.map((l) => `${l.family === 6 ? `[${l.address}]` : l.address}:${l.port}`).join(', ')} (UDP and TCP), identity ${ln.identity}`,
      `  health      http://${ln.node.http.address}:${ln.node.http.port}/health  (and /health/detail, /metrics)`,
      ...(ln.node.snmp ? [`  snmp        ${ln.node.snmp.address}:${ln.node.snmp.port}, v2c community "lab"`] : []),
      '',
      'Try:',
      ...commands.map((c) => `  ${c.command.padEnd(58)}  # ${c.shows}`),
      '',
      'Ctrl-C stops.',
      '',
    ];
    process.stdout.write(lines.join('\n'));
  }

  await stopped;
  await ln.stop();
  return 0;
}
