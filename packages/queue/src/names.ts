/**
 * The BullMQ queue of an event. The braces are a Redis Cluster hash tag: every key of the queue
 * (`<prefix>:{<eventId>}:wait`, `...:active`, ...) hashes to the event's slot, so the queue's Lua
 * scripts work on a cluster and different events spread across nodes.
 */
export function eventQueueName(eventId: string): string {
  return `{${eventId}}`;
}

/** Pub/sub channel on which workers publish every decision. */
export function decisionsChannel(prefix: string): string {
  return `${prefix}:decisions`;
}

/** Pub/sub channel on which the API tells workers that an event has work (it just became ready). */
export function eventsChannel(prefix: string): string {
  return `${prefix}:events`;
}

/** Keys of an event's admission gate; they share the event queue's hash slot. */
export interface GateKeys {
  /** Hash: `avail` (seats not yet promised to a queued request), `ms` (recent time per decision). */
  gate: string;
  /** Hash: request id -> `quantity|userId` for each queued request the gate promised seats to. */
  held: string;
  /** Hash: user id -> seats confirmed or promised (only for events with a per-user limit). */
  users: string;
  /** Set: bookings whose seats have been given back to the gate. */
  returned: string;
  /** Hash: request id -> `seq|quantity|userId|acceptedAt` for each queued, undecided request. */
  pending: string;
  /** Hash: `admitted` (last admission number), `decided` (highest admission number decided). */
  seq: string;
  /** The event queue's BullMQ lists and job key prefix. */
  wait: string;
  active: string;
  jobPrefix: string;
}

export function gateKeys(prefix: string, eventId: string): GateKeys {
  const base = `${prefix}:${eventQueueName(eventId)}:`;
  return {
    gate: `${base}gate`,
    held: `${base}held`,
    users: `${base}users`,
    returned: `${base}returned`,
    pending: `${base}pending`,
    seq: `${base}seq`,
    wait: `${base}wait`,
    active: `${base}active`,
    jobPrefix: base,
  };
}

/** Key of a stored idempotent answer: per event and key (hashed). */
export function idempotencyKeyName(prefix: string, eventId: string, keyHash: string): string {
  return `${prefix}:${eventQueueName(eventId)}:idem:${keyHash}`;
}

/** A user's rate-limit counter for one event (in the event's hash slot, so admission can count it). */
export function rateKeyName(prefix: string, eventId: string, userId: string): string {
  return `${prefix}:${eventQueueName(eventId)}:rate:${userId}`;
}

/** A client address's rate-limit counter for one event (in the event's hash slot, like the user's). */
export function addressRateKeyName(prefix: string, eventId: string, address: string): string {
  return `${prefix}:${eventQueueName(eventId)}:addr-rate:${address}`;
}

/** Sorted set of events whose queue has work, scored by when they became ready (oldest first). */
export function readyEventsKey(prefix: string): string {
  return `${prefix}:ready`;
}

/** Sorted set of live worker processes, scored by their last heartbeat (ms). */
export function workersKey(prefix: string): string {
  return `${prefix}:workers`;
}

/** A worker's lease on an event (`workerId|epoch`) and the event's lease counter (the fencing epoch). */
export function leaseKeys(prefix: string, eventId: string): { lease: string; epoch: string } {
  const base = `${prefix}:${eventQueueName(eventId)}:`;
  return { lease: `${base}lease`, epoch: `${base}epoch` };
}

/** Lock held by the one worker that runs the periodic housekeeping. */
export function janitorKey(prefix: string): string {
  return `${prefix}:janitor`;
}
