// The service on a real Redis Cluster: a private 3-master cluster on loopback ports (never the shared
// Redis), the API and a worker connected to it with REDIS_CLUSTER semantics (seed list, ioredis
// Cluster), and the core sell-out test run against it.
import { serverEnv } from '@booking/config';
import { awaitDecision, createEvent, expectDecisionsJustified, expectEventInvariants, request, submit } from '@booking/test-support';
import { type Stack, startStack } from '@booking/test-support/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type LocalCluster, scanNode, startLocalCluster } from './redis-cluster.ts';
import { expectTenSeatsSoldToThousand } from './sellout.ts';

/** Slot -> node port, from CLUSTER SLOTS of any node. */
async function slotOwners(cluster: LocalCluster): Promise<(slot: number) => number> {
  const ranges = await cluster.node(cluster.ports[0]!).cluster('SLOTS');
  return (slot) => {
    const range = ranges.find(([from, to]) => slot >= from && slot <= to);
    const master = range?.[2];
    if (!master) throw new Error(`slot ${slot} is not assigned`);
    return Number(master[1]);
  };
}

/** The node ports holding keys that match `pattern`, with the keys each holds. */
async function whereKeys(cluster: LocalCluster, pattern: string): Promise<Map<number, string[]>> {
  const found = new Map<number, string[]>();
  for (const p of cluster.ports) {
    const keys = await scanNode(cluster.node(p), pattern);
    if (keys.length > 0) found.set(p, keys);
  }
  return found;
}

describe('on a 3-master Redis Cluster', () => {
  let cluster: LocalCluster | undefined;
  const stacks: Stack[] = [];

  const clusterStack = async (admissionGate: boolean) => {
    if (!cluster) throw new Error('the cluster did not start');
    const stack = await startStack({ admissionGate, redis: { url: cluster.url, cluster: true } });
    stacks.push(stack);
    return stack;
  };

  beforeAll(async () => {
    cluster = await startLocalCluster(3);
  }, 60_000);

  afterAll(async () => {
    // Close the service first (its connections would otherwise keep reconnecting), then kill the nodes.
    try {
      await Promise.allSettled(stacks.map((s) => s.close()));
    } finally {
      await cluster?.stop();
    }
  }, 120_000);

  it('is a healthy cluster of three masters with every slot assigned', async () => {
    const c = cluster!;
    expect(c.ports).toHaveLength(3);
    const info = await c.node(c.ports[0]!).cluster('INFO');
    expect(info).toContain('cluster_state:ok');
    expect(info).toContain('cluster_size:3');
    expect(info).toContain('cluster_slots_assigned:16384');
    const owners = await slotOwners(c);
    expect(new Set([0, 5000, 10000, 16383].map(owners)).size).toBe(3);
    // The seed list is what REDIS_URL holds with REDIS_CLUSTER=true.
    const env = serverEnv.parse({ REDIS_URL: c.url, REDIS_CLUSTER: 'true' });
    expect({ url: env.REDIS_URL, cluster: env.REDIS_CLUSTER }).toEqual({ url: c.url, cluster: true });
  });

  describe.each([
    { gate: true, name: 'with the admission gate' },
    { gate: false, name: 'with every request queued' },
  ])('1,000 concurrent submissions for 10 seats, $name', ({ gate }) => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await clusterStack(gate);
    });

    it('confirms exactly 10, turns 990 away as SOLD_OUT and leaves 0 available', async () => {
      const { event, accepted, confirmed, rejectedLater, rejectedAtOnce, answeredMs, decidedMs } = await expectTenSeatsSoldToThousand(
        stack,
        gate,
      );
      // The figures of this run, for the record.
      console.info(
        `[redis-cluster] gate=${gate}: 1,000 submissions answered in ${answeredMs.toFixed(0)} ms, ` +
          `all decided in ${decidedMs.toFixed(0)} ms; ${accepted.length} queued, ${rejectedAtOnce.length} SOLD_OUT at the door, ` +
          `${confirmed.length} confirmed, ${rejectedLater.length} SOLD_OUT by the worker`,
      );
      expect(await expectDecisionsJustified(stack.db, event.id)).toBe(0);

      // Every key of the event (queue, jobs, gate) is in the event's slot, on one node.
      const where = await whereKeys(cluster!, `${stack.prefix}:{${event.id}}:*`);
      expect([...where.keys()]).toHaveLength(1);
      const keys = [...where.values()][0]!;
      expect(keys.length).toBeGreaterThan(5);
      const node = cluster!.node([...where.keys()][0]!);
      const slots = new Set(await Promise.all(keys.map((k) => node.cluster('KEYSLOT', k))));
      expect(slots.size).toBe(1);
      // ...and nothing else of the event lives outside its hash tag.
      const stray = [...(await whereKeys(cluster!, `${stack.prefix}:*${event.id}*`)).values()]
        .flat()
        .filter((k) => !k.startsWith(`${stack.prefix}:{${event.id}}:`));
      expect(stray).toEqual([]);
    });
  });

  it("keeps an event's queue, gate and idempotency records in one slot, on the node that owns it", async () => {
    const stack = stacks[0] ?? (await clusterStack(true));
    const event = await createEvent(stack.baseUrl, { capacity: 5, maxPerUser: 2 });
    const key = { 'Idempotency-Key': `cluster-${event.id}` };
    const first = await submit(stack.baseUrl, event.id, 'idem-user', 1, key);
    const again = await submit(stack.baseUrl, event.id, 'idem-user', 1, key);
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.body.requestId).toBe(first.body.requestId);
    const decision = await awaitDecision(stack.baseUrl, first.body.requestId);
    expect(decision.status).toBe('confirmed');

    const where = await whereKeys(cluster!, `${stack.prefix}:{${event.id}}:*`);
    expect(where.size).toBe(1);
    const [port, keys] = [...where.entries()][0]!;
    const suffixes = keys.map((k) => k.slice(`${stack.prefix}:{${event.id}}:`.length));
    // The gate, the queue's own keys and the idempotency record are all there (the job itself may
    // already be removed on completion).
    expect(suffixes).toEqual(expect.arrayContaining(['gate', 'seq', 'meta', 'id', 'events']));
    expect(suffixes.some((s) => s.startsWith('idem:'))).toBe(true);
    const node = cluster!.node(port);
    const slots = new Set(await Promise.all(keys.map((k) => node.cluster('KEYSLOT', k))));
    expect(slots.size).toBe(1);
    const owner = (await slotOwners(cluster!))(Number([...slots][0]));
    expect(owner).toBe(port);
  });

  it('spreads events across the nodes, and serves each of them', async () => {
    const stack = stacks[0] ?? (await clusterStack(true));
    const events = await Promise.all(
      Array.from({ length: 12 }, (_, i) => createEvent(stack.baseUrl, { name: `spread ${i}`, capacity: 3 })),
    );
    const answers = await Promise.all(events.map((e) => submit(stack.baseUrl, e.id, 'spread-user', 1)));
    expect(answers.map((a) => a.status)).toEqual(events.map(() => 202));
    const decisions = await Promise.all(answers.map((a) => awaitDecision(stack.baseUrl, a.body.requestId)));
    expect(decisions.map((d) => d.status)).toEqual(events.map(() => 'confirmed'));

    const owners = await slotOwners(cluster!);
    const nodeOf = new Map<string, number>();
    for (const e of events) {
      const where = await whereKeys(cluster!, `${stack.prefix}:{${e.id}}:*`);
      expect([...where.keys()], `keys of event ${e.id}`).toHaveLength(1);
      const [port, keys] = [...where.entries()][0]!;
      // The queue's keys are there, on the node owning the event's slot.
      expect(keys).toEqual(expect.arrayContaining([`${stack.prefix}:{${e.id}}:meta`, `${stack.prefix}:{${e.id}}:id`]));
      const slot = Number(await cluster!.node(port).cluster('KEYSLOT', `${stack.prefix}:{${e.id}}:meta`));
      expect(owners(slot)).toBe(port);
      nodeOf.set(e.id, port);
    }
    const perNode = new Map<number, number>();
    for (const p of nodeOf.values()) perNode.set(p, (perNode.get(p) ?? 0) + 1);
    console.info(`[redis-cluster] 12 events per node: ${JSON.stringify(Object.fromEntries(perNode))}`);
    expect(perNode.size).toBeGreaterThanOrEqual(2);
    for (const e of events) await expectEventInvariants(stack.db, e.id);
  });

  it("rebuilds a lost gate on its node (the rebuild script reads the queue's jobs in the event's slot)", async () => {
    const stack = stacks[0] ?? (await clusterStack(true));
    const event = await createEvent(stack.baseUrl, { capacity: 5 });
    const first = await Promise.all([1, 2, 3].map((i) => submit(stack.baseUrl, event.id, `lost-${i}`, 1)));
    expect(first.map((a) => a.status)).toEqual([202, 202, 202]);
    for (const a of first) expect((await awaitDecision(stack.baseUrl, a.body.requestId)).status).toBe('confirmed');

    const gateKey = `${stack.prefix}:{${event.id}}:gate`;
    const node = cluster!.node((await slotOwners(cluster!))(Number(await cluster!.node(cluster!.ports[0]!).cluster('KEYSLOT', gateKey))));
    expect(await node.hget(gateKey, 'avail')).toBe('2');
    expect(await node.del(gateKey)).toBe(1);

    // Admitted without a check while the gate is missing; the worker decides it and rebuilds the gate.
    const ungated = await submit(stack.baseUrl, event.id, 'lost-4', 1);
    expect(ungated.status).toBe(202);
    expect((await awaitDecision(stack.baseUrl, ungated.body.requestId)).status).toBe('confirmed');
    const deadline = Date.now() + 10_000;
    while ((await node.hget(gateKey, 'avail')) !== '1' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await node.hget(gateKey, 'avail')).toBe('1');

    const last = await Promise.all([5, 6].map((i) => submit(stack.baseUrl, event.id, `lost-${i}`, 1)));
    expect(last.map((a) => a.status).sort()).toEqual([202, 409]);
    const metrics = await fetch(`${stack.baseUrl}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/^admission_gate_rebuilds_total\{reason="missing"\} [1-9]/m);
    await awaitDecision(stack.baseUrl, last.find((a) => a.status === 202)!.body.requestId);
    await expectEventInvariants(stack.db, event.id);
    expect((await request(stack.baseUrl, 'GET', `/v1/events/${event.id}`)).body.available).toBe(0);
  });

  it('reports ready through the cluster', async () => {
    const stack = stacks[0] ?? (await clusterStack(true));
    const res = await fetch(`${stack.baseUrl}/readyz`);
    expect(res.status).toBe(200);
  });

  // Last: takes a master down (no replica can take over), then brings it back without its data.
  it('answers 503 with Retry-After, without hanging, while a master is down, and recovers when it is back', async () => {
    const stack = stacks[0] ?? (await clusterStack(true));
    const owners = await slotOwners(cluster!);
    const event = await createEvent(stack.baseUrl, { name: 'outage', capacity: 3 });
    const victim = owners(Number(await cluster!.node(cluster!.ports[0]!).cluster('KEYSLOT', `${stack.prefix}:{${event.id}}:gate`)));
    const before = await submit(stack.baseUrl, event.id, 'outage-0', 1);
    expect(before.status).toBe(202);
    expect((await awaitDecision(stack.baseUrl, before.body.requestId)).status).toBe('confirmed');

    await cluster!.kill(victim);
    const started = performance.now();
    const res = await submit(stack.baseUrl, event.id, 'outage-1', 1);
    const tookMs = performance.now() - started;
    console.info(`[redis-cluster] submission to an event on the dead master: ${res.status} in ${tookMs.toFixed(0)} ms`);
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('UNAVAILABLE');
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(tookMs).toBeLessThan(5_000);

    // Back, empty (the nodes run without persistence): the service finds its way again by itself.
    await cluster!.restart(victim);
    const back = performance.now();
    let after = res;
    while (after.status !== 202 && performance.now() - back < 30_000) {
      await new Promise((r) => setTimeout(r, 250));
      after = await submit(stack.baseUrl, event.id, 'outage-2', 1);
      expect([202, 503]).toContain(after.status);
    }
    console.info(`[redis-cluster] accepting again ${(performance.now() - back).toFixed(0)} ms after the master came back`);
    expect(after.status).toBe(202);
    expect((await awaitDecision(stack.baseUrl, after.body.requestId)).status).toBe('confirmed');
    expect((await request(stack.baseUrl, 'GET', `/v1/events/${event.id}`)).body.available).toBe(1);
    await expectEventInvariants(stack.db, event.id);
    expect((await fetch(`${stack.baseUrl}/readyz`)).status).toBe(200);
  });
});
