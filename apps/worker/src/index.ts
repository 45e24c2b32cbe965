export * from './worker.ts';
export * from './options.ts';
