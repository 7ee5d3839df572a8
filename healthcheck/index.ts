// Public surface of the healthcheck part (package export "./healthcheck"). The node that
// runs it beside a resolver, startNode(), is anycast-kit/node (node/).
export {
  readNodeSections, resolveSections, checkSections, defaultLameduck, slaDetectionMs, parseDuration, parseListen,
  DEFAULT_BASE_OID, DEFAULT_PROBE_NAME, MIN_LAMEDUCK_MS,
  type NodeSections, type HealthSettings, type SnmpSettings, type MetricsSettings, type SlaSettings, type CanarySettings,
  type SnmpUserSettings, type SnmpTrapTarget, type HostPort, type NodeSectionsInput,
} from './config.js';
export { HealthMachine, HEALTH_STATES, healthStateNumber, type HealthState, type StateChange, type ProbeOutcome } from './state.js';
export { HealthMonitor, type ResolverView } from './monitor.js';
export { renderMetrics, PROMETHEUS_CONTENT_TYPE } from './metrics.js';
export { dnsProbe, type DnsProbeResult } from './probe.js';
