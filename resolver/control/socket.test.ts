import { describe, expect, it } from 'vitest';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controlRequest, startControlServer } from './socket.js';

const raw = (path: string, text: string) => new Promise<string>((resolve, reject) => {
  const s = net.connect(path, () => s.write(text));
  let buf = '';
  s.on('data', (d) => { buf += d; });
  s.on('end', () => resolve(buf));
  s.on('error', reject);
});

describe('control socket', () => {
  it('is created with its mode, answers requests, rejects malformed ones, and refuses to take a live socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ak-ctl-'));
    const path = join(dir, 'c.sock');
    const seen: string[] = [];
    const a = await startControlServer({ path, mode: 0o660, log: () => {}, handler: async (r) => { seen.push(`${r.command} ${r.args.join(' ')}`); return { ok: true, text: 'done' }; } });
    try {
      expect(statSync(path).mode & 0o777).toBe(0o660);
      expect(await controlRequest(path, { command: 'flush', args: ['example.com'] })).toEqual({ ok: true, text: 'done' });
      expect(seen).toEqual(['flush example.com']);
      expect(JSON.parse(await raw(path, 'not json\n'))).toEqual({ ok: false, text: 'malformed request: expected one JSON line {"command":..., "args":[...]}' });
      expect(JSON.parse(await raw(path, JSON.stringify({ command: 'x', args: [1] }) + '\n')).ok).toBe(false);
      expect(JSON.parse(await raw(path, 'x'.repeat(5000))).text).toBe('request too long');
      await expect(startControlServer({ path, mode: 0o600, log: () => {}, handler: async () => ({ ok: true, text: '' }) })).rejects.toThrow(/in use by another running process/);
    } finally {
      await a.close();
    }
    // A file that is not a socket is never removed.
    writeFileSync(path, 'precious');
    await expect(startControlServer({ path, mode: 0o600, log: () => {}, handler: async () => ({ ok: true, text: '' }) })).rejects.toThrow(/not a socket is in the way/);
    rmSync(path);
    await expect(controlRequest(path, { command: 'stats', args: [] })).rejects.toThrow(/no such socket/);
    rmSync(dir, { recursive: true, force: true });
  });

  it('replaces a stale socket left by a killed process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ak-ctl-'));
    const path = join(dir, 'c.sock');
    // What SIGKILL leaves: the socket file of a process that is gone.
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((r) => child.stdout!.once('data', () => r()));
    child.kill('SIGKILL');
    await new Promise<void>((r) => child.once('exit', () => r()));
    expect(statSync(path).isSocket()).toBe(true);
    await expect(raw(path, '{}\n')).rejects.toThrow(/ECONNREFUSED/);
    const s = await startControlServer({ path, mode: 0o600, log: () => {}, handler: async () => ({ ok: true, text: 'fresh' }) });
    expect((await controlRequest(path, { command: 'status', args: [] })).text).toBe('fresh');
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
