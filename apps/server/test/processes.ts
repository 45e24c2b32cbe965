import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

// Helpers for tests that run the real entry points as child processes.

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export const ENTRY_POINTS = {
  server: 'apps/server/src/main.ts',
  api: 'apps/api/src/main.ts',
  worker: 'apps/worker/src/main.ts',
} as const;

export interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts an entry point the way `npm start` does (tsx), with exactly `env` (plus PATH/HOME). */
export function start(entry: string, env: Record<string, string>): Running {
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

export function stderrOf(run: Running): string {
  return run.output().split('--- stderr\n')[1] ?? '';
}

export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
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

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** Resolves once `check` passes; fails early when the process exits first. */
export async function until(run: Running, check: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
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

/** One API and `workers` worker processes of one deployment, started as `npm run start:*` would. */
export interface Deployment {
  baseUrl: string;
  api: Running;
  workers: Running[];
  /** Kills every process (resuming paused ones first) and waits for them to exit. */
  kill(): Promise<void>;
}

export const DEPLOYMENT_ADMIN_KEY = 'deployment-admin-key-0123456789';

export async function startDeployment(options: {
  databaseUrl: string;
  redisUrl: string;
  prefix: string;
  workers: number;
}): Promise<Deployment> {
  const env = {
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl,
    QUEUE_PREFIX: options.prefix,
    LOG_LEVEL: 'warn',
    ADMIN_API_KEY: DEPLOYMENT_ADMIN_KEY,
    RATE_LIMIT_POINTS: '1000',
  };
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const api = start(ENTRY_POINTS.api, { ...env, PORT: String(port) });
  // Workers log at info so that their start can be seen.
  const workers = Array.from({ length: options.workers }, () =>
    start(ENTRY_POINTS.worker, { ...env, METRICS_PORT: '0', LOG_LEVEL: 'info' }),
  );
  const all = [api, ...workers];
  const kill = async () => {
    for (const p of all) {
      p.child.kill('SIGCONT');
      p.child.kill('SIGKILL');
    }
    await Promise.all(all.map((p) => p.exited));
  };
  try {
    await until(api, async () => (await fetch(`${baseUrl}/healthz`)).ok, 30_000, 'API up');
    for (const w of workers) await until(w, () => w.output().includes('worker started'), 30_000, 'worker up');
  } catch (err) {
    await kill();
    throw err;
  }
  return { baseUrl, api, workers, kill };
}
