export * from './errors.js';
export * from './api/system.js';
export * from './api/images.js';
export * from './api/events.js';
export * from './api/progress.js';
