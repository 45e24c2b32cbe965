// The strategy bench's capacity sweep: one hot event with ample seats, open-loop arrivals at each
// offered rate in turn, every strategy; the rate each one keeps up with, and the pipeline's ratio to
// the best synchronous strategy.
import type { LoadResult } from '../lib/loadgen.ts';
import { int, ms, percentile } from '../lib/stats.ts';
import { barChartSvg } from '../lib/svg.ts';
import { isPipeline, isSynchronous, KEPT_UP, STRATEGIES, type Strategy, type Sweep, SWEEP_TARGET_RATIO } from './options.ts';
import { labelOf } from './report.ts';
import { clientFlow, type Environment, forgetEvents, seatsOf, startTarget } from './run.ts';

export interface SweepPoint {
  strategy: Strategy;
  /** Offered arrivals/s. */
  rate: number;
  windowMs: number;
  connections: number;
  load: LoadResult;
  /** Definite answers received between the lead-in and the end of the arrivals, per second. */
  achieved: number;
  leadInMs: number;
  /** Decision p99 over every request, a request without a decision counting as never decided (Infinity). */
  p99: number;
  p50: number | undefined;
  /** Answers that are not decisions (errors, timeouts, undecided). */
  errors: number;
  keptUp: boolean;
  problems: string[];
}

const sum = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);

/**
 * The first part of the window is left out of the achieved rate: departures lag arrivals by the
 * decision latency, so they reach the arrival rate only after it (1 s, or a fifth of a short window).
 */
export const leadInOf = (windowMs: number) => Math.min(1_000, windowMs / 5);

export function pointOf(
  strategy: Strategy,
  rate: number,
  windowMs: number,
  connections: number,
  load: LoadResult,
  problems: string[],
): SweepPoint {
  const leadInMs = leadInOf(windowMs);
  const answered = (load.answeredAtMs ?? []).filter((t) => t >= leadInMs && t <= windowMs).length;
  const achieved = answered / ((windowMs - leadInMs) / 1000);
  const undecidedOrFailed = Math.max(0, load.requests - load.decisionMs.length);
  const all = [...load.decisionMs, ...Array.from({ length: undecidedOrFailed }, () => Infinity)];
  const p99 = percentile(all, 99) ?? Infinity;
  const errors = sum(load.errors) + load.undecided;
  const keptUp = achieved >= KEPT_UP.achievedShare * rate && p99 <= KEPT_UP.p99Ms && problems.length === 0;
  return {
    strategy,
    rate,
    windowMs,
    connections,
    load,
    achieved,
    leadInMs,
    p99,
    p50: percentile(load.decisionMs, 50),
    errors,
    keptUp,
    problems,
  };
}

/** Runs the sweep for one strategy: one server for all rates (ascending), a fresh event for each. */
export async function sweepStrategy(
  e: Environment,
  sweep: Sweep,
  strategy: Strategy,
  onPoint: (p: SweepPoint) => void,
): Promise<SweepPoint[]> {
  const target = await startTarget(e, strategy);
  const eventIds: string[] = [];
  const points: SweepPoint[] = [];
  try {
    const warmupEventId = await target.createEvent('bench sweep warm-up', 1_000_000);
    eventIds.push(warmupEventId);
    for (const rate of sweep.rates) {
      const eventId = await target.createEvent(`bench sweep ${rate}/s`, sweep.seats);
      eventIds.push(eventId);
      const connections = sweep.connections(rate);
      const load = await e.loadgen.run({
        kind: 'rate',
        baseUrl: target.baseUrl,
        eventId,
        userPrefix: `${strategy}-sweep-${rate}-`,
        longPollSeconds: 30,
        ...clientFlow(e, strategy),
        warmupEventId,
        // A warm-up round as large as the connections allow (up to 1,000), which also warms each
        // connection: the first strategy otherwise meets a cold process at its first rate.
        warmupUsers: e.smoke ? 100 : 1_000,
        rate,
        durationMs: sweep.windowMs,
        connections,
        timeoutMs: 60_000,
      });
      const { sold, available } = await seatsOf(e, strategy, eventId);
      const problems: string[] = [];
      if (available !== sweep.seats - sold) problems.push(`available ${available} but ${sold} of ${sweep.seats} seats sold`);
      if (sold !== load.confirmed) problems.push(`${sold} seats sold but ${load.confirmed} confirmations received`);
      const point = pointOf(strategy, rate, sweep.windowMs, connections, load, problems);
      points.push(point);
      onPoint(point);
    }
    return points;
  } finally {
    await target.stop().catch(() => {});
    if (isPipeline(strategy) && eventIds.length > 0) await forgetEvents(e, eventIds).catch(() => {});
  }
}

export interface SweepVerdict {
  /** Per strategy: the highest offered rate kept up with (0: none). */
  sustained: Map<Strategy, number>;
  /** Per synchronous strategy: the first offered rate whose p99 passed 1 s (undefined: none in the sweep). */
  breaks: Map<Strategy, number | undefined>;
  /** The synchronous strategy whose p99 stays within 1 s up to the highest rate. */
  bestSynchronous: Strategy | undefined;
  /** Per pipeline flow: sustained / the best synchronous strategy's break rate; undefined when it never broke. */
  ratios: Map<Strategy, number | undefined>;
  met: boolean;
  text: string;
}

export function verdictOf(points: SweepPoint[], sweep: Sweep, strategies: Strategy[]): SweepVerdict {
  const sustained = new Map<Strategy, number>();
  const breaks = new Map<Strategy, number | undefined>();
  for (const s of strategies) {
    const mine = points.filter((p) => p.strategy === s);
    sustained.set(s, Math.max(0, ...mine.filter((p) => p.keptUp).map((p) => p.rate)));
    if (isSynchronous(s)) breaks.set(s, mine.find((p) => p.p99 > KEPT_UP.p99Ms)?.rate);
  }
  const top = Math.max(...sweep.rates);
  // A strategy that never passed 1 s in the sweep ranks above any that did.
  const breakRank = (s: Strategy) => breaks.get(s) ?? Infinity;
  const sync = strategies.filter(isSynchronous);
  const bestSynchronous = [...sync].sort((a, b) => breakRank(b) - breakRank(a) || sustained.get(b)! - sustained.get(a)!)[0];
  const ratios = new Map<Strategy, number | undefined>();
  const lines: string[] = [];
  let met = true;
  const best = bestSynchronous === undefined ? undefined : breaks.get(bestSynchronous);
  if (bestSynchronous === undefined) {
    lines.push('No synchronous strategy in this run: the ratio is not measured.');
  } else if (best === undefined) {
    lines.push(
      `The best synchronous strategy, ${labelOf(bestSynchronous)}, kept its decision p99 within 1 s up to the top offered rate (${int(top)}/s): its breaking point lies beyond the sweep.`,
    );
  } else {
    lines.push(
      `The best synchronous strategy, ${labelOf(bestSynchronous)}, passed a decision p99 of 1 s at ${int(best)} arrivals/s (it kept up with ${sustained.get(bestSynchronous) ? `${int(sustained.get(bestSynchronous)!)}/s` : 'no offered rate'}).`,
    );
  }
  for (const s of strategies.filter(isPipeline)) {
    const mine = sustained.get(s)!;
    if (bestSynchronous === undefined) continue;
    if (best === undefined) {
      ratios.set(s, undefined);
      met = false;
      lines.push(
        `${labelOf(s)}: kept up with ${mine ? `${int(mine)}/s` : 'no offered rate'}; ratio to the best synchronous strategy's breaking point: ` +
          `${mine ? `below ${(mine / top).toFixed(2)}× (that point lies beyond the sweep)` : '0×'}, target >= ${SWEEP_TARGET_RATIO}×: **not met**.`,
      );
      continue;
    }
    const ratio = mine / best;
    ratios.set(s, ratio);
    const ok = ratio >= SWEEP_TARGET_RATIO;
    // Only the default client flow counts for the target; the Prefer row is reported beside it.
    if (s === 'pipeline' || !strategies.includes('pipeline')) met &&= ok;
    lines.push(
      `${labelOf(s)}: kept up with ${mine ? `${int(mine)}/s` : 'no offered rate'}, **${ratio.toFixed(2)}×** the rate at which the best synchronous strategy's p99 passed 1 s ` +
        `(target >= ${SWEEP_TARGET_RATIO}×: ${ok ? '**met**' : '**not met**'}${s === 'pipeline-prefer' && strategies.includes('pipeline') ? '; reported beside the default flow, not counted for the target' : ''}).`,
    );
  }
  lines.push(
    `Rates come from the sweep's grid (${sweep.rates.map((r) => int(r)).join(', ')} arrivals/s), so a ratio is one of the grid's ratios, not an interpolated figure.`,
  );
  return { sustained, breaks, bestSynchronous, ratios, met, text: lines.join('\n\n') };
}

const p99Cell = (p: SweepPoint) => (Number.isFinite(p.p99) ? ms(p.p99) : 'none (over 1 % without a decision)');

function errorCell(load: LoadResult): string {
  const parts = Object.entries(load.errors)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k}: ${int(n)}`);
  if (load.undecided > 0) parts.push(`undecided: ${int(load.undecided)}`);
  const total = sum(load.errors) + load.undecided;
  return total === 0 ? '0' : `${int(total)} (${parts.join(', ')})`;
}

/** The sweep's table: one row per offered rate and strategy, then one per strategy with its sustained rate. */
export function sweepTable(points: SweepPoint[], sweep: Sweep, strategies: Strategy[]): string {
  const head =
    '| offered (arrivals/s) | strategy | requests | achieved decisions/s | of offered | decision p50 / p99 (ms) | errors | kept up |';
  const rows = [...points]
    .sort((a, b) => a.rate - b.rate || strategies.indexOf(a.strategy) - strategies.indexOf(b.strategy))
    .map(
      (p) =>
        `| ${int(p.rate)} | ${labelOf(p.strategy)} | ${int(p.load.requests)} | ${int(p.achieved)} | ${((100 * p.achieved) / p.rate).toFixed(1)} % | ` +
        `${ms(p.p50)} / ${p99Cell(p)} | ${errorCell(p.load)} | ${p.keptUp ? 'yes' : 'no'}${p.problems.length ? ` (${p.problems.join('; ')})` : ''} |`,
    );
  const v = verdictOf(points, sweep, strategies);
  const summaryRows = strategies.map((s) => {
    const br = v.breaks.get(s);
    const breakCell = isSynchronous(s) ? (br === undefined ? `not within the sweep (> ${int(Math.max(...sweep.rates))})` : int(br)) : '—';
    const ratio = v.ratios.get(s);
    const ratioCell = isPipeline(s)
      ? v.bestSynchronous === undefined
        ? 'n/a'
        : ratio === undefined
          ? 'not measurable'
          : `${ratio.toFixed(2)}×`
      : '—';
    return `| ${labelOf(s)} | ${v.sustained.get(s) ? int(v.sustained.get(s)!) : 'none'} | ${breakCell} | ${ratioCell} |`;
  });
  return [
    head,
    `|${'---|'.repeat(8)}`,
    ...rows,
    '',
    `| strategy | highest offered rate kept up with (arrivals/s) | first offered rate with p99 > 1 s | sustained ÷ best synchronous strategy's p99-passes-1-s rate (target >= ${SWEEP_TARGET_RATIO}×) |`,
    '|---|---|---|---|',
    ...summaryRows,
    '',
    v.text,
  ].join('\n');
}

export function sweepChart(points: SweepPoint[], sweep: Sweep, strategies: Strategy[], subtitle: string): string {
  const at = (rate: number, s: Strategy) => points.find((p) => p.rate === rate && p.strategy === s);
  const values = (f: (p: SweepPoint) => number | undefined) =>
    sweep.rates.map((rate) =>
      strategies.map((s) => {
        const p = at(rate, s);
        return p ? f(p) : undefined;
      }),
    );
  return barChartSvg({
    title: 'Capacity sweep: one hot event, open-loop arrivals, same machine, same run',
    subtitle,
    groups: sweep.rates.map((r) => `offered ${int(r)}/s`),
    series: strategies.map((s) => ({ name: labelOf(s), color: STRATEGIES.find((x) => x.id === s)!.color })),
    panels: [
      {
        title: 'Achieved',
        unit: `decisions per second while arrivals run (after a ${leadInOf(sweep.windowMs) / 1000} s lead-in); kept up = >= 98 % of offered and p99 <= 1 s`,
        values: values((p) => p.achieved),
        format: (v) => int(v),
      },
      {
        title: 'Decision latency p99',
        unit: 'ms, log scale, from the scheduled arrival; n/a: over 1 % got no decision',
        values: values((p) => (Number.isFinite(p.p99) ? p.p99 : undefined)),
        log: true,
        threshold: { value: KEPT_UP.p99Ms, label: '1 s' },
        format: (v) => (v >= 100 ? v.toFixed(0) : v.toFixed(1)),
      },
    ],
  });
}
