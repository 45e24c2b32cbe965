import { Redis } from 'ioredis';

import type { RedisClient } from './redis.ts';

interface Call {
  args: (string | number)[];
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

type Commands = Record<string, (...args: (string | number)[]) => unknown>;

/** Calls per write at most: a burst of thousands goes as several writes of bounded size. */
const MAX_PER_WRITE = 1_000;

/**
 * Commands asked for in the same turn of the event loop, written to Redis together (pipelined): the
 * calls of a turn are sent one after the other with the client's socket corked, so that they leave
 * in one write (one syscall) instead of one each. A sale's door runs one gate script per submission;
 * profiled under load (`node --cpu-prof`), those writes took about a tenth of the API's CPU.
 *
 * Each call is an ordinary call of the client (same command object, same `commandTimeout`, same
 * errors, same offline behaviour); only the moment it goes out changes: the calls are gathered until
 * the event loop's check phase (`setImmediate`), so what one pass over the ready sockets brought in
 * goes together, and a call made alone waits for nothing but the end of its turn. Order is the order
 * of the calls. ioredis's own pipelines (and its auto-pipelining) cost more per call than the writes
 * they save: every `pipeline()` copies each script defined on the client (BullMQ's and ours, about
 * sixty) onto itself. A Redis Cluster client has a socket per node and is sent to call by call.
 */
export class TurnPipeline {
  private calls: Array<Call & { command: string }> = [];
  private scheduled = false;

  constructor(private readonly redis: RedisClient) {}

  /** Runs `command` (a method of the client, such as a script defined on it) with the other calls of this turn. */
  send<T>(command: string, args: (string | number)[]): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.calls.push({ command, args, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const calls = this.calls;
    this.calls = [];
    for (let i = 0; i < calls.length; i += MAX_PER_WRITE) this.write(calls.slice(i, i + MAX_PER_WRITE));
  }

  private write(calls: Array<Call & { command: string }>): void {
    const socket = calls.length > 1 && this.redis instanceof Redis ? this.redis.stream : undefined;
    socket?.cork();
    try {
      for (const call of calls) {
        try {
          Promise.resolve((this.redis as unknown as Commands)[call.command]!(...call.args)).then(call.resolve, call.reject);
        } catch (err) {
          // A call that throws before it is sent (no such command) fails its caller, not the process.
          call.reject(err);
        }
      }
    } finally {
      socket?.uncork();
    }
  }
}
