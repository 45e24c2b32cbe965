// A redis-server of a test file's own, on a free loopback port, that the file may kill, restart or
// pause; the shared Redis the other test files use is never touched.
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import { type ApiHandle, startApi } from '@booking/api';
import { createTestDatabase, type TestDatabase, testLogger, uniquePrefix } from '@booking/test-support';
import { ADMIN_KEY } from '@booking/test-support/stack';
import { startWorker, type WorkerHandle } from '@booking/worker';

/** Whether a Redis on `port` answers PING. */
function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let data = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      data += chunk.toString();
      if (data.includes('\r\n')) done(data.startsWith('+PONG'));
    });
  });
}

/** A redis-server child process of this test file, without persistence, in a temp dir. */
export class PrivateRedis {
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private output = '';
  private readonly killOnExit = () => this.child?.kill('SIGKILL');

  constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  async start(): Promise<void> {
    if (this.child) throw new Error('private redis already running');
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', this.dir],
      { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    child.stdout?.on('data', (c: Buffer) => (this.output = (this.output + c.toString()).slice(-4000)));
    child.stderr?.on('data', (c: Buffer) => (this.output = (this.output + c.toString()).slice(-4000)));
    let gone = false;
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        gone = true;
        resolve();
      });
      child.once('error', () => {
        gone = true;
        resolve();
      });
    });
    // If the test process dies without running afterAll, take the server with it.
    process.once('exit', this.killOnExit);
    const deadline = Date.now() + 10_000;
    while (!(await pong(this.port))) {
      if (gone || Date.now() > deadline) {
        await this.kill();
        throw new Error(`private redis-server did not start on port ${this.port}:\n${this.output}`);
      }
      await sleep(25);
    }
  }

  /** SIGSTOP / SIGCONT: the server stops answering (and reading) without closing a connection. */
  signal(sig: 'SIGSTOP' | 'SIGCONT'): void {
    this.child?.kill(sig);
  }

  /** SIGKILL: the server vanishes without a word, as in a crash. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGKILL');
    await this.exited;
    process.off('exit', this.killOnExit);
    this.child = undefined;
  }
}

/** A database of its own, a worker and an API on `redis`, under a fresh key prefix. */
export async function startOn(
  redis: PrivateRedis,
): Promise<{ database: TestDatabase; api: ApiHandle; worker: WorkerHandle; baseUrl: string }> {
  const database = await createTestDatabase(10);
  const prefix = uniquePrefix();
  const logger = testLogger();
  const settings = { url: redis.url, cluster: false };
  const worker = await startWorker({
    db: database.db,
    redis: settings,
    prefix,
    logger,
    maxEvents: 100,
    lockMs: 10_000,
    housekeepingMs: 1_000,
    shutdownGraceMs: 5_000,
  });
  const api = await startApi({
    db: database.db,
    redis: settings,
    prefix,
    logger,
    adminKey: ADMIN_KEY,
    port: 0,
    host: '127.0.0.1',
    rateLimit: { points: 1_000_000, windowSeconds: 1 },
  });
  return { database, api, worker, baseUrl: `http://127.0.0.1:${api.port}` };
}
