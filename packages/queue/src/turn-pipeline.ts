import type { RedisClient } from './redis.ts';

interface Call {
  args: (string | number)[];
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

type Commands = Record<string, (...args: (string | number)[]) => unknown>;

/** Calls per write at most: a burst of thousands goes as several pipelines of bounded size. */
const MAX_PER_WRITE = 1_000;

/**
 * Commands asked for in the same turn of the event loop, written to Redis together: the calls of one
 * group (an event, whose keys share a hash slot) go as one ioredis pipeline, that is one socket write
 * instead of one per call. A sale's door runs one gate script per submission; profiled under load
 * (`node --cpu-prof`), those writes, one syscall each, took about a tenth of the API's CPU.
 *
 * The calls are gathered until the event loop's check phase (`setImmediate`): what one pass over the
 * ready sockets brought in goes together, and a call made alone waits for nothing but the end of its
 * turn. Each call keeps its own result and its own error; the client's `commandTimeout` applies to
 * each command of a pipeline as to a command sent alone (ioredis sets it in `sendCommand`, which
 * sends every command of a pipeline). A call alone in its turn is sent as it is, not as a pipeline.
 * Order within a group is the order of the calls; at most MAX_PER_WRITE calls go in one write.
 */
export class TurnPipeline {
  private readonly groups = new Map<string, { command: string; calls: Call[] }>();
  private scheduled = false;

  constructor(private readonly redis: RedisClient) {}

  /** Runs `command` (a method of the client, such as a script defined on it) in `group`'s pipeline of this turn. */
  send<T>(group: string, command: string, args: (string | number)[]): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const key = `${command}\u0000${group}`;
      let entry = this.groups.get(key);
      if (!entry) {
        entry = { command, calls: [] };
        this.groups.set(key, entry);
      }
      entry.calls.push({ args, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const entries = [...this.groups.values()];
    this.groups.clear();
    for (const { command, calls } of entries) {
      for (let i = 0; i < calls.length; i += MAX_PER_WRITE) this.write(command, calls.slice(i, i + MAX_PER_WRITE));
    }
  }

  private write(command: string, calls: Call[]): void {
    try {
      if (calls.length === 1) {
        const [call] = calls as [Call];
        Promise.resolve((this.redis as unknown as Commands)[command]!(...call.args)).then(call.resolve, call.reject);
        return;
      }
      const pipeline = this.redis.pipeline();
      const target = pipeline as unknown as Commands;
      for (const call of calls) target[command]!(...call.args);
      pipeline.exec().then(
        (results) => {
          calls.forEach((call, i) => {
            const [err, value] = results?.[i] ?? [new Error('Redis pipeline gave no reply'), undefined];
            if (err) call.reject(err);
            else call.resolve(value);
          });
        },
        (err: unknown) => calls.forEach((call) => call.reject(err)),
      );
    } catch (err) {
      // A call that throws before it is sent (no such command) fails its callers, not the process.
      calls.forEach((call) => call.reject(err));
    }
  }
}
