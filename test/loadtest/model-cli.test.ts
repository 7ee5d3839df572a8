// The model's three commands as operators run them: the built CLI (dist/) under this
// Node. Checks output, --json, exit statuses and the messages for bad input.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { THREE_SITE } from '../../loadtest/model/testdata/three-site.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'dist/cli/main.js');
const EXAMPLE = join(ROOT, 'loadtest/examples/topology.yaml');
const CLIENTS = join(ROOT, 'loadtest/examples/clients.txt');

function cli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" first (npm test does)`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, 'loadtest', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (status) => {
      clearTimeout(t);
      resolve({ status, stdout, stderr });
    });
  });
}

let dir: string;
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

const THREE = THREE_SITE;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'model-cli-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('loadtest cef', () => {
  it('--help says the hash is a model', async () => {
    const r = await cli(['cef', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Cisco has not published its hash');
  });

  it('prints the hand-computed /24 split and answers exact-route', async () => {
    const clients = file('c24.txt', '10.1.5.0/24\n');
    const r = await cli(['cef', '--vip', '192.0.2.53', '--endpoints', '10.9.0.100,10.9.0.9,10.9.0.10', '--clients', clients, '--exact-route', '10.1.5.7']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('3 paths, 15-row table');
    expect(r.stdout).toMatch(/^\s+1\s+10\.9\.0\.10\s+5\s+86\s+33\.59%\s+1\.008x/m);
    expect(r.stdout).toContain('10.1.5.7 -> 192.0.2.53 => 10.9.0.9 (path 0, key 1842, row 12)');
  });

  it('--json conserves the offered load over the example clients', async () => {
    const r = await cli(['cef', '--vip', '192.0.2.53', '--endpoints', '5', '--clients', CLIENTS, '--algorithm', 'universal', '--id', '0x9E3B1A95', '--json']);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout) as { distribution: { totalQps: number; id: number; endpoints: Array<{ qps: number }> } };
    expect(j.distribution.id).toBe(0x9e3b1a95);
    const sum = j.distribution.endpoints.reduce((a, e) => a + e.qps, 0);
    expect(Math.abs(sum - j.distribution.totalQps)).toBeLessThan(1e-6);
    expect(j.distribution.totalQps).toBeCloseTo(9000 + 4500 + 1200 + 2600 + 3 * 256 + 300 + 1500 + 2500, 6);
  });

  it('calibrates against captured exact-route output', async () => {
    // seed-xor predictions for endpoints .11/.12/.13 (see loadtest/model/calibrate.test.ts).
    const cap = file('cap.txt', 'sw#show ip cef exact-route 10.1.5.7 192.0.2.53\n10.1.5.7 -> 192.0.2.53 => IP adj out of Vlan100, addr 10.1.0.11\n10.1.5.53 -> 192.0.2.53 => IP adj out of Vlan100, addr 10.1.0.12\n10.1.5.1 -> 192.0.2.53 => IP adj out of Vlan100, addr 10.1.0.13\n');
    const r = await cli(['cef', '--calibrate', cap, '--endpoints', '10.1.0.11,10.1.0.12,10.1.0.13']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/seed-xor\s+3\s+3\s+100\.0%/);
    expect(r.stdout).toContain('best match: seed-xor');
  });

  it('rejects bad input with clear messages and statuses', async () => {
    const missing = await cli(['cef', '--endpoints', '3', '--clients', CLIENTS]);
    expect([missing.status, missing.stderr.trim()]).toEqual([2, 'anycast-kit loadtest: --vip IP is required with --clients or --exact-route']);
    const bad = file('bad.txt', '10.0.0.0/24\n10.0.0.1/24 5\n');
    const r = await cli(['cef', '--vip', '192.0.2.53', '--endpoints', '3', '--clients', bad]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${bad}:2: address: "10.0.0.1/24" has host bits set; did you mean 10.0.0.0/24?`);
    const port = await cli(['cef', '--vip', '192.0.2.53', '--endpoints', '3', '--algorithm', 'include-ports', '--exact-route', '10.1.1.1']);
    expect(port.status).toBe(2);
    expect(port.stderr).toContain('include-ports hashes the source port too; give SRC:PORT');
    const algo = await cli(['cef', '--vip', '192.0.2.53', '--endpoints', '3', '--clients', CLIENTS, '--algorithm', 'crc16']);
    expect([algo.status, algo.stderr]).toEqual([2, 'anycast-kit loadtest: --algorithm must be one of seed-xor, universal, include-ports, got "crc16"\n']);
  });
});

describe('loadtest failover', () => {
  it('prints the step-by-step cascade', async () => {
    const topo = file('three.yaml', THREE);
    const r = await cli(['failover', '--topology', topo, '--fail', 'dc1']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('step 0: 3 withdrawn: dc2-a, dc2-b, dc2-c');
    expect(r.stdout).toContain('step 1: 4 withdrawn: dc3-a, dc3-b, dc3-c, dc3-d');
    expect(r.stdout).toContain('step 2: stable');
    expect(r.stdout).toContain('result: CASCADE: 7 node(s) withdrawn beyond the initial failure');
    expect(r.stdout).toContain('served 0 qps, dropped 110,000 qps (100.0%) of 110,000 offered');
  });

  it('--json and --all-single', async () => {
    const topo = file('three.yaml', THREE);
    const j = JSON.parse((await cli(['failover', '--topology', topo, '--fail', 'dc2', '--json'])).stdout) as { scenario: { cascaded: boolean; servedQps: number } };
    expect(j.scenario).toMatchObject({ cascaded: false, servedQps: 110000 });
    const m = await cli(['failover', '--topology', topo, '--all-single']);
    expect(m.status).toBe(0);
    expect(m.stdout).toContain('survival matrix: 13 single failures: 9 without cascade, 4 cascade, 5 drop traffic');
    expect(m.stdout).toMatch(/^site dc1\s+failed\s+LOST\s+LOST\s+YES\s+110,000$/m);
    const mj = JSON.parse((await cli(['failover', '--topology', topo, '--all-single', '--json', '--fail', 'dc3-a'])).stdout) as { base: string[]; matrix: { total: number } };
    expect(mj.base).toEqual(['dc3-a']);
    expect(mj.matrix.total).toBe(12); // 3 sites + 9 remaining nodes
  });

  it('names file, line and field for a bad topology, and rejects unknown --fail names', async () => {
    const topo = file('bad.yaml', THREE.replace('capacity: 20000 }', 'capacity: lots }'));
    const r = await cli(['failover', '--topology', topo]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`anycast-kit loadtest: ${topo}:15: sites[1].nodes[0].capacity: must be a number above 0, got "lots"\n`);
    const u = await cli(['failover', '--topology', file('three.yaml', THREE), '--fail', 'dc7']);
    expect(u.status).toBe(1);
    expect(u.stderr).toContain('--fail "dc7" is neither a site nor a node');
    const none = await cli(['failover']);
    expect(none.status).toBe(2);
  });
});

describe('loadtest plan', () => {
  it('writes report.html and the Markdown twin and prints the plan', async () => {
    const out = join(dir, 'report.html');
    const md = join(dir, 'report.md');
    const r = await cli(['plan', '--topology', file('three.yaml', THREE), '--out', out, '--markdown', md]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^dc1\s+3\s+4\s+\+1\s+one node lost here/m);
    expect(r.stdout).toMatch(/^dc2\s+3\s+5\s+\+2\s+site dc1 lost/m);
    expect(r.stdout).toContain('plan verified: the planned topology survives all 14 single failures');
    expect(readFileSync(out, 'utf8')).toContain('id="chart-cascade"');
    expect(readFileSync(md, 'utf8')).toMatch(/\| dc2 \| 3 \| 5 \| \+2 \|/);
  });

  it('takes capacity from loadtest capacity/run JSON results', async () => {
    const capacity = file('cap.json', JSON.stringify({ capacityQps: 30000, target: '127.0.0.1:53' }));
    const runResult = file('run.json', JSON.stringify({ achievedQps: 12000 }));
    const r = await cli(['plan', '--topology', file('three.yaml', THREE), '--json', '--capacity-from', capacity, '--capacity-from', `dc3-a=${runResult}`]);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout) as { capacitySources: string[]; baseline: { nodes: Array<{ node: string; limitQps: number }> }; plan: { sites: Array<{ nodeCapacityQps: number; recommendedNodes: number }> } };
    expect(j.baseline.nodes.find((n) => n.node === 'dc1-a')!.limitQps).toBe(30000);
    expect(j.baseline.nodes.find((n) => n.node === 'dc3-a')!.limitQps).toBe(12000);
    expect(j.plan.sites.map((s) => s.nodeCapacityQps)).toEqual([30000, 30000, 12000]);
    expect(j.capacitySources[1]).toContain('achievedQps');
  });

  it('refuses a smoke run as a capacity unless --allow-unsaturated', async () => {
    const topo = file('three.yaml', THREE);
    const smoke = file('smoke.json', JSON.stringify({ kind: 'anycast-kit.loadtest.run', mode: 'closed-loop', sent: 30, durationS: 0.01, achievedQps: 5544, lossPct: 0 }));
    const r = await cli(['plan', '--topology', topo, '--json', '--capacity-from', `dc1=${smoke}`]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${smoke}:0: (top): not a capacity: only 30 queries were sent`);
    const f = await cli(['plan', '--topology', topo, '--json', '--allow-unsaturated', '--capacity-from', `dc1=${smoke}`]);
    expect(f.status).toBe(0);
    expect((JSON.parse(f.stdout) as { capacitySources: string[] }).capacitySources[0]).toMatch(/NOT saturated/);
  });

  it('rejects a bad results file, an unknown target and a missing --out', async () => {
    const topo = file('three.yaml', THREE);
    const bad = file('bad.json', JSON.stringify({ qps: 5 }));
    const r = await cli(['plan', '--topology', topo, '--out', join(dir, 'x.html'), '--capacity-from', bad]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${bad}:0: (top): no top-level "capacityQps" (from loadtest capacity) or "achievedQps" (from loadtest run)`);
    expect(existsSync(join(dir, 'x.html'))).toBe(false);
    const t = await cli(['plan', '--topology', topo, '--json', '--capacity-from', `dc9=${file('ok.json', '{"capacityQps": 1000}')}`]);
    expect(t.status).toBe(1);
    expect(t.stderr).toContain('"dc9" is neither a site nor a node');
    const o = await cli(['plan', '--topology', topo]);
    expect([o.status, o.stderr]).toEqual([2, 'anycast-kit loadtest: --out report.html is required (or --markdown FILE, or --json)\n']);
  });

  it('plans the example deployment', async () => {
    const r = await cli(['plan', '--topology', EXAMPLE, '--markdown', join(dir, 'ex.md')]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('single failures: 20 of 20 survive without a cascade');
  });
});
