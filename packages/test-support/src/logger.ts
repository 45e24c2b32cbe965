import { createLogger, type Logger } from '@booking/observability';

/** A logger for tests: silent unless TEST_LOG_LEVEL is set. */
export function testLogger(): Logger {
  const level = process.env.TEST_LOG_LEVEL;
  return createLogger({ level: level ?? 'error', service: 'booking-test', silent: !level });
}

/** A logger that keeps every entry (as logged, fields included) for a test to look at. */
export function capturingLogger(): { logger: Logger; entries: Array<Record<string, unknown>> } {
  const level = process.env.TEST_LOG_LEVEL;
  const logger = createLogger({ level: 'debug', service: 'booking-test' });
  // Printed only when asked for, like testLogger(); the entries are kept either way.
  for (const transport of logger.transports) transport.silent = !level;
  const entries: Array<Record<string, unknown>> = [];
  logger.on('data', (entry: Record<string, unknown>) => entries.push(entry));
  return { logger, entries };
}
