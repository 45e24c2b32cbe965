export * from './options.ts';
export * from './worker.ts';
