import { beforeAll, describe, expect, it } from 'vitest';

import { runBenchSmoke } from './bench-run.ts';

describe('the throughput benchmark in smoke mode (API and worker as processes, tiny numbers)', () => {
  let code: number | null;
  let stdout = '';
  let output = () => '';
  beforeAll(async () => {
    const run = await runBenchSmoke('loadtests/bench/throughput.bench.ts', 170_000);
    ({ code, stdout } = run);
    output = () => run.output;
  }, 180_000);

  it('exits 0 (every queued request decided, every submission accepted)', () => {
    expect(code, output()).toBe(0);
  });

  it('measures pgbench and the drain of a filled queue, with the ratio', () => {
    expect(stdout, output()).toMatch(/^\| pgbench, 1 client, .* \| [\d,]+ tps \|/m);
    expect(stdout, output()).toMatch(/^\| \*\*decisions\/s, one worker, from the first decision to the last\*\* \| \*\*[\d,]+\*\* \(2,000 decided/m);
    expect(stdout, output()).toMatch(/^\| \*\*ratio to pgbench\*\* \| \*\*\d+\.\d\d×\*\*/m);
  });

  it('measures end-to-end decisions/s over HTTP without errors', () => {
    expect(stdout, output()).toMatch(/^\| \*\*decisions\/s\*\* over the 1\.5 s window .* \| \*\*[\d,]+\*\* \([\d,]+ decisions\)/m);
    expect(stdout, output()).toMatch(/^\| errors in the window \| 0 \|/m);
  });

  it('holds every long-poll at once and reads the API process resident memory', () => {
    expect(stdout, output()).toMatch(/^\| long-polls .* held at the reading \| 300 /m);
    expect(stdout, output()).toMatch(/^\| \*\*API VmRSS while holding them\*\* \| \*\*\d+ MiB/m);
  });

  it('prints CPU per process and writes no results in smoke mode', () => {
    expect(stdout, output()).toMatch(/^\| worker \| \d+ % \|/m);
    expect(stdout, output()).not.toContain('written to');
  });
});
