import { DEV_JWT_SECRET } from '@booking/config';
import { ENTRY_POINTS, start, stderrOf, within } from '@booking/test-support';
import { describe, expect, it } from 'vitest';

// What a production process refuses to start with: each exits 1 naming the variable.

const PRODUCTION = { NODE_ENV: 'production', ADMIN_API_KEY: 'a7f3c9e1b5d2f8a4c6e0b9d3f1a5c7e2', LOG_LEVEL: 'warn' };

describe.concurrent('a production process', () => {
  it.each([
    ['api', 'AUTH_MODE', {}],
    ['server', 'AUTH_MODE', {}],
    ['api', 'ADMIN_API_KEY', { AUTH_MODE: 'header', ADMIN_API_KEY: 'change-me-to-a-long-random-admin-key' }],
    ['api', 'AUTH_JWT_SECRET', { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: DEV_JWT_SECRET }],
  ] as const)('%s exits 1 naming %s', async (role, name, extra) => {
    const run = start(ENTRY_POINTS[role], { ...PRODUCTION, ...extra });
    const { code } = await within(run.exited, 30_000, 'exit');
    expect(code, run.output()).toBe(1);
    expect(stderrOf(run), run.output()).toMatch(new RegExp(`^\\s*${name}: `, 'm'));
  });
});
