import { readdirSync, readFileSync } from 'node:fs';

// The Lua scripts live as files in packages/queue/lua, where an editor, a linter or redis-cli
// (`redis-cli --eval`) can read them. As BullMQ names its scripts (addStandardJob-8.lua), a script's
// file name ends in its number of keys: `admit-8.lua` takes 8 keys, `purge-event.lua` (no number)
// takes however many its caller passes. Files starting with `_` hold functions other scripts include
// with a line `--- @include "_name"`. Each file's header says what its KEYS and ARGV are.

const FOLDER = new URL('../lua/', import.meta.url);
const FILES = readdirSync(FOLDER).filter((f) => f.endsWith('.lua'));
const INCLUDE = /^--- @include "([\w-]+)"$/gm;

/** A script as ioredis's defineCommand takes it. */
export interface LuaScript {
  lua: string;
  /** Absent: the caller passes the number of keys first. */
  numberOfKeys?: number;
}

function source(file: string, seen: readonly string[]): string {
  if (seen.includes(file)) throw new Error(`Lua include cycle: ${[...seen, file].join(' -> ')}`);
  const text = readFileSync(new URL(file, FOLDER), 'utf8');
  return text.replace(INCLUDE, (_line, name: string) => {
    if (!FILES.includes(`${name}.lua`)) throw new Error(`${file} includes ${name}.lua, which does not exist`);
    return source(`${name}.lua`, [...seen, file]);
  });
}

/** The script `name` (its file `name-N.lua` or `name.lua`), with its includes in place. */
export function luaScript(name: string): LuaScript {
  const matches = FILES.filter((f) => f === `${name}.lua` || new RegExp(`^${name}-(\\d+)\\.lua$`).test(f));
  if (matches.length !== 1) throw new Error(`expected one Lua file for ${name}, found ${matches.length ? matches.join(', ') : 'none'}`);
  const file = matches[0]!;
  const keys = /-(\d+)\.lua$/.exec(file)?.[1];
  const lua = source(file, []);
  return keys === undefined ? { lua } : { lua, numberOfKeys: Number(keys) };
}

/** Defines each script on `redis` as a command (once per connection). */
export function defineScripts(
  redis: { defineCommand(name: string, definition: LuaScript): void },
  scripts: Record<string, LuaScript>,
): void {
  for (const [name, script] of Object.entries(scripts)) {
    if (!(name in redis)) redis.defineCommand(name, script);
  }
}
