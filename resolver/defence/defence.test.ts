import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { YamlSource } from '../../common/yaml-source.js';
import { buildQuery } from '../../dns/message.js';
import { RCODE, TYPE } from '../../dns/constants.js';
import { defaultResolverConfig, readResolverSection, type ResolverConfig } from '../config.js';
import { Front } from '../front.js';
import type { Replier } from '../listener/replier.js';
import { emptyStats } from '../stats.js';
import type { UpstreamOutcome, UpstreamQuestion, Upstream } from '../transport/upstream.js';
import { FakeResolution, answer, rec } from '../../test/resolver/helpers.js';
import { ClientRateLimiter, RL, clientPrefix } from './ratelimit.js';
import { defaultRateLimitSettings } from './settings.js';
import { ZoneLimitedUpstream } from './zone-limit.js';
import { Guard, GV, withCookieSecret } from './guard.js';

describe('client prefixes', () => {
  it('groups IPv4 by /24 and IPv6 by /56; IPv4-mapped addresses count as IPv4', () => {
    expect(clientPrefix('192.0.2.1', 24, 56)).toBe(clientPrefix('192.0.2.254', 24, 56));
    expect(clientPrefix('192.0.2.1', 24, 56)).not.toBe(clientPrefix('192.0.3.1', 24, 56));
    expect(clientPrefix('::ffff:192.0.2.9', 24, 56)).toBe(clientPrefix('192.0.2.1', 24, 56));
    expect(clientPrefix('2001:db8:0:ff00::1', 24, 56)).toBe(clientPrefix('2001:db8:0:ff12::2', 24, 56));
    expect(clientPrefix('2001:db8:0:ff00::1', 24, 56)).not.toBe(clientPrefix('2001:db8:0:fe00::1', 24, 56));
    expect(clientPrefix('not an address', 24, 56)).toBe('');
  });
});

describe('ClientRateLimiter', () => {
  const settings = (over = {}) => ({ ...defaultRateLimitSettings(), qps: 10, burst: 5, slip: 2, ...over });

  it('passes the burst, then drops and slips alternately; refills at qps', () => {
    const rl = new ClientRateLimiter(settings());
    const v = Array.from({ length: 9 }, () => rl.check('192.0.2.1', 0));
    expect(v).toEqual([RL.PASS, RL.PASS, RL.PASS, RL.PASS, RL.PASS, RL.DROP, RL.SLIP, RL.DROP, RL.SLIP]);
    // Another address of the same /24 shares the bucket; another /24 has its own.
    expect(rl.check('192.0.2.77', 0)).toBe(RL.DROP);
    expect(rl.check('192.0.3.1', 0)).toBe(RL.PASS);
    // 10 qps: 100 ms later one token is back.
    expect(rl.check('192.0.2.1', 100)).toBe(RL.PASS);
    expect(rl.check('192.0.2.1', 100)).not.toBe(RL.PASS);
  });

  it('slip 0 drops everything over the limit, slip 1 truncates everything', () => {
    const drop = new ClientRateLimiter(settings({ slip: 0, burst: 1 }));
    drop.check('192.0.2.1', 0);
    expect([drop.check('192.0.2.1', 0), drop.check('192.0.2.1', 0)]).toEqual([RL.DROP, RL.DROP]);
    const tc = new ClientRateLimiter(settings({ slip: 1, burst: 1 }));
    tc.check('192.0.2.1', 0);
    expect([tc.check('192.0.2.1', 0), tc.check('192.0.2.1', 0)]).toEqual([RL.SLIP, RL.SLIP]);
  });

  it('never limits the exempt networks', () => {
    const rl = new ClientRateLimiter(settings({ burst: 1, exempt: ['198.51.100.0/24'] }));
    for (let i = 0; i < 50; i++) expect(rl.check('198.51.100.7', 0)).toBe(RL.PASS);
    expect(rl.size).toBe(0);
  });

  it('holds at most max_clients buckets, evicting the least recently used', () => {
    const rl = new ClientRateLimiter(settings({ maxClients: 100, burst: 1 }));
    rl.check('10.0.0.1', 0); // spends its one token
    for (let i = 1; i <= 99; i++) rl.check(`10.0.${i}.1`, 0);
    rl.check('10.0.0.1', 0); // used again: now the most recent
    for (let i = 100; i < 10_100; i++) rl.check(`10.${i >> 8}.${i & 255}.1`, 0);
    expect(rl.size).toBe(100);
    expect(rl.evictions).toBe(10_000);
  });
});

describe('Guard', () => {
  it('makes a random secret, logs why, and keeps a configured one', () => {
    const logs: string[] = [];
    const cfg = withCookieSecret(defaultResolverConfig(), (m) => logs.push(m));
    expect(cfg.cookies!.secrets[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(logs.join('\n')).toMatch(/will not be valid on the other nodes/);
    const given = { ...defaultResolverConfig(), cookies: { ...defaultResolverConfig().cookies!, secrets: ['00112233445566778899aabbccddeeff'] } };
    expect(withCookieSecret(given, () => { throw new Error('no log expected'); })).toBe(given);
  });

  it('is idle with cookies off and no rate limit', () => {
    const g = new Guard({ cookies: { enabled: false, secrets: [], enforce: false, upstream: false } });
    const msg = Buffer.alloc(40);
    expect(g.screen(msg, 20, 8, '192.0.2.1', true, 0)).toBe(GV.PASS);
    expect(g.replyCookie).toBeNull();
  });
});

const fromYaml = (text: string, file = 'node.yaml') => {
  const src = YamlSource.fromText(file, text);
  const cfg = readResolverSection(src);
  return { cfg, issues: src.issues.slice().sort((a, b) => a.line - b.line).map((i) => `${i.file}:${i.line}: ${i.field}: ${i.message}`) };
};

describe('config: rate_limit, cookies, flood', () => {
  it('reads every key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'defence-cfg-'));
    try {
      writeFileSync(join(dir, 'cookie.secret'), '# comment\n00112233445566778899AABBCCDDEEFF\n\nffeeddccbbaa99887766554433221100\n');
      const { cfg, issues } = fromYaml(`
resolver:
  rate_limit: { qps: 50, burst: 100, slip: 3, ipv4_prefix: 28, ipv6_prefix: 64, exempt: [10.0.0.0/8], max_clients: 5000 }
  cookies: { enabled: true, secret_file: cookie.secret, enforce: true, upstream: false }
  flood: { max_outstanding_per_zone: 50, negative_cache_share: 0.1, max_negative_per_zone: 300 }
`, join(dir, 'node.yaml'));
      expect(issues).toEqual([]);
      expect(cfg.rateLimit).toEqual({ qps: 50, burst: 100, slip: 3, ipv4Prefix: 28, ipv6Prefix: 64, exempt: ['10.0.0.0/8'], maxClients: 5000 });
      expect(cfg.cookies).toEqual({ enabled: true, secrets: ['00112233445566778899aabbccddeeff', 'ffeeddccbbaa99887766554433221100'], secretFile: join(dir, 'cookie.secret'), enforce: true, upstream: false });
      expect(cfg.flood).toEqual({ maxOutstandingPerZone: 50, zoneQueueWaitMs: 1000, negativeCacheShare: 0.1, maxNegativePerZone: 300 });
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });

  it('reads secret and previous_secret', () => {
    const { cfg, issues } = fromYaml('resolver:\n  cookies:\n    secret: 00112233445566778899aabbccddeeff\n    previous_secret: ffeeddccbbaa99887766554433221100\n');
    expect(issues).toEqual([]);
    expect(cfg.cookies!.secrets).toEqual(['00112233445566778899aabbccddeeff', 'ffeeddccbbaa99887766554433221100']);
  });

  it('reports bad values as FILE:LINE: FIELD: MESSAGE', () => {
    const { issues } = fromYaml(`resolver:
  rate_limit:
    qps: -1
    slip: many
    exempt: [10.0.0.1/8]
    colour: red
  cookies:
    secret: short
    secret_file: x.secret
  flood:
    negative_cache_share: 0
    max_negative_per_zone: lots
`);
    expect(issues).toEqual([
      'node.yaml:3: resolver.rate_limit.qps: must be a whole number from 0 to 1000000, got -1',
      'node.yaml:4: resolver.rate_limit.slip: must be a whole number from 0 to 10, got "many"',
      expect.stringMatching(/^node\.yaml:5: resolver\.rate_limit\.exempt\[0\]: .*host bits set/),
      expect.stringMatching(/^node\.yaml:6: resolver\.rate_limit\.colour: unknown key/),
      expect.stringMatching(/^node\.yaml:9: resolver\.cookies\.secret_file: give either secret_file or secret/),
      'node.yaml:11: resolver.flood.negative_cache_share: must be a number above 0 and at most 1, got 0',
      'node.yaml:12: resolver.flood.max_negative_per_zone: must be a whole number from 0 to 10000000, got "lots"',
    ]);
  });

  it('names the line of a bad secret file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'defence-cfg-'));
    try {
      writeFileSync(join(dir, 's'), '00112233445566778899aabbccddeeff\nnot-hex\n');
      const { issues } = fromYaml('resolver:\n  cookies:\n    secret_file: s\n', join(dir, 'node.yaml'));
      expect(issues).toEqual([`${join(dir, 'node.yaml')}:3: resolver.cookies.secret_file: ${join(dir, 's')}:2: secret must be 32 hexadecimal digits (a 128-bit secret), e.g. from \`openssl rand -hex 16\``]);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
});

/** A replier that records what the front sent. */
function collector(): Replier & { sent: Buffer[] } {
  const r = { framing: 0 as const, address: '127.0.0.1', sent: [] as Buffer[], send(b: Buffer) { r.sent.push(b); }, hold() { return r; } };
  return r;
}

describe('negative answers have their own cache budget', () => {
  it('a flood of NXDOMAIN names does not push popular answers out of the answer cache', async () => {
    const fake = new FakeResolution(async (req) => {
      if (req.name.startsWith('pop')) return answer([rec(req.name, 3600, 'A', '192.0.2.1')]);
      return { rcode: RCODE.NXDOMAIN, answers: [], authority: [rec('victim.example', 900, 'SOA', 'ns.victim.example. host.victim.example. 1 2 3 4 900')], additional: [], cacheTtl: 900 };
    });
    const cfg: ResolverConfig = { ...defaultResolverConfig(), cache: { ...defaultResolverConfig().cache, maxBytes: 512 * 1024 } };
    let now = 1000;
    const front = new Front({ cfg, resolution: fake, now: () => now });
    const ask = async (name: string) => {
      const r = collector();
      front.handle(buildQuery({ id: 1, name, type: TYPE.A, rd: true }), r);
      for (let i = 0; i < 5 && r.sent.length === 0; i++) await new Promise((res) => setImmediate(res));
      return r.sent.length;
    };
    for (let i = 0; i < 200; i++) await ask(`pop${i}.example`);
    expect(fake.calls.length).toBe(200);
    // 20,000 random names: about 4 MB of NXDOMAIN answers, eight times the whole cache.
    for (let i = 0; i < 20_000; i++) { now += 1; await ask(`r${i}x${(i * 2654435761) >>> 0}.victim.example`); }
    const before = fake.calls.length;
    for (let i = 0; i < 200; i++) expect(await ask(`pop${i}.example`)).toBe(1);
    expect(fake.calls.length).toBe(before); // every popular name was still a hit
    const s = front.stats();
    expect(s.defence.negativeCacheBytes).toBeLessThanOrEqual(512 * 1024 * 0.25);
    expect(s.defence.negativeCacheEntries).toBeGreaterThan(100);
  }, 60_000);
});

describe('ZoneLimitedUpstream', () => {
  it('with no wait queue: lets max queries per zone out at once, refuses more with ZONE_LIMIT, and frees slots as they settle', async () => {
    const pending: Array<() => void> = [];
    const inner: Upstream = {
      query: () => new Promise<UpstreamOutcome>((res) => pending.push(() => res({ kind: 'timeout', tcp: false }))),
      close: async () => {},
    };
    const stats = emptyStats();
    const up = new ZoneLimitedUpstream(inner, () => ({ max: 2, queueLength: 0, waitMs: 1000 }), stats);
    const q = (zone: string): UpstreamQuestion => ({ address: '192.0.2.1', port: 53, name: `x.${zone}`, type: 1, class: 1, timeoutMs: 100, tcpTimeoutMs: 100, edns: true, zone });
    const a1 = up.query(q('victim.'));
    const a2 = up.query(q('victim.'));
    const a3 = await up.query(q('victim.'));
    expect(a3).toMatchObject({ kind: 'error', code: 'ZONE_LIMIT' });
    expect(stats.defence.zoneLimited).toBe(1);
    const other = up.query(q('good.'));
    expect(up.outstandingFor('good.')).toBe(1);
    pending.shift()!();
    await a1;
    expect(up.outstandingFor('victim.')).toBe(1);
    const a4 = up.query(q('victim.'));
    expect(up.outstandingFor('victim.')).toBe(2);
    for (const p of pending.splice(0)) p();
    await Promise.all([a2, a4, other]);
    expect(up.zones).toBe(0);
  });
});

describe('reloading the defence settings', () => {
  it('Front.applyDefenceSettings turns rate limiting on and keeps the counters', () => {
    const fake = new FakeResolution(async (req) => answer([rec(req.name, 3600, 'A', '192.0.2.1')]));
    const front = new Front({ cfg: defaultResolverConfig(), resolution: fake, now: () => 0 });
    const q = buildQuery({ id: 1, name: 'localhost', type: TYPE.A, rd: true });
    const sent = () => { const r = collector(); front.handle(q, r); return r.sent.length; };
    front.handle(Buffer.alloc(4), collector()); // a runt: one malformed drop
    for (let i = 0; i < 30; i++) expect(sent()).toBe(1);
    front.applyDefenceSettings({ rateLimit: { ...defaultRateLimitSettings(), qps: 1, burst: 5, slip: 0 } });
    let answered = 0;
    for (let i = 0; i < 30; i++) answered += sent();
    expect(answered).toBe(5);
    const s = front.stats().defence;
    expect(s.droppedRateLimit).toBe(25);
    expect(s.droppedMalformed).toBe(1);
  });
});

describe('cookie secret across a reload', () => {
  it('keeps the random secret made at start when the reloaded file still configures none, and takes a configured one', async () => {
    const { withCookieSecret, keepGeneratedSecret } = await import('./guard.js');
    const live = withCookieSecret(defaultResolverConfig(), () => {});
    expect(live.cookies?.secrets).toHaveLength(1);
    const next = defaultResolverConfig();
    keepGeneratedSecret(live, next);
    expect(next.cookies?.secrets).toEqual(live.cookies?.secrets);
    const configured = defaultResolverConfig();
    configured.cookies = { ...configured.cookies!, secrets: ['00112233445566778899aabbccddeeff'] };
    keepGeneratedSecret(live, configured);
    expect(configured.cookies.secrets).toEqual(['00112233445566778899aabbccddeeff']);
  });
});
