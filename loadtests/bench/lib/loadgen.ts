// The bench's side of the load generator (see loadgen.process.ts): one child process for a whole
// bench run, running plans one at a time.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import type { FromLoadGen, LoadResult, Plan, ToLoadGen } from './loadgen.types.ts';

export type { LoadResult, Plan } from './loadgen.types.ts';

export interface RunHooks {
  /** Runs once the generator has opened its connections and warmed up; the plan starts when it resolves. */
  ready?: () => Promise<void>;
  /** Runs at each mark of the plan ('window-start', 'holding', ...); the generator waits for it. */
  mark?: (name: string) => Promise<void> | void;
}

export class LoadGenerator {
  private constructor(private readonly child: ChildProcess) {}

  /** Sent with every plan that names none: the secret users sign their tokens with (AUTH_MODE=jwt). */
  jwtSecret: string | undefined;

  /** Starts the load-generator process (Node with tsx, like the service). */
  static start(): LoadGenerator {
    const entry = fileURLToPath(new URL('./loadgen.process.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), entry], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new LoadGenerator(child);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Runs one plan; rejects when the generator fails or exits. */
  run(plan: Plan, hooks: RunHooks = {}): Promise<LoadResult> {
    const child = this.child;
    const send = (m: ToLoadGen) => child.send(m);
    return new Promise<LoadResult>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the load generator exited (${code}) during a plan`));
      const onMessage = (m: FromLoadGen) => {
        const done = () => {
          child.off('message', onMessage);
          child.off('exit', onExit);
        };
        const fail = (err: unknown) => {
          done();
          reject(err instanceof Error ? err : new Error(String(err)));
        };
        switch (m.type) {
          case 'ready':
            (hooks.ready ?? (async () => {}))().then(() => send({ type: 'go' }), fail);
            return;
          case 'mark':
            Promise.resolve()
              .then(() => hooks.mark?.(m.name))
              .then(() => send({ type: 'ack' }), fail);
            return;
          case 'result':
            done();
            resolve(m.result);
            return;
          case 'failed':
            fail(new Error(`load generator: ${m.error}`));
            return;
        }
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
      send({ type: 'plan', plan: this.jwtSecret && plan.jwtSecret === undefined ? { ...plan, jwtSecret: this.jwtSecret } : plan });
    });
  }

  /** Ends the generator process. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}
