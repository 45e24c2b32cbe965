import { type Db, waitlistOrder, waitlistPosition } from '@booking/db';
import { eventIdOfRequest } from '@booking/domain';
import type { DecisionHub, DecisionMessage } from '@booking/queue';

/** How old a list's snapshot may be when a place is read from it. */
const MAX_AGE_MS = 1_000;
/** Longest list a snapshot holds (an event's waitlistLimit is at most 100,000). */
const MAX_ENTRIES = 100_000;
/** Events whose snapshots are kept at most; beyond it the oldest go. */
const MAX_EVENTS = 1_000;

interface Snapshot {
  at: number;
  places: Promise<Map<string, number>>;
}

/**
 * Places on events' waiting lists, for the views of waitlisted requests. Counting the entries ahead
 * of one request is a scan of the list up to it, and a sale's thousands of waitlisted long-polls
 * each counted, so a list is read once (in order, its ids only) and the places of every request on
 * it answered from that read. A snapshot is dropped as soon as a decision message says that entries
 * may have left the list (a promotion, a withdrawal, the end of the sale: any request of the event
 * decided confirmed or rejected), and in any case after a second, in case a message was lost. A
 * request that joined after the snapshot is counted on its own. A place is information for the user,
 * never a decision: the worker decides promotions from PostgreSQL itself.
 */
export class WaitlistPositions {
  private readonly snapshots = new Map<string, Snapshot>();

  constructor(
    private readonly db: Db,
    hub: DecisionHub,
  ) {
    hub.onMessage((message) => this.forgetWhatChanged(message));
  }

  async of(eventId: string, requestId: string): Promise<number> {
    const place = (await this.snapshot(eventId)).get(requestId);
    return place ?? waitlistPosition(this.db, eventId, requestId);
  }

  private forgetWhatChanged(message: DecisionMessage): void {
    if (this.snapshots.size === 0) return;
    if (message.type === 'withdrawal') {
      const eventId = eventIdOfRequest(message.requestId);
      if (eventId !== undefined) this.snapshots.delete(eventId);
    } else if (message.type === 'decisions') {
      for (const r of message.requests) if (r.status === 'confirmed' || r.status === 'rejected') this.snapshots.delete(r.eventId);
    }
  }

  private snapshot(eventId: string): Promise<Map<string, number>> {
    const now = performance.now();
    const found = this.snapshots.get(eventId);
    if (found && now - found.at < MAX_AGE_MS) return found.places;
    const places = waitlistOrder(this.db, eventId, MAX_ENTRIES).then((ids) => new Map(ids.map((id, i) => [id, i + 1])));
    // A failed read is not kept: the next view tries again.
    places.catch(() => this.snapshots.get(eventId)?.places === places && this.snapshots.delete(eventId));
    this.snapshots.delete(eventId);
    this.snapshots.set(eventId, { at: now, places });
    if (this.snapshots.size > MAX_EVENTS) this.snapshots.delete(this.snapshots.keys().next().value!);
    return places;
  }
}
