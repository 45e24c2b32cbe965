export * from './env.ts';
export * from './identity.schema.ts';
export * from './pools.ts';
export * from './schemas.ts';
