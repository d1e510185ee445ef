export * from './errors.js';
export * from './api/system.js';
export * from './api/images.js';
export * from './api/events.js';
export * from './api/progress.js';
export * from './api/networks.js';
export * from './ipc.js';
