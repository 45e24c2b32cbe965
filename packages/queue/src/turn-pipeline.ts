import type { Redis } from 'ioredis';

import type { RedisClient } from './redis.ts';

/** Calls per cork at most: a burst of thousands is handed to the socket in parts. */
const MAX_PER_WRITE = 1_000;

/**
 * Commands asked for in the same turn of the event loop, written to Redis together (pipelined): the
 * calls of a turn are made one after the other with the client's socket corked, so that they leave
 * in one write (one syscall) instead of one each. A sale's door runs one gate script per submission;
 * profiled under load (`node --cpu-prof`), those writes took about a tenth of the API's CPU, and
 * Redis, reading one command per read, used about 24 % of a core at the door (10 % with this).
 *
 * Each call is an ordinary call of the client (same command object, same `commandTimeout`, same
 * errors, same offline behaviour); only the moment it goes out changes: the calls are gathered until
 * the event loop's check phase (`setImmediate`), so what one pass over the ready sockets brought in
 * goes together, and a call made alone waits for nothing but the end of its turn (its
 * `commandTimeout` runs from then). Order is the order of the calls. At most MAX_PER_WRITE calls
 * are corked at a time (the socket may still merge parts it could not write at once). ioredis's own
 * pipelines (and its auto-pipelining) cost more per call than the writes they save: every
 * `pipeline()` copies each script defined on the client (BullMQ's and ours, about sixty) onto
 * itself. A Redis Cluster client has a socket per node and is sent to call by call.
 */
export class TurnPipeline {
  /** This turn's calls, each making its command and settling its caller's promise. */
  private calls: Array<() => void> = [];

  constructor(private readonly redis: RedisClient) {}

  /** Makes the call `send` (one command of the client) with the other calls of this turn. */
  send<T>(send: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const call = () => {
        try {
          resolve(send());
        } catch (err) {
          // A call that throws before it is sent fails its caller, not the process.
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      };
      if (this.calls.push(call) === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const calls = this.calls;
    this.calls = [];
    for (let i = 0; i < calls.length; i += MAX_PER_WRITE) this.write(calls.slice(i, i + MAX_PER_WRITE));
  }

  private write(calls: Array<() => void>): void {
    const socket = calls.length > 1 && !this.redis.isCluster ? (this.redis as Redis).stream : undefined;
    socket?.cork();
    try {
      for (const call of calls) call();
    } finally {
      socket?.uncork();
    }
  }
}
