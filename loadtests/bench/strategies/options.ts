// The strategy bench's command line, its strategies and scenarios (see ../strategies.bench.ts).
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { int } from '../lib/stats.ts';
import { OPTIMISTIC_RETRIES, type StrategyName } from './booking.ts';

/**
 * `pipeline`: the service, each user submitting and then long-polling its request (the default client
 * flow); `pipeline-prefer`: the same service, each user sending one request with `Prefer: wait=N`.
 */
export type Strategy = 'pipeline' | 'pipeline-prefer' | StrategyName;

export const STRATEGIES: Array<{ id: Strategy; label: string; color: string }> = [
  { id: 'pipeline', label: 'this pipeline (submit + long-poll)', color: '#2f9e44' },
  { id: 'pipeline-prefer', label: 'this pipeline (Prefer: wait)', color: '#8ce99a' },
  { id: 'conditional-update', label: 'conditional UPDATE', color: '#1c7ed6' },
  { id: 'optimistic', label: `optimistic locking (${OPTIMISTIC_RETRIES} retries)`, color: '#e8590c' },
  { id: 'pessimistic', label: 'SELECT ... FOR UPDATE', color: '#7048e8' },
];

export interface Scenario {
  id: string;
  label: string;
  seats: number;
  load: { kind: 'burst'; users: number } | { kind: 'rate'; rate: number; durationMs: number; connections: number };
}

export const isPipeline = (s: Strategy): s is 'pipeline' | 'pipeline-prefer' => s === 'pipeline' || s === 'pipeline-prefer';
export const isSynchronous = (s: Strategy) => !isPipeline(s);

/**
 * The capacity sweep: one hot event with ample seats, an open-loop arrival rate held for `windowMs`
 * at each offered rate in turn (ascending), every strategy.
 */
export interface Sweep {
  rates: number[];
  windowMs: number;
  seats: number;
  /** Keep-alive connections of the load generator at `rate`. */
  connections: (rate: number) => number;
  /** Connections as the options gave them, for the method text. */
  connectionsText: string;
}

/** What "kept up" means in the sweep. */
export const KEPT_UP = { achievedShare: 0.98, p99Ms: 1_000 };
/** The sweep's target: the pipeline's sustained rate over the rate at which the best synchronous strategy's p99 passes 1 s. */
export const SWEEP_TARGET_RATIO = 2;

export interface Options {
  smoke: boolean;
  strict: boolean;
  outDir: string | undefined;
  readme: boolean;
  /** The run is not the default full one (some scenarios, strategies or sizes only). */
  partial: boolean;
  scenarios: Scenario[];
  strategies: Strategy[];
  sweep: Sweep | undefined;
  /** `Prefer: wait=N` of the pipeline-prefer clients (s). */
  preferWaitSeconds: number;
}

export function options(): Options {
  const { values } = parseArgs({
    options: {
      smoke: { type: 'boolean', default: false },
      strict: { type: 'boolean', default: false },
      'out-dir': { type: 'string' },
      'no-readme': { type: 'boolean', default: false },
      rate: { type: 'string' },
      duration: { type: 'string' },
      connections: { type: 'string' },
      scenarios: { type: 'string' },
      strategies: { type: 'string' },
      sweep: { type: 'boolean', default: false },
      'sweep-rates': { type: 'string' },
      'sweep-window': { type: 'string' },
      'sweep-connections': { type: 'string' },
      client: { type: 'string' },
      'prefer-wait': { type: 'string' },
    },
  });
  const smoke = values.smoke ?? false;
  const rate = Number(values.rate ?? (smoke ? 100 : 500));
  const durationMs = 1000 * Number(values.duration ?? (smoke ? 2 : 10));
  const connections = Number(values.connections ?? (smoke ? 50 : 2_000));
  for (const [name, v] of [
    ['rate', rate],
    ['duration', durationMs],
    ['connections', connections],
  ] as const) {
    if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  }
  const all: Scenario[] = [
    {
      id: 'predecessor',
      label: smoke ? '100 users, 5 seats' : '1,000 users, 10 seats',
      seats: smoke ? 5 : 10,
      load: { kind: 'burst', users: smoke ? 100 : 1_000 },
    },
    {
      id: 'flash-sale',
      label: smoke ? '300 users, 30 seats' : '10,000 users, 1,000 seats',
      seats: smoke ? 30 : 1_000,
      load: { kind: 'burst', users: smoke ? 300 : 10_000 },
    },
    {
      id: 'sustained',
      label: `hot event, ${int(rate)}/s for ${durationMs / 1000} s`,
      seats: 1_000_000,
      load: { kind: 'rate', rate, durationMs, connections },
    },
  ];
  const pick = <T extends { id: string }>(list: T[], csv: string | undefined, what: string, extra: string[] = []): T[] => {
    if (!csv) return list;
    const ids = csv.split(',').map((s) => s.trim());
    for (const id of ids) if (!list.some((x) => x.id === id) && !extra.includes(id)) throw new Error(`unknown ${what} ${id}`);
    return list.filter((x) => ids.includes(x.id));
  };
  if (values.sweep && values.scenarios) throw new Error('--sweep runs the sweep only: give it or --scenarios, not both');
  // --sweep is --scenarios sweep: the capacity sweep alone.
  const scenarioIds = values.sweep ? 'sweep' : values.scenarios;
  const withSweep =
    !scenarioIds ||
    scenarioIds
      .split(',')
      .map((x) => x.trim())
      .includes('sweep');
  const windowMs = 1000 * Number(values['sweep-window'] ?? (smoke ? 1 : 5));
  const rates = (values['sweep-rates'] ?? (smoke ? '100,200' : '250,500,1000,2000,4000')).split(',').map((x) => Number(x.trim()));
  const fixedConnections = values['sweep-connections'] === undefined ? undefined : Number(values['sweep-connections']);
  for (const [name, v] of [
    ['sweep-window', windowMs],
    ['sweep-connections', fixedConnections ?? 1],
    ...rates.map((r) => ['sweep-rates', r] as const),
  ] as const) {
    if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be positive numbers`);
  }
  const sweep: Sweep | undefined = withSweep
    ? {
        rates: [...rates].sort((a, b) => a - b),
        windowMs,
        seats: 1_000_000,
        // A system that keeps up (p99 <= 1 s) has fewer than rate × 1 s requests open at once (Little's
        // law), so as many connections as arrivals per second never hold back one that keeps up.
        connections: (rate) => fixedConnections ?? Math.max(50, Math.ceil((rate * KEPT_UP.p99Ms) / 1000)),
        connectionsText: fixedConnections === undefined ? 'as many as arrivals per second (at least 50)' : int(fixedConnections),
      }
    : undefined;
  const client = values.client ?? 'both';
  if (!['poll', 'prefer', 'both'].includes(client)) throw new Error(`--client takes poll, prefer or both (got ${client})`);
  const preferWaitSeconds = Number(values['prefer-wait'] ?? 30);
  if (!Number.isInteger(preferWaitSeconds) || preferWaitSeconds < 1 || preferWaitSeconds > 30)
    throw new Error('--prefer-wait takes 1..30 (s)');
  const strategies = pick(STRATEGIES, values.strategies, 'strategy')
    .map((s) => s.id)
    .filter((s) => (client === 'poll' ? s !== 'pipeline-prefer' : client === 'prefer' ? s !== 'pipeline' : true));
  if (strategies.length === 0) throw new Error('no strategy left to run (see --strategies and --client)');
  const resultsDir = fileURLToPath(new URL('../../results/', import.meta.url));
  const partial = Boolean(
    scenarioIds ||
    values.strategies ||
    values.rate ||
    values.duration ||
    values.connections ||
    values.client ||
    values['prefer-wait'] ||
    values['sweep-rates'] ||
    values['sweep-window'] ||
    values['sweep-connections'],
  );
  return {
    smoke,
    strict: values.strict ?? false,
    // A partial run does not replace the published results unless --out-dir says where they go.
    outDir: values['out-dir'] ?? (smoke || partial ? undefined : resultsDir),
    // Only a full default run goes into the README.
    readme: !smoke && !values['no-readme'] && !values['out-dir'] && !partial,
    partial,
    scenarios: pick(all, scenarioIds, 'scenario', ['sweep']),
    strategies,
    sweep,
    preferWaitSeconds,
  };
}
