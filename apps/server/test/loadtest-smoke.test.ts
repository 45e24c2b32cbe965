// Runs the Artillery load-test runner (`npm run loadtest -- predecessor --smoke`, then `holds-sale`)
// against the real service started as a child process, the way a user would: each scenario must pass
// its invariant checks and the audit of the service's database. Artillery is not a
// dependency: the runner fetches it with npx, so the first run on a machine downloads it (about a
// minute); later runs take it from the npm cache.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { createTestDatabase, deleteKeys, freePort, TEST_REDIS_URL, type TestDatabase, uniquePrefix } from '@booking/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ADMIN_API_KEY = 'loadtest-smoke-admin-key';
const FIVE_MINUTES = 5 * 60_000;

interface Finished {
  code: number | null;
  output: string;
}

/** Runs a command to its end, collecting stdout and stderr together. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Finished> {
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('npm run loadtest -- <scenario> --smoke against the running service', () => {
  let database: TestDatabase;
  let prefix: string;
  let server: ChildProcess;
  let serverOutput = '';
  let baseUrl: string;

  beforeAll(async () => {
    database = await createTestDatabase(1);
    prefix = uniquePrefix();
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    server = spawn(process.execPath, ['--import', 'tsx', 'apps/server/src/main.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        NODE_ENV: 'test',
        PORT: String(port),
        DATABASE_URL: database.url,
        REDIS_URL: TEST_REDIS_URL,
        QUEUE_PREFIX: prefix,
        ADMIN_API_KEY,
        LOG_LEVEL: 'warn',
        SHUTDOWN_GRACE_MS: '2000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout!.on('data', (d: Buffer) => (serverOutput += d.toString()));
    server.stderr!.on('data', (d: Buffer) => (serverOutput += d.toString()));
    const deadline = Date.now() + 30_000;
    for (;;) {
      const ready = await fetch(`${baseUrl}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ready) break;
      if (server.exitCode !== null || Date.now() > deadline) throw new Error(`the service did not become ready\n${serverOutput}`);
      await sleep(200);
    }
  }, 60_000);

  /** `npm run loadtest -- <scenario> --smoke` against the service, auditing the service's database at its end. */
  async function loadtest(scenario: string): Promise<{ result: Finished; context: string }> {
    const result = await run(
      'npm',
      ['run', 'loadtest', '--', scenario, '--smoke'],
      { ...process.env, TARGET: baseUrl, ADMIN_API_KEY, SMOKE: '', DATABASE_URL: database.url },
      FIVE_MINUTES - 10_000,
    );
    return { result, context: `${result.output}\n--- service\n${serverOutput}` };
  }

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = once(server, 'exit');
      server.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000).then(() => server.kill('SIGKILL'))]);
    }
    await database?.drop();
    if (prefix) await deleteKeys(prefix);
  }, 60_000);

  it(
    'passes its invariant checks with nothing oversold and nothing pending',
    async () => {
      const started = Date.now();
      const { result, context } = await loadtest('predecessor');
      expect(result.code, context).toBe(0);
      // The runner ends with the operators' audit of the service's database.
      expect(result.output, context).toMatch(/^\s+\d+ events checked, 0 violation\(s\)$/m);
      expect(result.output, context).toMatch(/^oversold seats:\s+0$/m);
      expect(result.output, context).toMatch(/^pending left:\s+0$/m);
      expect(result.output, context).toMatch(/^result:\s+PASS/m);
      // Every one of the smoke run's 5 seats went, so the event reads as sold out.
      expect(result.output, context).toMatch(/^seats:\s+capacity 5, confirmed 5, available 0$/m);
      console.log(`loadtest smoke run took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    },
    FIVE_MINUTES,
  );

  it(
    'runs the holds sale (npm run loadtest -- holds-sale --smoke): nothing sold twice, nothing left held, the audit clean',
    async () => {
      const { result, context } = await loadtest('holds-sale');
      expect(result.code, context).toBe(0);
      expect(result.output, context).toMatch(/^result:\s+PASS/m);
      expect(result.output, context).toMatch(/^\s+\d+ events checked, 0 violation\(s\)$/m);
      // 200 users for 20 seats, everyone on the waiting list when sold out, sales ending after 25 s:
      // the list takes up the abandoned holds (a hold abandoned just before the end goes back on sale
      // instead). Every checkout answered confirmed is a seat confirmed in the database (which may
      // have one more whose answer a user missed), never more than the 20.
      const checkouts = /^checkouts:\s+(\d+) answered confirmed, .*; (\d+) seats confirmed in the database$/m.exec(result.output);
      expect(checkouts, context).not.toBeNull();
      const [answered, inDatabase] = [Number(checkouts![1]), Number(checkouts![2])];
      expect(answered, context).toBeGreaterThan(0);
      expect(inDatabase, context).toBeGreaterThanOrEqual(answered);
      expect(inDatabase, context).toBeLessThanOrEqual(20);
      expect(result.output, context).toMatch(/^time until every seat was confirmed or back on sale:\s+(at most )?[\d.]+ s from the start/m);
    },
    FIVE_MINUTES,
  );
});
