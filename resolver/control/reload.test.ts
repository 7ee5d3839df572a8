import { describe, expect, it } from 'vitest';
import { defaultResolverConfig } from '../config.js';
import { applyInPlace, describeApply } from './reload.js';

describe('applyInPlace', () => {
  it('copies changed settings into the running object, keeps nested objects, holds back restart-only ones', () => {
    const live = defaultResolverConfig();
    live.listen = [{ host: '127.0.0.1', port: 5300 }];
    const upstream = live.upstream;
    const cache = live.cache;
    const next = structuredClone(live);
    next.allow = ['10.0.0.0/8'];
    next.upstream.maxReferrals = 5;
    next.upstream.use0x20 = true;
    next.cache.maxNegativeTtl = 60;
    next.cache.maxBytes = 1 << 20;
    next.listen = [{ host: '127.0.0.1', port: 5301 }];
    next.warmupReleaseMemory = false;
    (next as unknown as Record<string, unknown>).dnssec = { trustAnchors: ['. 20326'] };
    const r = applyInPlace(live, next);
    expect(r.changed.sort()).toEqual(['allow', 'cache.maxNegativeTtl', 'dnssec', 'upstream.maxReferrals']);
    expect(r.needRestart.sort()).toEqual(['cache.maxBytes', 'listen', 'upstream.use0x20', 'warmupReleaseMemory']);
    expect(live.upstream).toBe(upstream);
    expect(live.cache).toBe(cache);
    expect(live.upstream.maxReferrals).toBe(5);
    expect(live.upstream.use0x20).toBe(false);
    expect(live.cache.maxNegativeTtl).toBe(60);
    expect(live.cache.maxBytes).toBe(64 * 1024 * 1024);
    expect(live.listen).toEqual([{ host: '127.0.0.1', port: 5300 }]);
    expect((live as unknown as Record<string, unknown>).dnssec).toEqual({ trustAnchors: ['. 20326'] });
    expect(describeApply(r)).toMatch(/^changed: .*; kept until a restart: /);
  });

  it('removes a setting the new file no longer has, and reports nothing for an identical file', () => {
    const live = defaultResolverConfig();
    live.ops = { controlMode: 0o600, warmTimeLimitMs: 1000, warmConcurrency: 1, dumpFile: '/tmp/x' };
    const next = structuredClone(live);
    delete next.ops!.dumpFile;
    expect(applyInPlace(live, next).changed).toEqual(['ops.dumpFile']);
    expect('dumpFile' in live.ops).toBe(false);
    expect(applyInPlace(live, structuredClone(live))).toEqual({ changed: [], needRestart: [] });
  });
});
