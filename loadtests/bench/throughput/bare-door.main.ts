// The throughput bench's bare-door baseline: the least a booking door can do on this stack, as a
// process of its own, compiled and started like the service's roles. Express 5, `express.json()`, one
// Redis call per booking (EVALSHA of a tiny script reading a seat count, on a client configured as
// the service's request-path client), then `409` problem+json `SOLD_OUT`. It knows nothing of
// events, validation, idempotency, rate limits or metrics: what the service's door adds to this is
// what the bench's ratios show. Lives in the benchmark, not the product.
//
// Environment: PORT, REDIS_URL, QUEUE_PREFIX (its one key is `<prefix>:bare-door:available`).
import type { Server } from 'node:http';

import { createRedis } from '@booking/queue';
import express from 'express';

const port = Number(process.env.PORT ?? 0);
const key = `${process.env.QUEUE_PREFIX ?? 'bench-bare'}:bare-door:available`;
const redis = createRedis({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', cluster: false }, 'command', 'booking-bench-bare-door');
// A sold-out check: the seats left, compared with the quantity asked for (1 when sold out, else 0).
redis.defineCommand('bareDoorSoldOut', {
  numberOfKeys: 1,
  lua: "local left = tonumber(redis.call('GET', KEYS[1]) or '0') if left < tonumber(ARGV[1]) then return 1 end return 0",
});
const soldOut = (quantity: number) =>
  (redis as unknown as { bareDoorSoldOut(k: string, q: number): Promise<number> }).bareDoorSoldOut(key, quantity);

await new Promise<void>((resolve) => (redis.status === 'ready' ? resolve() : redis.once('ready', () => resolve())));
await redis.set(key, '0');

const app = express();
app.disable('x-powered-by');
app.use(express.json({ limit: '16kb' }));
app.get('/healthz', (_req, res) => {
  res.json({ status: 'ok' });
});
app.get('/readyz', (_req, res) => {
  res.json({ status: 'ok' });
});
app.post('/v1/events/:eventId/bookings', async (req, res) => {
  const quantity = Number((req.body as { quantity?: unknown } | undefined)?.quantity ?? 1);
  if ((await soldOut(quantity)) === 1) {
    res.status(409).type('application/problem+json').json({
      type: 'about:blank',
      title: 'SOLD_OUT',
      status: 409,
      detail: 'not enough seats are left for this request',
      code: 'SOLD_OUT',
    });
    return;
  }
  // Never reached: the key says 0 seats. A door that admits would queue the request here.
  res.status(503).type('application/problem+json').json({ type: 'about:blank', title: 'UNAVAILABLE', status: 503, code: 'UNAVAILABLE' });
});

const server = await new Promise<Server>((resolve, reject) => {
  // The service's listen backlog, so that connection setup is alike.
  const s = app.listen({ port, host: '127.0.0.1', backlog: 4_096 }, (err?: Error) => (err ? reject(err) : resolve(s)));
});
// As the service does.
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;

const stop = () => {
  server.close(() => void redis.quit().finally(() => process.exit(0)));
  server.closeAllConnections();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
