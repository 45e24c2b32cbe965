// Part (b) of the throughput bench: end to end over HTTP, one API process and one worker; decisions/s
// over a window and the decision latency.
import { type CpuReport, cpuWindow } from '../lib/cpu.ts';
import { memoryOf } from '../lib/processes.ts';
import { createEventOver } from '../lib/stack.ts';
import { percentile } from '../lib/stats.ts';
import { type Environment, errorsText, gauge, histogramMean, probe, startApi, startWorker } from './common.ts';
import type { Options } from './options.ts';

export interface PartB {
  connections: number;
  windowSeconds: number;
  decisions: number;
  perSecond: number;
  p50: number | undefined;
  p99: number | undefined;
  submitP50: number | undefined;
  submitP99: number | undefined;
  errors: string;
  cpu: CpuReport;
  apiRssMiB: number;
  perTransaction: number | undefined;
  apiLoopLagP99Ms: number | undefined;
}

export async function partB(e: Environment, o: Options): Promise<PartB> {
  const worker = await startWorker(e);
  const api = await startApi(e).catch(async (err) => {
    await worker.proc.stop();
    throw err;
  });
  try {
    const warmup = await createEventOver(api.baseUrl, e.adminKey, 'throughput (b) warm-up', 1_000);
    await probe(api.baseUrl, warmup);
    const eventId = await createEventOver(api.baseUrl, e.adminKey, 'throughput (b)', 1_000_000);
    await probe(api.baseUrl, eventId);
    const components = { pids: { api: api.proc.pid, worker: worker.proc.pid, 'load generator': e.loadgen.pid }, database: e.db.dbName };
    let window: ReturnType<typeof cpuWindow> | undefined;
    let cpu: CpuReport | undefined;
    let apiRssMiB = 0;
    let perTransaction: number | undefined;
    let loopLagP99: number | undefined;
    const r = await e.loadgen.run(
      {
        kind: 'closed',
        baseUrl: api.baseUrl,
        eventId,
        userPrefix: 'b-',
        longPollSeconds: 30,
        connections: o.connections,
        warmupMs: o.warmupMs,
        durationMs: o.durationMs,
      },
      {
        mark: async (name) => {
          if (name === 'window-start') window = cpuWindow(components);
          if (name === 'window-end') {
            cpu = window!.stop();
            apiRssMiB = memoryOf(api.proc.pid).rssMiB;
            [perTransaction, loopLagP99] = await Promise.all([
              histogramMean(`${worker.metricsUrl}/metrics`, 'booking_decisions_per_transaction'),
              gauge(`${api.baseUrl}/metrics`, 'nodejs_eventloop_lag_p99_seconds'),
            ]);
          }
        },
      },
    );
    const decisions = r.decisionMs.length;
    return {
      connections: o.connections,
      windowSeconds: o.durationMs / 1000,
      decisions,
      perSecond: decisions / (o.durationMs / 1000),
      p50: percentile(r.decisionMs, 50),
      p99: percentile(r.decisionMs, 99),
      submitP50: percentile(r.submitMs, 50),
      submitP99: percentile(r.submitMs, 99),
      errors: errorsText(r),
      cpu: cpu!,
      apiRssMiB,
      perTransaction,
      apiLoopLagP99Ms: loopLagP99 === undefined ? undefined : loopLagP99 * 1000,
    };
  } finally {
    await api.proc.stop();
    await worker.proc.stop();
  }
}
