// The booking rule is written three times: the reference in packages/domain (plain TypeScript),
// the `decide_bookings` SQL function that makes every final decision, and the admission gate's Lua
// that replays the rule at the door. This test feeds random sequences of requests to all three, the
// SQL against a real PostgreSQL and the Lua against a real Redis, and requires them to agree.
//
// How far the gate agrees, read from gate.lua.ts (ADMIT, SETTLE, REBUILD):
// - While its counter is there, it is exact: it promises seats (QUEUED) to what the database will
//   confirm, answers SOLD_OUT to what the database would reject as SOLD_OUT, and queues without a
//   promise (UNHELD) what the per-user limit will reject. A worker settling its decisions never finds
//   a promised request refused (which would ask for a rebuild).
// - It is more permissive in two documented ways, never stricter: with its counter missing (Redis
//   lost it) every request is queued unchecked (UNGATED) until the worker rebuilds it, and a gate
//   turned off queues everything (OFF). The per-user limit is never answered at the door either.
// - Whatever happens, it never answers SOLD_OUT to a request the database would confirm.
import { type Db, decideBookingBatch, type Decision, insertEvent, loadGateSnapshot } from '@booking/db';
import {
  decideOne,
  initialRuleState,
  newBookingId,
  newEventId,
  newRequestId,
  type RuleDecision,
  type RuleEvent,
  type RuleState,
} from '@booking/domain';
import { createTestDatabase, deleteKeys, TEST_REDIS_URL, type TestDatabase, uniquePrefix } from '@booking/test-support';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AdmissionGate, type AdmitOutcome, type Settlement } from '../src/index.ts';

const USERS = ['ana', 'ben', 'cho', 'dev'];

type Step =
  | { kind: 'request'; userId: string; quantity: number }
  /** The worker decides the `take` oldest undecided requests in one batch, then maybe gets the batch again. */
  | { kind: 'decide'; take: number; redeliver: boolean }
  /** Redis loses the gate's counter. */
  | { kind: 'lose-gate' }
  /** The worker rebuilds the gate from the database and the undecided requests (as it does now and then). */
  | { kind: 'rebuild' };

interface Scenario {
  capacity: number;
  maxPerUser: number | null;
  gateEnabled: boolean;
  steps: Step[];
}

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant('request' as const),
      userId: fc.constantFrom(...USERS),
      quantity: fc.integer({ min: 1, max: 6 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('decide' as const), take: fc.integer({ min: 1, max: 8 }), redeliver: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'lose-gate' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'rebuild' as const }) },
);

const scenario: fc.Arbitrary<Scenario> = fc.record({
  capacity: fc.integer({ min: 1, max: 10 }),
  maxPerUser: fc.option(fc.integer({ min: 1, max: 4 }), { nil: null, freq: 3 }),
  // Mostly on; off in about one run of five.
  gateEnabled: fc.integer({ min: 0, max: 4 }).map((n) => n > 0),
  steps: fc.array(step, { minLength: 1, maxLength: 36 }),
});

interface Queued {
  requestId: string;
  userId: string;
  quantity: number;
  acceptedAt: string;
  bookingId: string;
  /** What the reference decides for it. */
  expected: RuleDecision;
}

/** What the gate may answer to a request the reference decides as `expected`. */
function allowedOutcomes(expected: RuleDecision, gateEnabled: boolean, gatePresent: boolean): AdmitOutcome[] {
  if (!gateEnabled) return ['OFF'];
  if (!gatePresent) return ['UNGATED'];
  if (expected.status === 'confirmed') return ['QUEUED'];
  return expected.reason === 'SOLD_OUT' ? ['SOLD_OUT'] : ['UNHELD'];
}

function outcomeOf(decision: Decision | RuleDecision): { status: string; reason: string | null } {
  return { status: decision.status, reason: decision.reason };
}

describe('the booking rule: reference, SQL function and admission gate agree', () => {
  let database: TestDatabase;
  let db: Db;
  let redis: Redis;
  const prefix = uniquePrefix();

  beforeAll(async () => {
    database = await createTestDatabase(2);
    db = database.db;
    redis = new Redis(TEST_REDIS_URL);
  });
  afterAll(async () => {
    await deleteKeys(prefix);
    redis.disconnect();
    await database.drop();
  });

  /** Plays a scenario, asserting as it goes; returns the gate's answers in order. */
  async function run(s: Scenario): Promise<AdmitOutcome[]> {
    const event: RuleEvent = { capacity: s.capacity, maxPerUser: s.maxPerUser };
    const eventId = newEventId();
    await insertEvent(db, { id: eventId, name: 'Property', capacity: s.capacity, maxPerUser: s.maxPerUser ?? undefined });
    const gate = new AdmissionGate(redis, prefix, s.gateEnabled);
    await gate.open(eventId, s.capacity);
    const keys = gate.keys(eventId);

    // The reference decides every request in admission order, as the worker will: it runs ahead of
    // the database, which decides the same requests later, in batches.
    let reference: RuleState = initialRuleState(event);
    let gatePresent = true;
    const undecided: Queued[] = [];
    const answers: AdmitOutcome[] = [];

    const decide = async (take: number, redeliver: boolean): Promise<void> => {
      const batch = undecided.splice(0, take);
      if (batch.length === 0) return;
      const decisions = await decideBookingBatch(db, eventId, batch);
      for (const r of batch) {
        const got = decisions.get(r.requestId)!;
        expect(outcomeOf(got), `SQL decision of ${r.userId} x${r.quantity}`).toEqual(outcomeOf(r.expected));
        expect(got.replayed).toBe(false);
        expect(got.bookingId).toBe(r.expected.status === 'confirmed' ? r.bookingId : null);
      }
      if (redeliver) {
        const again = await decideBookingBatch(
          db,
          eventId,
          batch.map((r) => ({ ...r, bookingId: newBookingId() })),
        );
        for (const r of batch) {
          const replay = again.get(r.requestId)!;
          expect(replay.replayed, 'a redelivered request is a replay').toBe(true);
          expect({ ...outcomeOf(replay), bookingId: replay.bookingId }).toEqual({
            ...outcomeOf(decisions.get(r.requestId)!),
            bookingId: decisions.get(r.requestId)!.bookingId,
          });
        }
      }
      const settlements: Settlement[] = batch.map((r) => ({ ...r, status: decisions.get(r.requestId)!.status, replayed: false }));
      const rebuild = await gate.settle(eventId, s.maxPerUser, 1, settlements);
      if (s.gateEnabled && gatePresent) expect(rebuild, 'a promised request was refused: the gate drifted').toBe(false);
      if (!gatePresent) expect(rebuild, 'a missing gate asks for a rebuild').toBe(true);
      if (rebuild) await rebuildGate();
    };
    const rebuildGate = async (): Promise<void> => {
      await gate.rebuild(eventId, (await loadGateSnapshot(db, eventId))!);
      gatePresent = true;
    };

    for (const st of s.steps) {
      if (st.kind === 'lose-gate') {
        await redis.del(keys.gate);
        gatePresent = false;
      } else if (st.kind === 'rebuild') {
        await rebuildGate();
      } else if (st.kind === 'decide') {
        await decide(st.take, st.redeliver);
      } else {
        const requestId = newRequestId(eventId);
        const acceptedAt = new Date().toISOString();
        const admitted = await gate.admit({
          eventId,
          requestId,
          userId: st.userId,
          quantity: st.quantity,
          maxPerUser: s.maxPerUser,
          acceptedAt,
        });
        if (admitted.kind !== 'admitted' && admitted.kind !== 'sold-out') throw new Error(`unexpected admission ${admitted.kind}`);
        answers.push(admitted.outcome);
        const { decision, state } = decideOne(event, reference, { requestId, userId: st.userId, quantity: st.quantity });
        const what = `gate answer to ${st.userId} x${st.quantity} (reference: ${decision.reason ?? decision.status})`;
        expect(allowedOutcomes(decision, s.gateEnabled, gatePresent), what).toContain(admitted.outcome);
        if (admitted.kind === 'sold-out') {
          // Never a false sold-out; turned away at the door, the request reaches nobody.
          expect(decision.reason, what).toBe('SOLD_OUT');
          continue;
        }
        reference = state;
        undecided.push({ requestId, userId: st.userId, quantity: st.quantity, acceptedAt, bookingId: newBookingId(), expected: decision });
      }
    }
    await decide(undecided.length, false);
    // Nothing was left to settle: the worker rebuilds a missing gate when it next serves the event.
    if (!gatePresent) await rebuildGate();

    // The database ends where the reference does, within capacity and the per-user limit.
    const row = await db.selectFrom('events').select('available').where('id', '=', eventId).executeTakeFirstOrThrow();
    expect(row.available).toBe(reference.available);
    const { rows } = await sql<{ user_id: string; seats: number }>`
      SELECT user_id, sum(quantity)::int AS seats FROM bookings WHERE event_id = ${eventId} AND status = 'confirmed' GROUP BY user_id`.execute(
      db,
    );
    const byUser = Object.fromEntries(rows.map((r) => [r.user_id, r.seats]));
    expect(byUser).toEqual(Object.fromEntries(reference.seatsByUser));
    const confirmed = rows.reduce((sum, r) => sum + r.seats, 0);
    expect(confirmed, 'never more seats confirmed than the event has').toBeLessThanOrEqual(s.capacity);
    expect(confirmed + row.available).toBe(s.capacity);
    if (s.maxPerUser !== null) for (const r of rows) expect(r.seats).toBeLessThanOrEqual(s.maxPerUser);
    // Settled and rebuilt as needed, the gate counts the seats the database has left.
    expect(Number(await redis.hget(keys.gate, 'avail'))).toBe(row.available);
    expect(await gate.pendingCount(eventId)).toBe(0);
    return answers;
  }

  it('on random sequences of requests, decisions, redeliveries and lost gates', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => void (await run(s))),
      { numRuns: 80 },
    );
  });

  it('in a sequence where the gate is exact and the worker decides only at the end', async () => {
    // capacity 5, at most 2 per user: ana 2 (QUEUED), ana 1 (UNHELD), ben 3 (UNHELD), ben 2 (QUEUED),
    // cho 2 (SOLD_OUT: 1 left), cho 1 (QUEUED), dev 1 (SOLD_OUT: none left).
    const steps: Step[] = [
      ['ana', 2],
      ['ana', 1],
      ['ben', 3],
      ['ben', 2],
      ['cho', 2],
      ['cho', 1],
      ['dev', 1],
    ].map(([userId, quantity]) => ({ kind: 'request', userId: userId as string, quantity: quantity as number }));
    expect(await run({ capacity: 5, maxPerUser: 2, gateEnabled: true, steps })).toEqual([
      'QUEUED',
      'UNHELD',
      'UNHELD',
      'QUEUED',
      'SOLD_OUT',
      'QUEUED',
      'SOLD_OUT',
    ]);
  });
});
