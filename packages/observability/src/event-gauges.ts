import { Gauge, type Registry } from 'prom-client';

import { once } from './metrics.ts';

/**
 * Per-event gauges, only for events on sale (`read` bounds how many): their series vanish when the
 * sale ends.
 */
export function eventGauges(
  registry: Registry,
  read: () => Promise<Array<{ eventId: string; queueDepth: number; seatsAvailable: number }>>,
): void {
  // One read serves both gauges of a scrape: the first gauge collected starts it, the second takes it.
  type Rows = Array<{ eventId: string; queueDepth: number; seatsAvailable: number }>;
  let shared: Promise<Rows> | undefined;
  const load = (first: boolean): Promise<Rows> => {
    if (first || !shared) {
      shared = read().catch(() => []);
      return shared;
    }
    const rows = shared;
    shared = undefined;
    return rows;
  };
  const perEvent = (name: string, help: string, first: boolean, pick: (r: { queueDepth: number; seatsAvailable: number }) => number) =>
    once(
      registry,
      name,
      () =>
        new Gauge({
          name,
          help,
          labelNames: ['event_id'] as const,
          registers: [registry],
          async collect() {
            const rows = await load(first);
            this.reset();
            for (const r of rows) this.set({ event_id: r.eventId }, pick(r));
          },
        }),
    );
  perEvent('booking_queue_depth', 'Requests waiting or in progress in the queue of each event on sale', true, (r) => r.queueDepth);
  perEvent('booking_seats_available', 'Seats available for each event on sale', false, (r) => r.seatsAvailable);
}

/** Entries on each event's waiting list (only events with entries, at most as many as `read` returns). */
export function waitlistGauge(registry: Registry, read: () => Promise<Array<{ eventId: string; entries: number }>>): void {
  once(
    registry,
    'booking_waitlist_length',
    () =>
      new Gauge({
        name: 'booking_waitlist_length',
        help: 'Requests on the waiting list of each event with one',
        labelNames: ['event_id'] as const,
        registers: [registry],
        async collect() {
          const rows = await read().catch(() => []);
          this.reset();
          for (const r of rows) this.set({ event_id: r.eventId }, r.entries);
        },
      }),
  );
}

/** Seats of held bookings per event (only events with holds, at most as many as `read` returns). */
export function heldSeatsGauge(registry: Registry, read: () => Promise<Array<{ eventId: string; seatsHeld: number }>>): void {
  once(
    registry,
    'booking_seats_held',
    () =>
      new Gauge({
        name: 'booking_seats_held',
        help: 'Seats of bookings held for checkout, for each event with holds',
        labelNames: ['event_id'] as const,
        registers: [registry],
        async collect() {
          const rows = await read().catch(() => []);
          this.reset();
          for (const r of rows) this.set({ event_id: r.eventId }, r.seatsHeld);
        },
      }),
  );
}
