// The strategy bench's figures per run, its markdown table and notes, and its chart.
import { int, ms, pct, percentile } from '../lib/stats.ts';
import { barChartSvg } from '../lib/svg.ts';
import { isPipeline, type Scenario, STRATEGIES, type Strategy } from './options.ts';
import type { Result } from './run.ts';

const sum = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);
export const errorsOf = (r: Result) => sum(r.load.errors) + r.load.undecided;
const definiteOf = (r: Result) => r.load.confirmed + r.load.soldOut + sum(r.load.rejected);
export const successOf = (r: Result) => r.load.confirmed + r.load.soldOut - r.falseSoldOut + sum(r.load.rejected);
export const throughputOf = (r: Result) => (r.load.wallMs > 0 ? definiteOf(r) / (r.load.wallMs / 1000) : 0);
export const labelOf = (s: Strategy) => STRATEGIES.find((x) => x.id === s)!.label;

function errorCell(r: Result): string {
  const total = errorsOf(r);
  if (total === 0) return '0';
  const parts = Object.entries(r.load.errors)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k}: ${int(n)}`);
  if (r.load.undecided > 0) parts.push(`undecided: ${int(r.load.undecided)}`);
  return `${int(total)} (${parts.join(', ')})`;
}

/**
 * Notes on the pipeline's rows: requests decided per worker transaction (group commit), and decisions
 * that reached their client late although the service had made them early (a long-poll that missed
 * its decision and answered only when its wait ran out).
 */
export function pipelineNotes(results: Result[]): string {
  const pipeline = results.filter((r) => isPipeline(r.strategy));
  const notes: string[] = [];
  const flows = [...new Set(pipeline.map((r) => r.strategy))];
  const parts = pipeline
    .filter((r) => r.perTransaction !== undefined)
    .map(
      (r) =>
        `${r.scenario.id}${flows.length > 1 ? ` (${r.strategy === 'pipeline' ? 'long-poll' : 'Prefer'})` : ''} ${r.perTransaction!.toFixed(1)}`,
    );
  if (parts.length > 0) notes.push(`Pipeline, requests decided per worker transaction (group commit), mean: ${parts.join(', ')}.`);
  for (const r of pipeline.filter((x) => x.strategy === 'pipeline-prefer')) {
    const fell = r.load.preferFallbacks ?? 0;
    notes.push(
      fell === 0
        ? `Pipeline (Prefer: wait), ${r.scenario.id}: every submission got its decision in the one request (200, or 409 at the door).`
        : `Pipeline (Prefer: wait), ${r.scenario.id}: ${int(fell)} of ${int(r.load.requests)} submissions were not decided within the wait, answered 202 and were long-polled.`,
    );
  }
  for (const r of pipeline.filter((x) => x.strategy === 'pipeline')) {
    const late = (r.load.slow ?? []).filter((x) => x.decidedAfterMs !== undefined && x.ms - x.decidedAfterMs > 5_000);
    if (late.length > 0) {
      notes.push(
        `Pipeline, ${r.scenario.id}: ${late.length}${late.length === 20 ? '+' : ''} request(s) were decided ${ms(late[0]!.decidedAfterMs)} ms after acceptance ` +
          `but their long-poll answered only after ${ms(late[0]!.ms)} ms (${late[0]!.polls} poll): the decision did not wake the waiting long-poll.`,
      );
    }
  }
  return notes.join('\n\n');
}

export function table(results: Result[]): string {
  const head =
    '| scenario | strategy | requests | success rate | seats sold | false sold-out | errors | oversold | submission p50 / p99 (ms) | decision p50 / p99 / max (ms) | PG transactions / request | decisions/s |';
  const rows = results.map((r) => {
    const cells = [
      `${r.scenario.id} (${r.scenario.label})`,
      labelOf(r.strategy),
      int(r.load.requests),
      pct(successOf(r), r.load.requests),
      `${int(r.sold)} / ${int(r.capacity)}`,
      int(r.falseSoldOut),
      errorCell(r),
      int(Math.max(0, r.sold - r.capacity)),
      `${ms(percentile(r.load.submitMs, 50))} / ${ms(percentile(r.load.submitMs, 99))}`,
      `${ms(percentile(r.load.decisionMs, 50))} / ${ms(percentile(r.load.decisionMs, 99))} / ${ms(percentile(r.load.decisionMs, 100))}`,
      r.load.requests > 0 ? (r.transactions / r.load.requests).toFixed(2) : 'n/a',
      int(throughputOf(r)),
    ];
    return `| ${cells.join(' | ')} |`;
  });
  return [head, `|${'---|'.repeat(12)}`, ...rows].join('\n');
}

export function chart(results: Result[], scenarios: Scenario[], strategies: Strategy[], subtitle: string): string {
  const series = strategies.map((s) => ({ name: labelOf(s), color: STRATEGIES.find((x) => x.id === s)!.color }));
  const at = (sc: Scenario, st: Strategy) => results.find((r) => r.scenario.id === sc.id && r.strategy === st);
  const values = (f: (r: Result) => number | undefined) =>
    scenarios.map((sc) =>
      strategies.map((st) => {
        const r = at(sc, st);
        return r ? f(r) : undefined;
      }),
    );
  return barChartSvg({
    title: 'Booking strategies under contention: one event, same machine, same run',
    subtitle,
    groups: scenarios.map((s) => `${s.id}: ${s.label}`),
    series,
    panels: [
      {
        title: 'Success rate',
        unit: '% of requests with a definite answer (confirmed, or a justified SOLD_OUT), no error',
        values: values((r) => (r.load.requests > 0 ? (100 * successOf(r)) / r.load.requests : undefined)),
        max: 100,
        // One decimal at the ends (99.6 % must not read as 100 %), none in between.
        format: (v) => `${v.toFixed(v >= 10 && v < 99 ? 0 : 1)}%`,
      },
      {
        title: 'Decision latency p99',
        unit: 'ms, log scale (submission to decision received)',
        values: values((r) => percentile(r.load.decisionMs, 99)),
        log: true,
        format: (v) => (v >= 100 ? v.toFixed(0) : v.toFixed(1)),
      },
      {
        title: 'Throughput',
        unit: 'decisions per second (definite answers / wall time)',
        values: values(throughputOf),
        format: (v) => int(v),
      },
      {
        title: 'Postgres transactions per request',
        unit: '(xact_commit + xact_rollback) / requests',
        values: values((r) => (r.load.requests > 0 ? r.transactions / r.load.requests : undefined)),
        format: (v) => v.toFixed(2),
      },
    ],
  });
}
