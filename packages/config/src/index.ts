export * from './env.ts';
export * from './identity.schema.ts';
export * from './schemas.ts';
export * from './pools.ts';
