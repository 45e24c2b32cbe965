// Part (c) of the throughput bench: many concurrent long-polls on one API process (no worker, so the
// requests stay pending) and its resident memory while they wait.
import { setTimeout as sleep } from 'node:timers/promises';

import { createEventOver } from '@booking/test-support/http';

import { memoryOf, openFilesLimit } from '../lib/processes.ts';
import { type Environment, errorsText, gauge, MiB, startApi } from './common.ts';
import type { Options } from './options.ts';

export interface PartC {
  requested: number;
  accepted: number;
  waiters: number | undefined;
  held: number;
  idleMiB: number;
  afterSubmitMiB: number;
  holdingMiB: number;
  peakMiB: number;
  errors: string;
  openFiles: number;
  idleHeapUsedMiB: number | undefined;
  heapUsedMiB: number | undefined;
  heapTotalMiB: number | undefined;
  externalMiB: number | undefined;
}

export async function partC(e: Environment, o: Options): Promise<PartC> {
  const api = await startApi(e);
  try {
    const eventId = await createEventOver(api.baseUrl, e.adminKey, 'throughput (c)', 1_000_000);
    await sleep(500);
    const idleMiB = memoryOf(api.proc.pid).rssMiB;
    let afterSubmitMiB = 0;
    let holdingMiB = 0;
    let waiters: number | undefined;
    let heapUsed: number | undefined;
    let heapTotal: number | undefined;
    let external: number | undefined;
    const idleHeapUsed = await gauge(`${api.baseUrl}/metrics`, 'nodejs_heap_size_used_bytes');
    const r = await e.loadgen.run(
      { kind: 'hold', baseUrl: api.baseUrl, eventId, userPrefix: 'c-', longPollSeconds: 30, requests: o.holds, batch: 250 },
      {
        mark: async (name) => {
          if (name === 'submitted') afterSubmitMiB = memoryOf(api.proc.pid).rssMiB;
          if (name !== 'holding') return;
          // Every long-poll sent: wait until the API holds them all (its waiters gauge) or their number
          // stops growing (a connection may have failed), well within the long-polls' 30 s, then read.
          const deadline = Date.now() + 10_000;
          let last = -1;
          let still = 0;
          for (;;) {
            waiters = await gauge(`${api.baseUrl}/metrics`, 'booking_long_poll_waiters');
            if ((waiters ?? 0) >= o.holds || Date.now() > deadline) break;
            still = waiters === last ? still + 1 : 0;
            if (still >= 5) break;
            last = waiters ?? -1;
            await sleep(200);
          }
          for (let i = 0; i < 5; i++) {
            holdingMiB = Math.max(holdingMiB, memoryOf(api.proc.pid).rssMiB);
            await sleep(200);
          }
          [heapUsed, heapTotal, external] = await Promise.all([
            gauge(`${api.baseUrl}/metrics`, 'nodejs_heap_size_used_bytes'),
            gauge(`${api.baseUrl}/metrics`, 'nodejs_heap_size_total_bytes'),
            gauge(`${api.baseUrl}/metrics`, 'nodejs_external_memory_bytes'),
          ]);
        },
      },
    );
    const peakMiB = memoryOf(api.proc.pid).peakMiB;
    return {
      requested: o.holds,
      accepted: r.requestIds?.length ?? 0,
      waiters,
      held: r.held ?? 0,
      idleMiB,
      afterSubmitMiB,
      holdingMiB,
      peakMiB,
      errors: errorsText(r),
      openFiles: openFilesLimit(),
      idleHeapUsedMiB: idleHeapUsed === undefined ? undefined : idleHeapUsed / MiB,
      heapUsedMiB: heapUsed === undefined ? undefined : heapUsed / MiB,
      heapTotalMiB: heapTotal === undefined ? undefined : heapTotal / MiB,
      externalMiB: external === undefined ? undefined : external / MiB,
    };
  } finally {
    await api.proc.stop();
  }
}
