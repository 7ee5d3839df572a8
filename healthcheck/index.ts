// Public surface of the healthcheck part (package export "./healthcheck").
export { startNode, type NodeDeps, type NodeHandle } from './node.js';
export {
  readNodeSections, resolveSections, checkSections, defaultLameduck, slaDetectionMs, parseDuration, parseListen,
  DEFAULT_BASE_OID, DEFAULT_PROBE_NAME, MIN_LAMEDUCK_MS,
  type NodeConfig, type HealthSettings, type SnmpSettings, type MetricsSettings, type SlaSettings, type CanarySettings,
  type SnmpUserSettings, type SnmpTrapTarget, type HostPort, type NodeSectionsInput,
} from './config.js';
export { HealthMachine, HEALTH_STATES, healthStateNumber, type HealthState, type StateChange, type ProbeOutcome } from './state.js';
export { HealthMonitor } from './monitor.js';
export { renderMetrics, PROMETHEUS_CONTENT_TYPE } from './metrics.js';
export { dnsProbe, type DnsProbeResult } from './probe.js';
