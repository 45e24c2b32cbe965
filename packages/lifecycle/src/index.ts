import { type Db, createDb, ensureDatabase, migrateToLatest } from '@booking/db';
import type { Logger } from '@booking/observability';
import type pg from 'pg';

/** Creates the database if missing, applies pending migrations and returns a pool on it. */
export async function openDatabase(options: {
  url: string;
  poolSize: number;
  applicationName: string;
}): Promise<{ db: Db; pool: pg.Pool }> {
  await ensureDatabase(options.url);
  const opened = createDb(options);
  await migrateToLatest(opened.db);
  return opened;
}

/**
 * On SIGTERM or SIGINT, runs `stop` once (stop taking work, finish or hand back what is held, close
 * connections) and exits 0; a second signal while stopping is ignored.
 */
export function stopOnSignals(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handle = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    stop().then(
      () => process.exit(0),
      (err: Error) => {
        logger.error('shutdown failed', { error: err.stack });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => handle('SIGTERM'));
  process.on('SIGINT', () => handle('SIGINT'));
}
