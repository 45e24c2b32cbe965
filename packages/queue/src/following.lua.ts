// Lua script that lets the worker deciding an event's job take the booking jobs queued behind it, so
// that one transaction decides them all (group commit across jobs). BullMQ moves one job at a time
// to `active`; its global concurrency of 1 per event queue is what keeps a second worker (one that
// took over a lease while this one was paused) from deciding later requests first. This script keeps
// that guarantee: only the holder of the active job's lock may take more, and the jobs it takes are
// made active under the same lock token, exactly as BullMQ's moveToActive prepares a job (lock,
// processedOn, attempts started, `active` event), so BullMQ completes them, or finds them stalled
// and puts them back, like any other job.
//
// The script is a file in packages/queue/lua (see lua-scripts.ts).

import { luaScript } from './lua-scripts.ts';

export const TAKE_FOLLOWING = luaScript('take-following');
