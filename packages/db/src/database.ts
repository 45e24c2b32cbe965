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
}

/** One row per decided booking request; a pending request lives only in its event's queue. */
export interface BookingRequestTable {
  id: string;
  event_id: string;
  user_id: string;
  quantity: number;
  status: 'confirmed' | 'rejected';
  reason: string | null;
  accepted_at: Timestamp;
  decided_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface BookingTable {
  id: string;
  request_id: string;
  event_id: string;
  user_id: string;
  quantity: number;
  status: 'confirmed' | 'cancelled';
  created_at: ColumnType<Date, Date | string | undefined, Date | string>;
  cancelled_at: Date | null;
}

/** Accepted, not yet decided requests (the write-behind journal of the API). */
export interface AcceptedRequestTable {
  id: string;
  event_id: string;
  user_id: string;
  quantity: number;
  accepted_at: ColumnType<Date, Date | string, Date | string>;
}

export interface Database {
  accepted_requests: AcceptedRequestTable;
  events: EventTable;
  booking_requests: BookingRequestTable;
  bookings: BookingTable;
}
