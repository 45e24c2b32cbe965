export * from './database.ts';
export * from './env.ts';
export * from './logger.ts';
export * from './redis.ts';
