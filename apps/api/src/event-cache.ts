import { type Db, type EventRow, findEventById } from '@booking/db';
import type { ApiMetrics } from '@booking/observability';

/** What the ingress needs to know about an event; none of it changes after creation. */
export interface EventInfo {
  id: string;
  capacity: number;
  maxPerUser: number | null;
  salesStartAt: number | null;
  salesEndAt: number | null;
  /** Most entries of the waiting list; null: none. */
  waitlistLimit: number | null;
}

interface Entry {
  info: EventInfo | null;
  expiresAt: number;
}

/**
 * Remembers events so that a submission for a known event costs no database query. Known events are
 * kept (they are immutable) up to `maxEntries`, least recently used out first; unknown ids are
 * remembered briefly so a flood of bad ids does not become a flood of queries.
 */
export class EventCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<EventInfo | null>>();
  private hits = 0;
  private misses = 0;

  constructor(
    private readonly db: Db,
    private readonly metrics?: Pick<ApiMetrics, 'cacheHits' | 'cacheMisses'>,
    private readonly maxEntries = 50_000,
    private readonly missTtlMs = 5_000,
  ) {}

  /** The event, or null when it does not exist. */
  async get(eventId: string): Promise<EventInfo | null> {
    const entry = this.entries.get(eventId);
    if (entry && entry.expiresAt > Date.now()) {
      this.hits++;
      this.metrics?.cacheHits.inc();
      this.entries.delete(eventId);
      this.entries.set(eventId, entry);
      return entry.info;
    }
    this.misses++;
    this.metrics?.cacheMisses.inc();
    let load = this.inflight.get(eventId);
    if (!load) {
      load = this.load(eventId).finally(() => this.inflight.delete(eventId));
      this.inflight.set(eventId, load);
    }
    return load;
  }

  /** Share of lookups answered from memory (0 before any lookup). */
  get hitRate(): number {
    const total = this.hits + this.misses;
    return total === 0 ? 0 : this.hits / total;
  }

  /** Records an event just created (or read) so its first submission needs no query. */
  remember(row: EventRow): void {
    this.put(row.id, toInfo(row), Number.POSITIVE_INFINITY);
  }

  private async load(eventId: string): Promise<EventInfo | null> {
    const row = await findEventById(this.db, eventId);
    const info = row ? toInfo(row) : null;
    this.put(eventId, info, info ? Number.POSITIVE_INFINITY : Date.now() + this.missTtlMs);
    return info;
  }

  private put(eventId: string, info: EventInfo | null, expiresAt: number): void {
    this.entries.delete(eventId);
    this.entries.set(eventId, { info, expiresAt });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }
}

function toInfo(row: EventRow): EventInfo {
  return {
    id: row.id,
    capacity: row.capacity,
    maxPerUser: row.max_per_user,
    salesStartAt: row.sales_start_at?.getTime() ?? null,
    salesEndAt: row.sales_end_at?.getTime() ?? null,
    waitlistLimit: row.waitlist_limit,
  };
}
