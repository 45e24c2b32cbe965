// Lua scripts that find and forget the gate's records of requests that will never be decided or
// settled: admitted by an API process that died before queueing their job (they never got a 202), or
// decided by a worker whose settlement with the gate failed afterwards. Such records would stay for
// good, their seats promised at the door, turning requests away while seats are left.
//
// The scripts are files in packages/queue/lua (see lua-scripts.ts).

import { luaScript } from './lua-scripts.ts';

export const STALE_UNQUEUED = luaScript('stale-unqueued');
export const FORGET = luaScript('forget');
