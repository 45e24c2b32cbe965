import { describe, expect, it } from 'vitest';

import { apiEnv, commonEnv, ConfigError, parseEnv, serverEnv, workerEnv } from '../src/index.ts';

describe('MIGRATE_ON_START', () => {
  it.each([
    ['server', serverEnv],
    ['api', apiEnv],
    ['worker', workerEnv],
    ['migrate', commonEnv],
  ] as const)('is on by default for the %s role, and off with false', (_, schema) => {
    expect(parseEnv(schema, {}).MIGRATE_ON_START).toBe(true);
    expect(parseEnv(schema, { MIGRATE_ON_START: 'true' }).MIGRATE_ON_START).toBe(true);
    expect(parseEnv(schema, { MIGRATE_ON_START: 'false' }).MIGRATE_ON_START).toBe(false);
  });

  it('accepts nothing but true and false', () => {
    for (const value of ['no', '0', 'FALSE', '']) {
      expect(() => parseEnv(serverEnv, { MIGRATE_ON_START: value }), value).toThrow(ConfigError);
    }
    let problems: string[] = [];
    try {
      parseEnv(workerEnv, { MIGRATE_ON_START: 'off' });
    } catch (err) {
      problems = (err as ConfigError).problems;
    }
    expect(problems).toEqual([expect.stringMatching(/^MIGRATE_ON_START: /)]);
  });
});
