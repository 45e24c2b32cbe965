export * from './database.ts';
export * from './env.ts';
export * from './logger.ts';
export * from './private-postgres.ts';
export * from './random.ts';
export * from './redis.ts';
