// Shared helpers for the healthcheck interop and end-to-end tests: running the real
// Debian clients (curl, snmpwalk, dig), building node configs, waiting for conditions.

import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { defaultResolverConfig } from '../../resolver/config.js';
import { resolveSections, type NodeSectionsInput } from '../../healthcheck/config.js';
import type { NodeConfig } from '../../node/config.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const MIB_DIR = resolve(REPO, 'healthcheck/snmp');

/** Fails the test clearly when a Debian tool is missing (CI installs them). */
export function requireTool(tool: string, pkg: string): void {
  const r = spawnSync('sh', ['-c', `command -v ${tool}`]);
  if (r.status !== 0) throw new Error(`${tool} is not installed: apt-get install ${pkg} (.ci/run installs it)`);
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command with a hard time limit; never rejects. */
export function run(cmd: string, args: string[], timeoutMs = 10_000): Promise<RunResult> {
  return new Promise((resolvePromise) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 8 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === 'number' ? (err as unknown as { code: number }).code : null) : 0;
      resolvePromise({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

export async function curl(url: string, extra: string[] = []): Promise<{ status: number; version: string; body: string; raw: RunResult }> {
  const r = await run('curl', ['-sS', '-i', '--max-time', '5', ...extra, url]);
  const m = /^HTTP\/(\d(?:\.\d)?) (\d{3})/.exec(r.stdout);
  const split = r.stdout.indexOf('\r\n\r\n');
  return { status: m ? Number(m[2]) : 0, version: m ? m[1] : '', body: split >= 0 ? r.stdout.slice(split + 4) : '', raw: r };
}

export function nodeConfig(opts: { dnsListen: string; healthListen: string; sections?: NodeSectionsInput }): NodeConfig {
  const resolver = defaultResolverConfig();
  const [host, port] = opts.dnsListen.split(':');
  resolver.listen = [{ host, port: Number(port) }];
  resolver.identity = 'hc-test-node';
  // The tests point it at private, unsigned roots: DNSSEC validation (on by default) is off.
  resolver.validator = { ...resolver.validator!, enabled: false };
  const sec = opts.sections ?? {};
  const [hh, hp] = opts.healthListen.split(':');
  const c = resolveSections({ ...sec, health: { listen: { host: hh, port: Number(hp) }, ...sec.health } });
  return { resolver, ...c };
}

/** Polls `check` every `everyMs` until it returns true or `timeoutMs` passes. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000, everyMs = 50): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await check()) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- spawning the real CLI --------------------------------------------------

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CLI = resolve(REPO, 'dist/cli/main.js');

export interface SpawnedNode {
  proc: ChildProcess;
  info: { pid: number; dns: Array<{ address: string; port: number }>; health: { address: string; port: number }; snmp: { address: string; port: number } | null; lameduckS: number; workers: number };
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number }>;
  kill(): void;
}

/** Starts `anycast-kit node ... --json` from dist/ and waits for its listening line. */
export async function spawnNode(args: string[], timeoutMs = 15_000): Promise<SpawnedNode> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first (npm test does)`);
  const proc = spawn(process.execPath, [CLI, 'node', ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  proc.stderr!.on('data', (d) => { err += d; });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number }>((r) => proc.on('exit', (code, signal) => r({ code, signal, atMs: Date.now() })));
  const info = await new Promise<SpawnedNode['info']>((resolveInfo, reject) => {
    const t = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`node did not start within ${timeoutMs} ms:\n${err}`)); }, timeoutMs);
    proc.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) { clearTimeout(t); resolveInfo(JSON.parse(line)); }
    });
    void exited.then((e) => { clearTimeout(t); reject(new Error(`node exited (${e.code ?? e.signal}) before listening:\n${err}`)); });
  });
  return { proc, info, stderr: () => err, exited, kill: () => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); } };
}

/** One HTTP/1.0 GET with a short timeout; status 0 when there was no answer. */
export function httpStatus(host: string, port: number, path = '/health', timeoutMs = 1000): Promise<number> {
  return new Promise((res) => {
    const s = connectTcp(port, host);
    let buf = '';
    const t = setTimeout(() => { s.destroy(); res(0); }, timeoutMs);
    s.on('data', (d) => { buf += d; });
    s.on('error', () => { clearTimeout(t); res(0); });
    s.on('close', () => { clearTimeout(t); const m = /^HTTP\/1\.\d (\d{3})/.exec(buf); res(m ? Number(m[1]) : 0); });
    s.write(`GET ${path} HTTP/1.0\r\n\r\n`);
  });
}

import { connect as connectTcp } from 'node:net';
