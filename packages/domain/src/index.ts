export * from './booking.types.ts';
export * from './booking-rule.ts';
export * from './errors.ts';
export * from './ids.ts';
export * from './responses.schemas.ts';
export * from './schemas.ts';
