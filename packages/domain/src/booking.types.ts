/** Why the worker turned a request down. */
export type RejectionReason = 'SOLD_OUT' | 'USER_LIMIT_EXCEEDED' | 'SALES_CLOSED';

export type RequestStatus = 'pending' | 'confirmed' | 'rejected';

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
}

/** A booking as the API shows it. */
export interface BookingView {
  id: string;
  eventId: string;
  userId: string;
  quantity: number;
  status: 'confirmed' | 'cancelled';
  createdAt: string;
  cancelledAt?: string;
}
