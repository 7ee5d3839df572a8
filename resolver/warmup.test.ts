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
    expect(r.ms).toBeGreaterThan(0);
    // The config it was given is untouched (the throwaway instance had its own copy).
    expect(cfg.upstream.queryLocalhost).toBe(false);
    expect(cfg.listen).toEqual([]);
  });

  it('does nothing for 0 queries', async () => {
    expect(await warmUp(defaultResolverConfig(), 0, () => {}, startSingle)).toMatchObject({ sent: 0, answered: 0 });
  });
});
