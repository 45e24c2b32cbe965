// The service's roles as child processes, each role's compiled entry point run the way `npm start`,
// `npm run start:api` and `start:worker` run it (`buildWorkspaces()` first, which the benchmarks call
// at their start), with the tests' own starter (@booking/test-support/processes); the throughput
// bench's bare-door baseline compiled and started the same way, and what /proc says about them.
// BENCH_FROM_SOURCE=1 runs them from their sources with tsx instead, without building (the test
// suite's smoke runs: apps/server/test/start.compiled.test.ts runs the compiled build): the same
// work once loaded, though tsx's loader and the sources it holds add about 60 MiB to each process.
import { readFileSync } from 'node:fs';

import { COMPILED_ENTRY_POINTS, ENTRY_POINTS as SOURCE_ENTRY_POINTS, type Running, start, until } from '@booking/test-support/processes';

export { buildWorkspaces, freePort, ROOT } from '@booking/test-support/processes';

/** Whether the roles run from their sources (BENCH_FROM_SOURCE=1) instead of compiled. */
export const FROM_SOURCE = process.env.BENCH_FROM_SOURCE === '1';

const COMPILED = {
  ...COMPILED_ENTRY_POINTS,
  /** The throughput bench's bare-door baseline (not the product). */
  bare: 'loadtests/dist/throughput/bare-door.main.js',
} as const;
const SOURCES = { ...SOURCE_ENTRY_POINTS, bare: 'loadtests/bench/throughput/bare-door.main.ts' } as const;

export const ENTRY_POINTS: Record<keyof typeof COMPILED, string> = FROM_SOURCE ? SOURCES : COMPILED;

export interface RoleProcess extends Running {
  role: keyof typeof ENTRY_POINTS;
}

/**
 * Starts a role with exactly `env` (plus PATH and HOME), keeping the last 50,000 characters it
 * writes. `BENCH_API_NODE_OPTIONS` / `BENCH_WORKER_NODE_OPTIONS` add Node flags to that role, e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof`.
 */
export function startRole(role: keyof typeof ENTRY_POINTS, env: Record<string, string>): RoleProcess {
  const nodeOptions = (process.env[`BENCH_${role.toUpperCase()}_NODE_OPTIONS`] ?? '').split(/\s+/).filter(Boolean);
  return { role, ...start(ENTRY_POINTS[role], env, { nodeOptions, keepBytes: 50_000, compiled: !FROM_SOURCE }) };
}

/** Resolves once GET `url` answers 200; fails when `proc` exits first or after `ms`. */
export function untilHttpOk(proc: RoleProcess, url: string, ms = 60_000): Promise<void> {
  const ok = async () => {
    const res = await fetch(url);
    await res.arrayBuffer();
    return res.status === 200;
  };
  return until(proc, ok, ms, `${proc.role}: ${url} answering 200`);
}

/** Resident memory of a process now (VmRSS) and at its peak (VmHWM), in MiB. */
export function memoryOf(pid: number): { rssMiB: number; peakMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMiB: kb('VmRSS') / 1024, peakMiB: kb('VmHWM') / 1024 };
}

/** The soft limit on open files of this process (inherited by the children it starts). */
export function openFilesLimit(): number {
  const limits = readFileSync('/proc/self/limits', 'utf8');
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
  return m?.[1] === 'unlimited' ? Infinity : Number(m?.[1] ?? NaN);
}
