import type { z } from 'zod';

/** Raised when a process's environment does not satisfy its schema; lists every bad variable. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Parses `env` against `schema`; throws a ConfigError naming each bad variable as `NAME: problem`. */
export function parseEnv<S extends z.ZodType>(schema: S, env: Record<string, string | undefined>): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.length > 0 ? issue.path.join('.') : 'environment';
    return `${name}: ${issue.message}`;
  });
  throw new ConfigError(problems);
}

/**
 * Parses the environment for a process entry point: on failure prints each problem to stderr and exits 1.
 * Only `main.ts` files call this.
 */
export function loadEnvOrExit<S extends z.ZodType>(schema: S, env: Record<string, string | undefined>): z.output<S> {
  try {
    return parseEnv(schema, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
