import { ADMIT, PENDING, QUEUED, REBUILD, RELEASE, RETURN_SEATS, SETTLE } from './gate.lua.ts';
import { defineScripts, type LuaScript } from './lua-scripts.ts';
import { addressRateKeyName, type GateKeys, gateKeys, rateKeyName } from './names.ts';
import type { RedisClient } from './redis.ts';
import { TurnPipeline } from './turn-pipeline.ts';

/**
 * What the gate did with a request: `SOLD_OUT` (answered at once, nothing queued); `QUEUED` (seats
 * promised); `UNHELD` (queued without a promise: the per-user limit will likely refuse it);
 * `UNGATED` (queued without a check: the gate is missing until the worker rebuilds it); `OFF` (the gate
 * is turned off: queued without a check).
 */
export type AdmitOutcome = 'SOLD_OUT' | 'QUEUED' | 'UNHELD' | 'UNGATED' | 'OFF';

export type AdmitResult =
  | { kind: 'admitted' | 'sold-out'; outcome: AdmitOutcome; position: number }
  | { kind: 'replay'; record: string }
  /** The client address or the user is over its rate limit for the event until the window ends; nothing was admitted. */
  | { kind: 'limited'; retryAfterMs: number; by: 'address' | 'user' };

/** A decision to settle with the gate. */
export interface Settlement {
  requestId: string;
  /** A waitlisted request takes no seats (yet), as a rejected one. */
  status: 'confirmed' | 'rejected' | 'waitlisted';
  quantity: number;
  userId: string;
  replayed: boolean;
}

/** A queued request as the gate knows it, with its place in the queue. */
export interface PendingRequest {
  userId: string;
  quantity: number;
  acceptedAt: string;
  /** Requests admitted before this one and not decided yet. */
  ahead: number;
  /** Recent time per decision of the event (ms). */
  msPerDecision: number;
}

export interface AdmitInput {
  eventId: string;
  requestId: string;
  userId: string;
  quantity: number;
  maxPerUser: number | null;
  acceptedAt: string;
  /** With an Idempotency-Key: where to store `idemRecord`, unless a record is there already. */
  idemKey?: string;
  idemRecord?: string;
  idemTtlSeconds?: number;
  /** New requests one user (and, with `addressPoints`, one client address) may send for the event per window. */
  rateLimit?: { points: number; windowMs: number; addressPoints?: number };
  /** The client's address, counted against `rateLimit.addressPoints`. */
  clientAddress?: string;
  /** The request may join the event's waiting list: queued without a promise where it would be SOLD_OUT. */
  waitlist?: boolean;
}

export interface GateSnapshot {
  available: number;
  maxPerUser: number | null;
  /** Confirmed seats per user (needed only with a per-user limit). */
  confirmedByUser: Array<[string, number]>;
}

/** The admit script's reply: its outcome, the position or what goes with the outcome, and for LIMITED by whom. */
type AdmitReply = [string, string | number, string?];

interface GateCommands {
  bookingGateAdmit(...args: (string | number)[]): Promise<AdmitReply>;
  bookingGateRelease(...args: (string | number)[]): Promise<number>;
  bookingGateSettle(...args: (string | number)[]): Promise<number>;
  bookingGateReturn(...args: (string | number)[]): Promise<number>;
  bookingGateRebuild(...args: (string | number)[]): Promise<string | null>;
  bookingGatePending(...args: (string | number)[]): Promise<[string, string, string] | null>;
  bookingQueued(...args: (string | number)[]): Promise<string[] | number>;
}

/**
 * The admission gate: a per-event counter in Redis that answers most requests of a sell-out at once
 * with SOLD_OUT, without queueing them or touching Postgres. It only ever errs towards admitting: the
 * worker remains the judge, and rebuilds the gate from Postgres when it is missing or has drifted.
 */
export class AdmissionGate {
  private readonly redis: RedisClient & GateCommands;
  /** Admissions asked for in one turn of the event loop go to Redis together (see TurnPipeline). */
  private readonly admits: TurnPipeline;

  /**
   * @param enabled when false the gate answers nothing itself: every request is queued for the worker
   *   to decide (idempotency and queue position still work). For comparison runs and emergencies.
   */
  constructor(
    redis: RedisClient,
    private readonly prefix: string,
    private readonly enabled = true,
  ) {
    defineScripts(redis, {
      bookingGateAdmit: ADMIT,
      bookingGateRelease: RELEASE,
      bookingGateSettle: SETTLE,
      bookingGateReturn: RETURN_SEATS,
      bookingGateRebuild: REBUILD,
      bookingGatePending: PENDING,
      bookingQueued: QUEUED,
    } satisfies Record<keyof GateCommands, LuaScript>);
    this.redis = redis as RedisClient & GateCommands;
    this.admits = new TurnPipeline(redis);
  }

  keys(eventId: string): GateKeys {
    return gateKeys(this.prefix, eventId);
  }

  /**
   * Whether the event's waiting list is full: then the door answers SOLD_OUT to a request that would
   * join it (`"waitlist": true` with no seats left), as it does to any other, instead of queuing it
   * for the worker to refuse. The worker marks the list full when it refuses such a request for want
   * of room, and unmarks it when entries leave the list (promoted, withdrawn).
   */
  async markWaitlistFull(eventId: string, full: boolean): Promise<void> {
    const key = this.keys(eventId).gate;
    if (full) await this.redis.hset(key, 'wlfull', '1');
    else await this.redis.hdel(key, 'wlfull');
  }

  /** Opens the gate of a new event with every seat available (nothing can be queued yet). */
  async open(eventId: string, capacity: number): Promise<void> {
    await this.redis.hset(this.keys(eventId).gate, 'avail', capacity);
  }

  /** Checks a request and, when it may go through, promises it seats; also stores an idempotency record. */
  async admit(input: AdmitInput): Promise<AdmitResult> {
    const k = this.keys(input.eventId);
    const addressPoints = input.clientAddress === undefined ? 0 : (input.rateLimit?.addressPoints ?? 0);
    const [outcome, value, by] = await this.admits.send(() =>
      this.redis.bookingGateAdmit(
        k.gate,
        k.held,
        k.users,
        k.pending,
        k.seq,
        input.idemKey ?? k.gate,
        rateKeyName(this.prefix, input.eventId, input.userId),
        addressPoints > 0 ? addressRateKeyName(this.prefix, input.eventId, input.clientAddress!) : k.gate,
        input.requestId,
        input.quantity,
        input.userId,
        input.maxPerUser ?? 0,
        input.idemRecord ?? '',
        input.idemTtlSeconds ?? 0,
        this.enabled ? '1' : '0',
        input.acceptedAt,
        input.rateLimit?.points ?? 0,
        input.rateLimit?.windowMs ?? 0,
        addressPoints,
        input.waitlist ? '1' : '0',
      ),
    );
    if (outcome === 'IDEM') return { kind: 'replay', record: String(value) };
    if (outcome === 'LIMITED') return { kind: 'limited', retryAfterMs: Number(value), by: by === 'address' ? 'address' : 'user' };
    const position = Number(value);
    const admitOutcome = outcome as AdmitOutcome;
    return { kind: admitOutcome === 'SOLD_OUT' ? 'sold-out' : 'admitted', outcome: admitOutcome, position };
  }

  /** Takes back the promise made to a request that could not be queued. */
  async release(eventId: string, requestId: string): Promise<void> {
    const k = this.keys(eventId);
    await this.redis.bookingGateRelease(k.gate, k.held, k.users, k.pending, requestId);
  }

  /** Settles a batch of durable decisions with the gate; returns true when the gate should be rebuilt. */
  async settle(eventId: string, maxPerUser: number | null, msPerDecision: number, decisions: Settlement[]): Promise<boolean> {
    const k = this.keys(eventId);
    const args = decisions.flatMap((d) => [d.requestId, d.status, d.quantity, d.userId, d.replayed ? '1' : '0']);
    const rebuild = await this.redis.bookingGateSettle(
      k.gate,
      k.held,
      k.users,
      k.pending,
      k.seq,
      maxPerUser ?? 0,
      msPerDecision.toFixed(4),
      ...args,
    );
    return rebuild === 1;
  }

  /** Gives a cancelled booking's seats back to the gate, once per booking. */
  async returnSeats(input: {
    eventId: string;
    bookingId: string;
    quantity: number;
    userId: string;
    maxPerUser: number | null;
  }): Promise<void> {
    const k = this.keys(input.eventId);
    await this.redis.bookingGateReturn(k.gate, k.returned, k.users, input.bookingId, input.quantity, input.userId, input.maxPerUser ?? 0);
  }

  /**
   * Rebuilds the gate from the database plus the requests admitted and not yet decided. Only the
   * event's worker calls this, between two decisions, so the snapshot cannot change underneath it.
   * Returns the previous `avail` (null when the gate was missing).
   */
  async rebuild(eventId: string, snapshot: GateSnapshot): Promise<number | null> {
    const k = this.keys(eventId);
    const pairs = snapshot.maxPerUser ? snapshot.confirmedByUser.flatMap(([u, n]) => [u, n]) : [];
    const previous = await this.redis.bookingGateRebuild(
      k.gate,
      k.held,
      k.users,
      k.pending,
      snapshot.available,
      snapshot.maxPerUser ?? 0,
      ...pairs,
    );
    return previous === null ? null : Number(previous);
  }

  /** A request still queued and undecided, as recorded at admission (undefined otherwise). */
  async pending(eventId: string, requestId: string): Promise<PendingRequest | undefined> {
    const k = this.keys(eventId);
    const found = await this.redis.bookingGatePending(k.pending, k.seq, k.gate, requestId);
    if (!found) return undefined;
    const [record, decided, ms] = found;
    const [seq, quantity, ...rest] = record.split('|');
    const acceptedAt = rest.pop() ?? '';
    return {
      userId: rest.join('|'),
      quantity: Number(quantity),
      acceptedAt,
      ahead: Math.max(0, Number(seq) - Number(decided) - 1),
      msPerDecision: Number(ms),
    };
  }

  /** Ids of the requests inside the event's queued jobs (the queue itself, not the gate's records). */
  async queuedRequestIds(eventId: string): Promise<Set<string>> {
    const k = this.keys(eventId);
    const ids = await this.redis.bookingQueued(k.wait, k.active, k.jobPrefix, 'ids');
    return new Set(Array.isArray(ids) ? ids : []);
  }

  /** How many requests the event's queued jobs hold. */
  async queuedRequestCount(eventId: string): Promise<number> {
    const k = this.keys(eventId);
    return Number(await this.redis.bookingQueued(k.wait, k.active, k.jobPrefix, 'count'));
  }

  /** Whether a cancelled booking's seats have been given back to the gate. */
  async seatsReturned(eventId: string, bookingId: string): Promise<boolean> {
    return (await this.redis.sismember(this.keys(eventId).returned, bookingId)) === 1;
  }

  /** Requests queued and not yet decided for the event (the gate's pending records). */
  async pendingCount(eventId: string): Promise<number> {
    return this.redis.hlen(this.keys(eventId).pending);
  }
}
