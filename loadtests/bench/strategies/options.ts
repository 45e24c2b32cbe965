// The strategy bench's command line, its strategies and scenarios (see ../strategies.bench.ts).
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { int } from '../lib/stats.ts';
import { OPTIMISTIC_RETRIES, type StrategyName } from './booking.ts';

export type Strategy = 'pipeline' | StrategyName;

export const STRATEGIES: Array<{ id: Strategy; label: string; color: string }> = [
  { id: 'pipeline', label: 'this pipeline (queue + group commit)', color: '#2f9e44' },
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

export interface Options {
  smoke: boolean;
  outDir: string | undefined;
  readme: boolean;
  scenarios: Scenario[];
  strategies: Strategy[];
}

export function options(): Options {
  const { values } = parseArgs({
    options: {
      smoke: { type: 'boolean', default: false },
      'out-dir': { type: 'string' },
      'no-readme': { type: 'boolean', default: false },
      rate: { type: 'string' },
      duration: { type: 'string' },
      connections: { type: 'string' },
      scenarios: { type: 'string' },
      strategies: { type: 'string' },
    },
  });
  const smoke = values.smoke ?? false;
  const rate = Number(values.rate ?? (smoke ? 100 : 500));
  const durationMs = 1000 * Number(values.duration ?? (smoke ? 2 : 10));
  const connections = Number(values.connections ?? (smoke ? 50 : 2_000));
  for (const [name, v] of [['rate', rate], ['duration', durationMs], ['connections', connections]] as const) {
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
  const pick = <T extends { id: string }>(list: T[], csv: string | undefined, what: string): T[] => {
    if (!csv) return list;
    const ids = csv.split(',').map((s) => s.trim());
    for (const id of ids) if (!list.some((x) => x.id === id)) throw new Error(`unknown ${what} ${id}`);
    return list.filter((x) => ids.includes(x.id));
  };
  const resultsDir = fileURLToPath(new URL('../../results/', import.meta.url));
  const partial = Boolean(values.scenarios || values.strategies || values.rate || values.duration || values.connections);
  return {
    smoke,
    outDir: values['out-dir'] ?? (smoke ? undefined : resultsDir),
    // Only a full default run goes into the README.
    readme: !smoke && !values['no-readme'] && !values['out-dir'] && !partial,
    scenarios: pick(all, values.scenarios, 'scenario'),
    strategies: pick(STRATEGIES, values.strategies, 'strategy').map((s) => s.id),
  };
}
