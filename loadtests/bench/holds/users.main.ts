// The users' process of the holds sale: runs the users of the plan given as its argument and sends
// their outcomes to the parent (../holds.bench.ts forks it: 10,000 sockets each side would pass one
// process's open-file limit).
import { type ClientReport, type Plan, runUsers } from './users.ts';

const stop = new AbortController();
process.on('message', (m) => {
  if (m === 'stop') stop.abort();
});
const plan = JSON.parse(process.argv[2]!) as Plan;
runUsers(plan, stop.signal).then(
  (outcomes) => process.send!({ outcomes } satisfies ClientReport, () => process.exit(0)),
  (err: unknown) => {
    process.stderr.write(`users failed: ${String(err)}\n`);
    process.exit(1);
  },
);
