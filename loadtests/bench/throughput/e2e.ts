// Parts (b) and (b') of the throughput bench: end to end over HTTP, the service in one mode (one API
// process and one worker, or the single process); decisions/s over a window and the decision latency.
// Clients either submit and then long-poll (b), or send one request with `Prefer: wait` (b').
import { createEventOver } from '@booking/test-support/http';

import { type CpuReport, cpuWindow } from '../lib/cpu.ts';
import { memoryOf } from '../lib/processes.ts';
import { percentile } from '../lib/stats.ts';
import { type Environment, errorsText, gauge, histogramMean, type Mode, probe, startService } from './common.ts';
import type { Options } from './options.ts';

/** `poll`: submit, then long-poll (`?wait=30`); `prefer`: one request with `Prefer: wait=N`. */
export type Flow = 'poll' | 'prefer';

export interface PartB {
  mode: Mode;
  flow: Flow;
  preferWaitSeconds: number | undefined;
  connections: number;
  windowSeconds: number;
  decisions: number;
  perSecond: number;
  p50: number | undefined;
  p99: number | undefined;
  submitP50: number | undefined;
  submitP99: number | undefined;
  errors: string;
  /** Answers in the window that are not decisions, and requests left undecided. */
  failed: number;
  /** Prefer: submissions not decided within the wait (202), long-polled instead. */
  preferFallbacks: number;
  cpu: CpuReport;
  apiRssMiB: number;
  perTransaction: number | undefined;
  apiLoopLagP99Ms: number | undefined;
}

export async function partB(e: Environment, o: Options, mode: Mode, flow: Flow): Promise<PartB> {
  const service = await startService(e, mode);
  try {
    const warmup = await createEventOver(service.baseUrl, e.adminKey, 'throughput (b) warm-up', 1_000);
    await probe(e, service.baseUrl, warmup);
    const eventId = await createEventOver(service.baseUrl, e.adminKey, 'throughput (b)', 1_000_000);
    await probe(e, service.baseUrl, eventId);
    const components = { pids: { ...service.pids, 'load generator': e.loadgen.pid }, database: e.db.dbName };
    let window: ReturnType<typeof cpuWindow> | undefined;
    let cpu: CpuReport | undefined;
    let apiRssMiB = 0;
    let perTransaction: number | undefined;
    let loopLagP99: number | undefined;
    const preferWaitSeconds = flow === 'prefer' ? o.preferWaitSeconds : undefined;
    const r = await e.loadgen.run(
      {
        kind: 'closed',
        baseUrl: service.baseUrl,
        eventId,
        userPrefix: 'b-',
        longPollSeconds: 30,
        ...(preferWaitSeconds ? { preferWaitSeconds } : {}),
        connections: o.connections,
        warmupMs: o.warmupMs,
        durationMs: o.durationMs,
      },
      {
        mark: async (name) => {
          if (name === 'window-start') window = cpuWindow(components);
          if (name === 'window-end') {
            cpu = window!.stop();
            apiRssMiB = memoryOf(service.httpPid).rssMiB;
            [perTransaction, loopLagP99] = await Promise.all([
              histogramMean(service.workerMetricsUrl, 'booking_decisions_per_transaction'),
              gauge(service.apiMetricsUrl, 'nodejs_eventloop_lag_p99_seconds'),
            ]);
          }
        },
      },
    );
    const decisions = r.decisionMs.length;
    return {
      mode,
      flow,
      preferWaitSeconds,
      connections: o.connections,
      windowSeconds: o.durationMs / 1000,
      decisions,
      perSecond: decisions / (o.durationMs / 1000),
      p50: percentile(r.decisionMs, 50),
      p99: percentile(r.decisionMs, 99),
      submitP50: percentile(r.submitMs, 50),
      submitP99: percentile(r.submitMs, 99),
      errors: errorsText(r),
      failed: Object.values(r.errors).reduce((a, b) => a + b, 0) + r.undecided,
      preferFallbacks: r.preferFallbacks ?? 0,
      cpu: cpu!,
      apiRssMiB,
      perTransaction,
      apiLoopLagP99Ms: loopLagP99 === undefined ? undefined : loopLagP99 * 1000,
    };
  } finally {
    await service.stop();
  }
}
