import { beforeAll, describe, expect, it } from 'vitest';

import { runBenchSmoke } from './bench-run.ts';

/** The value cell of the holds table's row whose label starts with `label`. */
function cell(stdout: string, label: string): string | undefined {
  const line = stdout.split('\n').find((l) => l.startsWith(`| ${label}`));
  return line?.split('|').slice(1, -1)[1]?.trim();
}

describe('the holds sale benchmark in smoke mode (100 users for 10 seats, 5 s holds, waiting list)', () => {
  let code: number | null;
  let stdout = '';
  let output = () => '';
  beforeAll(async () => {
    const run = await runBenchSmoke('loadtests/bench/holds.bench.ts', 110_000);
    ({ code, stdout } = run);
    output = () => run.output;
  }, 120_000);

  it('exits 0: settled, nothing sold twice, the audit clean, no user errors', () => {
    expect(code, output()).toBe(0);
    expect(stdout, output()).not.toContain('problem:');
  });

  it('sells every seat once: as many checkouts confirmed as seats, one booking each', () => {
    expect(cell(stdout, 'users / seats / hold'), output()).toBe('100 / 10 / 5 s');
    expect(cell(stdout, 'confirmed at the end'), output()).toMatch(/^10 \/ 0 \/ \d+$/);
    expect(cell(stdout, 'checkouts confirmed'), output()).toMatch(/^10 \/ \d+$/);
    expect(cell(stdout, 'sold twice'), output()).toMatch(/^none/);
    expect(cell(stdout, '`npm run verify` audit'), output()).toBe('clean');
    expect(cell(stdout, 'user errors'), output()).toBe('0');
    expect(cell(stdout, '503 answers'), output()).toMatch(/^[\d,]+$/);
  });

  it('reports the time until every seat was confirmed or back on sale', () => {
    expect(cell(stdout, '**time until every seat was confirmed or back on sale**'), output()).toMatch(/^\*\*[\d.]+ s\*\*$/);
  });

  it('writes no results in smoke mode', () => {
    expect(stdout, output()).not.toContain('README.md');
  });
});
