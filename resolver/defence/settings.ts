// Settings of the resolver's defences: per-client rate limiting (`rate_limit:`),
// DNS cookies (`cookies:`) and the random-subdomain (water-torture) defence
// (`flood:`). Plain data in ResolverConfig, so a reload can swap them; read from
// the YAML `resolver:` section by readDefenceSections() (problems as
// FILE:LINE: FIELD: MESSAGE). Documented in resolver/README.md, "Defences".

import { readFileSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import type { FieldPath, YamlSource } from '../../common/yaml-source.js';
import { AclError, validateCidr } from '../acl.js';

export interface RateLimitSettings {
  /** Queries per second one client prefix may send over UDP; 0 turns rate limiting off. */
  qps: number;
  /** Bucket depth: queries a prefix may send at once after a quiet spell. */
  burst: number;
  /** Over the limit: every slip-th query gets an empty TC=1 reply (0 = drop all, 1 = TC to all). */
  slip: number;
  /** Prefix lengths that make one client (BIND RRL's ipv4-prefix-length / ipv6-prefix-length). */
  ipv4Prefix: number;
  ipv6Prefix: number;
  /** Client networks never limited (CIDR). */
  exempt: string[];
  /** Buckets kept at most (bounded memory); the least recently used one makes room. */
  maxClients: number;
}

export interface CookieSettings {
  /** Answer DNS cookies (RFC 7873 / RFC 9018). On by default, as BIND. */
  enabled: boolean;
  /**
   * Server secrets, 16 bytes each as 32 hex digits: the first makes server cookies,
   * every one is accepted (rotation). Empty: a random secret is made at start.
   */
  secrets: string[];
  /** File the secrets were read from (one per line, first is current), for the docs and reload. */
  secretFile?: string;
  /** The secret was made at random at start (none configured): a reload keeps it. */
  generated?: boolean;
  /** Require a valid server cookie over UDP (BADCOOKIE / TC=1 otherwise). Off by default. */
  enforce: boolean;
  /** Send client cookies to authoritative servers and handle BADCOOKIE. */
  upstream: boolean;
}

export interface FloodSettings {
  /** Upstream queries outstanding at once for one zone (servers of one delegation); 0 = no limit. */
  maxOutstandingPerZone: number;
  /**
   * Queries that may wait for a slot of their zone once it is at its cap
   * (resolver/defence/zone-queue.ts); past that, SERVFAIL at once. 0: no waiting.
   * Absent: a tenth of max_inflight.
   */
  zoneQueueLength?: number;
  /** Longest wait for a zone slot (ms), never beyond the query's own budget; then SERVFAIL. */
  zoneQueueWaitMs: number;
  /** Share of cache.max_bytes that negative answers (NXDOMAIN, NODATA) may hold in the answer cache. */
  negativeCacheShare: number;
  /**
   * Negative answers (NXDOMAIN, NODATA, SERVFAIL) one zone may hold in each cache;
   * past it the zone's oldest make room (defence/negative-quota.ts). 0 = no quota.
   */
  maxNegativePerZone: number;
}

export function defaultRateLimitSettings(): RateLimitSettings {
  return { qps: 0, burst: 0, slip: 2, ipv4Prefix: 24, ipv6Prefix: 56, exempt: [], maxClients: 100_000 };
}

export function defaultCookieSettings(): CookieSettings {
  return { enabled: true, secrets: [], enforce: false, upstream: true };
}

/**
 * Default flood.max_negative_per_zone: about 1.1 MiB of the answer cache's negative
 * budget (16 MiB at the default cache) and as much of the RRset cache per zone.
 */
export const DEFAULT_MAX_NEGATIVE_PER_ZONE = 2000;

export function defaultFloodSettings(): FloodSettings {
  return { maxOutstandingPerZone: 1000, zoneQueueWaitMs: 1000, negativeCacheShare: 0.25, maxNegativePerZone: DEFAULT_MAX_NEGATIVE_PER_ZONE };
}

/** Bucket depth used when `burst` is 0: twice the rate, at least 10. */
export function effectiveBurst(s: RateLimitSettings): number {
  return s.burst > 0 ? s.burst : Math.max(10, 2 * s.qps);
}

export const DEFENCE_TOP_KEYS = ['rate_limit', 'cookies', 'flood'] as const;
const RATE_LIMIT_KEYS = ['qps', 'burst', 'slip', 'ipv4_prefix', 'ipv6_prefix', 'exempt', 'max_clients'] as const;
const COOKIE_KEYS = ['enabled', 'secret', 'previous_secret', 'secret_file', 'enforce', 'upstream'] as const;
const FLOOD_KEYS = ['max_outstanding_per_zone', 'zone_queue_length', 'zone_queue_wait_ms', 'negative_cache_share', 'max_negative_per_zone'] as const;

/** The parts of ResolverConfig this module owns (all optional there: defaults when absent). */
export interface DefenceConfig {
  rateLimit?: RateLimitSettings;
  cookies?: CookieSettings;
  flood?: FloodSettings;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const SECRET_RE = /^[0-9a-fA-F]{32}$/;

/** Problem with a secret's text, or undefined when it is 32 hex digits. */
export function secretProblem(s: string): string | undefined {
  return SECRET_RE.test(s) ? undefined : 'must be 32 hexadecimal digits (a 128-bit secret), e.g. from `openssl rand -hex 16`';
}

/**
 * Reads a secret file: one secret per line (32 hex digits), the first is current,
 * the others are accepted. `#` comments and blank lines are skipped. Returns the
 * secrets, or an error message naming the line.
 */
export function readSecretFile(file: string): { secrets: string[] } | { error: string } {
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (err) {
    return { error: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
  const secrets: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i].replace(/#.*/, '').trim();
    if (l === '') continue;
    const p = secretProblem(l);
    if (p) return { error: `${file}:${i + 1}: secret ${p}` };
    secrets.push(l.toLowerCase());
  }
  if (secrets.length === 0) return { error: `${file}: no secret in the file` };
  return { secrets };
}

/**
 * Reads `rate_limit:`, `cookies:` and `flood:` of the resolver mapping `top`
 * (found at `path`) into `cfg`. Problems are recorded in `src`.
 */
export function readDefenceSections(src: YamlSource, top: Obj, path: FieldPath, cfg: DefenceConfig): void {
  const err = (p: FieldPath, m: string) => src.error(p, m);
  const section = (key: string, known: readonly string[]): Obj | undefined => {
    const v = top[key];
    if (v === undefined || v === null) return undefined;
    if (!isObj(v)) { err([...path, key], 'must be a mapping'); return undefined; }
    for (const k of Object.keys(v)) if (!known.includes(k)) err([...path, key, k], `unknown key (known: ${known.join(', ')})`);
    return v;
  };
  const int = (o: Obj, p: FieldPath, key: string, min: number, max: number): number | undefined => {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      err([...p, key], `must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
      return undefined;
    }
    return v;
  };
  const bool = (o: Obj, p: FieldPath, key: string): boolean | undefined => {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') { err([...p, key], `must be true or false, got ${JSON.stringify(v)}`); return undefined; }
    return v;
  };
  const str = (o: Obj, p: FieldPath, key: string): string | undefined => {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') { err([...p, key], `must be a string, got ${JSON.stringify(v)}`); return undefined; }
    return v;
  };

  const rl = section('rate_limit', RATE_LIMIT_KEYS);
  if (rl) {
    const p = [...path, 'rate_limit'];
    const s = cfg.rateLimit ?? defaultRateLimitSettings();
    s.qps = int(rl, p, 'qps', 0, 1_000_000) ?? s.qps;
    s.burst = int(rl, p, 'burst', 0, 10_000_000) ?? s.burst;
    s.slip = int(rl, p, 'slip', 0, 10) ?? s.slip;
    s.ipv4Prefix = int(rl, p, 'ipv4_prefix', 8, 32) ?? s.ipv4Prefix;
    s.ipv6Prefix = int(rl, p, 'ipv6_prefix', 16, 128) ?? s.ipv6Prefix;
    s.maxClients = int(rl, p, 'max_clients', 16, 10_000_000) ?? s.maxClients;
    const ex = rl['exempt'];
    if (ex !== undefined && ex !== null) {
      const list = typeof ex === 'string' ? [ex] : ex;
      if (!Array.isArray(list)) err([...p, 'exempt'], 'must be a list of CIDR strings');
      else {
        s.exempt = [];
        list.forEach((c, i) => {
          const ip = typeof ex === 'string' ? [...p, 'exempt'] : [...p, 'exempt', i];
          if (typeof c !== 'string') { err(ip, `must be a string, got ${JSON.stringify(c)}`); return; }
          try { validateCidr(c); s.exempt.push(c); } catch (e) { err(ip, e instanceof AclError ? e.message : String(e)); }
        });
      }
    }
    cfg.rateLimit = s;
  }

  const ck = section('cookies', COOKIE_KEYS);
  if (ck) {
    const p = [...path, 'cookies'];
    const s = cfg.cookies ?? defaultCookieSettings();
    s.enabled = bool(ck, p, 'enabled') ?? s.enabled;
    s.enforce = bool(ck, p, 'enforce') ?? s.enforce;
    s.upstream = bool(ck, p, 'upstream') ?? s.upstream;
    const secret = str(ck, p, 'secret');
    const previous = str(ck, p, 'previous_secret');
    const file = str(ck, p, 'secret_file');
    if (file !== undefined && (secret !== undefined || previous !== undefined)) {
      err([...p, 'secret_file'], 'give either secret_file or secret/previous_secret, not both');
    } else if (file !== undefined) {
      const abs = resolvePath(dirname(src.file), file);
      const r = readSecretFile(abs);
      if ('error' in r) err([...p, 'secret_file'], r.error);
      else { s.secrets = r.secrets; s.secretFile = abs; }
    } else {
      const out: string[] = [];
      if (secret !== undefined) {
        const pr = secretProblem(secret);
        if (pr) err([...p, 'secret'], pr); else out.push(secret.toLowerCase());
      }
      if (previous !== undefined) {
        const pr = secretProblem(previous);
        if (pr) err([...p, 'previous_secret'], pr);
        else if (secret === undefined) err([...p, 'previous_secret'], 'needs secret (the current one) too');
        else out.push(previous.toLowerCase());
      }
      if (out.length) s.secrets = out;
    }
    if (s.enforce && !s.enabled) err([...p, 'enforce'], 'enforce needs enabled: true');
    cfg.cookies = s;
  }

  const fl = section('flood', FLOOD_KEYS);
  if (fl) {
    const p = [...path, 'flood'];
    const s = cfg.flood ?? defaultFloodSettings();
    s.maxOutstandingPerZone = int(fl, p, 'max_outstanding_per_zone', 0, 1_000_000) ?? s.maxOutstandingPerZone;
    s.zoneQueueLength = int(fl, p, 'zone_queue_length', 0, 1_000_000) ?? s.zoneQueueLength;
    s.zoneQueueWaitMs = int(fl, p, 'zone_queue_wait_ms', 1, 120_000) ?? s.zoneQueueWaitMs;
    s.maxNegativePerZone = int(fl, p, 'max_negative_per_zone', 0, 10_000_000) ?? s.maxNegativePerZone;
    const share = fl['negative_cache_share'];
    if (share !== undefined && share !== null) {
      if (typeof share !== 'number' || !(share > 0) || share > 1) err([...p, 'negative_cache_share'], `must be a number above 0 and at most 1, got ${JSON.stringify(share)}`);
      else s.negativeCacheShare = share;
    }
    cfg.flood = s;
  }
}
