// `anycast-kit node` command line: help, usage errors (exit 2) and config file errors
// naming FILE:LINE: FIELD for every section at once (exit 1).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, run } from './helpers.js';

const node = (...args: string[]) => run(process.execPath, [CLI, 'node', ...args], 15_000);

describe('anycast-kit node command line', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'ak-cli-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints help with every flag of the issue', async () => {
    const r = await node('--help');
    expect(r.code).toBe(0);
    for (const f of ['--config FILE', '--health-listen ADDR:PORT', '--snmp-listen ADDR:PORT', '--snmp-community NAME', '--drain-file PATH', '--listen ADDR:PORT', '--workers N', '--allow CIDR', '--json']) {
      expect(r.stdout).toContain(f);
    }
  });

  it('usage errors exit 2 and say what is missing', async () => {
    const a = await node('--listen', '127.60.30.1:0');
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/--health-listen ADDR:PORT or health\.listen/);
    const b = await node('--listen', '127.60.30.1:0', '--health-listen', 'localhost');
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/--health-listen "localhost" must be ADDR:PORT/);
    const c = await node('--listen', '127.60.30.1:0', '--health-listen', '127.60.30.1:0', '--snmp-community', 'x');
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/--snmp-community needs --snmp-listen/);
    const d = await node('--listen', '127.60.30.1:0', '--health-listen', '127.60.30.1:0', '--snmp-listen', '127.60.30.1:0');
    expect(d.code).toBe(2);
    expect(d.stderr).toMatch(/SNMP agent needs a v2c community/);
    const e = await node('--heath-listen', 'x');
    expect(e.code).toBe(2);
    expect(e.stderr).toMatch(/heath-listen/);
  });

  it('reports problems in every section of the file, with line numbers, in one pass', async () => {
    const f = join(dir, 'node.yaml');
    writeFileSync(f, [
      'resolver:',
      '  listen: ["127.60.30.1:0"]',
      '  workers: lots',
      'health:',
      '  listen: 127.60.30.1:0',
      '  fall: 0',
      'snmp:',
      '  users: [{ name: ops, authProtocol: md5, authKey: aaaaaaaaaa, privProtocol: aes, privKey: bbbbbbbbbb }]',
    ].join('\n') + '\n');
    const r = await node('--config', f);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${f}:3: resolver.workers:`);
    expect(r.stderr).toContain(`${f}:6: health.fall: must be a whole number from 1 to 100`);
    expect(r.stderr).toMatch(new RegExp(`${f.replace(/[.]/g, '\\.')}:8: snmp\\.users\\[0\\]\\.authProtocol: must be one of sha224`));
  });

  it('refuses two different probe names', async () => {
    const f = join(dir, 'probe.yaml');
    writeFileSync(f, 'resolver:\n  listen: ["127.60.30.1:0"]\n  probe: { name: a.example }\nhealth:\n  listen: 127.60.30.1:0\n  probeName: b.example\n');
    const r = await node('--config', f);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/health\.probeName "b\.example" and resolver\.probe\.name "a\.example" differ/);
  });

  it('a busy port is a clear start-up error', async () => {
    const srv = (await import('node:net')).createServer();
    await new Promise<void>((r) => srv.listen(0, '127.60.30.2', () => r()));
    const port = (srv.address() as { port: number }).port;
    const r = await node('--listen', '127.60.30.2:0', '--health-listen', `127.60.30.2:${port}`);
    srv.close();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/EADDRINUSE/);
  });
});
