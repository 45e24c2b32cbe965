// The throughput bench's targets and its markdown: the full report and the README summary.
import type { CpuReport } from '../lib/cpu.ts';
import { int, ms } from '../lib/stats.ts';
import type { PartA } from './drain.ts';
import type { PartB } from './e2e.ts';
import type { PartC } from './longpolls.ts';

export const TARGETS = { drainPerSecond: 10_000, pgbenchFactor: 5, endToEndPerSecond: 4_000, rssMB: 300 };

const verdict = (ok: boolean) => (ok ? '**met**' : '**not met**');

function cpuTable(r: CpuReport): string {
  const rows = Object.entries(r.percent)
    .filter(([, v]) => v >= 0.5)
    .sort((x, y) => y[1] - x[1])
    .map(([k, v]) => `| ${k} | ${v.toFixed(0)} % |`);
  return [
    `CPU over the ${r.seconds.toFixed(1)} s window (100 % = one core; the machine has ${r.cores} cores and was ${r.machinePercent.toFixed(0)} % busy):`,
    '',
    '| process | CPU |',
    '|---|---|',
    ...rows,
  ].join('\n');
}

/** The targets with this run's figures, for the README. */
export function summary(a: PartA | undefined, b: PartB | undefined, c: PartC | undefined, info: string): string {
  const share = (v: number, target: number) => `${((100 * v) / target).toFixed(0)} % of the target`;
  const rows: string[] = [];
  if (a) {
    const ratio = a.decisionsPerSecond / a.pgbenchTps;
    rows.push(
      `| (a) one hot event, one worker, from a filled queue: >= ${int(TARGETS.drainPerSecond)} decisions/s | ${int(a.decisionsPerSecond)} decisions/s | ${a.decisionsPerSecond >= TARGETS.drainPerSecond ? 'yes' : `no (${share(a.decisionsPerSecond, TARGETS.drainPerSecond)})`} |`,
      `| (a) ... and >= ${TARGETS.pgbenchFactor}× pgbench's one transaction per booking (${int(a.pgbenchTps)} tps in the same run) | ${ratio.toFixed(2)}× | ${ratio >= TARGETS.pgbenchFactor ? 'yes' : 'no'} |`,
    );
  }
  if (b) {
    rows.push(
      `| (b) end to end over HTTP, one API process + one worker: >= ${int(TARGETS.endToEndPerSecond)} decisions/s | ${int(b.perSecond)} decisions/s, p50 / p99 ${ms(b.p50)} / ${ms(b.p99)} ms | ${b.perSecond >= TARGETS.endToEndPerSecond ? 'yes' : `no (${share(b.perSecond, TARGETS.endToEndPerSecond)})`} |`,
    );
  }
  if (c) {
    const mb = (c.holdingMiB * 1024 * 1024) / 1e6;
    rows.push(
      `| (c) ${int(c.requested)} concurrent long-polls on one API process: RSS < ${TARGETS.rssMB} MB | ${mb.toFixed(0)} MB (idle ${((c.idleMiB * 1024 * 1024) / 1e6).toFixed(0)} MB) | ${mb < TARGETS.rssMB && c.held >= c.requested ? 'yes' : 'no'} |`,
    );
  }
  return [info, '', '| target | measured | met |', '|---|---|---|', ...rows].join('\n');
}

export function report(a: PartA | undefined, b: PartB | undefined, c: PartC | undefined, runLine: string): { md: string; met: boolean } {
  const out: string[] = [];
  let met = true;
  if (a) {
    const ratio = a.decisionsPerSecond / a.pgbenchTps;
    const okRate = a.decisionsPerSecond >= TARGETS.drainPerSecond;
    const okRatio = ratio >= TARGETS.pgbenchFactor;
    met &&= okRate && okRatio;
    out.push(
      '## (a) One hot event, ample seats: decisions/s through one worker from a filled queue',
      '',
      `| figure | value | target |`,
      '|---|---|---|',
      `| pgbench, 1 client, one booking (conditional UPDATE + INSERT) per transaction | ${int(a.pgbenchTps)} tps | — |`,
      `| requests in the queue (submitted through the API, no worker running) | ${int(a.filled)} in ${int(a.jobs)} jobs (${(a.filled / Math.max(1, a.jobs)).toFixed(1)} per job) | — |`,
      `| submissions/s while filling (256 connections) | ${int(a.fillPerSecond)} | — |`,
      `| **decisions/s, one worker, from the first decision to the last** | **${int(a.decisionsPerSecond)}** (${int(a.decided)} decided, ${a.windowSeconds.toFixed(2)} s) | >= ${int(TARGETS.drainPerSecond)}: ${verdict(okRate)} |`,
      `| decisions/s by \`decided_at\` (first to last decision in the database) | ${int(a.decidedAtSpanPerSecond)} | — |`,
      `| decisions per worker transaction (mean) | ${a.perTransaction === undefined ? 'n/a' : a.perTransaction.toFixed(1)} | — |`,
      `| **ratio to pgbench** | **${ratio.toFixed(2)}×** | >= ${TARGETS.pgbenchFactor}×: ${verdict(okRatio)} |`,
      '',
      cpuTable(a.cpu),
      '',
      'pgbench script (`pgbench -n -c 1 -j 1 -T <s> -M prepared`, on the bench database):',
      '',
      '```',
      a.pgbenchScript.trimEnd(),
      '```',
      '',
    );
  }
  if (b) {
    const ok = b.perSecond >= TARGETS.endToEndPerSecond;
    met &&= ok;
    out.push(
      '## (b) End to end over HTTP (submit -> decided), one API process and one worker',
      '',
      '| figure | value | target |',
      '|---|---|---|',
      `| clients (keep-alive connections), each: submit, long-poll until decided, repeat | ${int(b.connections)} | — |`,
      `| **decisions/s** over the ${b.windowSeconds} s window (after a warm-up) | **${int(b.perSecond)}** (${int(b.decisions)} decisions) | >= ${int(TARGETS.endToEndPerSecond)}: ${verdict(ok)} |`,
      `| decision latency p50 / p99 (submit -> decision received) | ${ms(b.p50)} / ${ms(b.p99)} ms | — |`,
      `| submission latency p50 / p99 (-> 202) | ${ms(b.submitP50)} / ${ms(b.submitP99)} ms | — |`,
      `| errors in the window | ${b.errors} | — |`,
      `| decisions per worker transaction (mean over the run) | ${b.perTransaction === undefined ? 'n/a' : b.perTransaction.toFixed(1)} | — |`,
      `| API event-loop lag p99 (its \`nodejs_eventloop_lag_p99_seconds\`) | ${b.apiLoopLagP99Ms === undefined ? 'n/a' : `${b.apiLoopLagP99Ms.toFixed(0)} ms`} | — |`,
      `| API resident memory at the end of the window | ${b.apiRssMiB.toFixed(0)} MiB | — |`,
      '',
      cpuTable(b.cpu),
      '',
    );
  }
  if (c) {
    const holdingMB = (c.holdingMiB * 1024 * 1024) / 1e6;
    const ok = holdingMB < TARGETS.rssMB && c.held >= c.requested;
    met &&= ok;
    out.push(
      `## (c) ${int(c.requested)} concurrent long-polling clients on one API process`,
      '',
      '| figure | value | target |',
      '|---|---|---|',
      `| requests submitted (no worker running: they stay pending) | ${int(c.accepted)} of ${int(c.requested)} | — |`,
      `| long-polls (\`?wait=30\`, one connection each) held at the reading | ${int(c.held)} (API's \`booking_long_poll_waiters\`: ${c.waiters === undefined ? 'n/a' : int(c.waiters)}) | ${int(c.requested)} |`,
      `| API VmRSS idle / after the submissions | ${c.afterSubmitMiB ? `${c.idleMiB.toFixed(0)} / ${c.afterSubmitMiB.toFixed(0)} MiB` : 'n/a'} | — |`,
      `| **API VmRSS while holding them** | **${c.holdingMiB.toFixed(0)} MiB (${holdingMB.toFixed(0)} MB)** | < ${TARGETS.rssMB} MB: ${verdict(ok)} |`,
      `| API peak RSS (VmHWM) over its life | ${c.peakMiB.toFixed(0)} MiB | — |`,
      `| of which V8 heap used / allocated while holding (idle: used) | ${c.heapUsedMiB === undefined ? 'n/a' : `${c.heapUsedMiB.toFixed(0)} / ${c.heapTotalMiB?.toFixed(0)} MiB (${c.idleHeapUsedMiB?.toFixed(0)} MiB)`} | — |`,
      `| external (Buffers etc.) while holding | ${c.externalMiB === undefined ? 'n/a' : `${c.externalMiB.toFixed(0)} MiB`} | — |`,
      `| errors | ${c.errors} | — |`,
      '',
      `Open-files limit of the bench and its children: ${c.openFiles}.`,
      '',
    );
  }
  return { md: [runLine, '', ...out].join('\n'), met };
}
