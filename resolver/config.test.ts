import { describe, expect, it } from 'vitest';
import { ConfigError, YamlSource } from '../common/yaml-source.js';
import { UsageError } from '../common/args.js';
import { parseFlags } from '../common/args.js';
import { applyResolverFlags, checkResolverConfig, defaultResolverConfig, parseSize, readResolverSection, resolverFlagOptions, type ResolverFlagValues } from './config.js';

const fromYaml = (text: string) => {
  const src = YamlSource.fromText('node.yaml', text);
  const cfg = readResolverSection(src);
  return { cfg, src, issues: src.issues.slice().sort((a, b) => a.line - b.line).map((i) => `${i.file}:${i.line}: ${i.field}: ${i.message}`) };
};
const flags = (argv: string[]) => parseFlags<ResolverFlagValues>(argv, resolverFlagOptions).values;

describe('resolver config', () => {
  it('has sane defaults', () => {
    const d = defaultResolverConfig();
    expect(d.allow).toEqual(['127.0.0.0/8', '::1']);
    expect(d.workers).toBe(1);
    expect(d.upstream.queryLocalhost).toBe(false);
    expect(d.upstream.ednsUdpSize).toBe(1232);
    expect(d.identity.length).toBeGreaterThan(0);
    expect(() => checkResolverConfig(d)).toThrow(/--listen is required/);
  });

  it('reads every key of the resolver: section', () => {
    const { cfg, issues } = fromYaml(`
resolver:
  listen: ["127.0.0.1:5353", "[::1]:5353"]
  root_hints: hints/named.root
  allow: [10.0.0.0/8, "2001:db8::/32"]
  workers: 2
  identity: dns1.site-a
  max_inflight: 5000
  max_udp_size: 4096
  cache: { max_bytes: 32m, min_ttl: 5, max_ttl: 3600, max_negative_ttl: 900, servfail_ttl: 3 }
  upstream: { port: 5300, edns_udp_size: 1400, timeout_ms: 800, resolution_timeout_ms: 3000, max_queries_per_resolution: 50, max_cname_chain: 8, max_referrals: 20, query_localhost: true }
  probe: { name: Probe.Example. }
  tcp: { idle_timeout_ms: 5000, max_connections: 100, max_pipelined: 32 }
  local_zones: { nodefault: [test, 10.in-addr.arpa.] }
`);
    expect(issues).toEqual([]);
    expect(cfg.listen).toEqual([{ host: '127.0.0.1', port: 5353 }, { host: '::1', port: 5353 }]);
    expect(cfg.rootHintsFile).toMatch(/\/hints\/named\.root$/);
    expect(cfg.allow).toEqual(['10.0.0.0/8', '2001:db8::/32']);
    expect(cfg.workers).toBe(2);
    expect(cfg.identity).toBe('dns1.site-a');
    expect(cfg.maxInflight).toBe(5000);
    expect(cfg.maxUdpSize).toBe(4096);
    expect(cfg.cache).toEqual({ maxBytes: 32 * 1024 * 1024, minTtl: 5, maxTtl: 3600, maxNegativeTtl: 900, servfailTtl: 3 });
    expect(cfg.upstream).toEqual({ port: 5300, ednsUdpSize: 1400, timeoutMs: 800, resolutionTimeoutMs: 3000, maxQueriesPerResolution: 50, maxCnameChain: 8, maxReferrals: 20, queryLocalhost: true, qnameMinimisation: 'relaxed', use0x20: false, hardenGlue: true, ipv4: true, ipv6: true });
    expect(cfg.probe.name).toBe('Probe.Example');
    expect(cfg.tcp).toEqual({ idleTimeoutMs: 5000, maxConnections: 100, maxPipelined: 32 });
    expect(cfg.localZonesNodefault).toEqual(['test', '10.in-addr.arpa']);
  });

  it('reports every problem as FILE:LINE: FIELD: MESSAGE', () => {
    const { issues, src } = fromYaml(`resolver:
  listen: ["localhost:53", "127.0.0.1"]
  allow: [10.0.0.1/8]
  workers: 0
  max_udp_size: 65535
  cache:
    max_bytes: lots
    min_ttl: 100
    max_ttl: 10
  upstream:
    query_localhost: "yes"
  probe: { name: "bad..name" }
  local_zones: { nodefault: [example.com] }
  colour: blue
`);
    expect(issues).toEqual([
      expect.stringMatching(/^node\.yaml:2: resolver\.listen\[0\]: .*must be an IP address/),
      expect.stringMatching(/^node\.yaml:2: resolver\.listen\[1\]: .*needs a port/),
      expect.stringMatching(/^node\.yaml:3: resolver\.allow\[0\]: .*host bits set/),
      expect.stringMatching(/^node\.yaml:4: resolver\.workers: must be a whole number from 1/),
      expect.stringMatching(/^node\.yaml:5: resolver\.max_udp_size: must be a whole number from 512 to 4096/),
      expect.stringMatching(/^node\.yaml:7: resolver\.cache\.max_bytes: must be a size/),
      expect.stringMatching(/^node\.yaml:8: resolver\.cache\.min_ttl: min_ttl 100 is above max_ttl 10/),
      expect.stringMatching(/^node\.yaml:11: resolver\.upstream\.query_localhost: must be true or false/),
      expect.stringMatching(/^node\.yaml:12: resolver\.probe\.name: not a domain name/),
      expect.stringMatching(/^node\.yaml:13: resolver\.local_zones\.nodefault\[0\]: .*not one of the built-in local zones/),
      expect.stringMatching(/^node\.yaml:14: resolver\.colour: unknown key/),
    ]);
    expect(() => src.throwIfIssues()).toThrow(ConfigError);
  });

  it('reads warmup_queries (0 turns the warm-up off) and names the line of a bad value', () => {
    expect(fromYaml('resolver:\n  warmup_queries: 0\n').cfg.warmupQueries).toBe(0);
    expect(fromYaml('resolver:\n  warmup_queries: 500\n').cfg.warmupQueries).toBe(500);
    expect(fromYaml('resolver:\n  listen: ["127.0.0.1:53"]\n').cfg.warmupQueries).toBeUndefined();
    expect(fromYaml('resolver:\n  workers: 1\n  warmup_queries: -1\n').issues).toEqual([
      expect.stringMatching(/^node\.yaml:3: resolver\.warmup_queries: must be a whole number from 0/),
    ]);
  });

  it('reads warmup_release_memory and names the line of a value that is not a boolean', () => {
    expect(fromYaml('resolver:\n  warmup_release_memory: false\n').cfg.warmupReleaseMemory).toBe(false);
    expect(fromYaml('resolver:\n  warmup_release_memory: true\n').cfg.warmupReleaseMemory).toBe(true);
    expect(fromYaml('resolver:\n  listen: ["127.0.0.1:53"]\n').cfg.warmupReleaseMemory).toBeUndefined();
    expect(fromYaml('resolver:\n  workers: 1\n  warmup_release_memory: sometimes\n').issues).toEqual([
      expect.stringMatching(/^node\.yaml:3: resolver\.warmup_release_memory: must be true or false/),
    ]);
  });

  it('reads qname_minimisation (relaxed, strict, off; YAML booleans too) and use_0x20, and names the line of a bad mode', () => {
    expect(fromYaml('resolver:\n  upstream: { qname_minimisation: strict, use_0x20: true }\n').cfg.upstream).toMatchObject({ qnameMinimisation: 'strict', use0x20: true });
    expect(fromYaml('resolver:\n  upstream: { qname_minimisation: off }\n').cfg.upstream.qnameMinimisation).toBe('off');
    expect(fromYaml('resolver:\n  upstream: { qname_minimisation: yes }\n').cfg.upstream.qnameMinimisation).toBe('relaxed');
    expect(fromYaml('resolver:\n  upstream: {}\n').cfg.upstream).toMatchObject({ qnameMinimisation: 'relaxed', use0x20: false });
    const { issues } = fromYaml('resolver:\n  upstream:\n    qname_minimisation: sometimes\n    harden_glue: 1\n');
    expect(issues).toEqual([
      expect.stringMatching(/^node\.yaml:3: resolver\.upstream\.qname_minimisation: must be one of relaxed, strict, off/),
      expect.stringMatching(/^node\.yaml:4: resolver\.upstream\.harden_glue: must be true or false/),
    ]);
    expect(fromYaml('resolver:\n  upstream: { harden_glue: false, ipv6: false }\n').cfg.upstream).toMatchObject({ hardenGlue: false, ipv4: true, ipv6: false });
    expect(fromYaml('resolver:\n  upstream: { ipv4: false, ipv6: false }\n').issues).toEqual([expect.stringMatching(/resolver\.upstream\.ipv6: ipv4 and ipv6 are both false/)]);
  });

  it('lets flags override the file', () => {
    const { cfg } = fromYaml('resolver:\n  listen: ["127.0.0.1:53"]\n  identity: file\n  workers: 4\n  allow: [10.0.0.0/8]\n');
    const out = applyResolverFlags(cfg, flags(['--listen', '127.10.0.1:5353', '--listen', '[::1]:5353', '--identity', 'flag', '--workers', '2', '--allow', '192.0.2.0/24', '--query-localhost', '--root-hints', 'x.hints']));
    expect(out.listen).toEqual([{ host: '127.10.0.1', port: 5353 }, { host: '::1', port: 5353 }]);
    expect(out.identity).toBe('flag');
    expect(out.workers).toBe(2);
    expect(out.allow).toEqual(['192.0.2.0/24']);
    expect(out.upstream.queryLocalhost).toBe(true);
    expect(out.rootHintsFile).toMatch(/\/x\.hints$/);
    // Unset flags keep the file's values.
    expect(applyResolverFlags(cfg, {}).identity).toBe('file');
  });

  it('rejects bad flags with a UsageError naming the flag', () => {
    const base = defaultResolverConfig();
    expect(() => applyResolverFlags(base, { workers: 'two' })).toThrow(/--workers must be a whole number/);
    expect(() => applyResolverFlags(base, { workers: '0' })).toThrow(UsageError);
    expect(() => applyResolverFlags(base, { allow: ['10.0.0.0/40'] })).toThrow(/--allow/);
    expect(() => applyResolverFlags(base, { listen: ['127.0.0.1'] })).toThrow(/--listen .*needs a port/);
    expect(() => applyResolverFlags(base, { listen: ['dns.example:53'] })).toThrow(/must be an IP address/);
    expect(() => applyResolverFlags(base, { identity: 'has space' })).toThrow(/--identity/);
  });

  it('parses sizes', () => {
    expect(parseSize(1024)).toBe(1024);
    expect(parseSize('64m')).toBe(64 * 1024 * 1024);
    expect(parseSize('512KiB')).toBe(512 * 1024);
    expect(parseSize('1G')).toBe(1024 ** 3);
    expect(parseSize('-1')).toBeUndefined();
    expect(parseSize('12 parsecs')).toBeUndefined();
  });
});

describe('resolver config: serve_stale and prefetch', () => {
  it('are on by default (RFC 8767 timers: 1.8 s client timeout, 30 s TTL and recheck, 1 day cap)', () => {
    const d = defaultResolverConfig();
    expect(d.serveStale).toEqual({ enabled: true, clientTimeoutMs: 1800, maxStaleS: 86_400, replyTtl: 30, recheckS: 30 });
    expect(d.prefetch).toBe(true);
  });

  it('reads every key', () => {
    const { cfg, issues } = fromYaml(`
resolver:
  serve_stale: { enabled: false, client_timeout_ms: 500, max_stale: 3600, reply_ttl: 10, recheck_interval: 15 }
  prefetch: false
`);
    expect(issues).toEqual([]);
    expect(cfg.serveStale).toEqual({ enabled: false, clientTimeoutMs: 500, maxStaleS: 3600, replyTtl: 10, recheckS: 15 });
    expect(cfg.prefetch).toBe(false);
  });

  it('reports bad values and unknown keys as FILE:LINE: FIELD', () => {
    const { issues } = fromYaml(`resolver:
  serve_stale:
    enabled: sometimes
    client_timeout_ms: -1
    max_stale: 0
    reply_ttl: 100000
    recheck: 30
  prefetch: 10
`);
    expect(issues).toEqual([
      'node.yaml:3: resolver.serve_stale.enabled: must be true or false, got "sometimes"',
      'node.yaml:4: resolver.serve_stale.client_timeout_ms: must be a whole number from 0 to 60000, got -1',
      'node.yaml:5: resolver.serve_stale.max_stale: must be a whole number from 1 to 604800, got 0',
      'node.yaml:6: resolver.serve_stale.reply_ttl: must be a whole number from 1 to 3600, got 100000',
      expect.stringMatching(/^node\.yaml:7: resolver\.serve_stale\.recheck: unknown key \(known: enabled, client_timeout_ms, max_stale, reply_ttl, recheck_interval\)$/),
      'node.yaml:8: resolver.prefetch: must be true or false, got 10',
    ]);
  });

  it('--no-serve-stale and --no-prefetch turn them off over the file', () => {
    const { cfg: file } = fromYaml('resolver:\n  serve_stale: { reply_ttl: 10 }\n');
    const cfg = applyResolverFlags(file, flags(['--no-serve-stale', '--no-prefetch']));
    expect(cfg.serveStale).toMatchObject({ enabled: false, replyTtl: 10 });
    expect(cfg.prefetch).toBe(false);
    const kept = applyResolverFlags(file, flags([]));
    expect(kept.serveStale?.enabled).toBe(true);
    expect(kept.prefetch).toBe(true);
  });
});

describe('resolver config: DNSSEC validation on by default', () => {
  it('validates from the built-in root anchors when nothing is configured', () => {
    const d = defaultResolverConfig();
    expect(d.validator).toMatchObject({ enabled: true, trustAnchors: [], trustAnchorFiles: [], negativeTrustAnchors: [] });
    expect(readResolverSection(YamlSource.fromText('node.yaml', 'resolver:\n  identity: x\n')).validator?.enabled).toBe(true);
  });

  it('--no-validate turns it off over the file, keeping the other validator keys', () => {
    const { cfg: file, issues } = fromYaml('resolver:\n  validator:\n    bogus_ttl: 30\n    negative_trust_anchors: [corp.example]\n');
    expect(issues).toEqual([]);
    expect(file.validator).toMatchObject({ enabled: true, bogusTtl: 30 });
    const off = applyResolverFlags(file, flags(['--no-validate']));
    expect(off.validator).toMatchObject({ enabled: false, bogusTtl: 30, negativeTrustAnchors: ['corp.example'] });
    expect(applyResolverFlags(file, flags([])).validator?.enabled).toBe(true);
    expect(fromYaml('resolver:\n  validator:\n    enabled: false\n').cfg.validator?.enabled).toBe(false);
  });
});
