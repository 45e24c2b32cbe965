// A private, throwaway Redis Cluster for tests: three masters (no replicas) on free loopback ports,
// each a `redis-server --cluster-enabled yes` child process with its files in a temporary directory.
// Nothing here touches any other Redis.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { Redis } from 'ioredis';

export const REDIS_SERVER = '/usr/bin/redis-server';
export const REDIS_CLI = '/usr/bin/redis-cli';

export interface LocalCluster {
  ports: number[];
  /** Seed list for REDIS_URL / RedisSettings.url: `redis://127.0.0.1:P1,redis://127.0.0.1:P2,...`. */
  url: string;
  /** A plain (non-cluster) connection to each node, for inspecting what it holds. */
  node(port: number): Redis;
  /** Last lines of every node's log (for failure messages). */
  logs(): string;
  /** Kills one node at once (SIGKILL), as a crash would. */
  kill(port: number): Promise<void>;
  /** Starts a killed node again (same port, id and slots) and waits for cluster_state:ok everywhere. */
  restart(port: number): Promise<void>;
  /** Kills every node and deletes the directory (idempotent). */
  stop(): Promise<void>;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** `count` ports P, each with P + 10000 (the cluster bus port) free as well. */
async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let attempt = 0; ports.length < count && attempt < 500; attempt++) {
    const p = 20_000 + Math.floor(Math.random() * 20_000);
    if (ports.some((q) => Math.abs(q - p) % 10_000 === 0)) continue;
    if ((await portFree(p)) && (await portFree(p + 10_000))) ports.push(p);
  }
  if (ports.length < count) throw new Error('no free ports for a local Redis Cluster');
  return ports;
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`);
    await sleep(100);
  }
}

// Children still alive when the test process exits (a crash, a timeout) are killed with it.
const alive = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of alive) c.kill('SIGKILL');
});

const running = (child: ChildProcess | undefined) => !!child && child.exitCode === null && child.signalCode === null;

/** Starts `masters` cluster-mode redis-server processes and joins them into one cluster (all 16384 slots). */
export async function startLocalCluster(masters = 3): Promise<LocalCluster> {
  for (const bin of [REDIS_SERVER, REDIS_CLI]) {
    if (!existsSync(bin)) throw new Error(`${bin} must be installed (Debian package redis-server) to run a local Redis Cluster`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'booking-redis-cluster-'));
  const ports = await freePorts(masters);
  const children: ChildProcess[] = [];
  const clients = new Map<number, Redis>();
  let stopped = false;

  const spawnNode = (p: number) => {
    const log = openSync(join(dir, `node-${p}.log`), 'a');
    const child = spawn(
      REDIS_SERVER,
      [
        '--port',
        String(p),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        `nodes-${p}.conf`,
        '--cluster-node-timeout',
        '3000',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
      ],
      { stdio: ['ignore', log, log] },
    );
    closeSync(log);
    children[ports.indexOf(p)] = child;
    alive.add(child);
    child.once('exit', () => alive.delete(child));
  };

  const client = (p: number) => {
    let c = clients.get(p);
    if (!c) {
      c = new Redis({ host: '127.0.0.1', port: p, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => 100 });
      c.on('error', () => {});
      clients.set(p, c);
    }
    return c;
  };

  /** Every node answers, sees every node and every slot assigned, and reports cluster_state:ok. */
  const waitClusterOk = async () => {
    for (const p of ports) {
      const c = client(p);
      await until(`cluster_state:ok on ${p}`, 20_000, async () => {
        if (c.status === 'wait') await c.connect();
        const info = await c.cluster('INFO');
        return info.includes('cluster_state:ok') &&
          info.includes('cluster_slots_assigned:16384') &&
          info.includes(`cluster_known_nodes:${masters}`)
          ? true
          : undefined;
      });
    }
  };

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const c of clients.values()) c.disconnect();
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (!running(child)) return resolve();
            const kill = setTimeout(() => child.kill('SIGKILL'), 3_000);
            child.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };

  const logs = () =>
    ports
      .map((p) => {
        try {
          return `--- node ${p}\n${readFileSync(join(dir, `node-${p}.log`), 'utf8')
            .split('\n')
            .slice(-15)
            .join('\n')}`;
        } catch {
          return `--- node ${p}: no log`;
        }
      })
      .join('\n');

  try {
    for (const p of ports) spawnNode(p);
    for (const p of ports) {
      const c = client(p);
      await until(`redis-server on ${p}`, 10_000, async () => {
        if (c.status === 'wait') await c.connect();
        return (await c.ping()) === 'PONG' ? true : undefined;
      });
    }
    const create = spawnSync(
      REDIS_CLI,
      ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed (${create.status}):\n${create.stdout}\n${create.stderr}`);
    // Every node must see the whole cluster before the service connects.
    await waitClusterOk();
  } catch (err) {
    const message = `${(err as Error).message}\n${logs()}`;
    await stop();
    throw new Error(message, { cause: err });
  }

  return {
    ports,
    url: ports.map((p) => `redis://127.0.0.1:${p}`).join(','),
    node(port) {
      if (!ports.includes(port)) throw new Error(`no node on ${port}`);
      return client(port);
    },
    logs,
    async kill(port) {
      const child = children[ports.indexOf(port)];
      if (!child) throw new Error(`no node on ${port}`);
      if (!running(child)) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
    },
    async restart(port) {
      const child = children[ports.indexOf(port)];
      if (!child) throw new Error(`no node on ${port}`);
      if (running(child)) throw new Error(`node ${port} is still running`);
      // Same directory, so the node comes back with its nodes-P.conf: same id, same slots.
      spawnNode(port);
      await waitClusterOk();
    },
    stop,
  };
}

/** Every key matching `pattern` on one node (SCAN). */
export async function scanNode(node: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}
