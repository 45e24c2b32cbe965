// The benchmarks' load generator: a process of its own (started by LoadGenerator in loadgen.ts), so
// that simulated users neither queue on the service's event loop nor share its file-descriptor limit.
// Loopback only: it talks to the `baseUrl` of each plan, which the bench sets to 127.0.0.1.
//
// Protocol (IPC): the bench sends { plan }; the process opens its connections and runs the plan's
// warm-up, answers 'ready', waits for 'go', runs the plan (posting 'mark's that the bench acks) and
// answers with the result. Any number of plans, one at a time, until the bench disconnects.
import { next, send } from './loadgen/ipc.ts';
import { run } from './loadgen/plans.ts';

for (;;) {
  const m = await next();
  if (m.type !== 'plan') continue;
  try {
    send({ type: 'result', result: await run(m.plan) });
  } catch (err) {
    send({ type: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
}
