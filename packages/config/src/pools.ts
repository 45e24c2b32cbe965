/**
 * How a process that runs both roles (`npm start`) shares its DATABASE_POOL_SIZE connections: a pool
 * for each role, so that a sale's long-poll reads never queue ahead of the worker's decisions (with
 * one pool they did, and starved them). Half each (the worker the larger half), at least one each;
 * DATABASE_POOL_SIZE stays the connections of the whole process.
 */
export function rolePoolSizes(total: number): { api: number; worker: number } {
  const worker = Math.max(1, Math.ceil(total / 2));
  return { api: Math.max(1, total - worker), worker };
}
