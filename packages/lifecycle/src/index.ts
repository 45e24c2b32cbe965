export * from './database.ts';
export * from './settled-within.ts';
export * from './supervise.ts';
