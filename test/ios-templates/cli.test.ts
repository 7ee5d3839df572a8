// The `anycast-kit ios` command, run in-process with stdout/stderr captured.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { run } from '../../cli/ios.js';
import { UsageError } from '../../common/args.js';
import { BASE } from '../../ios-templates/testdata/fixture.js';

const tmp = mkdtempSync(join(tmpdir(), 'anycast-ios-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
}

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  try {
    const code = await run(argv);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

const good = file('inventory.yaml', BASE);
const bad = file('bad.yaml', BASE.replace('threshold: 1000', 'threshold: 3000').replace('address: 10.2.0.11', 'address: 10.1.0.11').replace('delayUp: 30', 'delayUp: 0'));

describe('anycast-kit ios', () => {
  it('prints every switch headed by "! ==== <switch> ===="', async () => {
    const r = await cli('--inventory', good);
    expect(r.code).toBe(0);
    const heads = r.out.split('\n').filter((l) => l.startsWith('! ==== '));
    expect(heads).toEqual(['! ==== dc1-sw1 ====', '! ==== dc2-sw1 ====']);
    expect(r.out).toContain('ip route 192.0.2.53/32 10.2.0.11 name dc2-dns01 tag 5353 track 200');
  });

  it('--switch limits the output; an unknown switch is a usage error', async () => {
    const r = await cli('--inventory', good, '--switch', 'dc2-sw1');
    expect(r.out).not.toContain('dc1-sw1 ====');
    expect(r.out).toContain('! ==== dc2-sw1 ====');
    await expect(cli('--inventory', good, '--switch', 'nope')).rejects.toThrow(UsageError);
  });

  it('--out writes DIR/<switch>.cfg', async () => {
    const dir = join(tmp, 'out');
    const r = await cli('--inventory', good, '--out', dir);
    expect(r.code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['dc1-sw1.cfg', 'dc2-sw1.cfg']);
    expect(readFileSync(join(dir, 'dc1-sw1.cfg'), 'utf8')).toMatch(/^! anycast-kit: dc1-sw1 \(ios\)/);
  });

  it('on validation errors: exit 2, every error with file:line: field, nothing written', async () => {
    const dir = join(tmp, 'never');
    const r = await cli('--inventory', bad, '--out', dir);
    expect(r.code).toBe(2);
    expect(existsSync(dir)).toBe(false);
    expect(r.out).toBe('');
    const lines = r.err.trim().split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        `${bad}:8: service.probe.threshold: threshold 3000 ms must not exceed timeout 2000 ms (threshold ≤ timeout ≤ frequency)`,
        `${bad}:9: service.track.delayUp: must be between 1 and 180 seconds, got 0`,
        expect.stringMatching(new RegExp(`^${bad.replace(/[.]/g, '\\.')}:32: sites\\[1\\]\\.switches\\[0\\]\\.nodes\\[0\\]\\.address: address 10\\.1\\.0\\.11 is already used`)),
      ]),
    );
    expect(lines.at(-1)).toBe('anycast-kit ios: 3 error(s); nothing written');
  });

  it('--format json gives the same result as data, errors included', async () => {
    const r = await cli('--inventory', good, '--format', 'json');
    const j = JSON.parse(r.out);
    expect(j.ok).toBe(true);
    expect(j.switches.map((s: { name: string }) => s.name)).toEqual(['dc1-sw1', 'dc2-sw1']);
    expect(j.switches[0].nodes).toEqual([
      { name: 'dc1-dns01', address: '10.1.0.11', slaId: 100, trackId: 100 },
      { name: 'dc1-dns02', address: '10.1.0.12', slaId: 101, trackId: 101 },
    ]);
    const text = await cli('--inventory', good, '--switch', 'dc1-sw1');
    expect(text.out).toBe(`! ==== dc1-sw1 ====\n${j.switches[0].config}`);
    const e = await cli('--inventory', bad, '--json');
    expect(e.code).toBe(2);
    expect(JSON.parse(e.out).errors).toHaveLength(3);
  });

  it('--previous prints the change plan then the rollback; errors in either file are all reported', async () => {
    const next = file('next.yaml', BASE.replace('          - { name: dc1-dns02, address: 10.1.0.12 }\n', ''));
    const r = await cli('--inventory', next, '--previous', good, '--switch', 'dc1-sw1');
    expect(r.code).toBe(0);
    const cmds = r.out.split('\n').filter((l) => l && !l.startsWith('!'));
    expect(cmds).toEqual(['no ip route 192.0.2.53 255.255.255.255 10.1.0.12 name dc1-dns02 track 101 tag 5353', 'no track 101', 'no ip sla 101', 'ip sla 101', ' dns probe.anycast.example name-server 10.1.0.12', '  threshold 1000', '  timeout 2000', '  frequency 5', '  tag dc1-dns02', 'ip sla schedule 101 life forever start-time now', 'track 101 ip sla 101 reachability', ' delay down 10 up 30', 'ip route 192.0.2.53 255.255.255.255 10.1.0.12 name dc1-dns02 track 101 tag 5353']);
    expect(r.out.indexOf('! ==== dc1-sw1 rollback ====')).toBeGreaterThan(r.out.indexOf('no ip sla 101'));
    const both = await cli('--inventory', bad, '--previous', file('bad2.yaml', BASE.replace('tag: 5353', 'tag: x')));
    expect(both.code).toBe(2);
    expect(both.err).toContain('bad2.yaml:10: service.tag');
    expect(both.err).toContain('bad.yaml:8: service.probe.threshold');
  });

  it('--host prints the node side; --out writes its three files', async () => {
    const r = await cli('--inventory', good, '--host', 'dc1-dns02');
    expect(r.code).toBe(0);
    expect(r.out).toContain('ip addr add 192.0.2.53/32 dev anycast0');
    expect(r.out).toContain('identity: dc1-dns02');
    const dir = join(tmp, 'host');
    await cli('--inventory', good, '--host', 'dc1-dns02', '--out', dir);
    expect(readdirSync(dir).sort()).toEqual(['dc1-dns02.node.yaml', 'dc1-dns02.service', 'dc1-dns02.vip.sh']);
    await expect(cli('--inventory', good, '--host', 'nope')).rejects.toThrow(/no node named "nope" in .*; nodes: dc1-dns01, dc1-dns02, dc2-dns01/);
  });

  it('has --help and refuses bad flags', async () => {
    const h = await cli('--help');
    expect(h.code).toBe(0);
    expect(h.out).toContain('anycast-kit ios --inventory FILE [--switch NAME] [--out DIR] [--previous FILE] [--format text|json]');
    await expect(cli()).rejects.toThrow(/--inventory FILE is required/);
    await expect(cli('--inventory', good, '--format', 'xml')).rejects.toThrow(/--format must be text or json/);
    await expect(cli('--inventory', good, '--bogus')).rejects.toThrow(UsageError);
  });
});
