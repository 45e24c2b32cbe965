import { type Db, findEventById, findRequestStates, loadGateSnapshot } from '@booking/db';
import type { Logger } from '@booking/observability';
import type { AdmissionGate, GateOrphans, Settlement } from '@booking/queue';
import type { Job } from 'bullmq';

/** Most stale gate records looked at per rebuild (the oldest first); the next rebuild takes the rest. */
const ORPHANS_PER_REBUILD = 1_000;

/** How the keeper finds gate records that nothing will ever settle (see `GateKeeper.forgetOrphans`). */
export interface OrphanOptions {
  orphans: GateOrphans;
  /** A pending record older than this whose request is not queued may be an orphan (ms). */
  afterMs: number;
}

/** BullMQ's id of the job at work, for the logs (possibly absent, as BullMQ types it). */
type JobId = Job['id'];

/**
 * The worker's side of the admission gate: settles the gate after each decision and rebuilds it from
 * Postgres when it is missing, when it has drifted, when this worker starts serving an event, and
 * every `rebuildEveryMs` while the event is busy. It runs inside the job's processing: a settlement may
 * overlap the event's next transaction (settlements follow one another in order), a rebuild runs only
 * between two transactions with every settlement done, so what it reads from Postgres cannot change
 * underneath it. Before each rebuild it forgets the records of requests that will never be settled
 * (`forgetOrphans`), which the rebuild would otherwise promise seats to again.
 */
export class GateKeeper {
  private readonly lastRebuild = new Map<string, number>();
  private readonly maxPerUser = new Map<string, number | null>();
  private readonly lastSettled = new Map<string, number>();
  /**
   * Events whose rebuild is owed: it failed, or a settlement found a drift while the next transaction
   * may have been running. Done by the next rebuild check (`rebuildIfDue`, or after a settlement).
   */
  private readonly owed = new Set<string>();

  constructor(
    private readonly db: Db,
    private readonly gate: AdmissionGate,
    private readonly logger: Logger,
    private readonly onRebuild: (reason: 'missing' | 'drift' | 'start' | 'periodic') => void = () => {},
    private readonly rebuildEveryMs = 15_000,
    private readonly orphans?: OrphanOptions,
  ) {}

  /**
   * Settles a batch of durable decisions of one event (`decisionMs`: the batch's own time), then
   * rebuilds the gate when one is due. With `rebuild: false` (the next transaction of the event may
   * be running) a rebuild found due is owed instead, for `rebuildIfDue` between two transactions.
   */
  async afterDecisions(eventId: string, jobId: JobId, decisions: Settlement[], decisionMs: number, rebuild = true): Promise<void> {
    if (decisions.length === 0) return;
    const maxPerUser = await this.limitOf(eventId);
    // Time per decision as a client waiting in the queue sees it: the gap since the previous batch
    // while the event is busy, the batch's own time after an idle spell; spread over the batch.
    const now = performance.now();
    const last = this.lastSettled.get(eventId);
    this.lastSettled.set(eventId, now);
    const gap = last === undefined ? Infinity : now - last;
    const perDecision = (gap < 2_000 ? gap : decisionMs) / decisions.length;
    const drifted = await this.gate.settle(eventId, maxPerUser, perDecision, decisions);
    if (rebuild) await this.rebuildAfterSettling(eventId, jobId, drifted);
    else if (drifted) this.owed.add(eventId);
  }

  /** Whether the event's gate is to be rebuilt now: one is owed, or the periodic one is due. */
  rebuildDue(eventId: string): boolean {
    return this.owed.has(eventId) || this.periodicDue(eventId);
  }

  /** Never rebuilt by this worker, or not for `rebuildEveryMs`. */
  private periodicDue(eventId: string): boolean {
    const last = this.lastRebuild.get(eventId);
    return last === undefined || Date.now() - last >= this.rebuildEveryMs;
  }

  /** Rebuilds the event's gate if `rebuildDue`; called with no decision of the event in flight. */
  async rebuildIfDue(eventId: string, jobId: JobId): Promise<void> {
    await this.rebuildAfterSettling(eventId, jobId, false);
  }

  /**
   * Rebuilds when due, once the settlement is done. A failure here (the database went away) must not
   * send the caller back to settle again, which would count the same decisions twice: the rebuild is
   * owed instead and done at the next rebuild check.
   */
  private async rebuildAfterSettling(eventId: string, jobId: JobId, drifted: boolean): Promise<void> {
    try {
      await this.rebuildWhenDue(eventId, jobId, drifted || this.owed.has(eventId));
      this.owed.delete(eventId);
    } catch (err) {
      this.owed.add(eventId);
      this.logger.warn('admission gate rebuild postponed', { eventId, jobId, error: (err as Error).message });
    }
  }

  /** Tells the door whether the event's waiting list is full (see AdmissionGate.markWaitlistFull). */
  markWaitlistFull(eventId: string, full: boolean): Promise<void> {
    return this.gate.markWaitlistFull(eventId, full);
  }

  /** Ids of the requests the event's queue holds now. */
  queuedRequestIds(eventId: string): Promise<Set<string>> {
    return this.gate.queuedRequestIds(eventId);
  }

  async afterCancellation(input: { jobId: JobId; eventId: string; bookingId: string; quantity: number; userId: string }): Promise<void> {
    const maxPerUser = await this.limitOf(input.eventId);
    await this.gate.returnSeats({ ...input, maxPerUser });
    await this.rebuildAfterSettling(input.eventId, input.jobId, false);
  }

  /** Forgets what it knows of an event (its Redis keys were removed after its sale). */
  forget(eventId: string): void {
    this.lastRebuild.delete(eventId);
    this.maxPerUser.delete(eventId);
    this.lastSettled.delete(eventId);
    this.owed.delete(eventId);
  }

  /** Rebuilds the event's gate now (after a recovery). */
  async rebuildNow(eventId: string, jobId: JobId): Promise<void> {
    await this.rebuildWhenDue(eventId, jobId, true);
  }

  private async rebuildWhenDue(eventId: string, jobId: JobId, drifted: boolean): Promise<void> {
    const last = this.lastRebuild.get(eventId);
    if (!drifted && !this.periodicDue(eventId)) return;
    await this.forgetOrphans(eventId, jobId);
    const snapshot = await loadGateSnapshot(this.db, eventId);
    if (!snapshot) return;
    const previous = await this.gate.rebuild(eventId, snapshot);
    this.lastRebuild.set(eventId, Date.now());
    const reason = previous === null ? 'missing' : drifted ? 'drift' : last === undefined ? 'start' : 'periodic';
    this.onRebuild(reason);
    this.logger.log(drifted ? 'info' : 'debug', 'admission gate rebuilt', {
      eventId,
      jobId,
      previous,
      available: snapshot.available,
      reason,
    });
  }

  /**
   * Forgets the gate's pending records that are older than `afterMs`, carried by no queued job, and
   * not waiting in the journal to be recovered: requests admitted by an API that died before queueing
   * them (they never got a 202), or decided while the gate's settlement failed. Nothing would ever
   * settle them, and the rebuild would promise them seats again, turning requests away while seats
   * are left. A request on its way to the queue is younger than `afterMs` (the API gives up adding a
   * job after 2 s and takes the admission back itself).
   */
  private async forgetOrphans(eventId: string, jobId: JobId): Promise<void> {
    if (!this.orphans) return;
    const before = new Date(Date.now() - this.orphans.afterMs);
    const stale = await this.orphans.orphans.staleUnqueued(eventId, before, { limit: ORPHANS_PER_REBUILD });
    if (stale.length === 0) return;
    // Journalled and undecided: lost by Redis, and decided by the recovery, which settles them.
    const { decided, journalled } = await findRequestStates(this.db, stale);
    const orphaned = stale.filter((id) => !journalled.has(id));
    const forgotten = await this.orphans.orphans.forget(eventId, before, orphaned);
    if (forgotten === 0) return;
    this.logger.warn('admission gate records nothing will settle forgotten', {
      eventId,
      jobId,
      forgotten,
      decided: orphaned.filter((id) => decided.has(id)).length,
      neverQueued: orphaned.filter((id) => !decided.has(id)).length,
    });
  }

  private async limitOf(eventId: string): Promise<number | null> {
    if (this.maxPerUser.has(eventId)) return this.maxPerUser.get(eventId) ?? null;
    const event = await findEventById(this.db, eventId);
    const limit = event?.max_per_user ?? null;
    this.maxPerUser.set(eventId, limit);
    return limit;
  }
}
