// anycast-kit loadtest capacity: step the offered rate to find the highest rate a server
// answers inside a loss and a p99 limit (like resperf), and report the curve.
import { parseFlags, UsageError } from '../common/args.js';
import { CAPACITY_DEFAULTS, findCapacity } from '../loadtest/driver/capacity.js';
import { DEFAULT_TIMEOUT_MS } from '../loadtest/driver/options.js';
import { formatCapacity } from '../loadtest/driver/results.js';
import { interruptible, LOAD_OPTIONS, loadSetup, numberFlag, progressLine, writeJsonOut, type LoadFlags } from '../loadtest/driver/cli-common.js';

const D = CAPACITY_DEFAULTS;
const HELP = `usage: anycast-kit loadtest capacity --server ADDR:PORT --queries FILE [--max-loss PCT] [--max-p99 MS]
                                  [--start QPS] [--max-qps QPS] [--step S] [--max-time S] [--precision PCT]
                                  [--sources ADDR,...|CIDR] [--timeout MS] [--tcp] [--threads N] [--json] [--out FILE]

Finds a node's capacity: runs open-loop steps at a fixed offered rate, doubling from
--start until loss or p99 crosses its limit, then bisects between the last good and the
first bad rate. Reports the highest answered rate inside both limits, and the curve
(offered rate, achieved rate, loss, p99) of every step.

  --server ADDR:PORT   the DNS server to measure (port defaults to 53)
  --queries FILE       query file, one "name TYPE" per line (dnsperf format)
  --max-loss PCT       a step fails when more than PCT % of its queries go unanswered (default ${D.maxLossPct})
  --max-p99 MS         a step fails when its p99 latency is above MS (default ${D.maxP99Ms})
  --start QPS          first offered rate (default ${D.startQps})
  --max-qps QPS        never offer more than this (default ${D.maxQps})
  --step S             seconds per step (default ${D.stepS})
  --max-time S         bound on the whole search; steps that would not fit are skipped (default ${D.maxTimeS})
  --precision PCT      stop bisecting when good and bad rates are this close (default ${D.precisionPct})
  --sources LIST|CIDR  send from these local addresses
  --timeout MS         an unanswered query counts as lost after MS (default ${DEFAULT_TIMEOUT_MS})
  --tcp                DNS over TCP
  --threads N          generator threads (default 1; add threads when a step reports "generator")
  --json               print the results as JSON (capacityQps, curve: see loadtest/README.md)
  --out FILE           also write the JSON results to FILE

Each step is printed on stderr as it finishes. Exit status: 0 when a capacity was found,
1 when even the lowest step crossed a limit, 2 for bad flags.
`;

interface Flags extends LoadFlags {
  'max-loss'?: string; 'max-p99'?: string; start?: string; 'max-qps'?: string; step?: string; 'max-time'?: string; precision?: string;
}

export async function run(argv: string[]): Promise<number> {
  const { values: f, help } = parseFlags<Flags>(argv, {
    ...LOAD_OPTIONS, 'max-loss': { type: 'string' }, 'max-p99': { type: 'string' }, start: { type: 'string' }, 'max-qps': { type: 'string' },
    step: { type: 'string' }, 'max-time': { type: 'string' }, precision: { type: 'string' },
  });
  if (help) {
    process.stdout.write(HELP);
    return 0;
  }
  const { server, queries, sources, timeoutMs, threads, tcp, own } = loadSetup(f, () => ({
    maxLossPct: numberFlag('max-loss', f['max-loss'], 0, 100),
    maxP99Ms: numberFlag('max-p99', f['max-p99'], 0.001, 600_000),
    startQps: numberFlag('start', f.start, 1, 2_000_000),
    maxQps: numberFlag('max-qps', f['max-qps'], 1, 2_000_000),
    stepS: numberFlag('step', f.step, 0.1, 3600),
    maxTimeS: numberFlag('max-time', f['max-time'], 1, 86_400),
    precisionPct: numberFlag('precision', f.precision, 0.1, 100),
  }), ({ startQps, maxQps }) => {
    if (startQps !== undefined && maxQps !== undefined && startQps > maxQps) throw new UsageError('--start must not be above --max-qps');
  });
  const { maxLossPct, maxP99Ms, startQps, maxQps, stepS, maxTimeS, precisionPct } = own;
  const tty = process.stderr.isTTY;
  const intr = interruptible();
  let result;
  try {
    result = await findCapacity({
      server, queries, sources, tcp, threads, timeoutMs, maxLossPct, maxP99Ms, startQps, maxQps, stepS, maxTimeS, precisionPct,
      signal: intr.signal,
      onProgress: tty ? (p, offered) => process.stderr.write('\r\x1b[2K' + progressLine(p, `offering ${Math.round(offered).toLocaleString('en-US')} q/s: `)) : undefined,
      onStep: (s) => {
        const p99 = s.p99Ms === null ? '-' : s.p99Ms.toFixed(2);
        process.stderr.write(`${tty ? '\r\x1b[2K' : ''}step: offered ${Math.round(s.offeredQps)} q/s, achieved ${Math.round(s.achievedQps)} q/s, loss ${s.lossPct.toFixed(2)}%, p99 ${p99} ms: ${s.pass ? 'inside limits' : 'over (' + s.failedOn.join(', ') + ')'}\n`);
      },
    });
  } finally {
    intr.dispose();
  }
  const json = writeJsonOut(result, f.out);
  process.stdout.write(f.json ? json : formatCapacity(result) + '\n');
  if (result.capacityQps === null) {
    process.stderr.write(`anycast-kit loadtest capacity: no step stayed inside the limits${result.steps.every((s) => s.completed === 0) ? ' (no answers at all: is the server up?)' : ''}\n`);
    return 1;
  }
  return 0;
}
