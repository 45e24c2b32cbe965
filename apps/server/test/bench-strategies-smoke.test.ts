import { beforeAll, describe, expect, it } from 'vitest';

import { runBenchSmoke } from './bench-run.ts';

/** The cells of the table rows printed for `strategy` (first cell: the scenario). */
function rowsOf(stdout: string, strategy: string): string[][] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('| ') && line.includes(strategy))
    .map((line) => line.split('|').slice(1, -1).map((c) => c.trim()));
}

describe('the strategy benchmark in smoke mode (every strategy and scenario, tiny numbers)', () => {
  let code: number | null;
  let stdout = '';
  let output = () => '';
  beforeAll(async () => {
    const run = await runBenchSmoke('loadtests/bench/strategies.bench.ts', 170_000);
    ({ code, stdout } = run);
    output = () => run.output;
  }, 180_000);

  it('exits 0', () => {
    expect(code, output()).toBe(0);
  });

  it('prints one table row per scenario and strategy', () => {
    expect(stdout, output()).toContain('| scenario | strategy | requests | success rate | seats sold |');
    for (const strategy of ['this pipeline', 'conditional UPDATE', 'optimistic locking', 'SELECT ... FOR UPDATE']) {
      expect(rowsOf(stdout, strategy).map((cells) => cells[0]!.split(' ')[0]), `${strategy}\n${output()}`).toEqual([
        'predecessor',
        'flash-sale',
        'sustained',
      ]);
    }
  });

  it('reports 0 oversold seats, no errors and a 100 % success rate for the pipeline', () => {
    for (const cells of rowsOf(stdout, 'this pipeline')) {
      const [, , , success, , falseSoldOut, errors, oversold] = cells;
      expect({ success, falseSoldOut, errors, oversold }, output()).toEqual({
        success: '100.0 %',
        falseSoldOut: '0',
        errors: '0',
        oversold: '0',
      });
    }
  });

  it('writes no results in smoke mode', () => {
    expect(stdout, output()).not.toContain('written to');
    expect(stdout, output()).not.toContain('README.md updated');
  });
});
