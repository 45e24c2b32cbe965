import { type Db, findEventById, loadGateSnapshot } from '@booking/db';
import type { Logger } from '@booking/observability';
import type { AdmissionGate, Settlement } from '@booking/queue';

/**
 * The worker's side of the admission gate: settles the gate after each decision and rebuilds it from
 * Postgres when it is missing, when it has drifted, when this worker starts serving an event, and
 * every `rebuildEveryMs` while the event is busy. It runs inside the job's processing, between two
 * decisions of the event, so what it reads from Postgres cannot change underneath it.
 */
export class GateKeeper {
  private readonly lastRebuild = new Map<string, number>();
  private readonly maxPerUser = new Map<string, number | null>();
  private readonly lastSettled = new Map<string, number>();
  /** Events whose rebuild failed and is to be done after their next decision. */
  private readonly owed = new Set<string>();

  constructor(
    private readonly db: Db,
    private readonly gate: AdmissionGate,
    private readonly logger: Logger,
    private readonly onRebuild: (reason: 'missing' | 'drift' | 'start' | 'periodic') => void = () => {},
    private readonly rebuildEveryMs = 15_000,
  ) {}

  /** Settles a batch of durable decisions of one event (`decisionMs`: the batch's own time). */
  async afterDecisions(eventId: string, jobId: string, decisions: Settlement[], decisionMs: number): Promise<void> {
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
    await this.rebuildAfterSettling(eventId, jobId, drifted);
  }

  /**
   * Rebuilds when due, once the settlement is done. A failure here (the database went away) must not
   * send the caller back to settle again, which would count the same decisions twice: the rebuild is
   * owed instead and done after the next decision.
   */
  private async rebuildAfterSettling(eventId: string, jobId: string, drifted: boolean): Promise<void> {
    try {
      await this.rebuildIfDue(eventId, jobId, drifted || this.owed.has(eventId));
      this.owed.delete(eventId);
    } catch (err) {
      this.owed.add(eventId);
      this.logger.warn('admission gate rebuild postponed', { eventId, jobId, error: (err as Error).message });
    }
  }

  /** Ids of the requests the event's queue holds now. */
  queuedRequestIds(eventId: string): Promise<Set<string>> {
    return this.gate.queuedRequestIds(eventId);
  }

  async afterCancellation(input: { jobId: string; eventId: string; bookingId: string; quantity: number; userId: string }): Promise<void> {
    const maxPerUser = await this.limitOf(input.eventId);
    await this.gate.returnSeats({ ...input, maxPerUser });
    await this.rebuildAfterSettling(input.eventId, input.jobId, false);
  }

  /** Rebuilds the event's gate now (after a recovery). */
  async rebuildNow(eventId: string, jobId: string): Promise<void> {
    await this.rebuildIfDue(eventId, jobId, true);
  }

  private async rebuildIfDue(eventId: string, jobId: string, drifted: boolean): Promise<void> {
    const last = this.lastRebuild.get(eventId);
    if (!drifted && last !== undefined && Date.now() - last < this.rebuildEveryMs) return;
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

  private async limitOf(eventId: string): Promise<number | null> {
    if (this.maxPerUser.has(eventId)) return this.maxPerUser.get(eventId) ?? null;
    const event = await findEventById(this.db, eventId);
    const limit = event?.max_per_user ?? null;
    this.maxPerUser.set(eventId, limit);
    return limit;
  }
}
