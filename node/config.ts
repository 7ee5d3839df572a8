// A node's whole configuration: the resolver's section (resolver/config.ts) and the
// healthcheck part's health:, snmp: and metrics: sections (healthcheck/config.ts).
// Only the composition root (node.ts) and cli/ put the two together.

import type { NodeSections } from '../healthcheck/config.js';
import type { ResolverConfig } from '../resolver/config.js';

export interface NodeConfig extends NodeSections {
  resolver: ResolverConfig;
}
