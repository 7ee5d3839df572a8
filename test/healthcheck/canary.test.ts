// Canaries with the real resolver: recursion through a small authoritative server
// (lab/authserver) to a nonce name; when the authority disappears the node becomes
// `degraded` but stays up (default), and recovers when it returns.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAuthServer, Zone, ZoneSet, type AuthServer } from '../../lab/authserver/index.js';
import { startNode, type NodeHandle } from '../../node/node.js';
import { parseExposition } from './exposition.js';
import { curl, nodeConfig, waitFor } from './helpers.js';

const AUTH = '127.60.40.1';
const NODE = '127.60.40.10';

const ROOT = `$TTL 3600
@ SOA a.root-servers.net. hostmaster.invalid. 1 3600 600 86400 60
@ NS a.root-servers.net.
a.root-servers.net. A ${AUTH}
example. NS ns.example.
ns.example. A ${AUTH}
`;
const EXAMPLE = `$TTL 3600
@ SOA ns hostmaster 1 3600 600 86400 5
@ NS ns
ns A ${AUTH}
www A 192.0.2.80
`;

describe('canaries through the real resolver', () => {
  let dir: string;
  let auth: AuthServer | undefined;
  let node: NodeHandle;
  const zones = () => new ZoneSet([Zone.parse('', ROOT), Zone.parse('example', EXAMPLE)]);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ak-canary-'));
    writeFileSync(join(dir, 'root.hints'), `.  3600000  NS  a.root-servers.net.\na.root-servers.net.  3600000  A  ${AUTH}\n`);
    auth = await startAuthServer({ zones: zones(), address: AUTH, port: 53 });
    const cfg = nodeConfig({
      dnsListen: `${NODE}:0`, healthListen: `${NODE}:0`,
      sections: { health: { intervalMs: 250, rise: 2, fall: 3, canaries: [{ name: 'example', type: 1, nonce: true }, { name: 'www.example', type: 1, nonce: false }], canaryIntervalMs: 1000, canaryTimeoutMs: 800 } },
    });
    cfg.resolver.rootHintsFile = join(dir, 'root.hints');
    cfg.resolver.upstream.queryLocalhost = true;
    cfg.resolver.upstream.timeoutMs = 300;
    cfg.resolver.upstream.resolutionTimeoutMs = 700;
    node = await startNode(cfg, { log: () => {} });
    await waitFor('up', () => node.health === 'up', 10_000);
  });
  afterAll(async () => {
    await node?.close();
    await auth?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes while recursion works: a nonce name gets NXDOMAIN from the authority', async () => {
    await waitFor('a canary round', () => node.monitor.canaries.every((c) => c.ok > 0), 5000);
    const d = node.detail() as { degraded: boolean; canaries: Array<{ name: string; last: { asked: string; rcode: string } }> };
    expect(d.degraded).toBe(false);
    expect(d.canaries[0].last.asked).toMatch(/^ak-[a-z0-9]{12}\.example$/);
    expect(d.canaries[0].last.rcode).toBe('NXDOMAIN');
    expect(d.canaries[1].last.rcode).toBe('NOERROR');
  });

  it('reports degraded, and stays up, when the authority goes away; recovers when it returns', async () => {
    await auth!.close();
    auth = undefined;
    await waitFor('degraded', () => node.monitor.machine.degraded, 8000, 50);
    const base = `http://${NODE}:${node.http.port}`;
    const h = await curl(`${base}/health`, ['--http1.0']);
    expect(h.status).toBe(200);
    expect(h.body).toMatch(/^OK up \(degraded: canary example: /);
    const { samples } = parseExposition((await curl(`${base}/metrics`)).body);
    expect(samples.get('anycastkit_health_degraded')).toBe(1);
    expect(samples.get('anycastkit_health_canary_checks_total{name="example",result="failed"}')).toBeGreaterThan(0);
    // The nonce canary cannot be served from cache; the plain one may be (cached www A).
    expect(node.monitor.canaries[0].last?.ok).toBe(false);
    expect(node.health).toBe('up');
    auth = await startAuthServer({ zones: zones(), address: AUTH, port: 53 });
    await waitFor('no longer degraded', () => !node.monitor.machine.degraded, 10_000, 50);
    expect(node.health).toBe('up');
    expect(node.monitor.machine.counts.transitions).toBe(1);
  });
});
