import { freePort, start, until, within, withProcessEnvironment } from '@booking/test-support';
import { describe, expect, it } from 'vitest';

// `npm start` as a user runs it (package.json: node --conditions=booking-compiled scripts/start.mjs
// server): the script builds what changed (`npm run build`; everything, in a fresh clone) and runs the
// compiled server (apps/server/dist/main.js) with the workspace packages resolved to their compiled
// output. The only test that builds: every other test and smoke run starts the sources with tsx.
const BUILD_AND_START_MS = 240_000;

describe('npm start (the compiled single-process service)', () => {
  it(
    'builds, then serves the tour: an event, a booking decided within Prefer: wait, a sold-out 409; exits 0 on SIGTERM',
    { timeout: BUILD_AND_START_MS + 60_000 },
    async () => {
      await withProcessEnvironment({ ADMIN_API_KEY: 'start-compiled-test-admin-key' }, async (env) => {
        const port = await freePort();
        const base = `http://127.0.0.1:${port}`;
        const run = start('scripts/start.mjs', { ...env, PORT: String(port) }, { compiled: true, args: ['server'] });
        try {
          await until(run, async () => (await fetch(`${base}/readyz`)).status === 200, BUILD_AND_START_MS, 'built and ready');
          const created = await fetch(`${base}/v1/events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${env.ADMIN_API_KEY}` },
            body: JSON.stringify({ name: 'Compiled', capacity: 1 }),
          });
          expect(created.status, run.output()).toBe(201);
          const { id } = (await created.json()) as { id: string };
          const book = (userId: string) =>
            fetch(`${base}/v1/events/${id}/bookings`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', prefer: 'wait=10' },
              body: JSON.stringify({ userId, quantity: 1 }),
            });
          const first = await book('first');
          expect(first.status, run.output()).toBe(200);
          expect(await first.json()).toMatchObject({ status: 'confirmed', eventId: id, userId: 'first' });
          const second = await book('second');
          expect(second.status, run.output()).toBe(409);
          expect(second.headers.get('content-type')).toContain('application/problem+json');
          expect(await second.json()).toMatchObject({ status: 409, code: 'SOLD_OUT' });

          run.child.kill('SIGTERM');
          expect(await within(run.exited, 10_000, 'exit after SIGTERM'), run.output()).toEqual({ code: 0, signal: null });
        } finally {
          run.child.kill('SIGKILL');
        }
      });
    },
  );
});
