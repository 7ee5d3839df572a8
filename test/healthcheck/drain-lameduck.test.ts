// Drain and lameduck end to end, with the real CLI and the real resolver: two nodes,
// an emulated switch that polls each node's /health over HTTP/1.0 (as IOS IP SLA
// `http get` does) and routes to the first healthy one, and a live client sending a
// query every 5 ms along that route. No query may fail: not while draining, not
// through SIGTERM.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueryLoop, type Target } from './client-loop.js';
import { httpStatus, sleep, spawnNode, waitFor, type SpawnedNode } from './helpers.js';

const A = '127.60.10.1';
const B = '127.60.10.2';
const LAMEDUCK_S = 3;

/** Polls every node's /health like a switch with `frequency` 0.1 s and no track delay. */
class SwitchSim {
  readonly up = new Map<string, boolean>();
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly nodes: Array<{ name: string; node: SpawnedNode }>) {}
  start(): void {
    this.timer = setInterval(() => {
      for (const { name, node } of this.nodes) {
        void httpStatus(node.info.health.address, node.info.health.port, '/health', 300).then((s) => this.up.set(name, s === 200));
      }
    }, 100);
  }
  stop(): void { if (this.timer) clearInterval(this.timer); }
  route(): Target | undefined {
    for (const { name, node } of this.nodes) if (this.up.get(name)) return { address: node.info.dns[0].address, port: node.info.dns[0].port };
    return undefined;
  }
  routeName(): string | undefined {
    return this.nodes.find(({ name }) => this.up.get(name))?.name;
  }
}

describe('drain and lameduck with live traffic (real CLI and resolver)', () => {
  let dir: string;
  let a: SpawnedNode;
  let b: SpawnedNode;
  let sw: SwitchSim;
  let drainFile: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ak-ld-'));
    drainFile = join(dir, 'drain-a');
    const cfg = join(dir, 'node.yaml');
    writeFileSync(cfg, `health:\n  interval: 200ms\n  rise: 2\n  fall: 3\n  lameduck: ${LAMEDUCK_S}\n`);
    [a, b] = await Promise.all([
      spawnNode(['--config', cfg, '--listen', `${A}:0`, '--health-listen', `${A}:0`, '--identity', 'node-a', '--drain-file', drainFile]),
      spawnNode(['--config', cfg, '--listen', `${B}:0`, '--health-listen', `${B}:0`, '--identity', 'node-b']),
    ]);
    sw = new SwitchSim([{ name: 'a', node: a }, { name: 'b', node: b }]);
    sw.start();
    await waitFor('both nodes up', () => sw.up.get('a') === true && sw.up.get('b') === true, 10_000);
  });
  afterAll(async () => {
    sw?.stop();
    a?.kill();
    b?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('drain file: the switch moves traffic away within one interval, no query fails, DNS on the drained node keeps answering', async () => {
    const loop = new QueryLoop(() => sw.route());
    const direct = new QueryLoop(() => ({ address: A, port: a.info.dns[0].port }), { everyMs: 20, timeoutMs: 1000, maxQueries: 2000, name: 'localhost', type: 1 });
    await loop.start();
    await sleep(500);
    expect(sw.routeName()).toBe('a');
    const t0 = Date.now();
    writeFileSync(drainFile, '');
    await direct.start();
    await waitFor('A reports 503', async () => (await httpStatus(A, a.info.health.port)) === 503, 3000, 10);
    expect(Date.now() - t0).toBeLessThan(200 + 500); // one interval, plus polling slack on a loaded CI box
    await waitFor('switch routes to B', () => sw.routeName() === 'b', 2000, 10);
    await sleep(1000);
    const removed = Date.now();
    rmSync(drainFile);
    await waitFor('switch routes back to A', () => sw.routeName() === 'a', 5000, 10);
    // Back only through rise: at least (rise - 1) intervals after the removal was seen.
    expect(Date.now() - removed).toBeGreaterThanOrEqual(200);
    await sleep(300);
    const r = await loop.stop();
    const d = await direct.stop();
    expect(r.failures).toEqual([]);
    expect(r.failed).toBe(0);
    expect(r.byTarget[`${B}:${b.info.dns[0].port}`]).toBeGreaterThan(50);
    expect(r.byTarget[`${A}:${a.info.dns[0].port}`]).toBeGreaterThan(50);
    expect(d.failed).toBe(0);
    expect(d.answered).toBeGreaterThan(20);
  });

  it('SIGUSR1 toggles drain', async () => {
    a.proc.kill('SIGUSR1');
    await waitFor('A drained', async () => (await httpStatus(A, a.info.health.port)) === 503, 2000, 10);
    a.proc.kill('SIGUSR1');
    await waitFor('A back', async () => (await httpStatus(A, a.info.health.port)) === 200, 3000, 20);
    expect(a.stderr()).toMatch(/SIGUSR1: drain on[^]*SIGUSR1: drain off/);
  });

  it('SIGTERM: 503 at once, DNS answers for the lameduck time, then exit 0; zero failed queries', async () => {
    await waitFor('switch routes to A', () => sw.routeName() === 'a', 3000, 10);
    const loop = new QueryLoop(() => sw.route());
    // A client that keeps querying A itself through the lameduck period.
    const direct = new QueryLoop(() => ({ address: A, port: a.info.dns[0].port }), { everyMs: 20, timeoutMs: 1000, maxQueries: 2000, name: 'localhost', type: 1 });
    await loop.start();
    await sleep(500);
    const tSig = Date.now();
    a.proc.kill('SIGTERM');
    loop.mark();
    await direct.start();
    await waitFor('A reports 503', async () => (await httpStatus(A, a.info.health.port)) === 503, 2000, 5);
    const to503 = Date.now() - tSig;
    expect(to503).toBeLessThan(500); // "at once": signal delivery plus one poll, with CI slack
    await waitFor('switch routes to B', () => sw.routeName() === 'b', 2000, 10);
    // Stop the direct client shortly before the lameduck time is up.
    await sleep(LAMEDUCK_S * 1000 - (Date.now() - tSig) - 400);
    const d = await direct.stop();
    const exit = await a.exited;
    await sleep(500);
    const r = await loop.stop();
    expect(exit.code).toBe(0);
    expect(exit.atMs - tSig).toBeGreaterThanOrEqual(LAMEDUCK_S * 1000 - 50);
    expect(exit.atMs - tSig).toBeLessThan(LAMEDUCK_S * 1000 + 3000);
    expect(r.failures).toEqual([]);
    expect(r.failed).toBe(0);
    expect(r.byTargetAfterMark[`${B}:${b.info.dns[0].port}`]).toBeGreaterThan(100);
    expect(d.failures).toEqual([]);
    expect(d.answered).toBeGreaterThan(50);
    expect(a.stderr()).toMatch(/SIGTERM: lameduck for 3 s[^]*stopped/);
  });
});

describe('lameduck with --workers 2 and a systemd-style SIGTERM to every process', () => {
  const W = '127.60.11.1';
  let n: SpawnedNode;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ak-ldw-'));
    writeFileSync(join(dir, 'node.yaml'), 'health:\n  interval: 200ms\n  lameduck: 2\n');
    n = await spawnNode(['--config', join(dir, 'node.yaml'), '--listen', `${W}:0`, '--health-listen', `${W}:0`, '--workers', '2']);
    await waitFor('up', async () => (await httpStatus(W, n.info.health.port)) === 200, 15_000);
  });
  afterAll(() => {
    n?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every worker answering through the lameduck time', async () => {
    const { readFileSync, readdirSync } = await import('node:fs');
    // systemd's default KillMode=control-group signals the workers too.
    const children = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try { return readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ')[1] === String(n.info.pid); } catch { return false; }
    }).map(Number);
    expect(children.length).toBeGreaterThanOrEqual(2);
    const direct = new QueryLoop(() => ({ address: W, port: n.info.dns[0].port }), { everyMs: 5, timeoutMs: 1000, maxQueries: 5000, name: 'localhost', type: 1 });
    await direct.start();
    await sleep(300);
    const tSig = Date.now();
    for (const pid of [n.info.pid, ...children]) process.kill(pid, 'SIGTERM');
    await waitFor('503', async () => (await httpStatus(W, n.info.health.port)) === 503, 2000, 10);
    await sleep(2000 - (Date.now() - tSig) - 300);
    const d = await direct.stop();
    const exit = await n.exited;
    expect(d.failures).toEqual([]);
    expect(d.answered).toBeGreaterThan(200);
    expect(exit.code).toBe(0);
    expect(exit.atMs - tSig).toBeGreaterThanOrEqual(1950);
  });
});
