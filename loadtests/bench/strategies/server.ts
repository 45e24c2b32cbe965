// A small synchronous booking API for one baseline strategy: Express, a pg pool of a realistic size,
// the decision in the HTTP answer (201 confirmed, 409 SOLD_OUT, or an error). Same request and error
// shapes as the service, so one load generator drives both. Lives in the benchmark, not the product.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import express, { type NextFunction, type Request, type Response } from 'express';
import pg from 'pg';

import { strategies, type StrategyName } from './booking.ts';

export interface StrategyServerOptions {
  databaseUrl: string;
  /** Connections of the pool (the service's default is 10 too). */
  poolSize?: number;
}

export interface StrategyServer {
  baseUrl: string;
  pool: pg.Pool;
  createEvent(name: string, capacity: number): Promise<string>;
  stop(): Promise<void>;
}

function problem(res: Response, status: number, code: string, detail: string): void {
  res.status(status).type('application/problem+json').json({ type: 'about:blank', title: code, status, detail, code });
}

/** Starts the baseline API for `strategy` on a free loopback port. */
export async function startStrategyServer(strategy: StrategyName, o: StrategyServerOptions): Promise<StrategyServer> {
  // Sized and timed like the service's pool (packages/db createDb): a request that cannot get a
  // connection within 2 s fails (503) instead of queueing forever.
  const pool = new pg.Pool({
    connectionString: o.databaseUrl,
    max: o.poolSize ?? 10,
    connectionTimeoutMillis: 2_000,
    idleTimeoutMillis: 30_000,
    application_name: `booking-bench-${strategy}`,
    statement_timeout: 15_000,
  });
  pool.on('error', () => {});
  const book = strategies[strategy];
  // Events do not change once created; like the service, look each up once.
  const known = new Set<string>();

  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '16kb' }));
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.post('/v1/events', async (req, res) => {
    const { name, capacity } = req.body as { name: string; capacity: number };
    const { rows } = await pool.query<{ id: string }>(
      'INSERT INTO bench_events (name, capacity, available) VALUES ($1, $2, $2) RETURNING id::text',
      [name, capacity],
    );
    known.add(rows[0]!.id);
    res.status(201).json({ id: rows[0]!.id, name, capacity, available: capacity });
  });
  app.post('/v1/events/:eventId/bookings', async (req: Request<{ eventId: string }>, res) => {
    const { eventId } = req.params;
    const { userId, quantity } = (req.body ?? {}) as { userId?: unknown; quantity?: unknown };
    if (
      typeof userId !== 'string' ||
      userId.length < 1 ||
      userId.length > 128 ||
      !Number.isInteger(quantity) ||
      (quantity as number) < 1 ||
      (quantity as number) > 10
    ) {
      problem(res, 400, 'VALIDATION_FAILED', 'userId 1..128 characters, quantity 1..10');
      return;
    }
    if (!/^\d{1,18}$/.test(eventId)) {
      problem(res, 404, 'EVENT_NOT_FOUND', `no event ${eventId}`);
      return;
    }
    if (!known.has(eventId)) {
      const found = await pool.query('SELECT 1 FROM bench_events WHERE id = $1', [eventId]);
      if (found.rowCount === 0) {
        problem(res, 404, 'EVENT_NOT_FOUND', `no event ${eventId}`);
        return;
      }
      known.add(eventId);
    }
    const client = await pool.connect();
    let outcome;
    try {
      outcome = await book(client, eventId, userId, quantity as number);
    } finally {
      client.release();
    }
    switch (outcome.kind) {
      case 'confirmed':
        res.status(201).json({ status: 'confirmed', bookingId: outcome.bookingId, eventId, userId, quantity });
        return;
      case 'sold-out':
        problem(res, 409, 'SOLD_OUT', 'not enough seats are left for this request');
        return;
      case 'not-found':
        problem(res, 404, 'EVENT_NOT_FOUND', `no event ${eventId}`);
        return;
      case 'retries-exhausted':
        // What the predecessor answered: a conflict, though seats may well be left.
        problem(res, 409, 'RETRIES_EXHAUSTED', 'the event changed under every attempt; try again');
        return;
    }
  });
  app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
    // The pool's "timeout exceeded when trying to connect": it ran dry.
    if (/timeout exceeded when trying to connect/i.test(err.message)) problem(res, 503, 'POOL_EXHAUSTED', err.message);
    else problem(res, 500, 'INTERNAL', err.message);
  });

  const server = await new Promise<Server>((resolve, reject) => {
    // The service's listen backlog, so that connection setup is alike.
    const s = app.listen({ port: 0, host: '127.0.0.1', backlog: 4_096 }, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  // As the service does.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  let stopping: Promise<void> | undefined;
  return {
    baseUrl,
    pool,
    async createEvent(name, capacity) {
      const res = await fetch(`${baseUrl}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name, capacity }),
      });
      if (res.status !== 201) throw new Error(`event creation failed: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { id: string }).id;
    },
    stop: () =>
      (stopping ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await pool.end();
      })()),
  };
}
