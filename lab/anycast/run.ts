// anycast-kit lab anycast: builds the lab (net.ts) from an inventory, starts a real node
// per node namespace and an SLA/track emulator per switch, plays the backbone (site costs
// as route metrics on the client side), runs the experiments and tears everything down:
// on return, on SIGINT/SIGTERM, on an exception, and (through a detached watchdog) when
// this process dies without cleaning up.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { nodeConfig } from '../../ios-templates/host.js';
import type { Inventory } from '../../ios-templates/inventory.js';
import { buildPlan, ownerPid, parseRouteGet, PREFIX, type LabNode, type LabPlan, type LabSwitch } from './net.js';
import type { SwitchConfig } from './switch-main.js';

const HERE = dirname(fileURLToPath(import.meta.url));

/** The built files this module spawns (dist/), from dist/ itself or from the source tree. */
export function distFile(rel: string): string {
  const js = rel.replace(/\.ts$/, '.js');
  for (const p of [join(HERE, js), join(HERE, '../../dist/lab/anycast', js)]) if (existsSync(p)) return p;
  throw new Error(`${js} not found: run npm run build first`);
}
export function cliMain(): string {
  for (const p of [join(HERE, '../../cli/main.js'), join(HERE, '../../dist/cli/main.js')]) if (existsSync(p)) return p;
  throw new Error('dist/cli/main.js not found: run npm run build first');
}
export function exampleInventory(): string {
  for (const p of [join(HERE, 'example.yaml'), join(HERE, '../../../lab/anycast/example.yaml')]) if (existsSync(p)) return p;
  throw new Error('lab/anycast/example.yaml not found');
}
export function queriesFile(): string {
  for (const p of [join(HERE, 'queries.txt'), join(HERE, '../../../lab/anycast/queries.txt')]) if (existsSync(p)) return p;
  throw new Error('lab/anycast/queries.txt not found');
}

export function run(cmd: string, args: string[], input?: string, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, out, errOut) => {
      if (err) {
        const what = `${cmd} ${args.join(' ')}`;
        reject(new Error(`${what.length > 160 ? `${what.slice(0, 160)}…` : what}: ${String(errOut).trim().slice(0, 500) || (err.killed ? 'killed' : `exit ${err.code}`)}`));
      }
      else resolve(out);
    });
    if (input !== undefined) p.stdin!.end(input);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Why the lab cannot run here, or undefined: root, iproute2, network namespaces. */
export async function labUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, veth pairs, routes)';
  try { await run('ip', ['-V']); } catch { return 'needs iproute2 (the ip command)'; }
  const probe = `${PREFIX}${process.pid}-probe`;
  try {
    await run('ip', ['netns', 'add', probe]);
    await run('ip', ['netns', 'del', probe]);
  } catch (err) {
    return `network namespaces unavailable: ${(err as Error).message}`;
  }
  return undefined;
}

async function ourNamespaces(filter: (ns: string) => boolean): Promise<string[]> {
  const out = await run('ip', ['netns', 'list']);
  return out.split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(PREFIX) && filter(n));
}

async function deleteNamespace(ns: string): Promise<void> {
  try {
    const pids = (await run('ip', ['netns', 'pids', ns])).split(/\s+/).filter(Boolean).map(Number);
    for (const p of pids) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
  } catch { /* no such namespace */ }
  await run('ip', ['netns', 'del', ns]).catch(() => undefined);
}

const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; } };

/** cgroup v1 CPU controller, where node CPU caps go (cpu.cfs_quota_us); cgroup v2 is not handled. */
export const CGROUP_CPU = '/sys/fs/cgroup/cpu';

function ourCgroups(filter: (name: string) => boolean): string[] {
  try {
    return readdirSync(CGROUP_CPU).filter((n) => n.startsWith(PREFIX) && filter(n));
  } catch {
    return [];
  }
}

function removeCgroup(name: string): void {
  try { rmdirSync(join(CGROUP_CPU, name)); } catch { /* busy or gone */ }
}

/** Removes akl-* namespaces and CPU cgroups left by lab runs whose parent is dead. Never touches others. */
export async function cleanupStale(log: (s: string) => void): Promise<number> {
  const dead = (n: string) => { const pid = ownerPid(n); return pid !== undefined && !alive(pid); };
  const stale = await ourNamespaces(dead);
  for (const ns of stale) await deleteNamespace(ns);
  for (const cg of ourCgroups(dead)) removeCgroup(cg);
  // Config directories (node.yaml, drain files) of dead runs.
  try {
    for (const d of readdirSync(tmpdir())) if (d.startsWith(PREFIX) && dead(d)) rmSync(join(tmpdir(), d), { recursive: true, force: true });
  } catch { /* unreadable tmp */ }
  if (stale.length) log(`removed ${stale.length} stale namespace(s) of dead lab runs: ${stale.join(' ')}`);
  return stale.length;
}

/** A detached shell that removes this run's namespaces once this process is gone, however it ends. */
function startWatchdog(runId: string, dir: string): void {
  // Two passes: an `ip` command the dead parent had in flight may still create one.
  const sweep = `for ns in $(ip netns list | awk '{print $1}' | grep '^${PREFIX}${runId}-'); do for p in $(ip netns pids $ns); do kill -9 $p; done; ip netns del $ns; done`;
  const cg = `for d in ${CGROUP_CPU}/${PREFIX}${runId}-*; do [ -d "$d" ] && rmdir "$d"; done 2>/dev/null`;
  const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 0.5; done; ${sweep}; sleep 2; ${sweep}; ${cg}; rm -rf '${dir.replace(/'/g, '')}'`;
  spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' }).unref();
}

export interface Proc {
  child: ChildProcess;
  lines: AsyncIterator<string>;
  events: Array<Record<string, unknown>>;
}

function spawnIn(ns: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
}

async function firstJsonLine(child: ChildProcess, what: string, timeoutMs: number): Promise<Record<string, unknown>> {
  const rl = createInterface({ input: child.stdout! });
  let err = '';
  child.stderr!.on('data', (d) => { err = (err + String(d)).slice(-2000); });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no start line within ${timeoutMs} ms; stderr: ${err.trim()}`)), timeoutMs);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${what} exited (${code}) before starting: ${err.trim()}`)); });
    rl.once('line', (l) => {
      clearTimeout(timer);
      try { resolve(JSON.parse(l)); } catch { reject(new Error(`${what}: not JSON: ${l}`)); }
    });
  });
}

export interface LabOptions {
  inventory: Inventory;
  log: (line: string) => void;
  /** Switch emulator: how an error reply counts (default 'fail'). */
  errorReply?: 'fail' | 'ok';
  hashSeed?: number;
  /** Nodes that answer REFUSED instead of nothing while drained (drainProbeAnswer: refused). */
  refusedOnDrain?: string[];
}

export interface RunningNode {
  ln: LabNode;
  proc?: ChildProcess;
  auth?: ChildProcess;
  configFile: string;
  drainFile: string;
}

export interface SwitchEvent { t: number; ev: string; node?: string; up?: boolean | string[]; [k: string]: unknown }

export class AnycastLab {
  readonly plan: LabPlan;
  readonly runId = String(process.pid);
  readonly dir: string;
  readonly nodes: RunningNode[] = [];
  readonly switchProcs = new Map<number, ChildProcess>();
  readonly switchEvents: SwitchEvent[] = [];
  /** Per switch: node names with a tracked route installed. */
  readonly switchUp = new Map<number, string[]>();
  failOpen: boolean;
  private authInfo = new Map<number, { rootHintsFile: string; upstreamPort: number; trustAnchorFile?: string }>();
  private onSignal = () => void this.teardown().finally(() => process.exit(130));

  constructor(readonly opts: LabOptions) {
    this.plan = buildPlan(opts.inventory, this.runId, 250, opts.hashSeed ?? 0x5eed);
    this.dir = mkdtempSync(join(tmpdir(), `${PREFIX}${this.runId}-`));
    this.failOpen = opts.inventory.service.failOpen;
  }

  async build(): Promise<void> {
    const { log } = this.opts;
    await cleanupStale(log);
    startWatchdog(this.runId, this.dir);
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
    const p = this.plan;
    const all = [p.clientNs, ...p.switches.map((s) => s.ns), ...p.nodes.map((n) => n.ns)];
    log(`namespaces: ${all.length} (${p.clientNs}, ${p.switches.length} switch, ${p.nodes.length} node)`);
    for (const ns of all) await run('ip', ['netns', 'add', ns]);
    for (const b of p.batches) await run('ip', ['-n', b.ns, '-batch', '-'], b.lines.join('\n') + '\n');
    for (const s of p.sysctls) await run('ip', ['netns', 'exec', s.ns, 'sysctl', '-qw', `${s.key}=${s.value}`]);
    log(`links: ${p.switches.length} client-switch and ${p.nodes.length} switch-node veth pairs; ${p.sources.length} client sources on ${p.clientNs} lo`);
    await Promise.all(p.nodes.map((n) => this.startNode(n)));
    log(`nodes: ${p.nodes.length} anycast-kit node processes up, VIP ${p.vip} on lo in each`);
    for (const s of p.switches) await this.startSwitch(s);
    log(`switches: ${p.switches.length} SLA/track emulators probing (${this.opts.inventory.service.probe.type}, every ${this.opts.inventory.service.probe.frequencyS} s)`);
    await this.waitFor(() => p.switches.every((s) => (this.switchUp.get(s.index) ?? []).length === s.nodes.length), 30_000, 'every node tracked up');
    log('routes: every tracked nexthop installed; backbone routes on the client by site cost');
  }

  async startNode(ln: LabNode): Promise<void> {
    const inv = this.opts.inventory;
    let rn = this.nodes.find((n) => n.ln === ln);
    if (!rn) {
      rn = { ln, configFile: join(this.dir, `${ln.node.name}.yaml`), drainFile: join(this.dir, `${ln.node.name}.drain`) };
      this.nodes.push(rn);
    }
    if (!this.authInfo.has(ln.index)) {
      const auth = spawnIn(ln.ns, [process.execPath, distFile('auth-main.ts'), '5300']);
      rn.auth = auth;
      const info = (await firstJsonLine(auth, `lab servers in ${ln.ns}`, 20_000)) as { rootHintsFile: string; upstreamPort: number; trustAnchorFile?: string };
      this.authInfo.set(ln.index, info);
    }
    const info = this.authInfo.get(ln.index)!;
    // The node.yaml `anycast-kit ios --host` writes, plus the lab's upstreams and a drain file.
    const cfg = nodeConfig(inv, ln.node) as { resolver: Record<string, unknown>; health: Record<string, unknown> };
    cfg.resolver.root_hints = info.rootHintsFile;
    cfg.resolver.upstream = { port: info.upstreamPort, query_localhost: true };
    // DNSSEC validation is on by default: from the lab root's anchor when the lab is signed
    // (its default), off when it is not (the built-in root anchors would make it all bogus).
    cfg.resolver.validator = info.trustAnchorFile ? { trust_anchor_files: [info.trustAnchorFile] } : { enabled: false };
    cfg.health.drainFile = rn.drainFile;
    cfg.health.lameduck = 3;
    if (this.opts.refusedOnDrain?.includes(ln.node.name)) cfg.health.drainProbeAnswer = 'refused';
    writeFileSync(rn.configFile, stringify(cfg));
    const child = spawnIn(ln.ns, [process.execPath, cliMain(), 'node', '--config', rn.configFile, '--json'], { ANYCAST_KIT_NO_REEXEC: '1' });
    rn.proc = child;
    await firstJsonLine(child, `node ${ln.node.name}`, 30_000);
  }

  /**
   * Caps a node's CPU with a cgroup v1 quota (quotaUs per 100 ms period, at least 1000 (1 %); fast paths make even 1 % worth thousands of q/s. A shorter period would keep
   * throttling stalls under a few ms, where 100 ms periods stall the node for most of one): its real capacity
   * then comes from the cap, not from the machine, and can be measured with loadtest capacity.
   */
  async capNode(name: string, quotaUs: number): Promise<void> {
    const rn = this.nodes.find((n) => n.ln.node.name === name)!;
    if (!existsSync(join(CGROUP_CPU, 'cpu.cfs_quota_us'))) throw new Error(`no cgroup v1 CPU controller at ${CGROUP_CPU}`);
    const dir = join(CGROUP_CPU, `${PREFIX}${this.runId}-${rn.ln.index}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'cpu.cfs_period_us'), '100000');
    writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quotaUs));
    // Every process of the node (its resolver workers are forked children), not the lab's
    // authoritative servers in the same namespace.
    const pids = (await run('ip', ['netns', 'pids', rn.ln.ns])).split(/\s+/).filter(Boolean).map(Number).filter((p) => p !== rn.auth?.pid);
    for (const p of pids) writeFileSync(join(dir, 'cgroup.procs'), String(p));
    this.opts.log(`  cpu cap: ${name}: ${quotaUs} us per 100 ms on pids ${pids.join(' ')} (${dir})`);
    this.cgroups.add(dir);
  }

  readonly cgroups = new Set<string>();

  /** Lifts every CPU cap: the node processes go back to the root CPU cgroup. */
  uncapNodes(): void {
    for (const dir of this.cgroups) {
      let procs: string[] = [];
      try { procs = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean); } catch { /* gone */ }
      for (const p of procs) { try { writeFileSync(join(CGROUP_CPU, 'cgroup.procs'), p); } catch { /* exited */ } }
      removeCgroup(dir.slice(CGROUP_CPU.length + 1));
    }
    this.cgroups.clear();
  }

  killNode(name: string): number {
    const rn = this.nodes.find((n) => n.ln.node.name === name)!;
    const t = Date.now();
    rn.proc?.kill('SIGKILL');
    return t;
  }

  async startSwitch(s: LabSwitch): Promise<void> {
    const inv = this.opts.inventory;
    const p = inv.service.probe;
    const cfg: SwitchConfig = {
      name: s.sw.name,
      vip: inv.service.vip,
      nodes: s.nodes.map((n) => ({ name: n.node.name, address: n.node.address, dev: n.swDev })),
      probe: { type: p.type, name: p.name, port: p.port, path: p.path, frequencyMs: p.frequencyS * 1000, timeoutMs: p.timeoutMs, thresholdMs: p.thresholdMs },
      track: { kind: 'reachability', delayDownMs: inv.service.track.delayDownS * 1000, delayUpMs: inv.service.track.delayUpS * 1000, errorReply: this.opts.errorReply ?? 'fail' },
      failOpen: this.failOpen,
    };
    const child = spawnIn(s.ns, [process.execPath, distFile('switch-main.ts'), JSON.stringify(cfg)]);
    this.switchProcs.set(s.index, child);
    this.switchUp.set(s.index, []);
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (l) => {
      let e: SwitchEvent;
      try { e = JSON.parse(l); } catch { return; }
      e.switch = s.sw.name;
      this.switchEvents.push(e);
      if (e.ev === 'routes') {
        this.switchUp.set(s.index, e.up as string[]);
        void this.backbone();
      }
      if (e.ev === 'error') this.opts.log(`  ${s.sw.name}: ${String(e.message)}`);
    });
    child.stderr!.on('data', (d) => this.opts.log(`  ${s.sw.name} stderr: ${String(d).trim()}`));
  }

  send(switchIndex: number, cmd: Record<string, unknown>): void {
    this.switchProcs.get(switchIndex)?.stdin?.write(JSON.stringify(cmd) + '\n');
  }

  private backboneChain = Promise.resolve();
  private backboneApplied = new Map<number, string>();
  /**
   * The backbone, as OSPF type-1 externals would make it: the client reaches the VIP through
   * every announcing switch, each site at its cost (route metric). A switch announces while
   * it has a tracked route; with fail-open, also through its floating routes when no switch
   * anywhere has a tracked route (a floating static at distance 250 loses to any OSPF route).
   */
  backbone(): Promise<void> {
    this.backboneChain = this.backboneChain.then(async () => {
      const p = this.plan;
      const anyTracked = p.switches.some((s) => (this.switchUp.get(s.index) ?? []).length > 0);
      const costs = new Map<number, LabSwitch[]>();
      for (const s of p.switches) {
        const announces = (this.switchUp.get(s.index) ?? []).length > 0 || (this.failOpen && !anyTracked);
        if (!costs.has(s.sw.cost)) costs.set(s.sw.cost, []);
        if (announces) costs.get(s.sw.cost)!.push(s);
      }
      for (const [cost, sws] of costs) {
        const line = sws.length
          ? `route replace ${p.vip}/32 metric ${cost} ${sws.map((s) => `nexthop via ${s.upAddr} dev sw${s.index}`).join(' ')}`
          : `route del ${p.vip}/32 metric ${cost}`;
        if (this.backboneApplied.get(cost) === line) continue;
        this.backboneApplied.set(cost, line);
        await run('ip', ['-n', p.clientNs, ...line.split(' ')]).catch(() => undefined);
      }
    });
    return this.backboneChain;
  }

  async waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<number> {
    const t0 = Date.now();
    while (!cond()) {
      if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(50);
    }
    return Date.now() - t0;
  }

  /** `ip route get VIP from SRC iif cl` for every client source: the kernel's exact-route table. */
  async exactRoutes(s: LabSwitch): Promise<Map<string, string>> {
    const lines = this.plan.sources.map((src) => `route get ${this.plan.vip} from ${src} iif cl`).join('\n') + '\n';
    const out = await run('ip', ['-n', s.ns, '-batch', '-'], lines);
    const byAddr = new Map(s.nodes.map((n) => [n.node.address, n.node.name]));
    const res = new Map<string, string>();
    for (const l of out.split('\n')) {
      const m = new RegExp(`^${this.plan.vip.replace(/\./g, '\\.')} from (\\S+)`).exec(l);
      if (!m) continue;
      const r = parseRouteGet(l);
      if (r.via && byAddr.has(r.via)) res.set(m[1], byAddr.get(r.via)!);
    }
    return res;
  }

  /** DNS responses each node has sent, from its /metrics. */
  async nodeResponses(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    await Promise.all(this.nodes.map(async (rn) => {
      const port = this.opts.inventory.service.probe.port ?? 8053;
      try {
        const text = await run('ip', ['netns', 'exec', rn.ln.ns, 'curl', '-s', '--max-time', '3', `http://${rn.ln.node.address}:${port}/metrics`]);
        let sum = 0;
        for (const l of text.split('\n')) {
          const m = /^anycastkit_responses_total\{[^}]*\} (\d+)/.exec(l);
          if (m) sum += Number(m[1]);
        }
        out.set(rn.ln.node.name, sum);
      } catch {
        out.set(rn.ln.node.name, NaN);
      }
    }));
    return out;
  }

  /** Runs `loadtest run` in the client namespace from every source; resolves with its JSON. */
  async load(qps: number, durationS: number): Promise<LoadResult> {
    const args = [process.execPath, cliMain(), 'loadtest', 'run', '--server', `${this.plan.vip}:53`, '--queries', queriesFile(),
      '--sources', this.plan.sources.join(','), '--qps', String(qps), '--duration', String(durationS), '--timeout', '1000', '--json'];
    const out = await run('ip', ['netns', 'exec', this.plan.clientNs, ...args], undefined, (durationS + 30) * 1000);
    return JSON.parse(out.slice(out.indexOf('{'))) as LoadResult;
  }

  /** `loadtest capacity` against one node's own address, from the client namespace. */
  async capacity(name: string, maxTimeS: number, maxP99Ms: number): Promise<{ capacityQps: number | null; lowerBoundOnly: boolean; limitedBy: string }> {
    const rn = this.nodes.find((n) => n.ln.node.name === name)!;
    // Warm the node's cache first: the first query of each name recurses, and on a capped CPU
    // those answers are slow enough to count as loss in the search's first step.
    await run('ip', ['netns', 'exec', this.plan.clientNs, process.execPath, cliMain(), 'loadtest', 'run', '--server', `${rn.ln.node.address}:53`,
      '--queries', queriesFile(), '--qps', '20', '--count', '60', '--timeout', '2000', '--json'], undefined, 30_000).catch(() => undefined);
    const args = [process.execPath, cliMain(), 'loadtest', 'capacity', '--server', `${rn.ln.node.address}:53`, '--queries', queriesFile(),
      '--start', '200', '--max-qps', '20000', '--max-p99', String(maxP99Ms), '--step', '1', '--max-time', String(maxTimeS), '--timeout', '500', '--json'];
    const out = await run('ip', ['netns', 'exec', this.plan.clientNs, ...args], undefined, (maxTimeS + 30) * 1000);
    return JSON.parse(out.slice(out.indexOf('{')));
  }

  private tearing: Promise<void> | undefined;
  /** Idempotent: a second call (signal handler and finally) waits for the first. */
  teardown(): Promise<void> {
    this.tearing ??= this.doTeardown();
    return this.tearing;
  }

  private async doTeardown(): Promise<void> {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    for (const c of this.switchProcs.values()) c.kill('SIGKILL');
    for (const n of this.nodes) n.proc?.kill('SIGKILL');
    // The authoritative labs get SIGTERM first, so each removes its files (root hints,
    // trust anchor) from the temporary directory; SIGKILL after a second at most.
    await Promise.all(this.nodes.map((n) => stopGently(n.auth, 1000)));
    for (const ns of await ourNamespaces((n) => n.startsWith(`${PREFIX}${this.runId}-`))) await deleteNamespace(ns);
    for (let i = 0; i < 20 && ourCgroups((n) => n.startsWith(`${PREFIX}${this.runId}-`)).length; i++) {
      for (const cg of ourCgroups((n) => n.startsWith(`${PREFIX}${this.runId}-`))) removeCgroup(cg);
      await sleep(100);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** SIGTERM, then SIGKILL if the process has not exited within `ms`. */
async function stopGently(p: ChildProcess | undefined, ms: number): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => p.once('exit', () => resolve()));
  p.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([gone, new Promise<void>((resolve) => { timer = setTimeout(resolve, ms); })]);
  clearTimeout(timer);
  if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
}

export interface LoadResult {
  sent: number;
  completed: number;
  lost: number;
  lossPct: number;
  achievedQps: number;
  errors: Record<string, number>;
  unsent: Record<string, number>;
  rcodes: Record<string, number>;
  sources?: Array<{ address: string; sent: number; completed: number; lost: number }>;
}

