import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResolverHandle, ProbeAnswerMode } from '../resolver/api.js';
import { emptyStats } from '../resolver/stats.js';
import { resolveSections, type HealthSettings } from './config.js';
import { HealthMonitor, probeModeFor } from './monitor.js';
import type { DnsProbeRequest, DnsProbeResult } from './probe.js';

function handle(listening: ResolverHandle['listening']) {
  const modes: ProbeAnswerMode[] = [];
  let n = 0;
  const h: ResolverHandle = {
    listening,
    async stats() { const s = emptyStats(); s.queriesByProtocol.udp = (n += 100); return s; },
    setProbeMode(m) { modes.push(m); },
    async close() {},
  };
  return { h, modes };
}

function settings(over: Partial<HealthSettings> = {}): HealthSettings {
  return { ...resolveSections({}).health, rise: 2, fall: 2, ...over };
}

const answered = (rcode: number, rcodeName: string): DnsProbeResult => ({ answered: true, rttMs: 0.3, rcode, rcodeName, answers: rcode === 0 ? 1 : 0 });

describe('HealthMonitor', () => {
  const dirs: string[] = [];
  afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

  it('probes every listener (wildcards via loopback, duplicates once) for the probe name', async () => {
    const { h, modes } = handle([
      { address: '0.0.0.0', port: 53, family: 4 }, { address: '0.0.0.0', port: 53, family: 4 },
      { address: '::', port: 53, family: 6 }, { address: '192.0.2.53', port: 5300, family: 4 },
    ]);
    const seen: DnsProbeRequest[] = [];
    const m = new HealthMonitor({ resolver: h, settings: settings(), probe: async (r) => { seen.push(r); return answered(5, 'REFUSED'); } });
    expect(modes).toEqual(['refused']);
    await m.tick();
    expect(seen.map((r) => `${r.target.address}:${r.target.port}`)).toEqual(['127.0.0.1:53', '::1:53', '192.0.2.53:5300']);
    expect(seen.every((r) => r.name === 'health.anycast-kit.invalid')).toBe(true);
    await m.tick();
    expect(m.machine.state).toBe('up');
    expect(modes).toEqual(['refused', 'healthy']);
  });

  it('fails the probe when any listener is silent or answers something other than NOERROR/REFUSED', async () => {
    const { h } = handle([{ address: '127.0.0.1', port: 53, family: 4 }, { address: '127.0.0.2', port: 53, family: 4 }]);
    let mode: 'ok' | 'one-silent' | 'servfail' = 'ok';
    const m = new HealthMonitor({ resolver: h, settings: settings(), probe: async (r) => {
      if (mode === 'one-silent' && r.target.address === '127.0.0.2') return { answered: false, error: 'timeout after 1000 ms' };
      if (mode === 'servfail') return answered(2, 'SERVFAIL');
      return answered(0, 'NOERROR');
    } });
    await m.tick(); await m.tick();
    expect(m.machine.state).toBe('up');
    mode = 'one-silent';
    await m.tick();
    expect(m.recentProbes.at(-1)).toMatchObject({ ok: false, error: 'timeout after 1000 ms (127.0.0.2:53)' });
    mode = 'servfail';
    await m.tick();
    expect(m.recentProbes.at(-1)).toMatchObject({ ok: false, rcode: 'SERVFAIL' });
    expect(m.machine.state).toBe('down');
  });

  it('warns, without failing, when the probe name is REFUSED while serving (probe mode out of step)', async () => {
    const { h } = handle([{ address: '127.0.0.1', port: 53, family: 4 }]);
    const logs: string[] = [];
    const m = new HealthMonitor({ resolver: h, settings: settings(), probe: async () => answered(5, 'REFUSED'), log: (l) => logs.push(l) });
    for (let i = 0; i < 5; i++) await m.tick();
    expect(logs.filter((l) => /^warning: probe name answered REFUSED/.test(l))).toHaveLength(1);
    expect(m.machine.state).toBe('up');
    expect(m.recentProbes.at(-1)?.warning).toMatch(/probe mode disagrees/);
    expect(m.recentProbes[0].warning).toBeUndefined();
  });

  it('follows the drain file, and keeps the state when the file cannot be checked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ak-mon-')); dirs.push(dir);
    const file = join(dir, 'sub', 'drain');
    const { h } = handle([{ address: '127.0.0.1', port: 53, family: 4 }]);
    const logs: string[] = [];
    const m = new HealthMonitor({ resolver: h, settings: settings({ drainFile: file }), probe: async () => answered(0, 'NOERROR'), log: (l) => logs.push(l) });
    await m.tick(); await m.tick();
    expect(m.machine.state).toBe('up');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(file, '');
    await m.tick();
    expect(m.machine.state).toBe('draining');
    if (process.getuid?.() !== 0) {
      chmodSync(join(dir, 'sub'), 0);
      await m.checkDrainFile();
      expect(m.machine.state).toBe('draining');
      expect(logs.some((l) => /cannot check drain file/.test(l))).toBe(true);
      chmodSync(join(dir, 'sub'), 0o755);
    }
    rmSync(file);
    await m.tick();
    expect(m.machine.state).toBe('starting');
  });

  it('drained or lameducking: no answer to the probe name by default, REFUSED as an option', async () => {
    expect(probeModeFor('up', 'none')).toBe('healthy');
    expect(probeModeFor('starting', 'none')).toBe('refused');
    expect(probeModeFor('down', 'none')).toBe('refused');
    expect(probeModeFor('draining', 'none')).toBe('silent');
    expect(probeModeFor('lameduck', 'none')).toBe('silent');
    expect(probeModeFor('draining', 'refused')).toBe('refused');
    expect(probeModeFor('lameduck', 'refused')).toBe('refused');
    expect(settings().drainProbeAnswer).toBe('none');
    for (const [opt, want] of [['none', 'silent'], ['refused', 'refused']] as const) {
      const dir = mkdtempSync(join(tmpdir(), 'ak-mon-')); dirs.push(dir);
      const file = join(dir, 'drain');
      const { h, modes } = handle([{ address: '127.0.0.1', port: 53, family: 4 }]);
      const m = new HealthMonitor({ resolver: h, settings: settings({ drainFile: file, drainProbeAnswer: opt }), probe: async () => answered(0, 'NOERROR') });
      await m.tick(); await m.tick();
      writeFileSync(file, '');
      await m.tick();
      expect(m.machine.state).toBe('draining');
      expect(modes).toEqual(['refused', 'healthy', want]);
    }
  });

  it('canaries: NOERROR/NXDOMAIN pass, SERVFAIL and silence degrade; nonces defeat the cache', async () => {
    const { h } = handle([{ address: '127.0.0.1', port: 53, family: 4 }]);
    const asked: string[] = [];
    let broken = false;
    const m = new HealthMonitor({
      resolver: h,
      settings: settings({ canaries: [{ name: 'example.com', type: 1, nonce: true }, { name: 'example.net', type: 28, nonce: false }] }),
      probe: async (r) => {
        if (r.name === 'health.anycast-kit.invalid') return answered(0, 'NOERROR');
        asked.push(`${r.name}/${r.type}/${r.rd}`);
        if (broken) return r.type === 28 ? { answered: false, error: 'timeout after 3000 ms' } : answered(2, 'SERVFAIL');
        return r.type === 28 ? answered(0, 'NOERROR') : answered(3, 'NXDOMAIN');
      },
    });
    await m.canaryRound();
    expect(m.machine.degraded).toBe(false);
    expect(asked[0]).toMatch(/^ak-[a-z0-9]{12}\.example\.com\/1\/true$/);
    expect(asked[1]).toBe('example.net/28/true');
    broken = true;
    await m.canaryRound();
    expect(m.machine.degraded).toBe(true);
    expect(m.machine.snapshot().degradedReasons).toEqual(['canary example.com: answered SERVFAIL', 'canary example.net: timeout after 3000 ms']);
    expect(m.canaries.map((c) => [c.ok, c.failed])).toEqual([[1, 1], [1, 1]]);
    // Degraded does not withdraw by default.
    await m.tick(); await m.tick();
    expect(m.machine.state).toBe('up');
  });

  it('samples stats into the load window', async () => {
    const { h } = handle([{ address: '127.0.0.1', port: 53, family: 4 }]);
    let t = 0;
    const m = new HealthMonitor({ resolver: h, settings: settings(), now: () => t, probe: async () => answered(0, 'NOERROR') });
    await m.sampleStats(); t = 1000;
    await m.sampleStats();
    expect(m.load.figures().queriesPerSecond).toBe(100);
  });
});
