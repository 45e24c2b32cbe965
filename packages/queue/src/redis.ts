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

/** Whether an error means Redis is unreachable or not answering in time. */
export function isRedisUnavailableError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const m = err.message;
  return (
    m.includes("Stream isn't writeable") ||
    m.includes('enableOfflineQueue') ||
    m.includes('Connection is closed') ||
    m.includes('Command timed out') ||
    m.includes('Reached the max retries per request limit') ||
    m.includes('ECONNREFUSED') ||
    m.includes('ECONNRESET') ||
    m.includes('None of startup nodes is available') ||
    // Redis Cluster: a master is down or unreachable, or the cluster is resharding / failing over.
    // ioredis reports a command it could not place after `maxRedirections` tries (each a refused
    // connection or a MOVED to the dead node) as "Too many Cluster redirections. Last error: ...".
    m.includes('Too many Cluster redirections') ||
    m.includes("Cluster isn't ready") ||
    m.includes('Cluster is disconnected') ||
    m.includes('Node is disconnected') ||
    m.includes('Failed to refresh slots cache') ||
    m.includes('CLUSTERDOWN') ||
    m.includes('TRYAGAIN') ||
    m.includes('MASTERDOWN') ||
    m.includes('LOADING') ||
    m.includes('ETIMEDOUT') ||
    m.includes('EHOSTUNREACH') ||
    m.includes('Socket timeout') ||
    err.name === 'MaxRetriesPerRequestError'
  );
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
