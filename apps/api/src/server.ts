import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { type Db, listEventsOnSale, listHeldSeats, listWaitlistLengths } from '@booking/db';
import { settledWithin } from '@booking/lifecycle';
import {
  apiMetrics,
  eventGauges,
  gaugeFrom,
  heldSeatsGauge,
  type Logger,
  MetricsRegistry,
  poolMetrics,
  type Registry,
  waitlistGauge,
} from '@booking/observability';
import { createRedis, DecisionHub, decisionsChannel, eventsChannel, markEventReady, type RedisSettings } from '@booking/queue';

import { AcceptedJournal } from './accepted-journal.ts';
import { createApp } from './app.ts';
import { AdminThrottle } from './auth/admin-throttle.ts';
import { Authenticator, type AuthOptions } from './auth/authenticator.ts';
import { withFastBookings } from './booking.fast.ts';
import { DecisionWait } from './decision-wait.ts';
import type { ApiDeps } from './deps.ts';
import { DurableKeys } from './durable-keys.ts';
import { EventCache } from './event-cache.ts';
import { GuardedGate, GuardedQueues, idempotencyStore } from './guarded.ts';
import { withFastLongPolls } from './long-poll.fast.ts';
import { type LongPollBounds, LongPollLimits } from './long-poll-limits.ts';
import { QueueBoard } from './queue-board.ts';
import { createRedisBreaker, type RedisBreaker } from './redis-breaker.ts';
import { securityHeaders } from './security-headers.ts';

/** Per-event gauges cover at most this many events on sale (the newest): bounded label sets. */
const EVENT_GAUGES_MAX = 500;

/**
 * Connections waiting to be accepted. A sale opens thousands at once: with Node's default (511) the
 * accept queue overflowed in a holds sale of 10,000 users (see `nstat -az TcpExtListenOverflows`), and
 * every handshake dropped costs its client a SYN retransmission, 1 s and then 3 s later, or a reset.
 * The kernel caps the value at net.core.somaxconn (4,096 on many distributions).
 */
export const LISTEN_BACKLOG = 4_096;

export interface ApiOptions {
  db: Db;
  redis: RedisSettings;
  prefix: string;
  logger: Logger;
  adminKey: string;
  port: number;
  host?: string;
  bodyLimitBytes?: number;
  /** How long shutdown lets requests in flight finish (ms); long-polls are answered at once. */
  shutdownGraceMs?: number;
  cancelWaitMs?: number;
  idempotencyTtlSeconds?: number;
  /** How long the key of a 409 answer is kept (at most `idempotencyTtlSeconds`). */
  idempotencyConflictTtlSeconds?: number;
  rateLimit?: { points: number; windowSeconds: number };
  /** New booking requests one client address may send per event and `rateLimit` window (default: no limit). */
  addressRateLimitPoints?: number;
  /** Who the user is (default `none`: the body's userId, as in the first version). */
  auth?: AuthOptions;
  /** Express `trust proxy` hops for the client address (default 0: the socket's peer). */
  trustProxy?: number;
  /** Concurrent long-polls per user and per process (default 10 and 20,000). */
  longPolls?: Partial<LongPollBounds>;
  /** Failed admin-key attempts one address may make per minute (default 10). */
  adminMaxFailures?: number;
  /** Answer SOLD_OUT at the door when the gate knows the event cannot satisfy a request (default true). */
  admissionGate?: boolean;
  /** Where metrics go (shared with the worker in a single-process server); a private one by default. */
  registry?: Registry;
  /** The Postgres pool behind `db`, for pool metrics. */
  pool?: { totalCount: number; waitingCount: number; idleCount: number };
}

export interface ApiHandle {
  readonly port: number;
  readonly server: Server;
  /** The circuit breaker in front of the API's Redis calls (state and connection-error count). */
  readonly redisBreaker: RedisBreaker;
  /** Stops accepting connections, answers waiting long-polls, closes Redis connections. */
  close(): Promise<void>;
}

function waitReady(client: ReturnType<typeof createRedis>, ms: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      client.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    client.on('ready', done);
  });
}

/** Starts the API role on `port` (0 for any free port). */
export async function startApi(options: ApiOptions): Promise<ApiHandle> {
  const { logger, prefix } = options;
  // BullMQ gets a connection of its own, as it expects.
  const command = createRedis(options.redis, 'command', 'booking-api');
  const queueConnection = createRedis(options.redis, 'command', 'booking-api-queues');
  const subscriber = createRedis(options.redis, 'subscriber', 'booking-api-sub');
  // Requests fail fast while Redis is down; at start, give it a moment to connect first.
  await Promise.all([waitReady(command, 5_000), waitReady(queueConnection, 5_000)]);
  const hub = new DecisionHub(subscriber, decisionsChannel(prefix));
  await hub.start();
  // Every request-path Redis call goes through one circuit breaker: fast 503s while Redis is down.
  const redisBreaker = createRedisBreaker({ command, logger });
  redisBreaker.watch(subscriber);
  redisBreaker.watch(queueConnection);
  // After a job is queued, mark its event as having work and wake the workers if it was idle. Fire
  // and forget: a lost mark is found by the workers' housekeeping.
  const onQueued = (eventId: string) => {
    markEventReady(command, prefix, eventId)
      .then((newly) => (newly ? command.publish(eventsChannel(prefix), eventId) : 0))
      .catch(() => {});
  };
  const queues = new GuardedQueues(queueConnection, prefix, onQueued, redisBreaker);
  const queueBoard = new QueueBoard({ db: options.db, connection: queueConnection, prefix, logger });
  const gate = new GuardedGate(command, prefix, options.admissionGate ?? true, redisBreaker);
  const journal = new AcceptedJournal(options.db, logger);
  const durableKeys = new DurableKeys(options.db);
  const rateLimit = options.rateLimit ?? { points: 20, windowSeconds: 10 };
  const auth = new Authenticator(options.auth ?? { mode: 'none' }, options.adminKey);
  const longPolls = new LongPollLimits({ perUser: options.longPolls?.perUser ?? 10, perProcess: options.longPolls?.perProcess ?? 20_000 });
  const headers = securityHeaders();
  const registry = options.registry ?? new MetricsRegistry();
  const metrics = apiMetrics(registry);
  redisBreaker.onConnectionError(() => metrics.redisErrors.inc());
  gaugeFrom(registry, 'redis_circuit_breaker_open', 'Redis circuit breaker: 1 open, 0.5 half-open, 0 closed', () =>
    redisBreaker.state() === 'open' ? 1 : redisBreaker.state() === 'half-open' ? 0.5 : 0,
  );
  const events = new EventCache(options.db, metrics);
  gaugeFrom(registry, 'cache_hit_rate', 'Share of event lookups answered from memory since start', () => events.hitRate);
  gaugeFrom(registry, 'booking_long_poll_waiters', 'Clients long-polling a pending request now', () => hub.waiting);
  gaugeFrom(registry, 'booking_long_polls_held', 'Long-polls counted against the per-process bound now', () => longPolls.held);
  gaugeFrom(registry, 'booking_journal_backlog', 'Accepted requests not yet written to the journal', () => journal.backlog);
  const pool = options.pool;
  if (pool) poolMetrics(registry, () => pool);
  eventGauges(registry, async () => {
    const onSale = await listEventsOnSale(options.db, new Date(), EVENT_GAUGES_MAX);
    return Promise.all(
      onSale.map(async (e) => ({ eventId: e.id, seatsAvailable: e.available, queueDepth: await gate.pendingCount(e.id) })),
    );
  });
  heldSeatsGauge(registry, () => listHeldSeats(options.db, EVENT_GAUGES_MAX));
  waitlistGauge(registry, () => listWaitlistLengths(options.db, EVENT_GAUGES_MAX));

  const deps: ApiDeps = {
    db: options.db,
    logger,
    registry,
    metrics,
    adminKey: options.adminKey,
    bodyLimitBytes: options.bodyLimitBytes ?? 16_384,
    events,
    queues,
    queueBoard,
    hub,
    gate,
    decisions: new DecisionWait({ db: options.db, gate, hub }),
    redisBreaker,
    submission: {
      findDurableKey: (eventId, keyHash) => durableKeys.find(eventId, keyHash),
      gate,
      queues,
      idempotency: idempotencyStore(command, redisBreaker),
      prefix,
      idempotencyTtlSeconds: options.idempotencyTtlSeconds ?? 86_400,
      idempotencyConflictTtlSeconds: Math.min(options.idempotencyConflictTtlSeconds ?? 600, options.idempotencyTtlSeconds ?? 86_400),
      journal,
      rateLimit: {
        points: rateLimit.points,
        windowMs: rateLimit.windowSeconds * 1000,
        ...(options.addressRateLimitPoints ? { addressPoints: options.addressRateLimitPoints } : {}),
      },
    },
    pingRedis: async () => {
      await redisBreaker.run(() => command.ping());
    },
    cancelWaitMs: options.cancelWaitMs ?? 10_000,
    auth,
    adminThrottle: new AdminThrottle(command, prefix, options.adminMaxFailures ?? 10, redisBreaker),
    longPolls,
    trustProxy: options.trustProxy ?? 0,
    securityHeaders: headers,
  };
  const app = createApp(deps);

  const server = await new Promise<Server>((resolve, reject) => {
    // Fronts for the bulk of a sale's requests, which serve them without Express while identities are off.
    const fronts = withFastLongPolls(app, { hub, metrics, logger, longPolls, headers, enabled: auth.mode === 'none' });
    const s = createServer(withFastBookings(fronts, deps));
    s.once('error', reject);
    s.listen({ port: options.port, host: options.host ?? '0.0.0.0', backlog: LISTEN_BACKLOG }, () => {
      s.off('error', reject);
      resolve(s);
    });
  });
  // Long-polls last up to 30 s; keep idle keep-alive sockets a little longer than a typical balancer's.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const port = (server.address() as AddressInfo).port;
  logger.info('api listening', { port });

  let closing: Promise<void> | undefined;
  return {
    port,
    server,
    redisBreaker,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        hub.releaseAll();
        server.closeIdleConnections();
        const grace = setTimeout(() => server.closeAllConnections(), options.shutdownGraceMs ?? 10_000);
        await stopped;
        clearTimeout(grace);
        await journal.drain(5_000);
        // Closing queues and QUIT wait for Redis to answer; a Redis (or a cluster node) that does
        // not gets the connections cut instead, so shutdown is bounded.
        await settledWithin(Promise.allSettled([queues.close(), queueBoard.close()]), 5_000);
        await settledWithin(Promise.allSettled([command.quit(), queueConnection.quit(), subscriber.quit()]), 2_000);
        for (const connection of [command, queueConnection, subscriber]) connection.disconnect();
        redisBreaker.shutdown();
        logger.info('api stopped');
      })();
      return closing;
    },
  };
}
