// The warm-up before listening: synthetic cold misses through a throwaway
// instance, on loopback only (127.0.0.1 and 127.0.0.2, ports the kernel picks).
import { describe, expect, it } from 'vitest';
import { defaultResolverConfig } from './config.js';
import { defaultCookieSettings, defaultRateLimitSettings } from './defence/settings.js';
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
    // The answers came through the iterator from the warm-up's own authoritative
    // servers: 1 in 5 names does not exist, the others answer. (Until the throwaway
    // instance stopped treating "invalid" as a local zone, all 300 were answered
    // NXDOMAIN locally and its servers got no query: nothing of the miss path warmed.)
    expect(r).toMatchObject({ noerror: 240, nxdomain: 60, other: 0 });
    // At least one upstream query per distinct fresh name (180 of them are w<i> names).
    expect(r.upstream).toBeGreaterThanOrEqual(180);
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

  it("reaches its own servers whatever the node's forwarders, rate limit and cookie settings", async () => {
    const dgram = await import('node:dgram');
    // A forwarder for everything, on loopback: the warm-up must never send it a query.
    const fwd = dgram.createSocket('udp4');
    let forwarded = 0;
    fwd.on('message', () => { forwarded++; });
    await new Promise<void>((r) => fwd.bind(0, '127.0.0.1', () => r()));
    try {
      const cfg = defaultResolverConfig();
      cfg.forwardZones = [{ zone: '', addresses: [{ host: '127.0.0.1', port: fwd.address().port }], first: false }];
      cfg.rateLimit = { ...defaultRateLimitSettings(), qps: 1, burst: 1, slip: 0 };
      cfg.cookies = { ...defaultCookieSettings(), enforce: true };
      cfg.localZonesNodefault = ['test'];
      const r = await warmUp(cfg, 100, () => {}, startSingle);
      expect(r).toMatchObject({ sent: 100, answered: 100, noerror: 80, nxdomain: 20 });
      expect(r.upstream).toBeGreaterThanOrEqual(60);
      expect(forwarded).toBe(0);
      // The node's own settings are untouched.
      expect(cfg.localZonesNodefault).toEqual(['test']);
      expect(cfg.cookies.enforce).toBe(true);
    } finally {
      fwd.close();
    }
  });

  it('does nothing for 0 queries', async () => {
    expect(await warmUp(defaultResolverConfig(), 0, () => {}, startSingle)).toMatchObject({ sent: 0, answered: 0, upstream: 0 });
  });
});
