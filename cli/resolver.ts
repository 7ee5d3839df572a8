// anycast-kit resolver: the caching recursive resolver in the foreground.
// Signals live here, not in startResolver: SIGTERM/SIGINT close it cleanly
// (a second signal exits at once).

import { fastUdpStatus } from '../native/index.js';
import { parseFlags } from '../common/args.js';
import { startResolver } from '../resolver/server.js';
import { startOpsRuntime } from '../resolver/control/runtime.js';
import { RESOLVER_FLAGS_HELP, resolverConfigFromFlags, resolverFlagOptions, type ResolverFlagValues } from '../resolver/config.js';

const USAGE = `usage: anycast-kit resolver --listen ADDR:PORT [--listen ADDR:PORT ...] [--root-hints FILE] [--allow CIDR ...]
                            [--query-localhost] [--workers N] [--identity NAME] [--config FILE] [--json]
                            [--control-socket PATH] [--cache-dump FILE] [--warm-names FILE]

Runs the caching recursive resolver in the foreground, serving UDP and TCP on every
--listen address (one socket per address). Logs go to stderr.

Signals: SIGTERM or SIGINT stop it (answering what is in flight, then writing the
cache dump when warm_start.dump_file / --cache-dump is set; a second signal exits at
once). SIGHUP reloads the config file: a bad file is reported as FILE:LINE: FIELD:
MESSAGE and the running config stays. anycast-kit control does the same over the
control socket.

${RESOLVER_FLAGS_HELP}
  --json                 print one JSON line to stdout once listening ({"listening":[...]})
  -h, --help             this help

Environment:
  ANYCAST_KIT_UDP=dgram  use node:dgram instead of the fastudp addon (recvmmsg/sendmmsg);
                         =native fails when the addon is not built (native/README.md)
  ANYCAST_KIT_NO_REEXEC=1  do not re-execute with --max-semi-space-size=16,
                         --min-semi-space-size=16 and --heap-growing-percent=50
                         (resolver/README.md, "Memory")

Config keys and metrics: resolver/README.md`;

export async function run(argv: string[]): Promise<number> {
  const { values, help } = parseFlags<ResolverFlagValues & { json?: boolean }>(argv, { ...resolverFlagOptions, json: { type: 'boolean' } });
  if (help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const cfg = resolverConfigFromFlags(values);
  const log = (msg: string) => process.stderr.write(`anycast-kit resolver: ${msg}\n`);
  // Handlers go in before anything is announced: whoever reads "listening" may signal at once.
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  // SIGHUP must never kill the resolver (its default action): until the reload
  // handler is in, a HUP is remembered and acted on once the resolver is up.
  let earlyHup = false;
  const onEarlyHup = () => { earlyHup = true; };
  process.on('SIGHUP', onEarlyHup);
  const handle = await startResolver(cfg, { log, releaseStartupMemory: true });
  const ops = await startOpsRuntime({ handle, cfg, load: () => resolverConfigFromFlags(values), log }).catch(async (err: unknown) => {
    await handle.close();
    throw err;
  });
  process.off('SIGHUP', onEarlyHup);
  if (earlyHup) void ops.reload();
  const where = handle.listening.map((l) => (l.family === 6 ? `[${l.address}]:${l.port}` : `${l.address}:${l.port}`)).join(', ');
  const fast = fastUdpStatus();
  const udpIo = fast.available ? 'fastudp' : 'dgram';
  log(`listening on ${where} (udp+tcp), ${cfg.workers} worker${cfg.workers > 1 ? 's' : ''}, identity ${cfg.identity}, allow ${cfg.allow.join(' ')}, udp i/o ${fast.available ? 'fastudp (recvmmsg/sendmmsg)' : `node:dgram (fastudp ${fast.reason})`}`);
  if (values.json) process.stdout.write(JSON.stringify({ event: 'listening', pid: process.pid, listening: handle.listening, workers: cfg.workers, udpIo }) + '\n');

  const signal = await stopSignal;
  log(`${signal}: shutting down`);
  const force = (s: NodeJS.Signals) => { log(`${s} again: exiting now`); process.exit(1); };
  process.once('SIGTERM', force);
  process.once('SIGINT', force);
  await handle.close();
  await ops.close();
  log('stopped');
  return 0;
}
