// Wire-level code every part shares. dns2 is not used on any hot or hostile path:
// see dns/README.md for the measurements behind that choice.
export * from './constants.js';
export * from './errors.js';
export * from './name.js';
export * from './message.js';
export * from './rdata.js';
