import type { Logger } from '@booking/observability';

/** Stops what a process started: stop taking work, finish or hand back what is held, close connections. */
export type Stop = () => Promise<void>;

/** A process under supervision, from its first line until it exits. */
export interface Supervisor {
  /**
   * Starts the process (`start` returns how to stop it) and logs through `logger` from now on. A
   * signal that came before is honoured without starting anything; one that comes while starting
   * waits for the start to finish, then stops. A start that fails is logged and exits 1.
   */
  run(logger: Logger, start: () => Promise<Stop>): Promise<void>;
}

type Level = 'info' | 'error';

let supervised = false;

/**
 * Makes the process crash-only from this call on: SIGTERM or SIGINT, at any moment, stops it cleanly
 * and exits 0 (a second signal while stopping is ignored); an unhandled rejection or an uncaught
 * exception is logged with its stack and exits 1 rather than leaving the process half alive. Call it
 * first thing in an entry point, before the service's modules load, and then `run` the service.
 */
export function superviseProcess(): Supervisor {
  if (supervised) throw new Error('the process is supervised already');
  supervised = true;

  let logger: Logger | undefined;
  let signal: NodeJS.Signals | undefined;
  let starting: Promise<Stop | undefined> | undefined;
  let exiting = false;

  // Until the service's logger exists, lines of the same shape go straight to standard output.
  const log = (level: Level, message: string, fields: Record<string, unknown>) => {
    if (logger) logger[level](message, fields);
    else process.stdout.write(`${JSON.stringify({ level, message, time: new Date().toISOString(), ...fields })}\n`);
  };

  const exit = (code: number) => {
    exiting = true;
    process.exit(code);
  };

  const stop = async () => {
    let stopService: Stop | undefined;
    try {
      // A start in progress is waited for, so that what it opens is closed again.
      stopService = await starting;
    } catch {
      // The failed start is logged and exits 1 where it is awaited.
      return;
    }
    try {
      await stopService?.();
    } catch (err) {
      log('error', 'shutdown failed', { error: describe(err) });
      exit(1);
      return;
    }
    exit(0);
  };

  const onSignal = (received: NodeJS.Signals) => {
    if (signal || exiting) return;
    signal = received;
    // Logged by `run` when no logger exists yet and nothing was started.
    if (!logger && !starting) return;
    log('info', 'shutting down', { signal });
    void stop();
  };

  const crash = (message: string, err: unknown) => {
    if (exiting) return;
    log('error', message, { error: describe(err) });
    exit(1);
  };

  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('unhandledRejection', (reason) => crash('unhandled rejection', reason));
  process.on('uncaughtException', (err) => crash('uncaught exception', err));

  return {
    async run(serviceLogger, start) {
      logger = serviceLogger;
      if (signal) {
        log('info', 'shutting down', { signal });
        exit(0);
        return;
      }
      starting = start();
      try {
        await starting;
      } catch (err) {
        log('error', 'start failed', { error: describe(err) });
        exit(1);
      }
    },
  };
}

function describe(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}
