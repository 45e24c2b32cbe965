// CPU use per component over a window, from /proc (like pidstat): the API, the worker, the load
// generator, Redis, the bench database's Postgres backends, the rest of Postgres, and the machine.
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ; 100 on Linux). */
const HZ = 100;

export interface Components {
  /** Named processes of the bench (API, worker, load generator, ...). */
  pids: Record<string, number>;
  /** Postgres database whose backends count as "postgres (bench db)". */
  database: string;
}

interface Snapshot {
  at: number;
  /** CPU ticks by pid, and the component each pid counts for. */
  pids: Map<string, { component: string; ticks: number }>;
  /** Busy and total jiffies of the whole machine (/proc/stat). */
  machineBusy: number;
  machineTotal: number;
}

function ticksOf(pid: number | string): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command: state(0) ... utime(11) stime(12).
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

const COMPONENTS = ['redis-server', 'postgres (bench db backends)', 'postgres (other processes)'];

function snapshot(c: Components): Snapshot {
  const pids = new Map<string, { component: string; ticks: number }>();
  const named = new Map(Object.entries(c.pids).map(([name, pid]) => [String(pid), name]));
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let component = named.get(pid);
    if (!component) {
      const comm = read(`/proc/${pid}/comm`).trim();
      if (comm === 'redis-server') component = 'redis-server';
      else if (comm === 'postgres') {
        const cmdline = read(`/proc/${pid}/cmdline`).replaceAll('\0', ' ');
        component = cmdline.includes(` ${c.database} `) ? 'postgres (bench db backends)' : 'postgres (other processes)';
      }
    }
    if (component) pids.set(pid, { component, ticks: ticksOf(pid) });
  }
  const cpu = read('/proc/stat').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal ...
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
  return { at: performance.now(), pids, machineBusy: total - idle, machineTotal: total };
}

export interface CpuReport {
  /** Percent of one core per component over the window (100 = one core busy). */
  percent: Record<string, number>;
  /** Whole machine: percent of all cores busy, and the number of cores. */
  machinePercent: number;
  cores: number;
  seconds: number;
}

/** Starts a window now; `stop()` returns each component's CPU over it. */
export function cpuWindow(c: Components): { stop(): CpuReport } {
  const a = snapshot(c);
  return {
    stop() {
      const b = snapshot(c);
      const seconds = (b.at - a.at) / 1000;
      const percent: Record<string, number> = {};
      for (const name of [...Object.keys(c.pids), ...COMPONENTS]) percent[name] = 0;
      // Per pid: a process that started during the window counts whole; one that ended is lost.
      for (const [pid, now] of b.pids) {
        const before = a.pids.get(pid)?.ticks ?? 0;
        percent[now.component] = (percent[now.component] ?? 0) + (100 * Math.max(0, now.ticks - before)) / HZ / seconds;
      }
      const cores = (() => {
        const n = read('/proc/stat')
          .split('\n')
          .filter((l) => /^cpu\d+ /.test(l)).length;
        return n || 1;
      })();
      const machineTotal = b.machineTotal - a.machineTotal;
      const machinePercent = machineTotal > 0 ? (100 * (b.machineBusy - a.machineBusy)) / machineTotal : 0;
      // Whatever the machine did besides the components listed (other sessions' work, the kernel...).
      const listed = Object.values(percent).reduce((x, y) => x + y, 0);
      percent['everything else on the machine'] = Math.max(0, machinePercent * cores - listed);
      return { percent, machinePercent, cores, seconds };
    },
  };
}

/** `api 85 %, worker 40 %, ...` sorted by use, in percent of one core. */
export function formatCpu(r: CpuReport): string {
  return (
    Object.entries(r.percent)
      .sort((x, y) => y[1] - x[1])
      .map(([k, v]) => `${k} ${v.toFixed(0)} %`)
      .join(', ') + ` (machine ${r.machinePercent.toFixed(0)} % of ${r.cores} cores, over ${r.seconds.toFixed(1)} s)`
  );
}
