// Lua script that removes the Redis keys of an event whose sale is over: its admission gate, its lease
// and epoch counter, and its BullMQ queue, in one atomic step that refuses while the queue holds any
// job to do. Idempotency records are left to expire on their own: a repeated key is answered as the
// first time for as long as it is kept, also after the sale.
//
// The script is a file in packages/queue/lua (see lua-scripts.ts).

import { luaScript } from './lua-scripts.ts';

export const PURGE = luaScript('purge-event');
