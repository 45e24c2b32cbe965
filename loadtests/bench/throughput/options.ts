// The throughput bench's command line (see ../throughput.bench.ts).
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export interface Options {
  smoke: boolean;
  strict: boolean;
  only: Set<'a' | 'b' | 'c'>;
  fill: number;
  pgbenchSeconds: number;
  connections: number;
  warmupMs: number;
  durationMs: number;
  holds: number;
  out: string | undefined;
  /** Put the summary into README.md (a full run at the default sizes only). */
  readme: boolean;
}

export function options(): Options {
  const { values } = parseArgs({
    options: {
      smoke: { type: 'boolean', default: false },
      strict: { type: 'boolean', default: false },
      only: { type: 'string' },
      fill: { type: 'string' },
      'pgbench-seconds': { type: 'string' },
      connections: { type: 'string' },
      duration: { type: 'string' },
      holds: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const smoke = values.smoke ?? false;
  const only = new Set((values.only ?? 'a,b,c').split(',').map((s) => s.trim())) as Options['only'];
  for (const p of only) if (!['a', 'b', 'c'].includes(p)) throw new Error(`--only takes a, b, c (got ${p})`);
  const o: Options = {
    smoke,
    strict: values.strict ?? false,
    only,
    fill: Number(values.fill ?? (smoke ? 2_000 : 50_000)),
    pgbenchSeconds: Number(values['pgbench-seconds'] ?? (smoke ? 1 : 5)),
    connections: Number(values.connections ?? (smoke ? 20 : 1_000)),
    warmupMs: smoke ? 500 : 3_000,
    durationMs: 1000 * Number(values.duration ?? (smoke ? 1.5 : 10)),
    holds: Number(values.holds ?? (smoke ? 300 : 10_000)),
    out: values.out ?? (smoke ? undefined : fileURLToPath(new URL('../../results/throughput.md', import.meta.url))),
    readme: false,
  };
  for (const k of ['fill', 'pgbenchSeconds', 'connections', 'durationMs', 'holds'] as const) {
    if (!Number.isFinite(o[k]) || o[k] <= 0) throw new Error(`--${k} must be a positive number`);
  }
  const resized = Boolean(values.fill || values.connections || values.duration || values.holds || values['pgbench-seconds']);
  // A run with other sizes or parts is not the published one unless --out says where it goes.
  if ((resized || o.only.size < 3) && !values.out) o.out = undefined;
  o.readme = !smoke && !resized && o.only.size === 3 && !values.out;
  return o;
}
