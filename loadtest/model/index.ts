// Public API of the loadtest model: pure computation (CEF hashing, failover cascade,
// capacity planning). It imports nothing from resolver/.
export * from './hash.js';
export * from './ipv4.js';
export * from './keyhist.js';
export * from './clients.js';
export * from './cef.js';
export * from './calibrate.js';
export * from './topology.js';
export * from './failover.js';
export * from './plan.js';
export { fmtQps, fmtPct, fmtRatio, textTable } from './format.js';
export * from './synthetic.js';
