import { beforeAll, describe, expect, it } from 'vitest';

import { runBenchSmoke } from './bench-run.ts';

const cellsOf = (line: string) =>
  line
    .split('|')
    .slice(1, -1)
    .map((c) => c.trim());

/** The cells of the scenario table's rows printed for `strategy` (first cell: the scenario). */
function rowsOf(stdout: string, strategy: string): string[][] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('| ') && /^\| (predecessor|flash-sale|sustained) /.test(line) && cellsOf(line)[1] === strategy)
    .map(cellsOf);
}

/** The cells of the capacity sweep's rows (first cell: the offered rate). */
function sweepRowsOf(stdout: string, strategy: string): string[][] {
  return stdout
    .split('\n')
    .filter((line) => /^\| [\d,]+ \| /.test(line) && cellsOf(line)[1] === strategy)
    .map(cellsOf);
}

const STRATEGY_LABELS = [
  'this pipeline (submit + long-poll)',
  'this pipeline (Prefer: wait)',
  'conditional UPDATE',
  'optimistic locking (3 retries)',
  'SELECT ... FOR UPDATE',
];

describe('the strategy benchmark in smoke mode (every strategy and scenario, the capacity sweep, tiny numbers)', () => {
  let code: number | null;
  let stdout = '';
  let output = () => '';
  beforeAll(async () => {
    const run = await runBenchSmoke('loadtests/bench/strategies.bench.ts', 260_000);
    ({ code, stdout } = run);
    output = () => run.output;
  }, 270_000);

  it('exits 0', () => {
    expect(code, output()).toBe(0);
  });

  it('prints one table row per scenario and strategy', () => {
    expect(stdout, output()).toContain('| scenario | strategy | requests | success rate | seats sold |');
    for (const strategy of STRATEGY_LABELS) {
      expect(
        rowsOf(stdout, strategy).map((cells) => cells[0]!.split(' ')[0]),
        `${strategy}\n${output()}`,
      ).toEqual(['predecessor', 'flash-sale', 'sustained']);
    }
  });

  it('reports 0 oversold seats, no errors and a 100 % success rate for the pipeline, in both client flows', () => {
    for (const cells of [...rowsOf(stdout, STRATEGY_LABELS[0]!), ...rowsOf(stdout, STRATEGY_LABELS[1]!)]) {
      const [, , , success, , falseSoldOut, errors, oversold] = cells;
      expect({ success, falseSoldOut, errors, oversold }, output()).toEqual({
        success: '100.0 %',
        falseSoldOut: '0',
        errors: '0',
        oversold: '0',
      });
    }
  });

  it('says which client flows the pipeline used', () => {
    expect(stdout, output()).toContain('pipeline clients: submit + long-poll (?wait=30), and one request with Prefer: wait=30');
  });

  it('runs the capacity sweep: every offered rate for every strategy, with its sustained rate and the ratio', () => {
    expect(stdout, output()).toContain(
      '| offered (arrivals/s) | strategy | requests | achieved decisions/s | of offered | decision p50 / p99 (ms) | errors | kept up |',
    );
    for (const strategy of STRATEGY_LABELS) {
      const rows = sweepRowsOf(stdout, strategy);
      expect(
        rows.map((cells) => cells[0]),
        `${strategy}\n${output()}`,
      ).toEqual(['100', '200']);
      for (const cells of rows) expect(cells[7], output()).toMatch(/^(yes|no)\b/);
    }
    for (const strategy of STRATEGY_LABELS.slice(0, 2)) {
      // No errors from the pipeline at any rate (the exit code says so too).
      for (const cells of sweepRowsOf(stdout, strategy)) expect(cells[6], output()).toBe('0');
    }
    expect(stdout, output()).toMatch(/^\| strategy \| highest offered rate kept up with \(arrivals\/s\) \|/m);
    expect(stdout, output()).toMatch(/^capacity sweep target \(>= 2×\): (met|NOT met)$/m);
  });

  it('writes no results in smoke mode', () => {
    expect(stdout, output()).not.toContain('written to');
    expect(stdout, output()).not.toContain('README.md');
  });
});
