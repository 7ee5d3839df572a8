// anycast-kit control: talks to a running resolver or node over its control socket
// (resolver.control.socket), in the manner of unbound-control.

import { resolve as resolvePath } from 'node:path';
import { parseFlags, UsageError } from '../common/args.js';
import { YamlSource } from '../common/yaml-source.js';
import { readResolverSection } from '../resolver/config.js';
import { controlRequest } from '../resolver/control/socket.js';
import { CONTROL_COMMANDS } from '../resolver/control/runtime.js';

const USAGE = `usage: anycast-kit control [--socket PATH | --config FILE] [--json] COMMAND [ARG]

Sends one command to a running anycast-kit resolver or node over its control
socket (resolver.control.socket, or --control-socket when it was started). Only
root, the service user (mode 0600) or its group (mode 0660) can open the socket.
With --workers N every command reaches every worker.

Commands:
  reload              re-read the config file (as SIGHUP): ACLs, limits, local data,
                      upstream and trust settings; cache and queries in flight kept.
                      A bad file is reported as FILE:LINE: FIELD: MESSAGE and the
                      running config stays
  flush NAME          drop the cached answers and RRsets for NAME (every type)
  flush-zone NAME     drop everything cached at and below NAME
  flush-negative      drop cached NXDOMAIN, NODATA and SERVFAIL answers
  stats               counters as key=value lines (--json: the ResolverStats object)
  status              pid, workers, warming, listen addresses (node: health state)
  dump-cache [FILE]   write the answer cache to FILE (absolute; default
                      warm_start.dump_file)
  load-cache [FILE]   load a dump into the cache (a damaged dump or one of another
                      format version is rejected whole)

Flags:
  --socket PATH       the control socket
  --config FILE       read the socket path from this config file (resolver.control.socket)
  --json              print the reply as JSON
  -h, --help          this help

Exit status: 0 done, 1 the command failed or the socket could not be reached, 2 usage.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals, help } = parseFlags<{ socket?: string; config?: string; json?: boolean }>(argv, {
    socket: { type: 'string' }, config: { type: 'string' }, json: { type: 'boolean' },
  }, true);
  if (help) { process.stdout.write(USAGE + '\n'); return 0; }
  const [command, ...args] = positionals;
  if (!command) throw new UsageError(`a command is needed (${CONTROL_COMMANDS.join(', ')})`);
  if (!(CONTROL_COMMANDS as readonly string[]).includes(command)) throw new UsageError(`unknown command "${command}" (known: ${CONTROL_COMMANDS.join(', ')})`);
  let socket = values.socket;
  if (socket === undefined && values.config !== undefined) {
    const src = YamlSource.load(values.config);
    const cfg = readResolverSection(src);
    socket = cfg.ops?.controlSocket;
    // A file with other problems still names the socket: `reload` is how one hears about them.
    if (!socket) { src.throwIfIssues(); throw new UsageError(`${values.config} sets no resolver.control.socket`); }
  }
  if (!socket) throw new UsageError('give --socket PATH or --config FILE');
  // File arguments are resolved here: the node's working directory is not ours.
  const sent = (command === 'dump-cache' || command === 'load-cache') ? args.map((a) => resolvePath(a)) : args;
  const r = await controlRequest(socket, { command, args: sent, json: values.json === true });
  if (values.json) process.stdout.write(JSON.stringify(r.data ?? { ok: r.ok, text: r.text }) + '\n');
  else (r.ok ? process.stdout : process.stderr).write(r.text + '\n');
  return r.ok ? 0 : 1;
}
