// Resolver settings. Types fixed here; parsing from YAML and flags is filled in by
// the resolver front (see resolver/README.md for every key).

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
}

export interface ProbeSettings {
  /** Name answered locally for health probes (see healthcheck). Empty disables it. */
  name: string;
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
}
