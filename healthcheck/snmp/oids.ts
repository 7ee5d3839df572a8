// Object layout of ANYCAST-KIT-MIB, relative to the configurable enterprise base OID.
// The agent registers exactly these; test/healthcheck/snmp-mib.test.ts checks every
// entry against the shipped MIB file with Debian's snmptranslate, so the two cannot
// drift apart.

import { DEFENCE_SCALARS } from '../defence-metrics.js';

export type SnmpKind = 'Counter64' | 'Gauge32' | 'Integer' | 'OctetString';

export interface ScalarDef {
  name: string;
  /** Suffix below the base OID (without the trailing .0 instance). */
  suffix: string;
  kind: SnmpKind;
  /** Named values for INTEGER enumerations (number -> name). */
  enumeration?: Record<number, string>;
}

export interface TableDef {
  name: string;
  /** Suffix of the Entry object (table suffix + ".1"). */
  entrySuffix: string;
  indexName: string;
  nameColumn: string;
  valueColumn: string;
  /** Row labels, index 1..n in order. */
  rows: readonly string[];
}

export const TRUTH = { 1: 'true', 2: 'false' } as const;

export const SCALARS: readonly ScalarDef[] = [
  // akNode (1.1)
  { name: 'akNodeIdentity', suffix: '1.1.1', kind: 'OctetString' },
  { name: 'akNodeVersion', suffix: '1.1.2', kind: 'OctetString' },
  { name: 'akNodeWorkers', suffix: '1.1.3', kind: 'Gauge32' },
  { name: 'akNodeUptimeSeconds', suffix: '1.1.4', kind: 'Gauge32' },
  // akHealth (1.2)
  { name: 'akHealthState', suffix: '1.2.1', kind: 'Integer', enumeration: { 1: 'starting', 2: 'up', 3: 'down', 4: 'draining', 5: 'lameduck' } },
  { name: 'akHealthServing', suffix: '1.2.2', kind: 'Integer', enumeration: TRUTH },
  { name: 'akHealthDegraded', suffix: '1.2.3', kind: 'Integer', enumeration: TRUTH },
  { name: 'akHealthDraining', suffix: '1.2.4', kind: 'Integer', enumeration: TRUTH },
  { name: 'akHealthReason', suffix: '1.2.5', kind: 'OctetString' },
  { name: 'akHealthTransitions', suffix: '1.2.6', kind: 'Counter64' },
  { name: 'akHealthProbesOk', suffix: '1.2.7', kind: 'Counter64' },
  { name: 'akHealthProbesFailed', suffix: '1.2.8', kind: 'Counter64' },
  { name: 'akHealthProbeRttUsec', suffix: '1.2.9', kind: 'Gauge32' },
  { name: 'akHealthStateAgeSeconds', suffix: '1.2.10', kind: 'Gauge32' },
  // akQueries (1.3)
  { name: 'akQueriesUdp', suffix: '1.3.1', kind: 'Counter64' },
  { name: 'akQueriesTcp', suffix: '1.3.2', kind: 'Counter64' },
  { name: 'akQueriesDropped', suffix: '1.3.3', kind: 'Counter64' },
  { name: 'akQueriesRefusedAcl', suffix: '1.3.4', kind: 'Counter64' },
  { name: 'akQueriesInflight', suffix: '1.3.5', kind: 'Gauge32' },
  { name: 'akQueriesPerSecond', suffix: '1.3.6', kind: 'Gauge32' },
  { name: 'akQueriesUdpRepliesUnsent', suffix: '1.3.7', kind: 'Counter64' },
  // akCache (1.6)
  { name: 'akCacheHits', suffix: '1.6.1', kind: 'Counter64' },
  { name: 'akCacheMisses', suffix: '1.6.2', kind: 'Counter64' },
  { name: 'akCacheStale', suffix: '1.6.3', kind: 'Counter64' },
  { name: 'akCacheEntries', suffix: '1.6.4', kind: 'Gauge32' },
  { name: 'akCacheKibibytes', suffix: '1.6.5', kind: 'Gauge32' },
  { name: 'akCachePrefetches', suffix: '1.6.6', kind: 'Counter64' },
  // akUpstream (1.7)
  { name: 'akUpstreamQueries', suffix: '1.7.1', kind: 'Counter64' },
  { name: 'akUpstreamTimeouts', suffix: '1.7.2', kind: 'Counter64' },
  { name: 'akUpstreamErrors', suffix: '1.7.3', kind: 'Counter64' },
  { name: 'akUpstreamProbes', suffix: '1.7.4', kind: 'Counter64' },
  { name: 'akUpstreamDeadZoneServfails', suffix: '1.7.5', kind: 'Counter64' },
  // akLatency (1.8)
  { name: 'akLatencyP50Usec', suffix: '1.8.1', kind: 'Gauge32' },
  { name: 'akLatencyP90Usec', suffix: '1.8.2', kind: 'Gauge32' },
  { name: 'akLatencyP99Usec', suffix: '1.8.3', kind: 'Gauge32' },
  { name: 'akLatencyMeanUsec', suffix: '1.8.4', kind: 'Gauge32' },
  { name: 'akLatencyWindowSeconds', suffix: '1.8.5', kind: 'Gauge32' },
  { name: 'akLatencyResponses', suffix: '1.8.6', kind: 'Counter64' },
  // akDefence (1.9): rate limiting, cookies, flood defence (healthcheck/defence-metrics.ts)
  ...DEFENCE_SCALARS,
  // akOps (1.14): reload, control and warm start
  { name: 'akOpsReloads', suffix: '1.14.1', kind: 'Counter64' },
  { name: 'akOpsReloadFailures', suffix: '1.14.2', kind: 'Counter64' },
  { name: 'akOpsFlushedEntries', suffix: '1.14.3', kind: 'Counter64' },
  { name: 'akOpsDumpEntriesLoaded', suffix: '1.14.4', kind: 'Counter64' },
  { name: 'akOpsDumpsRejected', suffix: '1.14.5', kind: 'Counter64' },
  { name: 'akOpsDumpEntriesWritten', suffix: '1.14.6', kind: 'Gauge32' },
  { name: 'akOpsWarmNamesResolved', suffix: '1.14.7', kind: 'Counter64' },
  { name: 'akOpsWarming', suffix: '1.14.8', kind: 'Integer', enumeration: TRUTH },
];

export const TABLES: readonly TableDef[] = [
  {
    name: 'akRcodeTable', entrySuffix: '1.4.1', indexName: 'akRcodeIndex', nameColumn: 'akRcodeName', valueColumn: 'akRcodeResponses',
    rows: ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'other'],
  },
  {
    name: 'akQtypeTable', entrySuffix: '1.5.1', indexName: 'akQtypeIndex', nameColumn: 'akQtypeName', valueColumn: 'akQtypeQueries',
    rows: ['A', 'AAAA', 'PTR', 'MX', 'TXT', 'NS', 'SOA', 'CNAME', 'SRV', 'HTTPS', 'ANY', 'other'],
  },
];

/** NOTIFICATION-TYPE sent on every health state change (base.0.1). */
export const HEALTH_CHANGE_NOTIFICATION = { name: 'akHealthStateChange', suffix: '0.1' } as const;
/** Objects carried by the notification, in order. */
export const NOTIFICATION_OBJECTS = ['akHealthState', 'akHealthReason', 'akNodeIdentity'] as const;
