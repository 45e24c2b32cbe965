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
