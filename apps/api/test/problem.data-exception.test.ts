import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { capturingLogger, createTestDatabase, type TestDatabase } from '@booking/test-support';
import express from 'express';
import { type RawBuilder, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { problemHandler } from '../src/middleware/problem.ts';

// The schemas refuse what PostgreSQL cannot store; should a value get past them all the same, the
// database's own refusal (SQLSTATE class 22, data exception) is still the client's bad input: 400.

let database: TestDatabase;
let server: Server;
let baseUrl: string;
const { logger, entries } = capturingLogger();

// Statements PostgreSQL refuses for the value they are given, as a route that forgot to validate would send them.
const REFUSED: Record<string, { sqlState: string; query: () => RawBuilder<unknown> }> = {
  'a NUL character in text': { sqlState: '22021', query: () => sql`SELECT ${'a\u0000b'}::text` },
  'a NUL character in jsonb': { sqlState: '22P05', query: () => sql`SELECT ${JSON.stringify({ userId: '\u0000' })}::jsonb` },
  'a lone surrogate in jsonb': { sqlState: '22P02', query: () => sql`SELECT ${JSON.stringify({ userId: '\ud800' })}::jsonb` },
  'an integer past int32': { sqlState: '22003', query: () => sql`SELECT ${'2147483648'}::integer` },
  'a day that does not exist': { sqlState: '22008', query: () => sql`SELECT ${'2030-02-30T00:00:00Z'}::timestamptz` },
};

beforeAll(async () => {
  database = await createTestDatabase(2);
  const app = express();
  app.get('/refused/:case', async (req) => {
    await REFUSED[req.params.case]!.query().execute(database.db);
  });
  app.get('/broken', async () => {
    await sql`SELECT * FROM no_such_table`.execute(database.db);
  });
  app.use(problemHandler(logger));
  server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await database.drop();
});

describe('a value PostgreSQL refuses (SQLSTATE class 22)', () => {
  it.each(Object.entries(REFUSED))('answers 400 VALIDATION_FAILED problem+json for %s', async (name, { sqlState }) => {
    const res = await fetch(`${baseUrl}/refused/${encodeURIComponent(name)}`);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toEqual({
      type: expect.any(String),
      title: expect.any(String),
      status: 400,
      detail: expect.any(String),
      code: 'VALIDATION_FAILED',
      errors: [{ field: '(request)', message: expect.any(String) }],
    });
    expect(entries).toContainEqual(
      expect.objectContaining({ level: 'warn', message: 'the database refused a value of the request', code: sqlState }),
    );
  });

  it('leaves other database errors a 500', async () => {
    const res = await fetch(`${baseUrl}/broken`);
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ status: 500, code: 'INTERNAL' });
  });
});
