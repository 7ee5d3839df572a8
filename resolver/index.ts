// Public entry of the resolver part (package export "anycast-kit/resolver").
export { startResolver } from './server.js';
export type { ResolverHandle, ProbeAnswerMode, StartOptions } from './api.js';
export {
  defaultResolverConfig, resolverFlagOptions, resolverConfigFromFlags, readResolverSection, applyResolverFlags,
  checkResolverConfig, RESOLVER_FLAGS_HELP, DEFAULT_PROBE_NAME,
  type ResolverConfig, type ResolverFlagValues, type ListenAddress, type CacheSettings, type UpstreamSettings,
  type ProbeSettings, type TcpSettings,
} from './config.js';
export { emptyStats, mergeStats, type ResolverStats } from './stats.js';
