// Public API of the loadtest model: pure computation (CEF hashing, failover cascade,
// capacity planning). It imports nothing from resolver/.
export * from './hash.js';
export * from './ipv4.js';
export * from './keyhist.js';
export * from './clients.js';
export * from './cef.js';
export * from './calibrate.js';
