// anycast-kit lab anycast: the anycast lab in network namespaces (lab/anycast/), its
// experiments, and a Markdown + HTML report with predicted beside measured.
import { renameSync, writeFileSync } from 'node:fs';
import { intFlag, parseFlags, UsageError } from '../common/args.js';
import { loadInventory } from '../ios-templates/inventory.js';
import { AnycastLab, exampleInventory, labUnavailable } from '../lab/anycast/run.js';
import { cascade, drain, failOpen, nodeLoss, shares } from '../lab/anycast/experiments.js';
import { renderLabHtml, renderLabMarkdown, summary, type LabReport } from '../lab/anycast/report.js';

const EXPERIMENTS = ['shares', 'nodeLoss', 'drain', 'cascade', 'failOpen'] as const;
type Experiment = (typeof EXPERIMENTS)[number];

const HELP = `usage: anycast-kit lab anycast [--inventory FILE] [--only LIST] [--qps N] [--shares-duration S]
                              [--out DIR] [--json]

Builds the anycast lab (needs root and iproute2): a client namespace with 250 source
addresses, one namespace per switch in the inventory with a kernel multipath route to
the VIP, one per node running a real 'anycast-kit node' with the VIP on lo, an SLA/track
emulator per switch reading the same inventory as 'anycast-kit ios', and the site costs
as route metrics. Then runs the experiments, writes the report and tears it all down
(also on Ctrl-C; a watchdog removes the namespaces if this process dies).

  --inventory FILE      the inventory (default: lab/anycast/example.yaml, 2 sites, 5 nodes)
  --only LIST           experiments to run, comma-separated (default all: ${EXPERIMENTS.join(',')})
  --qps N               load during the experiments (default 1000 queries/s)
  --shares-duration S   seconds of load for the shares experiment (default 8)
  --cpu-quota PCT       cascade: each failover-site node's CPU cap, % of one core (cgroup v1
                        cpu.cfs_quota_us per 100 ms period; default 2)
  --out DIR             write DIR/lab-report.md and DIR/lab-report.html (default: the current directory)
  --json                the last line on stdout is one JSON object summarising every experiment
`;

interface Flags { 'cpu-quota'?: string; inventory?: string; only?: string; qps?: string; 'shares-duration'?: string; out?: string; json?: boolean }

export async function run(argv: string[]): Promise<number> {
  const { values: f, help } = parseFlags<Flags>(argv, {
    'cpu-quota': { type: 'string' }, inventory: { type: 'string' }, only: { type: 'string' }, qps: { type: 'string' }, 'shares-duration': { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' },
  });
  if (help) { process.stdout.write(HELP); return 0; }
  const only = (f.only ?? EXPERIMENTS.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  for (const o of only) if (!(EXPERIMENTS as readonly string[]).includes(o)) throw new UsageError(`--only: unknown experiment "${o}" (known: ${EXPERIMENTS.join(', ')})`);
  const qps = intFlag('qps', f.qps, 10, 20000) ?? 1000;
  const sharesS = intFlag('shares-duration', f['shares-duration'], 1, 120) ?? 8;
  const quota = intFlag('cpu-quota', f['cpu-quota'], 1, 100) ?? 2;
  const inventoryFile = f.inventory ?? exampleInventory();
  const inv = loadInventory(inventoryFile);
  const why = await labUnavailable();
  if (why) { process.stderr.write(`lab anycast: cannot run: ${why}\n`); return 1; }
  const log = (l: string) => process.stderr.write(`lab anycast: ${l}\n`);
  const s0 = inv.sites[0]?.switches[0];
  const lab = new AnycastLab({ inventory: inv, log, refusedOnDrain: s0 && s0.nodes.length >= 3 ? [s0.nodes[2].name] : [] });
  const report: LabReport = { inventory: inventoryFile, startedAt: new Date().toISOString(), qps, inv };
  const t0 = Date.now();
  try {
    await lab.build();
    const want = (e: Experiment) => only.includes(e);
    if (want('shares')) { log(`shares: ${qps} q/s for ${sharesS} s from ${lab.plan.sources.length} sources`); report.shares = await shares(lab, qps, sharesS); log(`shares: max error ${report.shares.maxErrorPct} points`); }
    if (want('nodeLoss')) { log('nodeLoss: killing a node under load'); report.nodeLoss = await nodeLoss(lab, qps); log(`nodeLoss: withdrawn after ${report.nodeLoss.withdrawnAfterS} s, ${report.nodeLoss.lostQueries} queries lost`); }
    if (want('drain')) { log('drain: draining a node under load'); report.drain = await drain(lab, qps, true); log(`drain: ${report.drain.lostQueries} queries lost`); }
    if (want('cascade')) { log(`cascade: capping the failover site's nodes at ${quota}% CPU, measuring one, failing the first site at two loads`); report.cascade = await cascade(lab, quota, [0.5, 1.6]); log(`cascade: ${report.cascade.detail}`); }
    if (want('failOpen')) { log('failOpen: every probe fails at once, without then with fail-open'); report.failOpen = await failOpen(lab, qps); log(`failOpen: black-holed ${report.failOpen.withoutFailOpen.blackholedQueries} without, ${report.failOpen.withFailOpen.blackholedQueries} with`); }
  } finally {
    log('tearing down');
    await lab.teardown();
  }
  report.elapsedS = Math.round((Date.now() - t0) / 100) / 10;
  const dir = f.out ?? '.';
  writeAtomic(`${dir}/lab-report.md`, renderLabMarkdown(report));
  writeAtomic(`${dir}/lab-report.html`, renderLabHtml(report));
  log(`wrote ${dir}/lab-report.md and ${dir}/lab-report.html (${report.elapsedS} s)`);
  if (f.json) process.stdout.write(JSON.stringify(summary(report)) + '\n');
  else process.stdout.write(renderLabMarkdown(report));
  return 0;
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}
