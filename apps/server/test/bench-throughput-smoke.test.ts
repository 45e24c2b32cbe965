import { beforeAll, describe, expect, it } from 'vitest';

import { runBenchSmoke } from './bench-run.ts';

describe('the throughput benchmark in smoke mode (bare-door baseline, the service split and single-process, tiny numbers)', () => {
  let code: number | null;
  let stdout = '';
  let output = () => '';
  beforeAll(async () => {
    const run = await runBenchSmoke('loadtests/bench/throughput.bench.ts', 260_000);
    ({ code, stdout } = run);
    output = () => run.output;
  }, 270_000);

  it('exits 0 (every queued request decided, every submission accepted, every burst user answered)', () => {
    expect(code, output()).toBe(0);
    expect(stdout, output()).not.toContain('FAILED:');
  });

  it('says in which modes the service ran', () => {
    expect(stdout, output()).toContain('service parts in API + worker processes and in single process (`npm start`)');
  });

  it('measures the bare-door baseline: its req/s and its answer to the burst', () => {
    expect(stdout, output()).toMatch(/^\| \*\*409s\/s\*\* over the 1\.5 s window .* \| \*\*[\d,]+\*\* \([\d,]+ answers\) \|$/m);
    expect(stdout, output()).toMatch(/^\| \*\*100 users at once\*\* .* time until the last answer \| \*\*[\d.]+ ms\*\*/m);
  });

  it("reports the door, long-poll and Prefer figures as ratios to the bare door's req/s, for both modes", () => {
    const ratios = stdout.split('\n').filter((line) => line.startsWith("| **ratio to the bare door's req/s** |"));
    // (i), (ii), (iii): one column per mode.
    expect(ratios, output()).toHaveLength(3);
    for (const line of ratios) expect(line, output()).toMatch(/^\| [^|]+ \| \*\*\d+\.\d\d×\*\* \| \*\*\d+\.\d\d×\*\* \| >= 0\.\d×: /);
    expect(stdout, output()).toMatch(/^\| answers other than 409 SOLD_OUT \| 0 \| 0 \| 0 \|$/m);
    expect(stdout, output()).toMatch(/^\| submissions not decided within the wait \(202, then long-polled\) \| \d+ \| \d+ \|/m);
  });

  it('times the burst for every mode and flow against the bare door, every user answered, nothing oversold', () => {
    expect(stdout, output()).toMatch(/^\| \*\*ratio to the bare door's time\*\* \| 1\.00× (\| \*\*\d+\.\d\d×\*\* ){4}\| <= 1\.5×: /m);
    expect(stdout, output()).toMatch(/^\| users without a final answer \| 0 \| 0 \| 0 \| 0 \| 0 \| 0 \|$/m);
    expect(stdout, output()).toMatch(/^\| seats sold \(database\) \/ left \| — (\| 5 \/ 0 ){4}\|/m);
  });

  it('measures pgbench and the drain of a filled queue, with the ratio', () => {
    expect(stdout, output()).toMatch(/^\| pgbench, 1 client, .* \| [\d,]+ tps \|/m);
    expect(stdout, output()).toMatch(
      /^\| \*\*decisions\/s, one worker, from the first decision to the last\*\* \| \*\*[\d,]+\*\* \(2,000 decided/m,
    );
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
    expect(stdout, output()).toMatch(/^\| server \| \d+ % \|/m);
    expect(stdout, output()).not.toContain('written to');
    expect(stdout, output()).not.toContain('README.md');
  });
});
