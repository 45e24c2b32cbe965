import type { ColumnType } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface EventTable {
  id: string;
  name: string;
  capacity: number;
  available: number;
  max_per_user: number | null;
  sales_start_at: Date | null;
  sales_end_at: Date | null;
  created_at: ColumnType<Date, Date | string | undefined, Date | string>;
  lease_epoch: ColumnType<number, number | undefined, number>;
  /** How long a confirmed request's booking is held for checkout (s); null: bookings are final at once. */
  hold_seconds: ColumnType<number | null, number | null | undefined, number | null>;
  /** Seats of held and confirmed bookings, kept by triggers on bookings; never above capacity. */
  seats_taken: ColumnType<number, number | undefined, never>;
  /** Most entries the event's waiting list takes; null: no waiting list. */
  waitlist_limit: ColumnType<number | null, number | null | undefined, number | null>;
}

/** One row per decided booking request; a pending request lives only in its event's queue. */
export interface BookingRequestTable {
  id: string;
  event_id: string;
  user_id: string;
  quantity: number;
  /** `waitlisted` until promoted (confirmed) or taken off the list (rejected). */
  status: 'confirmed' | 'rejected' | 'waitlisted';
  reason: string | null;
  accepted_at: Timestamp;
  decided_at: ColumnType<Date, Date | string | undefined, Date | string>;
  /** SHA-256 (hex) of the request's Idempotency-Key, when it came with one. */
  idempotency_key: ColumnType<string | null, string | null | undefined, string | null>;
  /** When the request joined the waiting list (its place in it). */
  waitlisted_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

export interface BookingTable {
  id: string;
  request_id: string;
  event_id: string;
  user_id: string;
  quantity: number;
  status: BookingStatus;
  created_at: ColumnType<Date, Date | string | undefined, Date | string>;
  cancelled_at: Date | null;
  /** Until when a held booking awaits checkout. */
  expires_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  confirmed_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  expired_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

/** held -> confirmed | expired | cancelled, confirmed -> cancelled (a trigger refuses any other change). */
export type BookingStatus = 'held' | 'confirmed' | 'cancelled' | 'expired';

/** Accepted, not yet decided requests (the write-behind journal of the API). */
export interface AcceptedRequestTable {
  id: string;
  event_id: string;
  user_id: string;
  quantity: number;
  accepted_at: ColumnType<Date, Date | string, Date | string>;
  /** SHA-256 (hex) of the request's Idempotency-Key, when it came with one. */
  idempotency_key: ColumnType<string | null, string | null | undefined, string | null>;
  /** The request asked for the waiting list should the event be sold out. */
  waitlist: ColumnType<boolean, boolean | undefined, boolean>;
}

export interface Database {
  accepted_requests: AcceptedRequestTable;
  events: EventTable;
  booking_requests: BookingRequestTable;
  bookings: BookingTable;
}
