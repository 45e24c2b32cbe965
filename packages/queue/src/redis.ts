import { Cluster, Redis, type RedisOptions } from 'ioredis';

export type RedisClient = Redis | Cluster;

export interface RedisSettings {
  /** One redis:// URL, or with `cluster` a comma-separated list of seed nodes. */
  url: string;
  cluster: boolean;
}

/**
 * What a connection is for:
 * - `command`: request-path calls that must fail fast while Redis is down (no offline queue, one retry);
 * - `worker`: BullMQ workers, which need `maxRetriesPerRequest: null` and wait out outages;
 * - `subscriber`: pub/sub, resubscribed automatically after a reconnect.
 */
export type RedisPurpose = 'command' | 'worker' | 'subscriber';

function optionsFor(purpose: RedisPurpose): RedisOptions {
  const base: RedisOptions = {
    connectTimeout: 2_000,
    // Reconnect quickly at first, then at most every 2 s, forever.
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
    lazyConnect: false,
  };
  if (purpose === 'command') {
    return { ...base, enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 2_000 };
  }
  return { ...base, maxRetriesPerRequest: null, enableOfflineQueue: true };
}

function parseNode(url: string): { host: string; port: number; username?: string; password?: string; tls: boolean } {
  const u = new URL(url.trim());
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: Number(u.port || 6379),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    tls: u.protocol === 'rediss:',
  };
}

/**
 * A Redis (or Redis Cluster) client configured for one purpose. Never auto-pipelined: ioredis's
 * commandTimeout does not fail an auto-pipelined command, and a command connection must fail fast
 * when Redis stops answering.
 */
export function createRedis(settings: RedisSettings, purpose: RedisPurpose, name?: string): RedisClient {
  const options = optionsFor(purpose);
  if (name) options.connectionName = name;
  if (!settings.cluster) {
    const url = settings.url.split(',')[0]!.trim();
    const redis = new Redis(url, options);
    // Errors surface on the commands that hit them; the listener keeps the process from crashing.
    redis.on('error', () => {});
    return redis;
  }
  const nodes = settings.url.split(',').map(parseNode);
  const first = nodes[0]!;
  const { enableOfflineQueue, ...redisOptions } = options;
  const cluster = new Cluster(
    nodes.map((n) => ({ host: n.host, port: n.port })),
    {
      enableOfflineQueue: enableOfflineQueue ?? true,
      enableReadyCheck: true,
      slotsRefreshTimeout: 2_000,
      clusterRetryStrategy: (times) => Math.min(100 * times, 2_000),
      redisOptions: {
        ...redisOptions,
        ...(first.username ? { username: first.username } : {}),
        ...(first.password ? { password: first.password } : {}),
        ...(first.tls ? { tls: {} } : {}),
      },
    },
  );
  cluster.on('error', () => {});
  return cluster;
}

/** Node's socket error codes that mean Redis cannot be reached. */
const UNREACHABLE_CODES = ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE'];

/** Error replies (their first word) of a Redis, or a Redis Cluster, that cannot serve now. */
const NOT_SERVING_REPLIES = new Set(['LOADING', 'CLUSTERDOWN', 'TRYAGAIN', 'MASTERDOWN']);

/** ioredis's classes of errors that mean it gave up reaching Redis (by name: ioredis does not export them). */
const GAVE_UP_ERRORS = new Set([
  // A command retried `maxRetriesPerRequest` times while disconnected.
  'MaxRetriesPerRequestError',
  // Redis Cluster: no node answered for the slots ("Failed to refresh slots cache").
  'ClusterAllFailedError',
]);

/**
 * ioredis 5's errors of an unreachable or silent Redis that carry neither a class nor a code, by a
 * fixed part of their message (found anywhere in it: ioredis wraps some in others). A Cluster's
 * "Too many Cluster redirections" is a command it could not place after `maxRedirections` tries
 * (each a refused connection or a MOVED to a dead node).
 */
const UNREACHABLE_MESSAGES = [
  "Stream isn't writeable", // not connected, and the connection has no offline queue
  'Connection is closed',
  'Command timed out', // commandTimeout
  'Socket timeout',
  'None of startup nodes is available',
  'Too many Cluster redirections',
  "Cluster isn't ready",
  'Cluster is disconnected',
  'Node is disconnected',
];

/**
 * Whether an error means Redis is unreachable, not answering in time or not serving now (a 503 and
 * a retry later), rather than an error of the call itself. Told by the error's code, its reply's
 * first word, ioredis's class, and only for ioredis's errors that have none of those, by a fixed
 * part of their message; an error that wraps a socket error keeps only its code in the message
 * ("Last error: ...").
 */
export function isRedisUnavailableError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (GAVE_UP_ERRORS.has(err.name)) return true;
  const code = (err as NodeJS.ErrnoException).code;
  if (typeof code === 'string' && UNREACHABLE_CODES.includes(code)) return true;
  if (err.name === 'ReplyError') return NOT_SERVING_REPLIES.has(err.message.split(' ', 1)[0]!);
  const m = err.message;
  return UNREACHABLE_MESSAGES.some((start) => m.includes(start)) || UNREACHABLE_CODES.some((c) => m.includes(c));
}

/** Resolves once the connection is ready (at once when it is). */
export function untilReady(client: RedisClient): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => client.once('ready', () => resolve()));
}

/**
 * Subscribes `client` to `channel` for good: once the connection is ready, and again each time it
 * becomes ready later. Subscribing before the connection is ready can leave it unsubscribed: the
 * SUBSCRIBE is answered, yet the connection then turns ready without the subscription (seen about
 * once in seven starts), and every message on the channel is lost. Subscribing again to a channel
 * already subscribed changes nothing.
 */
export async function subscribeForGood(client: RedisClient, channel: string): Promise<void> {
  await untilReady(client);
  client.on('ready', () => {
    void client.subscribe(channel).catch(() => {});
  });
  await client.subscribe(channel);
}
