import { spawn } from 'node:child_process';
import { once } from 'node:events';

import { ROOT, TEST_PG_SERVER_URL, TEST_REDIS_URL } from '@booking/test-support';

export interface BenchRun {
  code: number | null;
  stdout: string;
  /** Both streams, for assertion messages. */
  output: string;
}

/** Runs a benchmark script in smoke mode against the test servers, killing it after `timeoutMs`. */
export async function runBenchSmoke(script: string, timeoutMs: number): Promise<BenchRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, '--smoke'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      DATABASE_URL: `${TEST_PG_SERVER_URL}/booking`,
      REDIS_URL: TEST_REDIS_URL,
      // The service's roles from their sources, without building (start.compiled.test.ts runs the build).
      BENCH_FROM_SOURCE: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, output: `--- stdout\n${stdout}\n--- stderr\n${stderr}` };
}
