import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { createTestDatabase } from './database.ts';
import { TEST_REDIS_URL } from './env.ts';
import { deleteKeys, uniquePrefix } from './redis.ts';

// Helpers for tests and benchmarks that run the real entry points as child processes.

/**
 * Runs `fn` with the environment of an entry point on a database and a key prefix of its own (plus
 * `extra`), and removes both afterwards.
 */
export async function withProcessEnvironment(
  extra: Record<string, string>,
  fn: (env: Record<string, string>) => Promise<void>,
): Promise<void> {
  const database = await createTestDatabase(1);
  const prefix = uniquePrefix();
  try {
    await fn({
      NODE_ENV: 'test',
      DATABASE_URL: database.url,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'info',
      SHUTDOWN_GRACE_MS: '2000',
      ...extra,
    });
  } finally {
    await database.drop();
    await deleteKeys(prefix);
  }
}

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export const ENTRY_POINTS = {
  server: 'apps/server/src/main.ts',
  api: 'apps/api/src/main.ts',
  worker: 'apps/worker/src/main.ts',
} as const;

/** The same entry points compiled by `npm run build`, as `npm start` runs them (see `compiled`). */
export const COMPILED_ENTRY_POINTS = {
  server: 'apps/server/dist/main.js',
  api: 'apps/api/dist/main.js',
  worker: 'apps/worker/dist/main.js',
} as const;

/**
 * `npm run build` in the repository's root (turbo compiles only what changed: well under a second
 * when nothing did); throws with its output when it fails.
 */
export function buildWorkspaces(): void {
  const run = spawnSync('npm', ['run', '--silent', 'build', '--', '--output-logs=errors-only'], { cwd: ROOT, encoding: 'utf8' });
  if (run.status !== 0) {
    throw new Error(`npm run build failed (${run.status ?? run.signal}):\n${run.stdout}${run.stderr}${run.error?.message ?? ''}`);
  }
}

export interface Running {
  child: ChildProcess;
  pid: number;
  /** What it wrote so far: `--- stdout`, then `--- stderr` (each the last `keepBytes`, when given). */
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it exited. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  /** Node flags before the entry point (e.g. `--cpu-prof`). */
  nodeOptions?: string[];
  /** Keep only the last this many characters of each stream (long runs); all of it by default. */
  keepBytes?: number;
  /**
   * `entry` is compiled JavaScript (`COMPILED_ENTRY_POINTS`, after `buildWorkspaces()`): run it as
   * `npm start` does, with the workspace packages resolved to their compiled output, without tsx.
   */
  compiled?: boolean;
  /** Arguments after the entry point. */
  args?: string[];
}

/**
 * Starts an entry point, from its source the way `npm run dev` does (tsx) or compiled the way
 * `npm start` does (`compiled`), with exactly `env` (plus PATH/HOME), in the repository's root.
 */
export function start(entry: string, env: Record<string, string>, options: StartOptions = {}): Running {
  const loader = options.compiled === true ? ['--conditions=booking-compiled'] : ['--import', 'tsx'];
  const child = spawn(process.execPath, [...(options.nodeOptions ?? []), ...loader, entry, ...(options.args ?? [])], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = options.keepBytes;
  let out = '';
  let err = '';
  const bounded = (text: string) => (keep !== undefined && text.length > 2 * keep ? text.slice(-keep) : text);
  child.stdout.on('data', (d: Buffer) => (out = bounded(out + d.toString())));
  child.stderr.on('data', (d: Buffer) => (err = bounded(err + d.toString())));
  // A process that could not be spawned ('error' instead of 'exit') counts as exited, never rejects.
  const exited = once(child, 'exit').then(
    ([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }),
    () => ({ code: null, signal: null }),
  );
  return {
    child,
    pid: child.pid!,
    output: () => `--- stdout\n${out}\n--- stderr\n${err}`,
    exited,
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
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

/**
 * Resolves with the first line the process writes to standard output, as soon as it arrives (so a
 * signal sent then reaches the process right after it wrote the line). Call it right after `start`.
 */
export function firstLine(run: Running): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (d: Buffer) => {
      seen += d.toString();
      const end = seen.indexOf('\n');
      if (end < 0) return;
      run.child.stdout!.off('data', onData);
      resolve(seen.slice(0, end));
    };
    run.child.stdout!.on('data', onData);
    void run.exited.then(() => reject(new Error(`exited before writing a line\n${run.output()}`)));
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object';
}

/** The JSON log lines the process wrote to standard output so far (other lines are left out). */
export function logLines(run: Running): Array<Record<string, unknown>> {
  const stdout = run
    .output()
    .split('--- stderr\n')[0]!
    .replace(/^--- stdout\n/, '');
  return stdout.split('\n').flatMap((line) => {
    try {
      const parsed: unknown = JSON.parse(line);
      return isRecord(parsed) ? [parsed] : [];
    } catch {
      return [];
    }
  });
}

/** Resolves once `check` passes; fails early when the process exits first. */
export async function until(run: Running, check: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  let exited = false;
  void run.exited.then(() => (exited = true));
  const deadline = Date.now() + ms;
  for (;;) {
    if (
      await Promise.resolve()
        .then(check)
        .catch(() => false)
    )
      return;
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
  /** Starts another API process of the deployment (on a port of its own) and waits until it answers. */
  startApi(): Promise<{ api: Running; baseUrl: string }>;
  /** Starts another worker process of the deployment and waits until it has started. */
  startWorker(): Promise<Running>;
  /** Kills every process (resuming paused ones first) and waits for them to exit. */
  kill(): Promise<void>;
}

export const DEPLOYMENT_ADMIN_KEY = 'deployment-admin-key-0123456789';

export async function startDeployment(options: {
  databaseUrl: string;
  redisUrl: string;
  prefix: string;
  workers: number;
  /** More variables for every process (e.g. HOUSEKEEPING_INTERVAL_MS). */
  env?: Record<string, string>;
}): Promise<Deployment> {
  const env = {
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl,
    QUEUE_PREFIX: options.prefix,
    LOG_LEVEL: 'warn',
    ADMIN_API_KEY: DEPLOYMENT_ADMIN_KEY,
    RATE_LIMIT_POINTS: '1000',
    // Every client of these tests is 127.0.0.1: the per-address limit would count them all as one.
    RATE_LIMIT_IP_POINTS: '1000000',
    ...options.env,
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
  const startApi = async () => {
    const another = await freePort();
    const url = `http://127.0.0.1:${another}`;
    const run = start(ENTRY_POINTS.api, { ...env, PORT: String(another) });
    all.push(run);
    await until(run, async () => (await fetch(`${url}/healthz`)).ok, 30_000, 'API up');
    return { api: run, baseUrl: url };
  };
  const startWorker = async () => {
    const run = start(ENTRY_POINTS.worker, { ...env, METRICS_PORT: '0', LOG_LEVEL: 'info' });
    all.push(run);
    workers.push(run);
    await until(run, () => run.output().includes('worker started'), 30_000, 'worker up');
    return run;
  };
  return { baseUrl, api, workers, startApi, startWorker, kill };
}
