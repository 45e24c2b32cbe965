// Keep-alive connections of the load generator (one undici Client each).
import { Client } from 'undici';

export function newClient(origin: string): Client {
  return new Client(origin, {
    pipelining: 1,
    keepAliveTimeout: 120_000,
    keepAliveMaxTimeout: 120_000,
    connect: { timeout: 15_000 },
  });
}

/** A fixed set of keep-alive connections (one undici Client each), handed out one request at a time. */
export class Connections {
  private readonly all: Client[];
  private readonly idle: Client[];
  private readonly waiting: Array<(c: Client) => void> = [];

  constructor(origin: string, n: number) {
    this.all = Array.from({ length: n }, () => newClient(origin));
    this.idle = [...this.all];
  }

  /** Opens every connection (a GET /healthz on each), `concurrency` connects at a time. */
  async open(concurrency = 200): Promise<void> {
    let i = 0;
    const opener = async () => {
      while (i < this.all.length) {
        const c = this.all[i++]!;
        const res = await c.request({ path: '/healthz', method: 'GET', headersTimeout: 30_000 });
        await res.body.dump();
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, this.all.length) }, opener));
  }

  acquire(): Promise<Client> {
    const c = this.idle.pop();
    if (c) return Promise.resolve(c);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(c: Client): void {
    const w = this.waiting.shift();
    if (w) w(c);
    else this.idle.push(c);
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.all.map((c) => c.destroy()));
  }
}
