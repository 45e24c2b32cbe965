import { readdirSync, readFileSync } from 'node:fs';

import { TEST_REDIS_URL } from '@booking/test-support';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';

import { luaScript } from '../src/lua-scripts.ts';

const FOLDER = new URL('../lua/', import.meta.url);
const scripts = readdirSync(FOLDER)
  .filter((f) => f.endsWith('.lua') && !f.startsWith('_'))
  .map((f) => ({ file: f, name: f.replace(/(-\d+)?\.lua$/, ''), keys: /-(\d+)\.lua$/.exec(f)?.[1] }));

describe('the Lua scripts as files', () => {
  const redis = new Redis(TEST_REDIS_URL);
  afterAll(() => redis.disconnect());

  it('has the scripts the queue package uses', () => {
    expect(scripts.map((s) => s.name)).toEqual(
      expect.arrayContaining([
        'admit',
        'settle',
        'rebuild',
        'take-following',
        'lease-acquire',
        'lease-renew',
        'purge-event',
        'stale-unqueued',
      ]),
    );
  });

  for (const { file, name, keys } of scripts) {
    it(`${file}: names its keys and arguments, uses no key beyond its count, and compiles in Redis`, async () => {
      const script = luaScript(name);
      const own = readFileSync(new URL(file, FOLDER), 'utf8');
      // The header says what the keys and arguments are.
      expect(own.split('\n')[0], 'a header comment').toMatch(/^-- /);
      // Includes are in place: no directive is left, and the included functions are there.
      expect(script.lua).not.toMatch(/^--- @include/m);
      for (const [, included] of own.matchAll(/^--- @include "([\w-]+)"$/gm)) {
        const fn = /local function (\w+)/.exec(readFileSync(new URL(`${included}.lua`, FOLDER), 'utf8'))?.[1];
        expect(script.lua, `${included} included`).toContain(`local function ${fn}(`);
      }
      // The count in the file name bounds the KEYS it reads (a script given too few keys would read nil).
      const used = [...script.lua.matchAll(/KEYS\[(\d+)\]/g)].map((m) => Number(m[1]));
      if (keys === undefined) expect(script.numberOfKeys).toBeUndefined();
      else {
        expect(script.numberOfKeys).toBe(Number(keys));
        expect(Math.max(0, ...used), 'highest KEYS index').toBeLessThanOrEqual(Number(keys));
      }
      // SCRIPT LOAD compiles it: a syntax error fails here, not on a sale's first request.
      const sha = (await redis.script('LOAD', script.lua)) as string;
      expect(sha).toMatch(/^[0-9a-f]{40}$/);
    });
  }
});
