// The resolver's back: iterative resolution from the root, behind the contract in
// ./types.ts. The front (listeners, answer cache, inflight merging of client
// questions) calls createIterator once per worker and then resolve() per miss.

import { performance } from 'node:perf_hooks';
import type { ResolverConfig } from '../config.js';
import type { ResolverStats } from '../stats.js';
import { RRsetCache } from '../cache/rrset-cache.js';
import { TtlPolicy } from '../ttl-policy.js';
import { InfraCache, type InfraOptions } from '../selection/infra.js';
import { DeadServerProber } from '../selection/prober.js';
import { UdpTcpTransport, type Upstream } from '../transport/upstream.js';
import { ZoneLimitedUpstream, zoneLimitsOf } from '../defence/zone-limit.js';
import { NegativeQuota } from '../defence/negative-quota.js';
import { defaultCookieSettings, defaultFloodSettings } from '../defence/settings.js';
import { ClientCookies } from '../cookies/client-cookie.js';
import { Iterator } from './iterator.js';
import { builtinRootHints, loadRootHints, type RootHints } from './roothints.js';
import type { Resolution } from './types.js';
import { rrsetCacheBytes } from '../memory.js';
import { ForwardTable } from '../forward/forward.js';

export type { Resolution, ResolveRequest, ResolveResult } from './types.js';
export { builtinRootHints, loadRootHints, parseRootHints, type RootHints } from './roothints.js';

/** Optional knobs, mostly for tests; the front passes none. */
export interface IteratorOptions {
  /** Monotonic clock in ms for TTLs and the infra cache (tests move it by hand). Never returns 0. */
  now?: () => number;
  /** Replaces the UDP/TCP transport (tests may script the network). */
  upstream?: Upstream;
  /** Root hints to use instead of cfg.rootHintsFile / the built-in IANA set. */
  rootHints?: RootHints;
  /** Bytes for the RRset cache; default a quarter of cfg.cache.maxBytes, at least 1 MiB. */
  rrsetCacheBytes?: number;
  /** Infra cache tuning (back-off, lameness time, RTO bounds). */
  infra?: Partial<Omit<InfraOptions, 'now'>>;
  /** Random source for server choice. */
  random?: () => number;
  /** Nesting of glueless NS lookups before giving up (default 4). */
  maxDependencyDepth?: number;
}

export interface IteratorHandle extends Resolution {
  close(): Promise<void>;
  /** Introspection for tests and diagnostics. */
  readonly cache: RRsetCache;
  readonly infra: InfraCache;
}

/**
 * Builds the iterator. Reads cfg.rootHintsFile synchronously; a bad file throws a
 * ConfigError whose message lists FILE:LINE: FIELD: MESSAGE for every problem.
 */
export function createIterator(cfg: ResolverConfig, stats: ResolverStats, opts: IteratorOptions = {}): IteratorHandle {
  const now = opts.now ?? (() => performance.now() + 1);
  const hints = opts.rootHints ?? (cfg.rootHintsFile ? loadRootHints(cfg.rootHintsFile) : builtinRootHints());
  const ttl = new TtlPolicy(cfg.cache);
  const cache = new RRsetCache({
    maxBytes: opts.rrsetCacheBytes ?? rrsetCacheBytes(cfg.cache.maxBytes),
    ttl,
    now,
  });
  const infra = new InfraCache({ maxRtoMs: cfg.upstream.timeoutMs, ...opts.infra, now, random: opts.random ?? opts.infra?.random });
  const cookies = (cfg.cookies ?? defaultCookieSettings()).upstream ? new ClientCookies() : undefined;
  const transport = opts.upstream ?? new UdpTcpTransport({ ednsUdpSize: cfg.upstream.ednsUdpSize, dnssecOk: cfg.validator?.enabled === true, queryLocalhost: cfg.upstream.queryLocalhost, use0x20: cfg.upstream.use0x20, stats, cookies });
  const upstream = new ZoneLimitedUpstream(transport, () => zoneLimitsOf(cfg), stats);
  // Dead servers due for a retry are probed in the background, never by a question
  // (straight on the transport: a zone's flood limit must not hold back its probes).
  const prober = new DeadServerProber({ upstream: transport, infra, stats, port: cfg.upstream.port, timeoutMs: cfg.upstream.timeoutMs, now });
  infra.setProber((address, zone) => prober.probe(address, zone));
  // flood.max_negative_per_zone, read at each store so a reload can change it.
  const negativeQuota = new NegativeQuota<string>(() => (cfg.flood ?? defaultFloodSettings()).maxNegativePerZone);
  const it = new Iterator({ cfg, stats, upstream, hints, cache, ttl, infra, random: opts.random, maxDependencyDepth: opts.maxDependencyDepth, now, forwards: cfg.forwardZones?.length ? new ForwardTable(cfg.forwardZones) : undefined, negativeQuota });
  return {
    resolve: (req) => it.resolve(req),
    cache,
    infra,
    async close() {
      it.close();
      prober.close();
      await upstream.close();
    },
  };
}
