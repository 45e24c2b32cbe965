import { ENTRY_POINTS, firstLine, freePort, logLines, type Running, start, within, withProcessEnvironment } from '@booking/test-support';
import { describe, expect, it } from 'vitest';

// Each entry point is supervised from its first statement, before the service's modules load: a
// SIGTERM at any moment after that stops it cleanly (exit 0), whether it is still loading, still
// starting (the start is finished, then stopped) or serving. Before that first statement there is
// only Node's own start (a few hundred ms at most), during which no JavaScript can catch a signal.
//
// Here the signal goes out the moment the process writes its first line: for the API without an
// admin key that is the generated key, written just as its start begins; for the worker and the
// single-process server it is "worker started", written while the start is still going on (the
// metrics server, the API); for the API with a key it is "api listening", once it serves. (A signal
// while the modules still load is the lifecycle test's.)

const REPEATS = 3;

const withEnvironment = (fn: (env: Record<string, string>) => Promise<void>) => withProcessEnvironment({ METRICS_PORT: '0' }, fn);

async function sigtermOnFirstLine(run: Running): Promise<string> {
  const line = await within(firstLine(run), 60_000, 'a first line').catch((err: Error) => {
    run.child.kill('SIGKILL');
    throw new Error(`${err.message}\n${run.output()}`);
  });
  run.child.kill('SIGTERM');
  const result = await within(run.exited, 60_000, 'exit after SIGTERM').catch((err: Error) => {
    run.child.kill('SIGKILL');
    throw new Error(`${err.message}\n${run.output()}`);
  });
  expect(result, run.output()).toEqual({ code: 0, signal: null });
  expect(logLines(run), run.output()).toContainEqual(
    expect.objectContaining({ level: 'info', message: 'shutting down', signal: 'SIGTERM' }),
  );
  return line;
}

describe.concurrent('SIGTERM right after an entry point writes its first line', () => {
  it('api without an admin key (first line: the generated key, as it starts) finishes starting, then exits 0 once stopped', async () => {
    await withEnvironment(async (env) => {
      for (let i = 0; i < REPEATS; i++) {
        const run = start(ENTRY_POINTS.api, { ...env, PORT: String(await freePort()) });
        expect(await sigtermOnFirstLine(run)).toMatch(/^ADMIN_API_KEY not set/);
        expect(logLines(run).map((l) => l.message)).toEqual(['shutting down', 'api listening', 'api stopped']);
      }
    });
  }, 240_000);

  it('api with an admin key (first line: listening) exits 0 once stopped', async () => {
    await withEnvironment(async (env) => {
      for (let i = 0; i < REPEATS; i++) {
        const run = start(ENTRY_POINTS.api, { ...env, ADMIN_API_KEY: 'signals-admin-key', PORT: String(await freePort()) });
        expect(JSON.parse(await sigtermOnFirstLine(run))).toMatchObject({ message: 'api listening' });
        expect(logLines(run).map((l) => l.message)).toContain('api stopped');
      }
    });
  }, 240_000);

  it('worker (first line: worker started, still starting) exits 0 once stopped', async () => {
    await withEnvironment(async (env) => {
      for (let i = 0; i < REPEATS; i++) {
        const run = start(ENTRY_POINTS.worker, env);
        expect(JSON.parse(await sigtermOnFirstLine(run))).toMatchObject({ message: 'worker started' });
        expect(logLines(run).map((l) => l.message)).toContain('worker stopped');
      }
    });
  }, 240_000);

  it('server (first line: worker started, the API still starting) exits 0 once both are stopped', async () => {
    await withEnvironment(async (env) => {
      for (let i = 0; i < REPEATS; i++) {
        const run = start(ENTRY_POINTS.server, { ...env, ADMIN_API_KEY: 'signals-admin-key', PORT: String(await freePort()) });
        expect(JSON.parse(await sigtermOnFirstLine(run))).toMatchObject({ message: 'worker started' });
        const messages = logLines(run).map((l) => l.message);
        expect(messages).toContain('api stopped');
        expect(messages).toContain('worker stopped');
      }
    });
  }, 240_000);
});
