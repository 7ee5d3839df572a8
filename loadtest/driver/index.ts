// The load generator half of anycast-kit/loadtest: `loadtest run` and `loadtest capacity`.
export { runLoad, LoadEngine, DriverError, diagnoseNoAnswers, DEFAULT_CLIENTS, DEFAULT_DURATION_S, DEFAULT_TIMEOUT_MS } from './engine.js';
export type { RunOptions, Progress } from './engine.js';
export { findCapacity, judgeStep, CAPACITY_DEFAULTS } from './capacity.js';
export type { CapacityOptions } from './capacity.js';
export { loadQueryFile, parseQueries, parseQueryLine, QueryFileError } from './queryfile.js';
export type { QuerySet, QueryLine } from './queryfile.js';
export { LatencyHistogram, summarize } from './histogram.js';
export type { LatencySummaryMs } from './histogram.js';
export { parseSources } from './sources.js';
export { formatRun, formatCapacity } from './results.js';
export type { RunResult, CapacityResult, CapacityStep, SourceResult, UnsentCounts, StopReason } from './results.js';
