// Public API of ios-templates: inventory in, switch config / change plans / node snippets out.
export {
  loadInventory,
  parseInventory,
  allSwitches,
  allNodes,
  ConfigError,
  PLATFORMS,
  PROBE_TYPES,
  PROTOCOLS,
  CEF_ALGORITHMS,
  TRACK_RANGE,
  type Inventory,
  type Site,
  type Switch,
  type Node,
  type Probe,
  type Platform,
  type ProbeType,
  type Protocol,
  type CefAlgorithm,
} from './inventory.js';
export { renderSwitch, renderSwitchLines, type RenderOptions } from './render.js';
export { buildSwitch, type Block, type Cmd, type SwitchConfig } from './model.js';
export { planChanges, type SwitchPlan, type PlanSummary, type PlanOptions } from './plan.js';
export { checkGrammar, assertGrammar, GrammarError, type GrammarErrorCode, type GrammarIssue } from './grammar.js';
export { hostSnippet, renderHostSnippet, healthTiming, nodeConfig, type HostSnippet, type HealthTiming } from './host.js';
