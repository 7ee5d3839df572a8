// The warm-up before listening: synthetic cold misses through a throwaway
// instance, on loopback only (127.0.0.1 and 127.0.0.2, ports the kernel picks).
import { describe, expect, it } from 'vitest';
import { defaultResolverConfig } from './config.js';
import { warmUp } from './warmup.js';
import { startSingle } from './server.js';

describe('warmUp', () => {
  it('answers every synthetic query (referral, answer, NXDOMAIN, cache hit) and leaves the config it was given alone', async () => {
    const logs: string[] = [];
    const cfg = defaultResolverConfig();
    const r = await warmUp(cfg, 300, (m) => logs.push(m), startSingle);
    expect(logs).toEqual([]);
    expect(r.sent).toBe(300);
    expect(r.answered).toBe(300);
    // The miss path was exercised: 4 in 5 names have an address (3 fresh, 1 a repeat), 1 in 5
    // is NXDOMAIN from the child, and the two authoritative servers were asked (at least once
    // per fresh name). Answered from the built-in "invalid" local zone instead, all 300 would
    // be NXDOMAIN and the servers never asked.
    expect(r.positive).toBe(240);
    expect(r.nxdomain).toBe(60);
    expect(r.upstream).toBeGreaterThanOrEqual(240);
    expect(r.ms).toBeGreaterThan(0);
    // The config it was given is untouched (the throwaway instance had its own copy).
    expect(cfg.upstream.queryLocalhost).toBe(false);
    expect(cfg.listen).toEqual([]);
  });

  it('leaves the warm-start dump, the names file and the control socket to the real instance', async () => {
    const { mkdtempSync, existsSync, writeFileSync, readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'ak-warmup-'));
    const dumpFile = join(dir, 'cache.dump');
    writeFileSync(dumpFile, 'not a dump, and must stay as it is');
    const cfg = defaultResolverConfig();
    cfg.ops = { controlSocket: join(dir, 'control.sock'), controlMode: 0o600, dumpFile, warmTimeLimitMs: 30_000, warmConcurrency: 16 };
    const r = await warmUp(cfg, 50, () => {}, startSingle);
    expect(r.answered).toBe(50);
    expect(readFileSync(dumpFile, 'utf8')).toBe('not a dump, and must stay as it is');
    expect(existsSync(join(dir, 'control.sock'))).toBe(false);
  });

  it('does nothing for 0 queries', async () => {
    expect(await warmUp(defaultResolverConfig(), 0, () => {}, startSingle)).toMatchObject({ sent: 0, answered: 0, positive: 0, upstream: 0 });
  });
});
