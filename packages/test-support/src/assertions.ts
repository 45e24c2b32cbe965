import { randomBytes } from 'node:crypto';

import type { Db } from '@booking/db';
import { expect } from 'vitest';

import type { JsonResponse } from './http.ts';

// Assertions on the contract's answers and the database, shared by the tests.

/** Asserts a contract error answer: status, problem+json media type, `{type,title,status,detail,code}`. */
export function expectProblem(res: JsonResponse, status: number, code: string): void {
  expect({ status: res.status, body: res.body }).toMatchObject({ status, body: { code } });
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json(;|$)/);
  const body = res.body as Record<string, unknown>;
  expect(body).toEqual({
    type: expect.any(String),
    title: expect.any(String),
    status,
    detail: expect.any(String),
    code,
    ...('errors' in body ? { errors: expect.any(Array) } : {}),
  });
  expect((body.type as string).length).toBeGreaterThan(0);
  expect((body.title as string).length).toBeGreaterThan(0);
}

/** Asserts `400 VALIDATION_FAILED` whose `errors` list has an entry for `field`. */
export function expectFieldProblem(res: JsonResponse, field: string): void {
  expectProblem(res, 400, 'VALIDATION_FAILED');
  const errors = (res.body as { errors?: { field: string; message: string }[] }).errors;
  expect(errors, 'errors list').toEqual(expect.any(Array));
  expect(errors!.map((e) => e.field)).toContain(field);
  for (const e of errors!) expect(e).toEqual({ field: expect.any(String), message: expect.any(String) });
}

/** An id of the right shape that names nothing. */
export function unknownId(): string {
  return randomBytes(16).toString('base64url');
}

/** `Basic` credentials carrying `password`. */
export function basicAuth(password: string, user = 'admin'): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** An ISO timestamp `ms` from now. */
export function fromNow(ms: number): string {
  return new Date(Date.now() + ms).toISOString();
}

/** Rows of each table (for one event, or all). */
export async function rowCounts(db: Db, eventId?: string): Promise<{ events: number; booking_requests: number; bookings: number }> {
  const count = async (table: 'events' | 'booking_requests' | 'bookings') => {
    let q = db.selectFrom(table).select((eb) => eb.fn.countAll<string>().as('n'));
    if (eventId !== undefined) {
      q = table === 'events' ? q.where('id', '=', eventId) : q.where('event_id', '=', eventId);
    }
    return Number((await q.executeTakeFirstOrThrow()).n);
  };
  return {
    events: await count('events'),
    booking_requests: await count('booking_requests'),
    bookings: await count('bookings'),
  };
}

export const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
