import { type Logger, createLogger } from '@booking/observability';

/** A logger for tests: silent unless TEST_LOG_LEVEL is set. */
export function testLogger(): Logger {
  const level = process.env.TEST_LOG_LEVEL;
  return createLogger({ level: level ?? 'error', service: 'booking-test', silent: !level });
}
