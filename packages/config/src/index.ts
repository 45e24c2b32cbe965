export * from './env.ts';
export * from './schemas.ts';
