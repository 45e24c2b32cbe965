import { setTimeout as sleep } from 'node:timers/promises';

import { ENTRY_POINTS, freePort, type Running, start, stderrOf, until, within, withProcessEnvironment } from '@booking/test-support';
import { describe, expect, it } from 'vitest';

describe.concurrent('an entry point with an invalid configuration', () => {
  it.each([
    ['server', { PORT: 'abc', DATABASE_URL: 'nope' }],
    ['api', { PORT: 'abc', DATABASE_URL: 'nope' }],
    ['worker', { REDIS_URL: 'nope', DATABASE_URL: 'nope' }],
  ] as const)('%s exits 1 naming each bad variable', async (role, env) => {
    const run = start(ENTRY_POINTS[role], env);
    const { code } = await within(run.exited, 15_000, 'exit');
    expect(code, run.output()).toBe(1);
    for (const name of Object.keys(env)) expect(stderrOf(run), run.output()).toContain(name);
  });
});

describe.concurrent('an entry point with a valid configuration', () => {
  const withEnvironment = (fn: (env: Record<string, string>) => Promise<void>) =>
    withProcessEnvironment({ ADMIN_API_KEY: 'process-test-admin-key' }, fn);

  async function expectCleanSigterm(run: Running): Promise<void> {
    run.child.kill('SIGTERM');
    const result = await within(run.exited, 5_000, 'exit after SIGTERM').catch((err: Error) => {
      run.child.kill('SIGKILL');
      throw new Error(`${err.message}\n${run.output()}`);
    });
    expect(result, run.output()).toEqual({ code: 0, signal: null });
  }

  it('server serves /healthz and exits 0 on SIGTERM', async () => {
    await withEnvironment(async (env) => {
      const port = await freePort();
      const run = start(ENTRY_POINTS.server, { ...env, PORT: String(port) });
      try {
        await until(run, async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200, 20_000, 'healthy');
        await expectCleanSigterm(run);
      } finally {
        run.child.kill('SIGKILL');
      }
    });
  });

  it('api serves /healthz, answers a waiting long-poll and exits 0 on SIGTERM', async () => {
    await withEnvironment(async (env) => {
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      // API only: no worker decides, so the request stays pending and the long-poll keeps waiting.
      const run = start(ENTRY_POINTS.api, { ...env, PORT: String(port) });
      try {
        await until(run, async () => (await fetch(`${base}/healthz`)).status === 200, 20_000, 'healthy');
        const event = await fetch(`${base}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${env.ADMIN_API_KEY}` },
          body: JSON.stringify({ name: 'Shutdown', capacity: 1 }),
        }).then((r) => r.json() as Promise<{ id: string }>);
        const accepted = await fetch(`${base}/v1/events/${event.id}/bookings`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ userId: 'waiting', quantity: 1 }),
        });
        expect(accepted.status).toBe(202);
        const { requestId } = (await accepted.json()) as { requestId: string };
        const poll = fetch(`${base}/v1/booking-requests/${requestId}?wait=30`).then(
          async (r) => ({ status: r.status, body: await r.json() }),
          (err: Error) => ({ status: 0, body: err.message }),
        );
        await sleep(300);
        await expectCleanSigterm(run);
        const answer = await within(poll, 1_000, 'long-poll answered');
        expect(answer).toMatchObject({ status: 200, body: { requestId, status: 'pending' } });
      } finally {
        run.child.kill('SIGKILL');
      }
    });
  });

  it('worker starts and exits 0 on SIGTERM', async () => {
    await withEnvironment(async (env) => {
      const run = start(ENTRY_POINTS.worker, env);
      try {
        await until(run, () => run.output().includes('worker started'), 20_000, 'started');
        await expectCleanSigterm(run);
      } finally {
        run.child.kill('SIGKILL');
      }
    });
  });
});
