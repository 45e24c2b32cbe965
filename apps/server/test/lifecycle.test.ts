import { firstLine, logLines, type Running, start, within } from '@booking/test-support';
import { describe, expect, it } from 'vitest';

// superviseProcess (packages/lifecycle), run in a small script of its own as the entry points run it:
// from its first line on, a SIGTERM at any moment ends the process cleanly with exit code 0, and a
// crash ends it with exit code 1, logged, instead of leaving it half alive.

const FIXTURE = 'apps/server/test/fixtures/supervised.ts';
const REPEATS = 3;

function startFixture(env: Record<string, string> = {}): { run: Running; first: Promise<string> } {
  const run = start(FIXTURE, env);
  return { run, first: firstLine(run) };
}

async function exitOf(run: Running, ms = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return within(run.exited, ms, 'exit').catch((err: Error) => {
    run.child.kill('SIGKILL');
    throw new Error(`${err.message}\n${run.output()}`);
  });
}

/** Resolves once the process has logged `message` (at once when it has already). */
async function logged(run: Running, message: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!logLines(run).some((l) => l.message === message)) {
    if (Date.now() > deadline) throw new Error(`not logged "${message}" within ${ms} ms\n${run.output()}`);
    if (run.child.exitCode !== null || run.child.signalCode !== null) {
      throw new Error(`exited before logging "${message}"\n${run.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const messages = (run: Running) => logLines(run).map((l) => l.message);

describe.concurrent('a supervised process and SIGTERM', () => {
  it('stops without starting anything, exit 0, when SIGTERM comes while its modules still load', async () => {
    for (let i = 0; i < REPEATS; i++) {
      const { run, first } = startFixture({ FIXTURE_LOAD_SERVICE: 'true' });
      expect(await first).toBe('supervised');
      run.child.kill('SIGTERM');
      expect(await exitOf(run), run.output()).toEqual({ code: 0, signal: null });
      expect(messages(run), run.output()).toEqual(['shutting down']);
      expect(logLines(run)[0]).toMatchObject({ level: 'info', signal: 'SIGTERM' });
    }
  });

  it('waits for a start in progress to finish, then stops it, exit 0', async () => {
    for (let i = 0; i < REPEATS; i++) {
      const { run } = startFixture({ START_MS: '1500' });
      await logged(run, 'starting');
      run.child.kill('SIGTERM');
      expect(await exitOf(run), run.output()).toEqual({ code: 0, signal: null });
      expect(messages(run), run.output()).toEqual(['starting', 'shutting down', 'started', 'stopped']);
    }
  });

  it('stops a started process, exit 0, and ignores a second signal while stopping', async () => {
    for (let i = 0; i < REPEATS; i++) {
      const { run } = startFixture();
      await logged(run, 'started');
      run.child.kill('SIGTERM');
      await logged(run, 'shutting down');
      run.child.kill('SIGINT');
      expect(await exitOf(run), run.output()).toEqual({ code: 0, signal: null });
      expect(messages(run), run.output()).toEqual(['starting', 'started', 'shutting down', 'stopped']);
    }
  });

  it('stops on SIGINT as on SIGTERM', async () => {
    const { run } = startFixture();
    await logged(run, 'started');
    run.child.kill('SIGINT');
    expect(await exitOf(run), run.output()).toEqual({ code: 0, signal: null });
    expect(logLines(run)).toContainEqual(expect.objectContaining({ message: 'shutting down', signal: 'SIGINT' }));
  });
});

describe.concurrent('a supervised process that crashes', () => {
  it('logs an unhandled rejection with its stack and exits 1', async () => {
    const { run } = startFixture({ FIXTURE_MODE: 'rejection' });
    expect(await exitOf(run), run.output()).toEqual({ code: 1, signal: null });
    const crash = logLines(run).find((l) => l.message === 'unhandled rejection');
    expect(crash, run.output()).toMatchObject({ level: 'error', service: 'fixture' });
    expect(crash!.error).toMatch(/^Error: nobody handles this rejection\n\s+at /);
    expect(messages(run)).not.toContain('stopped');
  });

  it('logs an uncaught exception with its stack and exits 1', async () => {
    const { run } = startFixture({ FIXTURE_MODE: 'exception' });
    expect(await exitOf(run), run.output()).toEqual({ code: 1, signal: null });
    const crash = logLines(run).find((l) => l.message === 'uncaught exception');
    expect(crash, run.output()).toMatchObject({ level: 'error', service: 'fixture' });
    expect(crash!.error).toMatch(/^Error: thrown from a timer\n\s+at /);
  });

  it('logs a rejection before its logger exists as a JSON line of the same shape, and exits 1', async () => {
    const { run } = startFixture({ FIXTURE_MODE: 'rejection-while-loading' });
    expect(await exitOf(run), run.output()).toEqual({ code: 1, signal: null });
    const crash = logLines(run).find((l) => l.message === 'unhandled rejection');
    expect(crash, run.output()).toMatchObject({ level: 'error', time: expect.any(String) });
    expect(crash!.error).toMatch(/^Error: rejected while loading\n\s+at /);
  });

  it('logs a failed start with its stack and exits 1', async () => {
    const { run } = startFixture({ FIXTURE_MODE: 'start-fails' });
    expect(await exitOf(run), run.output()).toEqual({ code: 1, signal: null });
    const failed = logLines(run).find((l) => l.message === 'start failed');
    expect(failed, run.output()).toMatchObject({ level: 'error' });
    expect(failed!.error).toMatch(/^Error: could not start\n\s+at /);
  });
});
