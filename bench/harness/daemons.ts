// Starts the three kinds of daemon the interop tests and the bench need: NSD
// instances serving the lab zones, unbound (the anchor) and our resolver. All
// run in the foreground from a temporary directory and are stopped by stop().

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLASS, TYPE } from '../../dns/constants.js';
import { query } from './client.js';
import { memoryOf, repoRoot, requireBinary, startDaemon, waitReady, type Daemon, type Memory } from './proc.js';
import { buildLab, type Lab, type NsdInstanceSpec } from './zones.js';

export const NSD_BIN = '/usr/sbin/nsd';
export const UNBOUND_BIN = '/usr/sbin/unbound';
export const DNSPERF_BIN = '/usr/bin/dnsperf';

export interface Running {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly daemon: Daemon;
  memory(): Memory;
  stop(): Promise<void>;
}

function zoneFileName(origin: string): string {
  return origin === '' ? 'root.zone' : `${origin}.zone`;
}

/** Starts one NSD instance on ADDRESS:53 and waits until it answers its first zone's SOA authoritatively. */
export async function startNsd(spec: NsdInstanceSpec, baseDir: string): Promise<Running> {
  requireBinary(NSD_BIN, 'nsd');
  const dir = join(baseDir, spec.name);
  mkdirSync(dir, { recursive: true });
  const zoneLines: string[] = [];
  for (const z of spec.zones) {
    writeFileSync(join(dir, zoneFileName(z.origin)), z.text);
    zoneLines.push(`zone:\n  name: "${z.origin === '' ? '.' : z.origin + '.'}"\n  zonefile: "${zoneFileName(z.origin)}"\n`);
  }
  const conf = `server:
  ip-address: ${spec.address}
  port: 53
  do-ip6: no
  server-count: 1
  zonesdir: "${dir}"
  pidfile: "${dir}/nsd.pid"
  username: ""
  chroot: ""
  database: ""
  zonelistfile: "${dir}/zone.list"
  xfrdfile: "${dir}/xfrd.state"
  logfile: "${dir}/nsd.log"
  verbosity: 1
  hide-version: yes
  # Debian's NSD has response rate limiting on (200 qps per /24): it would throttle
  # the resolvers under test and turn the bench into a measure of RRL slip.
  rrl-ratelimit: 0
remote-control:
  control-enable: no
${zoneLines.join('')}`;
  const confFile = join(dir, 'nsd.conf');
  writeFileSync(confFile, conf);
  const daemon = startDaemon(spec.name, NSD_BIN, ['-d', '-c', confFile]);
  const first = spec.zones[0].origin;
  await waitReady(daemon, async () => {
    const r = await query(first, TYPE.SOA, { server: spec.address, timeoutMs: 300, rd: false });
    return r.msg.answers.length > 0;
  }).catch((e: Error) => { throw new Error(`${e.message}\n(nsd log: ${dir}/nsd.log)`); });
  return {
    name: spec.name, address: spec.address, port: 53, daemon,
    memory: () => memoryOf(daemon.pid),
    stop: () => daemon.stop(),
  };
}

export interface AuthLab {
  lab: Lab;
  dir: string;
  rootHintsFile: string;
  servers: Running[];
  stop(): Promise<void>;
}

/** Starts every NSD instance of the lab for PREFIX (e.g. "127.30.1") and writes the root hints. */
export async function startAuthLab(prefix: string, label = 'interop'): Promise<AuthLab> {
  const lab = buildLab(prefix);
  const dir = mkdtempSync(join(tmpdir(), `anycast-kit-${label}-`));
  const rootHintsFile = join(dir, 'root.hints');
  writeFileSync(rootHintsFile, lab.rootHints);
  const servers: Running[] = [];
  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const spec of lab.nsd) servers.push(await startNsd(spec, dir));
  } catch (e) {
    await stop();
    throw e;
  }
  return { lab, dir, rootHintsFile, servers, stop };
}

export interface UnboundOptions {
  address: string;
  port?: number;
  rootHintsFile: string;
  /** access-control lines as CIDR -> action; default 127.0.0.0/8 allow. */
  access?: Array<[string, 'allow' | 'refuse' | 'deny']>;
  identity?: string;
  threads?: number;
  /** Extra `server:` lines. */
  extra?: string[];
  label?: string;
  /** qname-minimisation (default no, so both resolvers send the same upstream questions unless a bench says otherwise). */
  qnameMinimisation?: boolean;
  /** Validate DNSSEC with this trust-anchor-file (zone-file DS or DNSKEY); default: no validator module. */
  trustAnchorFile?: string;
}

/**
 * Starts unbound as the anchor: one thread, iterator only (no validator: the lab
 * zones are unsigned), qname minimisation off so both resolvers send the same
 * upstream questions, harden-glue on.
 */
export async function startUnbound(o: UnboundOptions): Promise<Running & { confFile: string }> {
  requireBinary(UNBOUND_BIN, 'unbound');
  const dir = mkdtempSync(join(tmpdir(), `anycast-kit-unbound-${o.label ?? ''}`));
  const port = o.port ?? 53;
  const access = o.access ?? [['127.0.0.0/8', 'allow']];
  const conf = `server:
  num-threads: ${o.threads ?? 1}
  do-daemonize: no
  chroot: ""
  username: ""
  use-syslog: no
  logfile: ""
  verbosity: 1
  pidfile: "${dir}/unbound.pid"
  directory: "${dir}"
  root-hints: "${o.rootHintsFile}"
  do-not-query-localhost: no
  interface: ${o.address}@${port}
  interface-automatic: no
  do-ip6: no
${access.map(([cidr, act]) => `  access-control: ${cidr} ${act}`).join('\n')}
  module-config: "${o.trustAnchorFile ? 'validator iterator' : 'iterator'}"
${o.trustAnchorFile ? `  trust-anchor-file: "${o.trustAnchorFile}"\n  val-log-level: 2\n` : ''}  qname-minimisation: ${o.qnameMinimisation ? 'yes' : 'no'}
  harden-glue: yes
  identity: "${o.identity ?? 'unbound'}"
  hide-identity: no
${(o.extra ?? []).map((l) => '  ' + l).join('\n')}
remote-control:
  control-enable: no
`;
  const confFile = join(dir, 'unbound.conf');
  writeFileSync(confFile, conf);
  const check = spawnSync('/usr/sbin/unbound-checkconf', [confFile], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`unbound-checkconf rejected ${confFile}:\n${check.stdout}${check.stderr}`);
  const daemon = startDaemon('unbound', UNBOUND_BIN, ['-d', '-c', confFile]);
  await waitReady(daemon, async () => {
    await query('id.server', TYPE.TXT, { server: o.address, port, class: CLASS.CH, timeoutMs: 300 });
    return true;
  });
  return {
    name: 'unbound', address: o.address, port, daemon, confFile,
    memory: () => memoryOf(daemon.pid),
    stop: async () => { await daemon.stop(); rmSync(dir, { recursive: true, force: true }); },
  };
}

export interface OursOptions {
  address: string;
  port?: number;
  rootHintsFile: string;
  allow?: string[];
  identity?: string;
  workers?: number;
  extraArgs?: string[];
  /** Another build's dist/cli/main.js (a baseline checkout, for before/after in one run). */
  cli?: string;
  /**
   * DNSSEC validation, which is on by default. Every caller says which: false (`--no-validate`)
   * for a private unsigned root, where the built-in root anchors would make every answer bogus,
   * and beside a non-validating unbound; true when the caller's --config gives the trust anchor.
   */
  validate: boolean;
}

const knowsNoValidate = new Map<string, boolean>();
/** Whether this build has --no-validate (a baseline from before it did not validate at all). */
function cliHasNoValidate(cli: string): boolean {
  let known = knowsNoValidate.get(cli);
  if (known === undefined) {
    const r = spawnSync(process.execPath, [cli, 'resolver', '--help'], { encoding: 'utf8', timeout: 10_000 });
    known = r.stdout.includes('--no-validate');
    knowsNoValidate.set(cli, known);
  }
  return known;
}

/** Path of the built CLI; the resolver is run exactly as operators run it. */
export function oursCli(): string {
  return join(repoRoot(), 'dist', 'cli', 'main.js');
}

/**
 * Whether `anycast-kit resolver` is built and more than a placeholder. Returns a
 * reason string when it is not, so callers can say why.
 */
export function oursUnavailableReason(): string | undefined {
  const cli = oursCli();
  if (!existsSync(cli)) return `${cli} not found: run npm run build`;
  const r = spawnSync(process.execPath, [cli, 'resolver', '--help'], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) return `anycast-kit resolver --help exited ${r.status}: ${(r.stderr || r.stdout).trim().slice(0, 300)}`;
  return undefined;
}

/** Starts `anycast-kit resolver` with the lab root hints and waits until it answers. */
export async function startOurs(o: OursOptions): Promise<Running> {
  const cli = o.cli ?? oursCli();
  if (!existsSync(cli)) throw new Error(`${cli} not found: run npm run build first`);
  const port = o.port ?? 53;
  const args = [cli, 'resolver', '--listen', `${o.address}:${port}`, '--root-hints', o.rootHintsFile, '--query-localhost'];
  for (const cidr of o.allow ?? ['127.0.0.0/8']) args.push('--allow', cidr);
  if (o.identity) args.push('--identity', o.identity);
  if (o.workers) args.push('--workers', String(o.workers));
  if (!o.validate && (o.cli === undefined || cliHasNoValidate(cli))) args.push('--no-validate');
  args.push(...(o.extraArgs ?? []));
  // process.execPath is Node 24 both under vitest and under `npm run bench`.
  const daemon = startDaemon('anycast-kit resolver', process.execPath, args);
  await waitReady(daemon, async () => {
    await query('id.server', TYPE.TXT, { server: o.address, port, class: CLASS.CH, timeoutMs: 300 });
    return true;
  });
  return {
    name: 'ours', address: o.address, port, daemon,
    memory: () => memoryOf(daemon.pid),
    stop: () => daemon.stop(),
  };
}
