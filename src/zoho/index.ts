export * from './errors.js';
export * from './data-centres.js';
export * from './ids.js';
export * from './transaction-types.js';
export * from './limits.js';
export * from './scopes.js';
export * from './types.js';
export * from './time.js';
