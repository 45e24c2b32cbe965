import type { Db } from '@booking/db';
import { settledWithin } from '@booking/lifecycle';
import type { Logger } from '@booking/observability';
import {
  type AdmissionGate,
  type EventLeases,
  eventsChannel,
  gateKeys,
  type GateOrphans,
  type Lease,
  type RedisClient,
  subscribeForGood,
} from '@booking/queue';

import { type ConsumerDeps, type EventConsumer, letGo, type LetGoReason, openConsumer } from './event-consumer.ts';
import { planShare } from './fair-share.ts';
import { HoldExpiry } from './hold-expiry.ts';
import { Housekeeping } from './housekeeping.ts';
import { MaintenanceJobs } from './maintenance-jobs.ts';
import type { BookingProcessor } from './processor.types.ts';
import type { SaleEnds } from './sale-ends.ts';

export interface SupervisorOptions {
  db: Db;
  /** Shared connection for non-blocking commands; BullMQ duplicates it for each blocking one. */
  connection: RedisClient;
  /** Connection dedicated to the events channel subscription. */
  subscriber: RedisClient;
  prefix: string;
  workerId: string;
  logger: Logger;
  /** Builds the processor of the events' jobs, given what it asks of the leases this supervisor holds. */
  processor: (fencing: Fencing) => BookingProcessor;
  gate: AdmissionGate;
  leases: EventLeases;
  /** At most this many events served at once: bounds the Redis connections of the process. */
  maxEvents: number;
  lockMs: number;
  /** How often leases are renewed and work is looked for. */
  tickMs?: number;
  /** An event whose queue stays empty this long is let go. */
  idleMs?: number;
  /** While more events have work than all workers can serve, a busy event is handed on after this long. */
  turnMs?: number;
  /** How often one worker does the housekeeping (lost requests, missed ready marks, orphaned gate records). */
  housekeepingMs?: number;
  /** Finding gate records no job carries: a pending record older than `afterMs` may be an orphan. */
  orphans?: { orphans: GateOrphans; afterMs: number };
  /** Removing the Redis keys of events whose sale is over (when let go idle, and by the housekeeping). */
  saleEnds?: SaleEnds;
  /** How often overdue holds are looked for (ms; default 1,000). */
  holdCheckMs?: number;
}

/** What the processor asks of the leases: the epoch to fence its writes with, and a way to report a lost fence. */
export interface Fencing {
  /** The epoch of this worker's lease on the event, or undefined when it holds none. */
  epochOf(eventId: string): number | undefined;
  /** Postgres refused the epoch: another worker has taken the event over. */
  fenced(eventId: string): void;
}

/**
 * Decides which events this worker process serves. An event is served by one worker at a time: the
 * holder of its lease (renewed every tick, fenced in Postgres by its epoch). Events with work are in
 * a ready set the API adds to; each worker takes up to its fair share of them (ready events / live
 * workers, at most `maxEvents`), lets go of events that fall idle, hands busy ones on in turns while
 * demand exceeds capacity, and gives up its extra events when a new worker joins. Each served event has
 * one BullMQ worker (concurrency 1), so Redis connections stay bounded by `maxEvents`.
 */
export class EventSupervisor implements Fencing {
  private readonly served = new Map<string, EventConsumer>();
  private tickTimer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private again = false; // a round was asked for while one ran
  private lastGateCheck = 0;
  private closing = false;
  /** Events another worker holds, not worth asking for again before their lease could lapse. */
  private readonly heldElsewhere = new Map<string, number>();
  /** Announced (work, handed on) during this round: a refusal the round gets may be older, so it hides nothing. */
  private readonly announcedThisRound = new Set<string>();
  private readonly jobs: MaintenanceJobs;
  private readonly housekeeping: Housekeeping;
  private readonly holdExpiry: HoldExpiry;
  private readonly consumers: ConsumerDeps;

  constructor(private readonly opts: SupervisorOptions) {
    this.jobs = new MaintenanceJobs(opts);
    this.housekeeping = new Housekeeping({ ...opts, intervalMs: opts.housekeepingMs, recover: (eventId) => this.jobs.recovery(eventId) });
    this.consumers = { ...opts, processor: opts.processor(this) };
    this.holdExpiry = new HoldExpiry({
      db: opts.db,
      logger: opts.logger,
      queueExpiry: (eventId) => this.jobs.expiry(eventId, this.served.get(eventId)?.queue),
      intervalMs: opts.holdCheckMs,
    });
  }

  private get tickMs(): number {
    return this.opts.tickMs ?? 250;
  }

  async start(): Promise<void> {
    const channel = eventsChannel(this.opts.prefix);
    this.opts.subscriber.on('message', (ch: string, eventId: string) => {
      if (ch !== channel) return;
      // The event has work, or was just handed on: worth asking for its lease at once.
      this.heldElsewhere.delete(eventId);
      this.announcedThisRound.add(eventId);
      void this.tick();
    });
    await subscribeForGood(this.opts.subscriber, channel);
    await this.tick();
    this.tickTimer = setInterval(() => void this.tick(), this.tickMs);
    this.tickTimer.unref();
    this.housekeeping.start();
  }

  /** Ids of the events this process serves now. */
  get eventIds(): string[] {
    return [...this.served.keys()];
  }

  /** The fencing epoch of this worker's lease on the event, if it holds one. */
  epochOf(eventId: string): number | undefined {
    const s = this.served.get(eventId);
    return s && !s.revoked ? s.lease.epoch : undefined;
  }

  /** Postgres refused our epoch: another worker has taken the event over. Let go at once. */
  fenced(eventId: string): void {
    const s = this.served.get(eventId);
    if (s) void this.letGo(s, { force: true, why: 'fenced' });
  }

  /** Looks for work now (instead of at the next tick); resolves when done. */
  async serve(eventId?: string): Promise<void> {
    if (eventId) await this.opts.leases.markReady(eventId);
    await this.tick();
  }

  /** One round: heartbeat, renew, let go of idle or surplus events, take ready ones. */
  tick(): Promise<void> {
    if (this.ticking) {
      // Asked while a round runs (an event just got work): that round may have read the ready set
      // before the event was in it, so another follows at once instead of at the next tick.
      this.again = true;
      return this.ticking;
    }
    this.ticking = this.round()
      .catch((err: Error) => {
        this.opts.logger.warn('worker round failed', { error: err.message });
      })
      .finally(() => {
        this.ticking = undefined;
        if (this.again && !this.closing) {
          this.again = false;
          void this.tick();
        }
      });
    return this.ticking;
  }

  private async round(): Promise<void> {
    if (this.closing) return;
    const { leases, logger } = this.opts;
    const now = Date.now();
    this.announcedThisRound.clear();
    const live = await leases.heartbeat(Math.max(3 * this.tickMs, 2_000), now);

    // Leases of events being let go are renewed too, until their last job is done and they are given back.
    const current = [...this.served.values()].filter((s) => !s.revoked);
    const renewed = await Promise.all(current.map((s) => leases.renew(s.lease).catch(() => true)));
    current.forEach((s, i) => {
      if (!renewed[i]) {
        logger.warn('lease on event lost', { eventId: s.eventId, epoch: s.lease.epoch });
        void this.letGo(s, { force: true, why: 'lost' });
      }
    });

    // Overdue holds are queued at the front of their events' queues (after a restart, ahead of the
    // work waiting), by a look that no round waits for.
    this.holdExpiry.startIfDue(now);

    const ready = await leases.ready();
    const plan = planShare({
      now,
      ready,
      live,
      maxEvents: this.opts.maxEvents,
      served: [...this.served.values()].map((s) => ({ ...s, leaving: s.leaving !== undefined })),
      heldElsewhere: this.heldElsewhere,
      idleMs: this.opts.idleMs ?? 2_000,
      turnMs: this.opts.turnMs ?? 5_000,
    });
    for (const eventId of plan.retire) {
      const s = this.served.get(eventId)!;
      // Not awaited: a Redis that goes away meanwhile (or this worker closing) is only logged.
      void this.retireIfEmpty(s).catch((err: Error) => logger.warn('could not retire idle event', { eventId, error: err.message }));
    }
    for (const eventId of plan.turn) void this.letGo(this.served.get(eventId)!, { why: 'turn', requeue: true });
    for (const eventId of plan.share) void this.letGo(this.served.get(eventId)!, { why: 'share' });

    // Ask for the candidates' leases (as many as there is room for) and open the ones won, a few at a time.
    const { candidates } = plan;
    for (let i = 0; i < candidates.length && !this.closing; i += 16) {
      await Promise.all(
        candidates.slice(i, i + 16).map(async (eventId) => {
          const answer = await leases.acquire(eventId).catch((err: Error) => {
            // Postgres could not record the lease's epoch: try again at a later round.
            logger.warn('could not take the lease on event', { eventId, error: err.message });
            return { heldForMs: 0 };
          });
          if ('heldForMs' in answer) {
            if (!this.announcedThisRound.has(eventId)) this.heldElsewhere.set(eventId, now + Math.min(answer.heldForMs, this.opts.lockMs));
            return;
          }
          if (await this.open(answer.lease)) return;
          await leases.release(answer.lease).catch(() => {});
        }),
      );
    }
    for (const [eventId, until] of this.heldElsewhere) if (until <= now) this.heldElsewhere.delete(eventId);

    if (now - this.lastGateCheck >= 2_000) {
      this.lastGateCheck = now;
      await this.checkGates();
    }
  }

  /** Opens the event's consumer; false when its queue could not be opened. */
  private async open(lease: Lease): Promise<boolean> {
    const consumer = await openConsumer(this.consumers, lease);
    if (consumer) this.served.set(lease.eventId, consumer);
    return consumer !== undefined;
  }

  /** Lets an idle event go, unless work arrived meanwhile. */
  private async retireIfEmpty(s: EventConsumer): Promise<void> {
    if (s.leaving) return;
    const { leases, connection, prefix } = this.opts;
    // Unmark first, then look: a job added after the look is marked again by the API, which adds
    // the mark only once its job is in the queue.
    await leases.unmarkReady(s.eventId);
    const keys = gateKeys(prefix, s.eventId);
    const [waiting, active] = await Promise.all([connection.llen(keys.wait), connection.llen(keys.active)]);
    if (waiting + active > 0 || s.busy) {
      await leases.markReady(s.eventId);
      s.lastBusyAt = Date.now();
      return;
    }
    await this.letGo(s, { why: 'idle' });
  }

  /** Stops serving an event (see letGo in event-consumer.ts), and forgets it once it is let go. */
  private letGo(s: EventConsumer, how: { force?: boolean; requeue?: boolean; why: LetGoReason }): Promise<void> {
    return letGo(this.consumers, s, how, () => {
      if (this.served.get(s.eventId) === s) this.served.delete(s.eventId);
    });
  }

  /** Queues a recovery for each served event whose admission gate Redis no longer has. */
  private async checkGates(): Promise<void> {
    await Promise.all(
      [...this.served.values()]
        .filter((s) => !s.leaving)
        .map(async (s) => {
          const keys = gateKeys(this.opts.prefix, s.eventId);
          if ((await this.opts.connection.hexists(keys.gate, 'avail')) === 1) return;
          await this.jobs.recovery(s.eventId, s.queue);
        })
        .map((p) => p.catch((err: Error) => this.opts.logger.warn('gate check failed', { error: err.message }))),
    );
  }

  /**
   * Stops taking events and jobs, waits for the jobs in progress up to `graceMs` (a job still running
   * then is abandoned and taken over once its lock expires), gives every lease back and leaves.
   */
  async close(graceMs: number, onGraceExpired: () => void): Promise<void> {
    this.closing = true;
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.housekeeping.stop();
    // A round stuck on a Redis that does not answer must not hold shutdown up.
    await settledWithin(this.ticking, graceMs);
    await settledWithin(this.holdExpiry.inProgress, graceMs);
    const all = [...this.served.values()];
    let timer: NodeJS.Timeout | undefined;
    const graceful = Promise.allSettled(all.map((s) => this.letGo(s, { why: 'shutdown' })));
    const expired = new Promise<'expired'>((resolve) => {
      timer = setTimeout(() => resolve('expired'), graceMs);
    });
    if ((await Promise.race([graceful, expired])) === 'expired') {
      onGraceExpired();
      await Promise.allSettled(all.map((s) => s.worker.close(true)));
    }
    clearTimeout(timer);
    await settledWithin(this.opts.leases.leave(), 1_000);
  }
}
