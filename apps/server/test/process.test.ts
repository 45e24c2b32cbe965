import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

import { TEST_REDIS_URL, createTestDatabase, deleteKeys, uniquePrefix } from '@booking/test-support';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const ENTRY_POINTS = {
  server: 'apps/server/src/main.ts',
  api: 'apps/api/src/main.ts',
  worker: 'apps/worker/src/main.ts',
} as const;

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts an entry point the way `npm start` does (tsx), with exactly `env` (plus PATH/HOME). */
function start(entry: string, env: Record<string, string>): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  return { child, output: () => `--- stdout\n${out}\n--- stderr\n${err}`, exited };
}

function stderrOf(run: Running): string {
  return run.output().split('--- stderr\n')[1] ?? '';
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** Resolves once `check` passes; fails early when the process exits first. */
async function until(run: Running, check: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  let exited = false;
  void run.exited.then(() => (exited = true));
  const deadline = Date.now() + ms;
  for (;;) {
    if (await Promise.resolve().then(check).catch(() => false)) return;
    if (exited) throw new Error(`exited before ${what}\n${run.output()}`);
    if (Date.now() > deadline) throw new Error(`not ${what} within ${ms} ms\n${run.output()}`);
    await sleep(100);
  }
}

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
  async function withEnvironment(fn: (env: Record<string, string>) => Promise<void>): Promise<void> {
    const database = await createTestDatabase(1);
    const prefix = uniquePrefix();
    try {
      await fn({
        NODE_ENV: 'test',
        DATABASE_URL: database.url,
        REDIS_URL: TEST_REDIS_URL,
        QUEUE_PREFIX: prefix,
        ADMIN_API_KEY: 'process-test-admin-key',
        LOG_LEVEL: 'info',
        SHUTDOWN_GRACE_MS: '2000',
      });
    } finally {
      await database.drop();
      await deleteKeys(prefix);
    }
  }

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
        await until(
          run,
          async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200,
          20_000,
          'healthy',
        );
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
