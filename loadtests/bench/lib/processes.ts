// The service's roles as child processes, started the way `npm start`, `npm run start:api` and
// `start:worker` do (Node with tsx on the role's main.ts), the throughput bench's bare-door baseline
// started the same way, and what /proc says about them.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export const ENTRY_POINTS = {
  api: 'apps/api/src/main.ts',
  worker: 'apps/worker/src/main.ts',
  /** `npm start`: API and worker in one process. */
  server: 'apps/server/src/main.ts',
  /** The throughput bench's bare-door baseline (not the product). */
  bare: 'loadtests/bench/throughput/bare-door.main.ts',
} as const;

export interface RoleProcess {
  role: keyof typeof ENTRY_POINTS;
  child: ChildProcess;
  pid: number;
  /** What it printed so far (for error messages). */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it exited. */
  stop(graceMs?: number): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * Starts a role with exactly `env` (plus PATH and HOME). `BENCH_API_NODE_OPTIONS` /
 * `BENCH_WORKER_NODE_OPTIONS` add Node flags to that role, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
 */
export function startRole(role: keyof typeof ENTRY_POINTS, env: Record<string, string>): RoleProcess {
  const extra = (process.env[`BENCH_${role.toUpperCase()}_NODE_OPTIONS`] ?? '').split(/\s+/).filter(Boolean);
  const child = spawn(process.execPath, [...extra, '--import', import.meta.resolve('tsx'), ENTRY_POINTS[role]], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 100_000) out = out.slice(-50_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    role,
    child,
    pid: child.pid!,
    output: () => out,
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Resolves once GET `url` answers 200; fails when `proc` exits first or after `ms`. */
export async function untilHttpOk(proc: RoleProcess, url: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (proc.child.exitCode !== null)
      throw new Error(`${proc.role} exited (${proc.child.exitCode}) before ${url} answered\n${proc.output()}`);
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${ms} ms\n${proc.output()}`);
    await sleep(100);
  }
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
