// `npm run verify`: audits every event's invariants in PostgreSQL; exits 1 naming each violation.
import { commonEnv, loadEnvOrExit } from '@booking/config';

import { createDb } from './connection.ts';
import { auditInvariants } from './invariant-audit.ts';

const env = loadEnvOrExit(commonEnv, process.env);
const { db } = createDb({ url: env.DATABASE_URL, poolSize: 1, applicationName: 'booking-verify' });
try {
  const violations = await auditInvariants(db);
  const events = await db
    .selectFrom('events')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirst();
  for (const v of violations) process.stdout.write(`violation: event ${v.eventId ?? '(none)'}: ${v.problem}\n`);
  process.stdout.write(`${events?.n ?? 0} events checked, ${violations.length} violation(s)\n`);
  process.exitCode = violations.length > 0 ? 1 : 0;
} finally {
  await db.destroy();
}
