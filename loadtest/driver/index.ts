// The load generator half of anycast-kit/loadtest: `loadtest run` and `loadtest capacity`.
export { runLoad, diagnoseNoAnswers } from './run.js';
export { LoadEngine } from './engine.js';
export { DriverError, type DriverErrorCode } from './errors.js';
export { DEFAULT_CLIENTS, DEFAULT_DURATION_S, DEFAULT_TIMEOUT_MS } from './options.js';
export type { RunOptions, Progress } from './options.js';
export { findCapacity, judgeStep, CAPACITY_DEFAULTS } from './capacity.js';
export type { CapacityOptions } from './capacity.js';
export { loadQueryFile, parseQueries, parseQueryLine, QueryFileError, type QueryFileErrorCode } from './queryfile.js';
export type { QuerySet, QueryLine } from './queryfile.js';
export { LatencyHistogram, summarize } from './histogram.js';
export type { LatencySummaryMs } from './histogram.js';
export { parseSources } from './sources.js';
export { formatRun, formatCapacity } from './results.js';
export type { RunResult, CapacityResult, CapacityStep, SourceResult, UnsentCounts, StopReason } from './results.js';
