// A throwaway unbound (Debian's) answering from local-zone data only, for the driver's
// interop tests and the generator benchmark: a real, fast, deterministic server.
// `local-zone: "." refuse` makes sure it never recurses anywhere: every name outside
// the configured zones is REFUSED.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildQuery, TYPE } from '../../dns/index.js';

export interface UnboundOptions {
  /** Loopback address to listen on. */
  address: string;
  /** UDP/TCP port; 0 (default) picks a free high port. */
  port?: number;
  threads?: number;
  /** `local-zone:` lines as [zone, type], e.g. ["lt.test.", "static"]. */
  localZones?: Array<[string, string]>;
  /** `local-data:` records in zone-file form. */
  localData?: string[];
  /** Log every query (source address, name, type) to the log file. */
  logQueries?: boolean;
  /** Extra `server:` lines. */
  extra?: string[];
}

export interface UnboundHandle {
  address: string;
  port: number;
  dir: string;
  logFile: string;
  pid: number;
  /** Log lines so far. */
  log(): string;
  /** Stops unbound (SIGTERM, then SIGKILL) and removes its directory. */
  stop(): Promise<void>;
}

export function unboundBinary(): string {
  const r = spawnSync('unbound', ['-V'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error('unbound is not installed (Debian: apt-get install unbound); this test needs it');
  return 'unbound';
}

function config(o: UnboundOptions, dir: string, port: number): string {
  const q = (s: string) => `"${s.replace(/"/g, '\\"')}"`;
  const lines = [
    'server:',
    '  chroot: ""',
    '  username: ""',
    `  directory: ${q(dir)}`,
    `  pidfile: ${q(join(dir, 'unbound.pid'))}`,
    '  use-syslog: no',
    `  logfile: ${q(join(dir, 'unbound.log'))}`,
    '  do-daemonize: no',
    `  num-threads: ${o.threads ?? 1}`,
    `  interface: ${o.address}@${port}`,
    '  port: ' + port,
    '  access-control: 127.0.0.0/8 allow',
    '  access-control: ::1/128 allow',
    '  module-config: "iterator"',
    '  do-not-query-localhost: yes',
    '  verbosity: 1',
    `  log-queries: ${o.logQueries ? 'yes' : 'no'}`,
    '  local-zone: "." refuse',
  ];
  for (const [zone, type] of o.localZones ?? []) lines.push(`  local-zone: ${q(zone)} ${type}`);
  for (const rr of o.localData ?? []) lines.push(`  local-data: ${q(rr)}`);
  for (const e of o.extra ?? []) lines.push(`  ${e}`);
  lines.push('remote-control:', '  control-enable: no', '');
  return lines.join('\n');
}

/** Sends one query and waits up to `ms` for any answer. */
function probe(address: string, port: number, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket(address.includes(':') ? 'udp6' : 'udp4');
    const done = (ok: boolean) => {
      clearTimeout(t);
      s.close();
      resolve(ok);
    };
    const t = setTimeout(() => done(false), ms);
    s.on('error', () => {});
    s.on('message', () => done(true));
    s.send(buildQuery({ id: 4242, name: 'probe.invalid', type: TYPE.A, rd: true }), port, address);
  });
}

async function startOnce(o: UnboundOptions, port: number): Promise<UnboundHandle | string> {
  const dir = mkdtempSync(join(tmpdir(), 'unbound-lt-'));
  const conf = join(dir, 'unbound.conf');
  const logFile = join(dir, 'unbound.log');
  writeFileSync(conf, config(o, dir, port));
  const check = spawnSync('unbound-checkconf', [conf], { encoding: 'utf8' });
  if (check.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`unbound-checkconf rejected the test config: ${check.stderr || check.stdout}`);
  }
  const child: ChildProcess = spawn(unboundBinary(), ['-d', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  let exited = false;
  child.on('exit', () => { exited = true; });
  const readLog = () => { try { return readFileSync(logFile, 'utf8'); } catch { return ''; } };
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (exited) break;
    if (await probe(o.address, port, 200)) {
      const handle: UnboundHandle = {
        address: o.address, port, dir, logFile, pid: child.pid!,
        log: readLog,
        stop: async () => {
          if (!exited) {
            child.kill('SIGTERM');
            const t = setTimeout(() => child.kill('SIGKILL'), 3000);
            await new Promise<void>((res) => (exited ? res() : child.once('exit', () => res())));
            clearTimeout(t);
          }
          rmSync(dir, { recursive: true, force: true });
        },
      };
      return handle;
    }
  }
  if (!exited) child.kill('SIGKILL');
  const why = (stderr + readLog()).trim().split('\n').slice(-3).join(' | ');
  rmSync(dir, { recursive: true, force: true });
  return why || 'unbound did not answer within 10 s';
}

/** Starts unbound and waits until it answers. Retries other ports if the first is taken. */
export async function startUnbound(o: UnboundOptions): Promise<UnboundHandle> {
  let last = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = o.port || 20000 + Math.floor(Math.random() * 40000);
    const r = await startOnce(o, port);
    if (typeof r !== 'string') return r;
    last = r;
    if (o.port) break;
  }
  throw new Error(`could not start unbound on ${o.address}: ${last}`);
}

/** Query sources seen in a log-queries log: address → count. */
export function queriesBySource(log: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of log.matchAll(/info: (\S+) \S+ \S+ IN\s*$/gm)) out.set(m[1], (out.get(m[1]) ?? 0) + 1);
  return out;
}
