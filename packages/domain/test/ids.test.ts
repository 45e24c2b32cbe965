import { describe, expect, it } from 'vitest';

import { eventIdOfRequest, isOpaqueId, newBookingId, newEventId, newRequestId } from '../src/ids.ts';

describe('ids', () => {
  it('are 22 base64url characters (128 bits), and never repeat across refills of the random pool', () => {
    // 3,000 ids use the 4 KiB pool about twelve times over.
    const ids = Array.from({ length: 3_000 }, (_, i) => (i % 2 === 0 ? newEventId() : newBookingId()));
    for (const id of ids) expect(isOpaqueId(id), id).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('carry the event id in a request id', () => {
    const eventId = newEventId();
    const requestId = newRequestId(eventId);
    expect(eventIdOfRequest(requestId)).toBe(eventId);
    expect(eventIdOfRequest(`${eventId}.not-an-id`)).toBeUndefined();
    expect(eventIdOfRequest('no-dot')).toBeUndefined();
  });
});
