import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

import { TEST_PG_SERVER_URL, TEST_REDIS_URL } from '@booking/test-support';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('the admission benchmark in smoke mode (100 users for 5 seats)', () => {
  let code: number | null;
  let stdout = '';
  let stderr = '';
  beforeAll(async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'loadtests/bench/admission.bench.ts', '--smoke'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        DATABASE_URL: `${TEST_PG_SERVER_URL}/booking`,
        REDIS_URL: TEST_REDIS_URL,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
    [code] = (await once(child, 'exit')) as [number | null];
    clearTimeout(timer);
  }, 160_000);

  const output = () => `--- stdout\n${stdout}\n--- stderr\n${stderr}`;

  it('exits 0', () => {
    expect(code, output()).toBe(0);
  });

  it('prints the markdown table for the gate on and off', () => {
    expect(stdout, output()).toContain('| metric | gate on | gate off | ratio (on ÷ off) |');
    expect(stdout, output()).toMatch(/^\| Postgres transactions per request \| \d+\.\d+ \| \d+\.\d+ \|/m);
  });

  it('reports 0 oversold seats with the gate on and off', () => {
    expect(stdout, output()).toMatch(/^\| oversold seats \| 0 \| 0 \|/m);
  });
});
