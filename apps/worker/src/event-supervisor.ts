import { type Db, countUndecidedAccepted, pruneDecidedAccepted } from '@booking/db';
import type { Logger } from '@booking/observability';
import {
  type AdmissionGate,
  type EventLeases,
  type Lease,
  type RecoverJobData,
  type RedisClient,
  eventQueueName,
  eventsChannel,
  gateKeys,
  janitorKey,
  recoverJobId,
} from '@booking/queue';
import { type Job, Queue, Worker } from 'bullmq';
import { sql } from 'kysely';

export interface SupervisorOptions {
  db: Db;
  /** Shared connection for non-blocking commands; BullMQ duplicates it for each blocking one. */
  connection: RedisClient;
  /** Connection dedicated to the events channel subscription. */
  subscriber: RedisClient;
  prefix: string;
  workerId: string;
  logger: Logger;
  processor: (job: Job) => Promise<void>;
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
  /** How often one worker does the housekeeping (lost requests, missed ready marks). */
  janitorMs?: number;
}

interface Served {
  eventId: string;
  lease: Lease;
  queue: Queue;
  worker: Worker;
  acquiredAt: number;
  lastBusyAt: number;
  busy: boolean;
  /** Set while the event is being let go. */
  leaving?: Promise<void>;
  /** The lease was lost or fenced off: nothing more may be decided under it. */
  revoked?: boolean;
}

/**
 * Decides which events this worker process serves. An event is served by one worker at a time: the
 * holder of its lease (renewed every tick, fenced in Postgres by its epoch). Events with work are in
 * a ready set the API adds to; each worker takes up to its fair share of them (ready events / live
 * workers, at most `maxEvents`), lets go of events that fall idle, hands busy ones on in turns while
 * demand exceeds capacity, and gives up its extra events when a new worker joins. Each served event has
 * one BullMQ worker (concurrency 1), so Redis connections stay bounded by `maxEvents`.
 */
export class EventSupervisor {
  private readonly served = new Map<string, Served>();
  private tickTimer: NodeJS.Timeout | undefined;
  private janitorTimer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private lastGateCheck = 0;
  private closing = false;
  /** Events another worker holds, not worth asking for again before their lease could lapse. */
  private readonly heldElsewhere = new Map<string, number>();

  constructor(private readonly opts: SupervisorOptions) {}

  private get tickMs(): number {
    return this.opts.tickMs ?? 250;
  }

  async start(): Promise<void> {
    const channel = eventsChannel(this.opts.prefix);
    this.opts.subscriber.on('message', (ch: string, eventId: string) => {
      if (ch !== channel) return;
      // The event has work, or was just handed on: worth asking for its lease at once.
      this.heldElsewhere.delete(eventId);
      void this.tick();
    });
    await this.opts.subscriber.subscribe(channel);
    await this.tick();
    this.tickTimer = setInterval(() => void this.tick(), this.tickMs);
    this.tickTimer.unref();
    this.janitorTimer = setInterval(() => void this.janitor(), this.opts.janitorMs ?? 10_000);
    this.janitorTimer.unref();
    void this.janitor();
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
    if (!this.ticking) {
      this.ticking = this.round()
        .catch((err: Error) => {
          this.opts.logger.warn('worker round failed', { error: err.message });
        })
        .finally(() => {
          this.ticking = undefined;
        });
    }
    return this.ticking;
  }

  private async round(): Promise<void> {
    if (this.closing) return;
    const { leases, logger } = this.opts;
    const now = Date.now();
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

    const ready = await leases.ready();
    const target = Math.min(this.opts.maxEvents, Math.max(1, Math.ceil(ready.length / live)));
    const crowded = ready.length > live * this.opts.maxEvents;
    let holding = [...this.served.values()].filter((s) => !s.leaving);
    // Events with work wait for a worker: let an emptied event go at once instead of after idleMs.
    const othersWait = ready.length > live * holding.length;
    const idleMs = othersWait ? Math.min(200, this.opts.idleMs ?? 2_000) : (this.opts.idleMs ?? 2_000);
    for (const s of holding) {
      if (!s.busy && now - s.lastBusyAt > idleMs) void this.retireIfEmpty(s);
      else if (crowded && now - s.acquiredAt > (this.opts.turnMs ?? 5_000)) void this.letGo(s, { why: 'turn', requeue: true });
    }
    holding = [...this.served.values()].filter((s) => !s.leaving);
    // More than a fair share (a worker joined, or demand fell): hand the newest on.
    for (const s of holding.sort((a, b) => b.acquiredAt - a.acquiredAt).slice(0, Math.max(0, holding.length - target))) {
      void this.letGo(s, { why: 'share' });
    }

    let room = target - [...this.served.values()].filter((s) => !s.leaving).length;
    const candidates: string[] = [];
    for (const eventId of ready) {
      if (candidates.length >= room) break;
      if (this.served.has(eventId) || (this.heldElsewhere.get(eventId) ?? 0) > now) continue;
      candidates.push(eventId);
    }
    // Ask for the candidates' leases and open the ones won, a few at a time.
    for (let i = 0; i < candidates.length && room > 0 && !this.closing; i += 16) {
      const won = await Promise.all(
        candidates.slice(i, i + 16).map(async (eventId) => {
          const answer = await leases.acquire(eventId);
          if ('heldForMs' in answer) {
            this.heldElsewhere.set(eventId, now + Math.min(answer.heldForMs, this.opts.lockMs));
            return false;
          }
          if (await this.open(answer.lease)) return true;
          await leases.release(answer.lease).catch(() => {});
          return false;
        }),
      );
      room -= won.filter(Boolean).length;
    }
    for (const [eventId, until] of this.heldElsewhere) if (until <= now) this.heldElsewhere.delete(eventId);

    if (now - this.lastGateCheck >= 2_000) {
      this.lastGateCheck = now;
      await this.checkGates();
    }
  }

  private async open(lease: Lease): Promise<boolean> {
    const { eventId } = lease;
    const name = eventQueueName(eventId);
    const { connection, prefix, logger } = this.opts;
    const queue = new Queue(name, { connection, prefix });
    queue.on('error', () => {});
    try {
      // Belt and braces: one job at a time per event even if two workers ever served it together.
      await queue.setGlobalConcurrency(1);
    } catch (err) {
      logger.warn('could not open event queue', { eventId, error: (err as Error).message });
      await queue.close().catch(() => {});
      return false;
    }
    const worker = new Worker(name, this.opts.processor, {
      connection,
      prefix,
      concurrency: 1,
      lockDuration: this.opts.lockMs,
      stalledInterval: Math.max(500, Math.floor(this.opts.lockMs / 2)),
      // A job whose worker died is handed to another however often that happens: it is never dropped.
      maxStalledCount: Number.MAX_SAFE_INTEGER,
      drainDelay: 5,
    });
    const now = Date.now();
    const served: Served = { eventId, lease, queue, worker, acquiredAt: now, lastBusyAt: now, busy: false };
    worker.on('active', () => {
      served.busy = true;
      served.lastBusyAt = Date.now();
    });
    const idle = () => {
      served.busy = false;
      served.lastBusyAt = Date.now();
    };
    worker.on('completed', idle);
    worker.on('failed', (job, err) => {
      idle();
      logger.error('job failed', { eventId, jobId: job?.id, error: err.message });
    });
    worker.on('error', (err) => logger.warn('worker error', { eventId, error: err.message }));
    this.served.set(eventId, served);
    logger.debug('serving event', { eventId, epoch: lease.epoch });
    return true;
  }

  /** Lets an idle event go, unless work arrived meanwhile. */
  private async retireIfEmpty(s: Served): Promise<void> {
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

  /**
   * Stops serving an event: gracefully (the job in progress finishes) unless `force`, then gives the
   * lease back. A forced stop leaves the job in progress to expire and be taken over.
   */
  private letGo(s: Served, how: { force?: boolean; requeue?: boolean; why: string }): Promise<void> {
    if (how.why === 'lost' || how.why === 'fenced') s.revoked = true;
    // Already being let go gracefully, and now it must be at once: stop waiting for the job.
    if (s.leaving && how.force) void s.worker.close(true).catch(() => {});
    s.leaving ??= (async () => {
      this.opts.logger.debug('letting event go', { eventId: s.eventId, epoch: s.lease.epoch, why: how.why });
      // A graceful close waits for the job in progress; should it hang (a connection that never
      // answers), force it after twice the lock time: the job is then taken over like a dead worker's.
      let timer: NodeJS.Timeout | undefined;
      const closed = s.worker.close(how.force ?? false).then(
        () => true,
        () => true,
      );
      const timedOut = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), 2 * this.opts.lockMs);
      });
      if (!(await Promise.race([closed, timedOut]))) {
        this.opts.logger.warn('event worker did not close in time; forcing', { eventId: s.eventId });
        await s.worker.close(true).catch(() => {});
      }
      clearTimeout(timer);
      await s.queue.close().catch(() => {});
      if (how.why !== 'lost' && how.why !== 'fenced') await this.opts.leases.release(s.lease).catch(() => {});
      if (how.requeue) await this.opts.leases.requeue(s.eventId).catch(() => {});
      // Handed on with work left: tell the other workers, which may have noted it as held.
      if (how.why === 'share' || how.why === 'turn') {
        await this.opts.connection.publish(eventsChannel(this.opts.prefix), s.eventId).catch(() => 0);
      }
      if (this.served.get(s.eventId) === s) this.served.delete(s.eventId);
    })();
    return s.leaving;
  }

  /** Queues a recovery for each served event whose admission gate Redis no longer has. */
  private async checkGates(): Promise<void> {
    await Promise.all(
      [...this.served.values()]
        .filter((s) => !s.leaving)
        .map(async (s) => {
          const keys = gateKeys(this.opts.prefix, s.eventId);
          if ((await this.opts.connection.hexists(keys.gate, 'avail')) === 1) return;
          await this.queueRecovery(s.eventId, s.queue);
        })
        .map((p) => p.catch((err: Error) => this.opts.logger.warn('gate check failed', { error: err.message }))),
    );
  }

  private async queueRecovery(eventId: string, queue?: Queue): Promise<void> {
    const data: RecoverJobData = { kind: 'recover', eventId };
    const own = queue ?? new Queue(eventQueueName(eventId), { connection: this.opts.connection, prefix: this.opts.prefix });
    try {
      await own.add('recover', data, { jobId: recoverJobId(eventId), removeOnComplete: true, removeOnFail: false });
    } finally {
      if (!queue) await own.close().catch(() => {});
    }
    if (await this.opts.leases.markReady(eventId)) {
      await this.opts.connection.publish(eventsChannel(this.opts.prefix), eventId);
    }
  }

  /**
   * Housekeeping by one worker at a time, driven by the journal's old undecided requests: recover
   * those no queued job carries (Redis lost them), and mark ready an event whose queued work has no
   * mark (an API that died between adding a job and marking its event).
   */
  private async janitor(): Promise<void> {
    if (this.closing) return;
    const { connection, prefix, db, logger, workerId } = this.opts;
    const every = this.opts.janitorMs ?? 10_000;
    try {
      const mine = await connection.set(janitorKey(prefix), workerId, 'PX', every, 'NX');
      if (mine !== 'OK') return;
      const before = new Date(Date.now() - 5_000);
      const { rows } = await sql<{ event_id: string }>`
        SELECT DISTINCT event_id FROM accepted_requests WHERE accepted_at < ${before} LIMIT 1000`.execute(db);
      for (const { event_id: eventId } of rows) {
        await pruneDecidedAccepted(db, eventId);
        const journalled = await countUndecidedAccepted(db, eventId, before);
        if (journalled === 0) continue;
        if (journalled > (await this.opts.gate.queuedRequestCount(eventId))) {
          logger.warn('requests missing from the queue; recovering', { eventId, journalled });
          await this.queueRecovery(eventId);
        } else if (await this.opts.leases.markReady(eventId)) {
          // Queued work older than a few seconds and no ready mark: the API that queued it died
          // before marking the event.
          logger.warn('event had queued work but no ready mark', { eventId });
          await connection.publish(eventsChannel(prefix), eventId);
        }
      }
    } catch (err) {
      logger.warn('housekeeping failed', { error: (err as Error).message });
    }
  }

  /**
   * Stops taking events and jobs, waits for the jobs in progress up to `graceMs` (a job still running
   * then is abandoned and taken over once its lock expires), gives every lease back and leaves.
   */
  async close(graceMs: number, onGraceExpired: () => void): Promise<void> {
    this.closing = true;
    if (this.tickTimer) clearInterval(this.tickTimer);
    if (this.janitorTimer) clearInterval(this.janitorTimer);
    // A round stuck on a Redis that does not answer must not hold shutdown up.
    await settledWithin(this.ticking, graceMs);
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

/** Waits for `promise` to settle, but at most `ms`. */
export async function settledWithin(promise: Promise<unknown> | undefined, ms: number): Promise<void> {
  if (!promise) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
