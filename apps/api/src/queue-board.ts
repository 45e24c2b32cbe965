import type { Db } from '@booking/db';
import type { Logger } from '@booking/observability';
import { eventQueueName, type RedisClient } from '@booking/queue';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Queue } from 'bullmq';
import type { RequestHandler } from 'express';

export interface QueueBoardOptions {
  db: Db;
  /** The API's shared Redis connection; the board's queues never open their own. */
  connection: RedisClient;
  prefix: string;
  logger: Logger;
  /** Where the dashboard is mounted (its pages link to their assets under it). */
  basePath?: string;
  /** How long the list of events is reused before Postgres is asked again (ms). */
  refreshMs?: number;
  /** The most recent events shown; the board polls every queue it shows, so this bounds its cost. */
  maxEvents?: number;
}

interface Shown {
  queue: Queue;
  adapter: BullMQAdapter;
}

/**
 * The bull-board dashboard of the event queues. Events are created at run time, so the board is
 * brought up to date (from Postgres, at most every `refreshMs`) whenever it is looked at. It is
 * read-only: removing or retrying a job by hand would break the one-decision-per-request guarantee.
 */
export class QueueBoard {
  private readonly shown = new Map<string, Shown>();
  private readonly server: ExpressAdapter;
  private readonly board: ReturnType<typeof createBullBoard>;
  private syncedAt = Number.NEGATIVE_INFINITY;
  private syncing: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: QueueBoardOptions) {
    this.server = new ExpressAdapter();
    this.server.setBasePath(options.basePath ?? '/admin/queues');
    this.board = createBullBoard({
      queues: [],
      serverAdapter: this.server,
      options: { uiConfig: { boardTitle: 'Booking queues', hideDocsLink: true } },
    });
  }

  /** The dashboard's pages, assets and JSON calls, relative to the base path. */
  get handler(): RequestHandler {
    return this.server.getRouter() as RequestHandler;
  }

  /** Makes sure the board shows the queues of the current events; a failure leaves the last list. */
  async sync(): Promise<void> {
    if (this.closed || Date.now() - this.syncedAt < (this.options.refreshMs ?? 2_000)) return;
    this.syncing ??= this.refresh()
      .catch((err: Error) => {
        this.options.logger.warn('queue dashboard: could not list events', { error: err.message });
      })
      .finally(() => {
        this.syncing = undefined;
      });
    await this.syncing;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.syncing;
    const all = [...this.shown.values()];
    this.shown.clear();
    this.board.replaceQueues([]);
    await Promise.allSettled(all.map((s) => s.queue.close()));
  }

  private async refresh(): Promise<void> {
    const events = await this.options.db
      .selectFrom('events')
      .select(['id', 'name'])
      .orderBy('created_at', 'desc')
      .limit(this.options.maxEvents ?? 1_000)
      .execute();
    if (this.closed) return;
    const current = new Set(events.map((e) => e.id));
    for (const [id, gone] of this.shown) {
      if (current.has(id)) continue;
      this.shown.delete(id);
      gone.queue.close().catch(() => {});
    }
    for (const event of events) {
      if (this.shown.has(event.id)) continue;
      const queue = new Queue(eventQueueName(event.id), { connection: this.options.connection, prefix: this.options.prefix });
      queue.on('error', () => {});
      const adapter = new BullMQAdapter(queue, {
        readOnlyMode: true,
        displayName: `${event.name} (${event.id})`,
        description: `Booking requests and cancellations of event ${event.id}, decided one at a time.`,
      });
      this.shown.set(event.id, { queue, adapter });
    }
    this.board.replaceQueues(events.map((e) => this.shown.get(e.id)!.adapter));
    this.syncedAt = Date.now();
  }
}
