// anycast-kit loadtest run: send DNS load at a server, report rate, loss, rcodes and latency.
import { intFlag, parseFlags, UsageError } from '../common/args.js';
import { DEFAULT_CLIENTS, DEFAULT_DURATION_S, DEFAULT_TIMEOUT_MS } from '../loadtest/driver/options.js';
import { diagnoseNoAnswers, runLoad } from '../loadtest/driver/run.js';
import { formatRun } from '../loadtest/driver/results.js';
import { interruptible, LOAD_OPTIONS, loadSetup, numberFlag, ttyProgress, writeJsonOut, type LoadFlags } from '../loadtest/driver/cli-common.js';

const HELP = `usage: anycast-kit loadtest run --server ADDR:PORT --queries FILE [--duration S | --count N]
                             [--qps N] [--clients N] [--sources ADDR,ADDR,...|CIDR] [--timeout MS]
                             [--tcp] [--threads N] [--json] [--out FILE]

Sends the queries in FILE (dnsperf format: "name TYPE" per line, # comments), replayed
in a loop, and reports queries sent, completed and lost, the achieved rate, answers by
rcode, truncated answers, and latency min/p50/p90/p99/p99.9/max.

  --server ADDR:PORT   the DNS server to load ([V6]:PORT for IPv6; port defaults to 53)
  --queries FILE       query file, one "name TYPE" per line
  --duration S         send for S seconds (default ${DEFAULT_DURATION_S} unless --count is given)
  --count N            send exactly N queries (capped at 600 s; with --duration, whichever comes first)
  --qps N              open loop: send N queries/s on a fixed schedule that never waits for answers
  --clients N          closed loop (no --qps): keep N queries in flight (default ${DEFAULT_CLIENTS})
  --sources LIST|CIDR  send from these local addresses (e.g. 127.41.0.0/24), with a per-source breakdown
  --timeout MS         an unanswered query counts as lost after MS (default ${DEFAULT_TIMEOUT_MS})
  --tcp                DNS over TCP, queries pipelined on each connection
  --threads N          generator threads, each with its own sockets and a share of the load
                       (default 1; one thread sent 130-180k q/s against unbound here)
  --json               print the results as JSON (shape in loadtest/README.md)
  --out FILE           also write the JSON results to FILE

UDP goes through the fastudp addon (recvmmsg/sendmmsg) when it is built; ANYCAST_KIT_UDP=dgram
forces node:dgram. The results say which ("udpPath").
On a terminal a progress line (answers/s, loss and p99 over the last second) is shown on stderr.
Exit status: 0 when answers came back, 1 when none did (the reason is printed), 2 for bad flags.
`;

interface Flags extends LoadFlags {
  duration?: string; count?: string; qps?: string; clients?: string;
}

export async function run(argv: string[]): Promise<number> {
  const { values: f, help } = parseFlags<Flags>(argv, {
    ...LOAD_OPTIONS, duration: { type: 'string' }, count: { type: 'string' }, qps: { type: 'string' }, clients: { type: 'string' },
  });
  if (help) {
    process.stdout.write(HELP);
    return 0;
  }
  const { server, queries, sources, timeoutMs, threads, tcp, own } = loadSetup(f, () => ({
    durationS: numberFlag('duration', f.duration, 0.001, 86_400),
    count: intFlag('count', f.count, 1, 1_000_000_000),
    qps: numberFlag('qps', f.qps, 0.001, 2_000_000),
    clients: intFlag('clients', f.clients, 1, 1_000_000),
  }), ({ qps, clients }) => {
    if (qps !== undefined && clients !== undefined) {
      throw new UsageError('--clients sets the closed-loop window and cannot be combined with --qps (open loop: the schedule never waits for answers)');
    }
  });
  const { durationS, count, qps, clients } = own;
  const progress = ttyProgress();
  const intr = interruptible();
  let result;
  try {
    result = await runLoad({
      server, queries, durationS, count, qps, clients, sources, timeoutMs, tcp, threads,
      onProgress: progress.onProgress, signal: intr.signal,
    });
  } finally {
    progress.clear();
    intr.dispose();
  }
  const json = writeJsonOut(result, f.out);
  process.stdout.write(f.json ? json : formatRun(result) + '\n');
  const why = diagnoseNoAnswers(result);
  if (why) {
    process.stderr.write(`anycast-kit loadtest run: ${why}\n`);
    return 1;
  }
  return 0;
}
