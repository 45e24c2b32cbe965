import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import { type AcceptedRequest, createDb, type Db, insertEvent } from '@booking/db';
import { capturingLogger, createTestDatabase, TEST_PG_SERVER_URL, type TestDatabase } from '@booking/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AcceptedJournal } from '../src/accepted-journal.ts';

let database: TestDatabase;
let eventId: string;
let serial = 0;

beforeAll(async () => {
  database = await createTestDatabase(4);
  eventId = (await insertEvent(database.db, { id: 'journal-event-000000000', name: 'Journal', capacity: 100 })).id;
});
afterAll(async () => {
  await database.drop();
});

function row(overrides: Partial<AcceptedRequest> = {}): AcceptedRequest {
  serial++;
  return { id: `${eventId}.row-${serial}`, eventId, userId: `user-${serial}`, quantity: 1, acceptedAt: new Date(), ...overrides };
}

async function journalled(ids: string[]): Promise<string[]> {
  const rows = await database.db.selectFrom('accepted_requests').select('id').where('id', 'in', ids).execute();
  return rows.map((r) => r.id).sort();
}

async function eventually(check: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not ${what} within ${ms} ms`);
    await sleep(50);
  }
}

describe('a journal batch holding rows PostgreSQL refuses', () => {
  it('writes the good rows, sets the refused ones aside with an error naming each, drains, and keeps journalling', async () => {
    const { logger, entries } = capturingLogger();
    const journal = new AcceptedJournal(database.db, logger);
    // One batch: added in one go, written after the journal's short delay.
    const nul = row({ userId: 'nul\u0000user' }); // text refuses NUL: SQLSTATE 22021
    const orphan = row({ eventId: 'no-such-event-00000000' }); // foreign key: SQLSTATE 23503
    const good = Array.from({ length: 40 }, () => row());
    const batch = [...good.slice(0, 7), nul, ...good.slice(7, 30), orphan, ...good.slice(30)];
    for (const r of batch) journal.add(r);
    try {
      await eventually(() => journal.backlog === 0, 20_000, 'drained');
      await eventually(async () => (await journalled(good.map((r) => r.id))).length === good.length, 20_000, 'written');
      expect(await journalled(batch.map((r) => r.id))).toEqual(good.map((r) => r.id).sort());

      const refused = entries.filter((e) => e.level === 'error');
      expect(refused).toEqual([
        expect.objectContaining({ requestId: nul.id, eventId, code: '22021' }),
        expect.objectContaining({ requestId: orphan.id, eventId: orphan.eventId, code: '23503' }),
      ]);

      // Rows accepted later are journalled as before.
      const later = Array.from({ length: 5 }, () => row());
      for (const r of later) journal.add(r);
      await eventually(async () => (await journalled(later.map((r) => r.id))).length === later.length, 20_000, 'later rows written');
      expect(journal.backlog).toBe(0);
    } finally {
      await journal.drain(5_000);
    }
  });

  it('sets aside a batch in which every row is refused, and writes the next one', async () => {
    const { logger, entries } = capturingLogger();
    const journal = new AcceptedJournal(database.db, logger);
    const poison = Array.from({ length: 5 }, (_, i) => row({ userId: `\u0000${i}` }));
    for (const r of poison) journal.add(r);
    // Until the batch in flight is done too, not only until nothing waits: the backlog is empty while
    // the last batch is still being split to find the rows at fault.
    await journal.drain(20_000);
    expect(entries.filter((e) => e.level === 'error').map((e) => e.requestId)).toEqual(poison.map((r) => r.id));
    const next = row();
    journal.add(next);
    await journal.drain(10_000);
    expect(await journalled([next.id, ...poison.map((r) => r.id)])).toEqual([next.id]);
  });
});

describe('a journal that cannot reach PostgreSQL', () => {
  // A port nothing listens on (connection refused) until a proxy to the test server opens on it.
  let port: number;
  let db: Db;
  const sockets = new Set<Socket>();
  const proxy = createServer((client) => {
    const server = new URL(TEST_PG_SERVER_URL);
    const upstream = connect(Number(server.port || 5432), server.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });

  beforeAll(async () => {
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    port = (probe.address() as AddressInfo).port;
    probe.close();
    await once(probe, 'close');
    db = createDb({ url: `postgres://postgres@127.0.0.1:${port}/${database.name}`, poolSize: 2, applicationName: 'journal-test' }).db;
  });
  afterAll(async () => {
    await db.destroy();
    for (const s of sockets) s.destroy();
    if (proxy.listening) await new Promise<void>((resolve) => proxy.close(() => resolve()));
  });

  it('keeps every row and retries until PostgreSQL answers, setting nothing aside', async () => {
    const { logger, entries } = capturingLogger();
    const journal = new AcceptedJournal(db, logger);
    const rows = Array.from({ length: 20 }, () => row());
    for (const r of rows) journal.add(r);
    // Refused connections: the rows stay, in the backlog, and are retried.
    await eventually(() => entries.some((e) => e.message === 'could not write accepted-request journal; retrying'), 20_000, 'retrying');
    await sleep(500);
    expect(journal.backlog).toBe(rows.length);
    expect(await journalled(rows.map((r) => r.id))).toEqual([]);

    proxy.listen(port, '127.0.0.1');
    await once(proxy, 'listening');
    await eventually(async () => (await journalled(rows.map((r) => r.id))).length === rows.length, 30_000, 'written once reachable');
    expect(journal.backlog).toBe(0);
    expect(entries.filter((e) => e.level === 'error')).toEqual([]);
    await journal.drain(5_000);
  });
});
