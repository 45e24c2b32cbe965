// The throughput bench's command line (see ../throughput.bench.ts).
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import type { Mode } from './common.ts';

/**
 * The parts: `door` (i) the service's 409s at the door; `a` one worker draining a filled queue;
 * `b` (ii) end to end, submit + long-poll; `prefer` (iii) end to end with `Prefer: wait`; `c` 10,000
 * long-polls' RSS; `d` 1,000 users at once for 10 seats. The bare-door baseline runs whenever a part
 * that is reported against it does (door, b, prefer: its req/s; d: its burst).
 */
export type Part = 'door' | 'a' | 'b' | 'prefer' | 'c' | 'd';
export const PARTS: Part[] = ['door', 'a', 'b', 'prefer', 'c', 'd'];

export interface Options {
  smoke: boolean;
  strict: boolean;
  only: Set<Part>;
  /** The service's modes for door, b, prefer and d, in the order they run. */
  modes: Mode[];
  fill: number;
  pgbenchSeconds: number;
  connections: number;
  warmupMs: number;
  durationMs: number;
  holds: number;
  burstUsers: number;
  burstSeats: number;
  preferWaitSeconds: number;
  out: string | undefined;
  /** Put the summary into README.md (a full run at the default sizes only). */
  readme: boolean;
  /** The service's AUTH_MODE: `jwt` makes every user send a bearer token (the cost of verifying it). */
  auth: 'none' | 'jwt';
}

export function options(): Options {
  const { values } = parseArgs({
    options: {
      smoke: { type: 'boolean', default: false },
      strict: { type: 'boolean', default: false },
      only: { type: 'string' },
      mode: { type: 'string' },
      fill: { type: 'string' },
      'pgbench-seconds': { type: 'string' },
      connections: { type: 'string' },
      duration: { type: 'string' },
      holds: { type: 'string' },
      'burst-users': { type: 'string' },
      'burst-seats': { type: 'string' },
      'prefer-wait': { type: 'string' },
      out: { type: 'string' },
      auth: { type: 'string' },
    },
  });
  const auth = values.auth ?? 'none';
  if (auth !== 'none' && auth !== 'jwt') throw new Error(`--auth takes none or jwt (got ${auth})`);
  const smoke = values.smoke ?? false;
  const only = new Set((values.only ?? PARTS.join(',')).split(',').map((s) => s.trim())) as Options['only'];
  for (const p of only) if (!PARTS.includes(p)) throw new Error(`--only takes ${PARTS.join(', ')} (got ${p})`);
  const mode = values.mode ?? 'both';
  if (!['single', 'split', 'both'].includes(mode)) throw new Error(`--mode takes single, split or both (got ${mode})`);
  const o: Options = {
    smoke,
    strict: values.strict ?? false,
    only,
    modes: mode === 'both' ? ['split', 'single'] : [mode as Mode],
    fill: Number(values.fill ?? (smoke ? 2_000 : 50_000)),
    pgbenchSeconds: Number(values['pgbench-seconds'] ?? (smoke ? 1 : 5)),
    connections: Number(values.connections ?? (smoke ? 20 : 1_000)),
    warmupMs: smoke ? 500 : 3_000,
    durationMs: 1000 * Number(values.duration ?? (smoke ? 1.5 : 10)),
    holds: Number(values.holds ?? (smoke ? 300 : 10_000)),
    burstUsers: Number(values['burst-users'] ?? (smoke ? 100 : 1_000)),
    burstSeats: Number(values['burst-seats'] ?? (smoke ? 5 : 10)),
    preferWaitSeconds: Number(values['prefer-wait'] ?? 30),
    out: values.out ?? (smoke ? undefined : fileURLToPath(new URL('../../results/throughput.md', import.meta.url))),
    readme: false,
    auth,
  };
  for (const k of ['fill', 'pgbenchSeconds', 'connections', 'durationMs', 'holds', 'burstUsers', 'burstSeats'] as const) {
    if (!Number.isFinite(o[k]) || o[k] <= 0) throw new Error(`--${k} must be a positive number`);
  }
  if (!Number.isInteger(o.preferWaitSeconds) || o.preferWaitSeconds < 1 || o.preferWaitSeconds > 30)
    throw new Error('--prefer-wait takes 1..30 (s)');
  const resized = Boolean(
    values.fill ||
    values.connections ||
    values.duration ||
    values.holds ||
    values['pgbench-seconds'] ||
    values['burst-users'] ||
    values['burst-seats'] ||
    values['prefer-wait'] ||
    (values.mode && values.mode !== 'both') ||
    auth !== 'none',
  );
  // A run with other sizes, modes or parts is not the published one unless --out says where it goes.
  if ((resized || o.only.size < PARTS.length) && !values.out) o.out = undefined;
  o.readme = !smoke && !resized && o.only.size === PARTS.length && !values.out;
  return o;
}
