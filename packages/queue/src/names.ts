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

/** Pub/sub channel on which the API announces new events to the workers. */
export function eventsChannel(prefix: string): string {
  return `${prefix}:events`;
}
