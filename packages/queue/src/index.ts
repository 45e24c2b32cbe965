export * from './decision-hub.ts';
export * from './gate.ts';
export * from './jobs.ts';
export * from './names.ts';
export * from './redis.ts';
export * from './lease.ts';
