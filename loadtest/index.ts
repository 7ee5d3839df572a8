// anycast-kit/loadtest: the capacity model (CEF hashing, cascading failover, planning)
// and its report renderers. The load generator half (driver/) adds its exports here.
export * from './model/index.js';
export * from './report/index.js';
export * from './driver/index.js';
