// Lua scripts of the admission gate. Each runs atomically in Redis, so the gate's counters and the
// promises it made stay consistent with one another whatever the interleaving of API replicas.
//
// The gate simulates the worker's rules in admission order: a request is promised seats (a "hold")
// only when the worker is certain to confirm it, so `avail` never drops below the seats that will
// really be left, and a 409 SOLD_OUT from the gate is never false. Requests it cannot promise
// anything to (the gate is missing, or the per-user limit would refuse them) are queued without a
// hold and left to the worker.
//
// The scripts are files in packages/queue/lua (see lua-scripts.ts); each file's header says what its
// KEYS and ARGV are.

import { luaScript } from './lua-scripts.ts';

export const ADMIT = luaScript('admit');
export const RELEASE = luaScript('release');
export const SETTLE = luaScript('settle');
export const RETURN_SEATS = luaScript('return-seats');
export const REBUILD = luaScript('rebuild');
export const PENDING = luaScript('pending');
export const QUEUED = luaScript('queued');
