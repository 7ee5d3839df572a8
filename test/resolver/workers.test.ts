// --workers N: processes sharing each listen address through SO_REUSEPORT.
// Uses the built worker script (dist/resolver/worker-main.js): npm test builds first.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLASS, RCODE, TYPE } from '../../dns/constants.js';
import { defaultResolverConfig } from '../../resolver/config.js';
import { startWorkers, type WorkersHandle } from '../../resolver/workers.js';
import { udpQuery } from './helpers.js';

const HOST = '127.10.9.1';

describe('--workers 2', () => {
  let h: WorkersHandle;
  let port: number;
  const logs: string[] = [];

  beforeAll(async () => {
    const cfg = { ...defaultResolverConfig(), listen: [{ host: HOST, port: 0 }], workers: 2, identity: 'w-node' };
    h = await startWorkers(cfg, { log: (m) => logs.push(m) });
    port = h.listening[0].port;
  });
  afterAll(async () => { await h?.close(); });

  it('serves on one port from both workers and merges their stats', async () => {
    expect(port).toBeGreaterThan(0);
    const before = await h.stats();
    expect(before.workers).toBe(2);
    // Each query comes from a fresh source port, so the kernel's hash spreads them.
    for (let i = 0; i < 40; i++) {
      const m = await udpQuery(HOST, port, { name: 'id.server', type: TYPE.TXT, class: CLASS.CH });
      expect(m.rcode).toBe(RCODE.NOERROR);
    }
    const after = await h.stats();
    expect(after.queriesByProtocol.udp - before.queriesByProtocol.udp).toBe(40);
    expect(after.answersByRcode.NOERROR - before.answersByRcode.NOERROR).toBe(40);
  });

  it('broadcasts the probe mode to every worker', async () => {
    h.setProbeMode('refused');
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 20; i++) {
      expect((await udpQuery(HOST, port, { name: 'health.anycast-kit.invalid', type: TYPE.A })).rcode).toBe(RCODE.REFUSED);
    }
    h.setProbeMode('healthy');
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 20; i++) {
      expect((await udpQuery(HOST, port, { name: 'health.anycast-kit.invalid', type: TYPE.A })).rcode).toBe(RCODE.NOERROR);
    }
  });

  it('keeps counters monotonic and serving when a worker dies and is restarted', async () => {
    const before = await h.stats();
    // Find a worker process and kill it hard.
    const pids = h.pids();
    expect(pids.length).toBe(2);
    process.kill(pids[0], 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    for (let i = 0; i < 10; i++) {
      expect((await udpQuery(HOST, port, { name: 'id.server', type: TYPE.TXT, class: CLASS.CH })).rcode).toBe(RCODE.NOERROR);
    }
    const mid = await h.stats();
    expect(mid.queriesByProtocol.udp).toBeGreaterThanOrEqual(before.queriesByProtocol.udp + 10);
    const deadline = Date.now() + 5000;
    while ((await h.stats()).workers < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect((await h.stats()).workers).toBe(2);
    expect(h.pids()).not.toContain(pids[0]);
    expect(logs.some((l) => /worker \d exited/.test(l))).toBe(true);
  });
});
