/** Why the worker turned a request down. */
/** `INVALID_REQUEST`: the database refused to store the request as sent (it could never be decided). */
/** `WITHDRAWN`: taken off the waiting list by its user. */
export type RejectionReason = 'SOLD_OUT' | 'USER_LIMIT_EXCEEDED' | 'SALES_CLOSED' | 'INVALID_REQUEST' | 'WITHDRAWN';

/** `waitlisted`: on the event's waiting list, until promoted (`confirmed`) or taken off (`rejected`). */
export type RequestStatus = 'pending' | 'confirmed' | 'rejected' | 'waitlisted';

/** An event as the API shows it. */
export interface EventView {
  id: string;
  name: string;
  capacity: number;
  available: number;
  maxPerUser: number | null;
  salesStartAt: string | null;
  salesEndAt: string | null;
  createdAt: string;
  /** Seconds a confirmed request's booking is held for checkout (absent: bookings are final at once). */
  holdSeconds?: number;
  /** Most entries the waiting list takes (absent: no waiting list). */
  waitlistLimit?: number;
}

/** A booking request as the API shows it (`GET /v1/booking-requests/:id`). */
export interface BookingRequestView {
  requestId: string;
  eventId: string;
  userId: string;
  quantity: number;
  status: RequestStatus;
  reason?: RejectionReason;
  bookingId?: string;
  acceptedAt: string;
  decidedAt?: string;
  /** While pending: requests ahead of this one in the event's queue. */
  position?: number;
  /** While pending: estimated time until decided, from the event's recent decision rate. */
  estimatedWaitMs?: number;
  /** While waitlisted: its place on the waiting list (1 = next). */
  waitlistPosition?: number;
}

/** A booking as the API shows it. */
export interface BookingView {
  id: string;
  eventId: string;
  userId: string;
  quantity: number;
  status: BookingStatus;
  createdAt: string;
  cancelledAt?: string;
  /** Until when a held booking awaits checkout (events with holdSeconds). */
  expiresAt?: string;
}

/** `held` awaits checkout until `expiresAt`; then `confirmed` or `expired`. */
export type BookingStatus = 'held' | 'confirmed' | 'cancelled' | 'expired';
