import { beforeAll, describe, expect, it } from 'vitest';

import { runBenchSmoke } from './bench-run.ts';

describe('the admission benchmark in smoke mode (100 users for 5 seats)', () => {
  let code: number | null;
  let stdout = '';
  let output = () => '';
  beforeAll(async () => {
    const run = await runBenchSmoke('loadtests/bench/admission.bench.ts', 150_000);
    ({ code, stdout } = run);
    output = () => run.output;
  }, 160_000);

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
