export * from './booking-request.repository.ts';
export * from './accepted-request.repository.ts';
export * from './booking.repository.ts';
export * from './connection.ts';
export type * from './database.ts';
export * from './decision.repository.ts';
export * from './event.repository.ts';
export * from './migrator.ts';
export * from './pg-errors.ts';
