// The built CLI as a child process, for end-to-end tests (test/resolver/*.test.ts):
// start it with --json and wait for its "listening" line, stop it, ask it with dig.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const CLI = join(import.meta.dirname, '../../dist/cli/main.js');

export interface Running { child: ChildProcess; port: number; udpIo: string; stderr: () => string; exited: Promise<number | null> }

/** Starts the built CLI with --json and waits for its "listening" line. */
export async function startCli(args: string[], timeoutMs = 15_000, env: NodeJS.ProcessEnv = {}): Promise<Running> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  const child = spawn(process.execPath, [CLI, 'resolver', ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let udpIo = '';
  let err = '';
  let out = '';
  child.stderr!.on('data', (d) => { err += d; });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`resolver did not start: ${err}`)); }, timeoutMs);
    child.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.includes('"listening"'));
      if (line) {
        clearTimeout(t);
        const ev = JSON.parse(line) as { listening: Array<{ port: number }>; udpIo: string };
        udpIo = ev.udpIo;
        resolve(ev.listening[0].port);
      }
    });
    child.once('exit', (code) => { clearTimeout(t); reject(new Error(`resolver exited (${code}): ${err}`)); });
  });
  return { child, port, udpIo, stderr: () => err, exited };
}

export async function stopCli(r: Running): Promise<number | null> {
  if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGTERM');
  const t = setTimeout(() => r.child.kill('SIGKILL'), 8000);
  const code = await r.exited;
  clearTimeout(t);
  return code;
}

export function dig(server: string, port: number, ...args: string[]): string {
  const r = spawnSync('dig', [`@${server}`, '-p', String(port), '+tries=1', '+time=3', ...args], { encoding: 'utf8', timeout: 15_000 });
  if (r.error) throw r.error;
  return r.stdout;
}


/** A private root zone that delegates example. to one server (the CLI tests' NSD tree). */
export function rootZone(rootNs: string, exampleNs: string): string {
  return [
    '$TTL 86400',
    '. SOA a.root.srv. nobody.invalid. 1 1800 900 604800 3600',
    '. NS a.root.srv.',
    'a.root.srv. A ' + rootNs,
    'example. NS ns1.example.',
    'ns1.example. A ' + exampleNs,
    '',
  ].join('\n');
}
