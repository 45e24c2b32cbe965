export * from './database.ts';
export * from './supervise.ts';
