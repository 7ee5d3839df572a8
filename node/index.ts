// Public surface of the node (package export "./node"): the deployable unit that
// runs a resolver with its health endpoint, metrics and SNMP agent.
export { startNode, type NodeDeps, type NodeHandle } from './node.js';
export type { NodeConfig } from './config.js';
