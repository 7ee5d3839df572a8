// Resolver settings: the types (the contract between front and back), their
// defaults, the YAML `resolver:` section and the command-line flags.
// Every key is documented in resolver/README.md; keep the two in step.

import { hostname } from 'node:os';
import { dirname, resolve as resolvePath } from 'node:path';
import { parseHostPort, UsageError, type Options } from '../common/args.js';
import { readFileSync } from 'node:fs';
import { YamlSource, type ConfigIssue, type FieldPath } from '../common/yaml-source.js';
import { parseAnchors } from './validator/anchors.js';
import { normalizeName } from '../dns/name.js';
import { AclError, validateCidr } from './acl.js';
import { DEFAULT_LOCAL_ZONES } from './local.js';
import { defaultServeStaleSettings, type ServeStaleSettings } from './stale/serve-stale.js';
import { DEFENCE_TOP_KEYS, defaultCookieSettings, defaultFloodSettings, defaultRateLimitSettings, readDefenceSections, readSecretFile, type CookieSettings, type FloodSettings, type RateLimitSettings } from './defence/settings.js';
import { applyOpsFlags, OPS_FLAGS_HELP, OPS_TOP_KEYS, opsFlagOptions, readOpsSections, type OpsFlagValues, type OpsSettings } from './control/settings.js';
import { readForwardZones, type ForwardZone } from './forward/forward.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export interface CacheSettings {
  /** Bound on the bytes held by the answer cache. */
  maxBytes: number;
  /** Clamp for positive TTLs, seconds. */
  minTtl: number;
  maxTtl: number;
  /** Upper bound on negative caching TTL, seconds (RFC 2308 recommends 1-3 hours). */
  maxNegativeTtl: number;
  /** Seconds a SERVFAIL is remembered, so a dead zone does not get hammered. */
  servfailTtl: number;
}

export interface UpstreamSettings {
  /** Port authoritative servers are queried on (53; tests may change it). */
  port: number;
  /** EDNS UDP buffer advertised upstream. */
  ednsUdpSize: number;
  /** Per-try timeout before the next server is tried, ms (adaptive from SRTT, capped by this). */
  timeoutMs: number;
  /** Total budget for one client question before SERVFAIL, ms. */
  resolutionTimeoutMs: number;
  /** Upstream queries one client question may cause. */
  maxQueriesPerResolution: number;
  maxCnameChain: number;
  maxReferrals: number;
  /** Permit upstream queries to loopback addresses (unbound: do-not-query-localhost: no). */
  queryLocalhost: boolean;
  /**
   * QNAME minimisation (RFC 9156): send each server only the labels it needs.
   * 'relaxed' falls back to the full name when a server mishandles a minimised
   * question; 'strict' never does; 'off' always sends the full name.
   */
  qnameMinimisation: QnameMinimisation;
  /** Randomise the letter case of names sent upstream (0x20; unbound's use-caps-for-id). */
  use0x20: boolean;
  /**
   * Use only glue inside the bailiwick of the server that gave it (unbound's
   * harden-glue, on by default). Off: out-of-bailiwick glue is used for the
   * delegation it came with, never cached.
   */
  hardenGlue: boolean;
  /** Send queries to IPv4 / IPv6 authoritative servers (unbound's do-ip4 / do-ip6). */
  ipv4: boolean;
  ipv6: boolean;
}

/** DNSSEC validation (resolver/validator/, README "DNSSEC validation"). */
export interface ValidatorSettings {
  /** Validate answers (false: no DO upstream, no AD, nothing is bogus). */
  enabled: boolean;
  /** Trust anchor records given inline, zone-file syntax (DS or DNSKEY). None here or in files: the built-in root anchors. */
  trustAnchors: string[];
  /** Files of trust anchor records in zone-file syntax (absolute paths). */
  trustAnchorFiles: string[];
  /** Domains (and everything below) not validated: negative trust anchors (unbound's domain-insecure). */
  negativeTrustAnchors: string[];
  /** Seconds a bogus verdict is kept (unbound's val-bogus-ttl). */
  bogusTtl: number;
  /** Log every validation decision and its reason (debug level) to the resolver's log. */
  debug: boolean;
}

/**
 * On by default, as unbound, Knot Resolver, PowerDNS Recursor and BIND validate by default;
 * with no anchor configured, the built-in root anchors (KSK-20326, KSK-38696). Anything run
 * against a private, unsigned root must turn it off (`--no-validate`, `validator.enabled: false`),
 * or every answer is bogus.
 */
export function defaultValidatorSettings(): ValidatorSettings {
  return { enabled: true, trustAnchors: [], trustAnchorFiles: [], negativeTrustAnchors: [], bogusTtl: 60, debug: false };
}

export type QnameMinimisation = 'relaxed' | 'strict' | 'off';
export const QNAME_MINIMISATION_MODES: readonly QnameMinimisation[] = ['relaxed', 'strict', 'off'];

export interface ProbeSettings {
  /** Name answered locally for health probes (see healthcheck). Empty disables it. */
  name: string;
}

/** Downstream TCP (RFC 7766). Optional in ResolverConfig: the front fills defaults. */
export interface TcpSettings {
  /** A connection with no complete query for this long is closed, ms. */
  idleTimeoutMs: number;
  /** Concurrent client TCP connections per listen address. */
  maxConnections: number;
  /** Queries one connection may have unanswered before the front stops reading it. */
  maxPipelined: number;
}

export interface ResolverConfig {
  listen: ListenAddress[];
  /** named.root file; undefined means the built-in IANA root hints. */
  rootHintsFile?: string;
  /** Client networks allowed recursion, CIDR. */
  allow: string[];
  workers: number;
  /** Node name for CHAOS id.server / hostname.bind and NSID. */
  identity: string;
  cache: CacheSettings;
  upstream: UpstreamSettings;
  probe: ProbeSettings;
  /** Additive (front only): downstream TCP limits; defaults when absent. */
  tcp?: TcpSettings;
  /** Additive (front only): distinct resolutions in flight before new misses are dropped. */
  maxInflight?: number;
  /**
   * Additive (front only): the largest UDP reply sent to a client, and the size our
   * OPT record advertises (unbound's max-udp-size); a larger answer gets TC=1. 1232
   * when absent (DNS flag day 2020: no IP fragmentation on common paths).
   */
  maxUdpSize?: number;
  /** Additive (front only): built-in local zones to switch off (unbound: local-zone ... nodefault). */
  localZonesNodefault?: string[];
  /** Additive: synthetic cold misses sent through a throwaway instance before listening (resolver/warmup.ts); 0 = none. */
  warmupQueries?: number;
  /**
   * Additive: after the warm-up, give start-up's memory back (resolver/startup-memory.ts);
   * true when absent. false keeps the code the warm-up compiled, for a faster first burst.
   */
  warmupReleaseMemory?: boolean;
  /** Additive (front only): serve-stale (RFC 8767), resolver/stale/; on with defaults when absent. */
  serveStale?: ServeStaleSettings;
  /** Additive (front only): refresh answers asked for in the last 10% of their TTL (resolver/prefetch.ts); on when absent. */
  prefetch?: boolean;
  /** Additive: per-client rate limiting (resolver/defence/settings.ts); off when absent. */
  rateLimit?: RateLimitSettings;
  /** Additive: DNS cookies (resolver/defence/settings.ts); answered when absent. */
  cookies?: CookieSettings;
  /** Additive: random-subdomain flood defence (resolver/defence/settings.ts); defaults when absent. */
  flood?: FloodSettings;
  /** Additive: control socket and warm start (resolver/control/settings.ts); defaults when absent. */
  ops?: OpsSettings;
  /** Additive: DNSSEC validation; absent means off (defaultResolverConfig() and every config file or flag set: on). */
  validator?: ValidatorSettings;
  /** forward_zones: names at or under these go to recursive forwarders (resolver/forward/). */
  forwardZones?: ForwardZone[];
}

/** Synthetic queries of the warm-up before listening, when the config does not say. */
export const DEFAULT_WARMUP_QUERIES = 3000;

export const DEFAULT_PROBE_NAME = 'health.anycast-kit.invalid';

export function defaultTcpSettings(): TcpSettings {
  return { idleTimeoutMs: 10_000, maxConnections: 256, maxPipelined: 64 };
}

export const DEFAULT_MAX_INFLIGHT = 10_000;

/** Defaults for everything except `listen`, which the operator must give. */
export function defaultResolverConfig(): ResolverConfig {
  return {
    listen: [],
    rootHintsFile: undefined,
    allow: ['127.0.0.0/8', '::1'],
    workers: 1,
    identity: hostname(),
    cache: {
      maxBytes: 64 * 1024 * 1024,
      minTtl: 0,
      maxTtl: 86_400,
      maxNegativeTtl: 3_600,
      servfailTtl: 2,
    },
    upstream: {
      port: 53,
      ednsUdpSize: 1232,
      timeoutMs: 1_000,
      resolutionTimeoutMs: 4_000,
      maxQueriesPerResolution: 100,
      maxCnameChain: 12,
      maxReferrals: 30,
      queryLocalhost: false,
      qnameMinimisation: 'relaxed',
      use0x20: false,
      hardenGlue: true,
      ipv4: true,
      ipv6: true,
    },
    probe: { name: DEFAULT_PROBE_NAME },
    tcp: defaultTcpSettings(),
    maxInflight: DEFAULT_MAX_INFLIGHT,
    localZonesNodefault: [],
    serveStale: defaultServeStaleSettings(),
    prefetch: true,
    rateLimit: defaultRateLimitSettings(),
    cookies: defaultCookieSettings(),
    flood: defaultFloodSettings(),
    validator: defaultValidatorSettings(),
  };
}

// ---------------------------------------------------------------- flags

/** Flags shared by `anycast-kit resolver` and `anycast-kit node`. */
export const resolverFlagOptions = {
  listen: { type: 'string', multiple: true },
  'root-hints': { type: 'string' },
  allow: { type: 'string', multiple: true },
  'query-localhost': { type: 'boolean' },
  workers: { type: 'string' },
  identity: { type: 'string' },
  config: { type: 'string' },
  'no-serve-stale': { type: 'boolean' },
  'no-prefetch': { type: 'boolean' },
  'no-validate': { type: 'boolean' },
  'rate-limit': { type: 'string' },
  'cookie-secret-file': { type: 'string' },
  ...opsFlagOptions,
} as const satisfies Options;

export interface ResolverFlagValues extends OpsFlagValues {
  listen?: string[];
  'root-hints'?: string;
  allow?: string[];
  'query-localhost'?: boolean;
  workers?: string;
  identity?: string;
  config?: string;
  'no-serve-stale'?: boolean;
  'no-prefetch'?: boolean;
  'no-validate'?: boolean;
  'rate-limit'?: string;
  'cookie-secret-file'?: string;
}

/** Help text lines for the shared flags (both commands print them). */
export const RESOLVER_FLAGS_HELP = `  --listen ADDR:PORT     serve UDP and TCP here; repeat for more addresses (IPv6: [ADDR]:PORT)
  --root-hints FILE      root hints in named.root format (default: built-in IANA hints)
  --allow CIDR           client networks allowed recursion; repeat (default: 127.0.0.0/8 and ::1)
  --query-localhost      permit upstream queries to loopback addresses (labs, tests)
  --workers N            N processes share each listen address (SO_REUSEPORT) (default: 1)
  --identity NAME        name for CHAOS id.server/hostname.bind and NSID (default: hostname)
  --no-serve-stale       never answer from expired data (default: when the authorities fail or take
                         over 1.8 s, answer from data expired less than 1 day ago, TTL 30, EDE 3;
                         tune with resolver.serve_stale.*)
  --no-prefetch          do not refresh answers asked for in the last 10% of their TTL (resolver.prefetch)
  --no-validate          no DNSSEC validation: no AD bit, nothing bogus (default: validate from the
                         built-in root anchors or resolver.validator.trust_anchor*; turn it off only
                         for a private unsigned root or behind a validator; resolver.validator.enabled)

  --rate-limit QPS       UDP queries per second per client /24 (IPv4) or /56 (IPv6); over it,
                         drop, with every 2nd an empty TC=1 reply (default: 0, off; rate_limit: in --config)
  --cookie-secret-file F DNS cookie secrets, 32 hex digits a line, the first current (share it between
                         the nodes of a service; default: a random secret per node; cookies: in --config)
  --config FILE          YAML file with a resolver: section; flags override it
                         (defence keys: rate_limit, cookies, flood; see resolver/README.md)
${OPS_FLAGS_HELP}`;

const MAX_WORKERS = 64;

/** Overrides `base` with the flags that were given. Throws UsageError naming the flag. */
export function applyResolverFlags(base: ResolverConfig, flags: ResolverFlagValues): ResolverConfig {
  const cfg = structuredClone(base);
  if (flags.listen && flags.listen.length) cfg.listen = flags.listen.map((l) => parseListen(l, 'listen'));
  if (flags['root-hints'] !== undefined) cfg.rootHintsFile = resolvePath(flags['root-hints']);
  if (flags.allow && flags.allow.length) {
    for (const a of flags.allow) {
      try { validateCidr(a); } catch (err) { throw new UsageError(`--allow ${(err as Error).message}`); }
    }
    cfg.allow = flags.allow.slice();
  }
  if (flags['query-localhost']) cfg.upstream.queryLocalhost = true;
  if (flags['no-serve-stale']) cfg.serveStale = { ...(cfg.serveStale ?? defaultServeStaleSettings()), enabled: false };
  if (flags['no-prefetch']) cfg.prefetch = false;
  if (flags['no-validate']) cfg.validator = { ...(cfg.validator ?? defaultValidatorSettings()), enabled: false };
  if (flags.workers !== undefined) {
    if (!/^\d+$/.test(flags.workers)) throw new UsageError(`--workers must be a whole number, got "${flags.workers}"`);
    const n = Number(flags.workers);
    if (n < 1 || n > MAX_WORKERS) throw new UsageError(`--workers must be between 1 and ${MAX_WORKERS}, got ${n}`);
    cfg.workers = n;
  }
  if (flags.identity !== undefined) {
    const problem = identityProblem(flags.identity);
    if (problem) throw new UsageError(`--identity ${problem}`);
    cfg.identity = flags.identity;
  }
  if (flags['rate-limit'] !== undefined) {
    if (!/^\d+$/.test(flags['rate-limit']) || Number(flags['rate-limit']) > 1_000_000) throw new UsageError(`--rate-limit must be a whole number of queries per second from 0 to 1000000, got "${flags['rate-limit']}"`);
    cfg.rateLimit = { ...(cfg.rateLimit ?? defaultRateLimitSettings()), qps: Number(flags['rate-limit']) };
  }
  if (flags['cookie-secret-file'] !== undefined) {
    const file = resolvePath(flags['cookie-secret-file']);
    const r = readSecretFile(file);
    if ('error' in r) throw new UsageError(`--cookie-secret-file ${r.error}`);
    cfg.cookies = { ...(cfg.cookies ?? defaultCookieSettings()), secrets: r.secrets, secretFile: file };
  }
  if (flags['control-socket'] !== undefined || flags['cache-dump'] !== undefined || flags['warm-names'] !== undefined) cfg.ops = applyOpsFlags(cfg.ops, flags);
  return cfg;
}

function parseListen(text: string, flag: string): ListenAddress {
  const hp = parseHostPort(text, flag);
  if (!isIpLiteral(hp.host)) throw new UsageError(`--${flag} "${text}": the address must be an IP address (one socket per service address)`);
  return hp;
}

function isIpLiteral(host: string): boolean {
  try { validateCidr(host); return true; } catch { return false; }
}

function identityProblem(id: string): string | undefined {
  if (id.length === 0) return 'must not be empty';
  if (Buffer.byteLength(id) > 255) return 'must be at most 255 bytes (one TXT string)';
  if (!/^[\x21-\x7e]+$/.test(id)) return `"${id}" must be printable ASCII without spaces`;
  return undefined;
}

/** Checks what flags and file together must provide. Throws UsageError. */
export function checkResolverConfig(cfg: ResolverConfig): void {
  if (cfg.listen.length === 0) throw new UsageError('--listen is required (or resolver.listen in --config)');
}

/**
 * Builds the config from flags and, when --config is given, the file's `resolver:`
 * section (flags win). File problems throw ConfigError (FILE:LINE: FIELD: MSG),
 * flag problems UsageError.
 */
export function resolverConfigFromFlags(flags: ResolverFlagValues): ResolverConfig {
  let base = defaultResolverConfig();
  if (flags.config !== undefined) {
    const src = YamlSource.load(flags.config);
    base = readResolverSection(src);
    src.throwIfIssues();
  }
  const cfg = applyResolverFlags(base, flags);
  checkResolverConfig(cfg);
  return cfg;
}

// ---------------------------------------------------------------- YAML

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Sizes as a number of bytes or with a binary suffix: 64m, 512k, 1g, 64MiB, 64MB. */
export function parseSize(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^\s*(\d+)\s*([kmg]?)(?:i?b)?\s*$/i.exec(v);
  if (!m) return undefined;
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(m[1]) * mult;
}

class SectionReader {
  constructor(private readonly src: YamlSource) {}

  /** Reports keys of `obj` not in `known`. */
  keys(obj: Obj, path: FieldPath, known: readonly string[]): void {
    for (const k of Object.keys(obj)) {
      if (!known.includes(k)) this.src.error([...path, k], `unknown key (known: ${known.join(', ')})`);
    }
  }

  map(obj: Obj, key: string, path: FieldPath): Obj | undefined {
    const v = obj[key];
    if (v === undefined || v === null) return undefined;
    if (!isObj(v)) { this.src.error([...path, key], 'must be a mapping'); return undefined; }
    return v;
  }

  int(obj: Obj, key: string, path: FieldPath, min: number, max: number): number | undefined {
    const v = obj[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.src.error([...path, key], `must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
      return undefined;
    }
    return v;
  }

  size(obj: Obj, key: string, path: FieldPath, min: number): number | undefined {
    const v = obj[key];
    if (v === undefined || v === null) return undefined;
    const n = parseSize(v);
    if (n === undefined || n < min) {
      this.src.error([...path, key], `must be a size in bytes (e.g. 67108864, 64m, 512k) of at least ${min}, got ${JSON.stringify(v)}`);
      return undefined;
    }
    return n;
  }

  bool(obj: Obj, key: string, path: FieldPath): boolean | undefined {
    const v = obj[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') { this.src.error([...path, key], `must be true or false, got ${JSON.stringify(v)}`); return undefined; }
    return v;
  }

  str(obj: Obj, key: string, path: FieldPath): string | undefined {
    const v = obj[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') { this.src.error([...path, key], `must be a string, got ${JSON.stringify(v)}`); return undefined; }
    return v;
  }

  /** A list of strings (a single string is accepted as a list of one). */
  strList(obj: Obj, key: string, path: FieldPath): Array<{ value: string; path: FieldPath }> | undefined {
    const v = obj[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return [{ value: v, path: [...path, key] }];
    if (!Array.isArray(v)) { this.src.error([...path, key], 'must be a list of strings'); return undefined; }
    const out: Array<{ value: string; path: FieldPath }> = [];
    v.forEach((item, i) => {
      if (typeof item !== 'string') this.src.error([...path, key, i], `must be a string, got ${JSON.stringify(item)}`);
      else out.push({ value: item, path: [...path, key, i] });
    });
    return out;
  }
}

const TOP_KEYS = ['listen', 'root_hints', 'allow', 'workers', 'identity', 'cache', 'upstream', 'probe', 'tcp', 'max_inflight', 'max_udp_size', 'local_zones', 'warmup_queries', 'warmup_release_memory', 'serve_stale', 'prefetch', ...DEFENCE_TOP_KEYS, ...OPS_TOP_KEYS, 'validator', 'forward_zones'] as const;
const SERVE_STALE_KEYS = ['enabled', 'client_timeout_ms', 'max_stale', 'reply_ttl', 'recheck_interval'] as const;
const VALIDATOR_KEYS = ['enabled', 'trust_anchors', 'trust_anchor_files', 'negative_trust_anchors', 'bogus_ttl', 'debug'] as const;
const CACHE_KEYS = ['max_bytes', 'min_ttl', 'max_ttl', 'max_negative_ttl', 'servfail_ttl'] as const;
const UPSTREAM_KEYS = ['port', 'edns_udp_size', 'timeout_ms', 'resolution_timeout_ms', 'max_queries_per_resolution', 'max_cname_chain', 'max_referrals', 'query_localhost', 'qname_minimisation', 'use_0x20', 'harden_glue', 'ipv4', 'ipv6'] as const;
const PROBE_KEYS = ['name'] as const;
const TCP_KEYS = ['idle_timeout_ms', 'max_connections', 'max_pipelined'] as const;
const LOCAL_ZONES_KEYS = ['nodefault'] as const;

/**
 * Reads the `resolver:` mapping of a YAML file on top of `base` (defaults unless
 * given). Problems are recorded in `src` (FILE:LINE: FIELD: MSG); the caller calls
 * src.throwIfIssues(), so one config file can report every section's problems at once.
 * A missing section is not an error: `node` files may hold only other sections.
 */
export function readResolverSection(src: YamlSource, path: FieldPath = ['resolver'], base: ResolverConfig = defaultResolverConfig()): ResolverConfig {
  const cfg = structuredClone(base);
  const r = new SectionReader(src);
  let node: unknown = src.data;
  for (const key of path) {
    if (node === undefined || node === null) break;
    if (!isObj(node)) { src.error([], 'the file must be a mapping'); return cfg; }
    node = node[key as string];
  }
  if (node === undefined || node === null) return cfg;
  if (!isObj(node)) { src.error(path, 'must be a mapping'); return cfg; }
  const top = node;
  r.keys(top, path, TOP_KEYS);

  const listen = r.strList(top, 'listen', path);
  if (listen) {
    cfg.listen = [];
    for (const l of listen) {
      try { cfg.listen.push(parseListen(l.value, 'listen')); }
      catch (err) { src.error(l.path, (err as Error).message.replace(/^--listen /, '')); }
    }
  }
  const hints = r.str(top, 'root_hints', path);
  if (hints !== undefined) cfg.rootHintsFile = resolvePath(dirname(src.file), hints);
  const allow = r.strList(top, 'allow', path);
  if (allow) {
    cfg.allow = [];
    for (const a of allow) {
      try { validateCidr(a.value); cfg.allow.push(a.value); }
      catch (err) { src.error(a.path, err instanceof AclError ? err.message : String(err)); }
    }
  }
  const workers = r.int(top, 'workers', path, 1, MAX_WORKERS);
  if (workers !== undefined) cfg.workers = workers;
  const identity = r.str(top, 'identity', path);
  if (identity !== undefined) {
    const problem = identityProblem(identity);
    if (problem) src.error([...path, 'identity'], problem); else cfg.identity = identity;
  }
  const maxInflight = r.int(top, 'max_inflight', path, 1, 1_000_000);
  if (maxInflight !== undefined) cfg.maxInflight = maxInflight;
  const maxUdpSize = r.int(top, 'max_udp_size', path, 512, 4096);
  if (maxUdpSize !== undefined) cfg.maxUdpSize = maxUdpSize;
  const warmupQueries = r.int(top, 'warmup_queries', path, 0, 100_000);
  if (warmupQueries !== undefined) cfg.warmupQueries = warmupQueries;
  const warmupRelease = r.bool(top, 'warmup_release_memory', path);
  if (warmupRelease !== undefined) cfg.warmupReleaseMemory = warmupRelease;
  readDefenceSections(src, top, path, cfg);

  const cache = r.map(top, 'cache', path);
  if (cache) {
    const p = [...path, 'cache'];
    r.keys(cache, p, CACHE_KEYS);
    const maxBytes = r.size(cache, 'max_bytes', p, 64 * 1024);
    if (maxBytes !== undefined) cfg.cache.maxBytes = maxBytes;
    const day7 = 7 * 86_400;
    const minTtl = r.int(cache, 'min_ttl', p, 0, day7);
    if (minTtl !== undefined) cfg.cache.minTtl = minTtl;
    const maxTtl = r.int(cache, 'max_ttl', p, 1, day7);
    if (maxTtl !== undefined) cfg.cache.maxTtl = maxTtl;
    const neg = r.int(cache, 'max_negative_ttl', p, 0, day7);
    if (neg !== undefined) cfg.cache.maxNegativeTtl = neg;
    const sf = r.int(cache, 'servfail_ttl', p, 0, 300); // RFC 2308 section 7.1: at most 5 minutes
    if (sf !== undefined) cfg.cache.servfailTtl = sf;
    if (cfg.cache.minTtl > cfg.cache.maxTtl) src.error([...p, 'min_ttl'], `min_ttl ${cfg.cache.minTtl} is above max_ttl ${cfg.cache.maxTtl}`);
  }

  const up = r.map(top, 'upstream', path);
  if (up) {
    const p = [...path, 'upstream'];
    r.keys(up, p, UPSTREAM_KEYS);
    const set = <K extends keyof UpstreamSettings>(k: K, v: UpstreamSettings[K] | undefined) => { if (v !== undefined) cfg.upstream[k] = v; };
    set('port', r.int(up, 'port', p, 1, 65535));
    set('ednsUdpSize', r.int(up, 'edns_udp_size', p, 512, 4096));
    set('timeoutMs', r.int(up, 'timeout_ms', p, 10, 60_000));
    set('resolutionTimeoutMs', r.int(up, 'resolution_timeout_ms', p, 100, 120_000));
    set('maxQueriesPerResolution', r.int(up, 'max_queries_per_resolution', p, 1, 1000));
    set('maxCnameChain', r.int(up, 'max_cname_chain', p, 0, 64));
    set('maxReferrals', r.int(up, 'max_referrals', p, 1, 200));
    set('queryLocalhost', r.bool(up, 'query_localhost', p));
    const qmin = up['qname_minimisation'];
    if (qmin !== undefined && qmin !== null) {
      // YAML reads a bare off/on as a boolean: take true/false too.
      const v = qmin === true ? 'relaxed' : qmin === false ? 'off' : String(qmin);
      if ((QNAME_MINIMISATION_MODES as readonly string[]).includes(v)) cfg.upstream.qnameMinimisation = v as QnameMinimisation;
      else src.error([...p, 'qname_minimisation'], `must be one of ${QNAME_MINIMISATION_MODES.join(', ')} (got "${v}")`);
    }
    set('use0x20', r.bool(up, 'use_0x20', p));
    set('hardenGlue', r.bool(up, 'harden_glue', p));
    set('ipv4', r.bool(up, 'ipv4', p));
    set('ipv6', r.bool(up, 'ipv6', p));
    if (cfg.upstream.ipv4 === false && cfg.upstream.ipv6 === false) src.error([...p, 'ipv6'], 'ipv4 and ipv6 are both false: no authoritative server could be asked');
  }

  const probe = r.map(top, 'probe', path);
  if (probe) {
    const p = [...path, 'probe'];
    r.keys(probe, p, PROBE_KEYS);
    const name = r.str(probe, 'name', p);
    if (name !== undefined) {
      try { cfg.probe.name = normalizeName(name); }
      catch (err) { src.error([...p, 'name'], `not a domain name: ${(err as Error).message}`); }
    }
  }

  const tcp = r.map(top, 'tcp', path);
  if (tcp) {
    const p = [...path, 'tcp'];
    r.keys(tcp, p, TCP_KEYS);
    const t = cfg.tcp ?? defaultTcpSettings();
    const idle = r.int(tcp, 'idle_timeout_ms', p, 100, 600_000);
    if (idle !== undefined) t.idleTimeoutMs = idle;
    const conns = r.int(tcp, 'max_connections', p, 1, 100_000);
    if (conns !== undefined) t.maxConnections = conns;
    const pipe = r.int(tcp, 'max_pipelined', p, 1, 10_000);
    if (pipe !== undefined) t.maxPipelined = pipe;
    cfg.tcp = t;
  }

  // Serve-stale (RFC 8767) and prefetch: resolver/stale/serve-stale.ts, resolver/prefetch.ts.
  const ss = r.map(top, 'serve_stale', path);
  if (ss) {
    const p = [...path, 'serve_stale'];
    r.keys(ss, p, SERVE_STALE_KEYS);
    const st = cfg.serveStale ?? defaultServeStaleSettings();
    const set = <K extends keyof ServeStaleSettings>(k: K, v: ServeStaleSettings[K] | undefined) => { if (v !== undefined) st[k] = v; };
    set('enabled', r.bool(ss, 'enabled', p));
    set('clientTimeoutMs', r.int(ss, 'client_timeout_ms', p, 0, 60_000));
    set('maxStaleS', r.int(ss, 'max_stale', p, 1, 7 * 86_400));
    set('replyTtl', r.int(ss, 'reply_ttl', p, 1, 3_600));
    set('recheckS', r.int(ss, 'recheck_interval', p, 1, 3_600));
    cfg.serveStale = st;
  }
  const prefetch = r.bool(top, 'prefetch', path);
  if (prefetch !== undefined) cfg.prefetch = prefetch;
  if (OPS_TOP_KEYS.some((k) => top[k] !== undefined)) cfg.ops = readOpsSections(src, top, path, cfg.ops);
  const val = r.map(top, 'validator', path);
  if (val) {
    const p = [...path, 'validator'];
    r.keys(val, p, VALIDATOR_KEYS);
    const v = cfg.validator ?? defaultValidatorSettings();
    const en = r.bool(val, 'enabled', p);
    if (en !== undefined) v.enabled = en;
    const dbg = r.bool(val, 'debug', p);
    if (dbg !== undefined) v.debug = dbg;
    const bt = r.int(val, 'bogus_ttl', p, 0, 86_400);
    if (bt !== undefined) v.bogusTtl = bt;
    const tas = r.strList(val, 'trust_anchors', p);
    if (tas) {
      v.trustAnchors = [];
      for (const ta of tas) {
        const issues: ConfigIssue[] = [];
        parseAnchors(ta.value, src.file, issues);
        for (const i of issues) src.error(ta.path, `${i.field}: ${i.message}`);
        if (issues.length === 0) v.trustAnchors.push(ta.value);
      }
    }
    const tafs = r.strList(val, 'trust_anchor_files', p);
    if (tafs) {
      v.trustAnchorFiles = [];
      for (const f of tafs) {
        const file = resolvePath(dirname(src.file), f.value);
        const issues: ConfigIssue[] = [];
        let text: string | undefined;
        try { text = readFileSync(file, 'utf8'); } catch (e) { src.error(f.path, `cannot read ${file}: ${(e as Error).message}`); }
        if (text !== undefined) {
          parseAnchors(text, file, issues);
          for (const i of issues) src.error(f.path, `${i.file}:${i.line}: ${i.field}: ${i.message}`);
          if (issues.length === 0) v.trustAnchorFiles.push(file);
        }
      }
    }
    const ntas = r.strList(val, 'negative_trust_anchors', p);
    if (ntas) {
      v.negativeTrustAnchors = [];
      for (const n of ntas) {
        try { v.negativeTrustAnchors.push(normalizeName(n.value).toLowerCase()); }
        catch (err) { src.error(n.path, `not a domain name: ${(err as Error).message}`); }
      }
    }
    cfg.validator = v;
  }
  const fwd = readForwardZones(src, top['forward_zones'], [...path, 'forward_zones']);
  if (fwd) cfg.forwardZones = fwd;

  const lz = r.map(top, 'local_zones', path);
  if (lz) {
    const p = [...path, 'local_zones'];
    r.keys(lz, p, LOCAL_ZONES_KEYS);
    const nd = r.strList(lz, 'nodefault', p);
    if (nd) {
      cfg.localZonesNodefault = [];
      for (const z of nd) {
        let zone: string;
        try { zone = normalizeName(z.value).toLowerCase(); }
        catch (err) { src.error(z.path, `not a domain name: ${(err as Error).message}`); continue; }
        if (!DEFAULT_LOCAL_ZONES.includes(zone)) src.error(z.path, `"${z.value}" is not one of the built-in local zones (see resolver/README.md)`);
        else cfg.localZonesNodefault.push(zone);
      }
    }
  }
  return cfg;
}
