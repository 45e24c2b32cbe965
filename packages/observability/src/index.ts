export * from './api-metrics.ts';
export * from './event-gauges.ts';
export * from './logger.ts';
export * from './metrics.ts';
export * from './metrics-server.ts';
export * from './worker-metrics.ts';
