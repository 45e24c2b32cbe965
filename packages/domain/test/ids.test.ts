import { describe, expect, it } from 'vitest';

import { eventIdOfRequest, isOpaqueId, newBookingId, newEventId, newRequestId, orderedPart } from '../src/ids.ts';

describe('ids', () => {
  it('are 22 base64url characters (event ids 128 random bits, booking ids a time and 72), and never repeat across refills of the random pool', () => {
    // 3,000 ids use the 4 KiB pool about twelve times over.
    const ids = Array.from({ length: 3_000 }, (_, i) => (i % 2 === 0 ? newEventId() : newBookingId()));
    for (const id of ids) expect(isOpaqueId(id), id).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('of requests and bookings sort in the order they were minted, by the millisecond', () => {
    const eventId = newEventId();
    const minted: string[] = [];
    const until = Date.now() + 30;
    // Across at least 30 milliseconds (each id's first 10 characters are its time).
    while (Date.now() < until || minted.length < 100) minted.push(newRequestId(eventId), newBookingId());
    const times = minted.map((id) => id.slice(id.indexOf('.') + 1, id.indexOf('.') + 11));
    expect(new Set(times).size).toBeGreaterThan(1);
    const sorted = [...times].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(sorted).toEqual(times);
    for (const id of minted) expect(isOpaqueId(id.slice(id.indexOf('.') + 1)), id).toBe(true);
    expect(new Set(minted).size).toBe(minted.length);
  });

  it('have a time part that sorts, byte for byte, as the time does', () => {
    const times = [0, 1, 9, 10, 35, 36, 37, 63, 64, 65, 4_095, 4_096, 1_800_000_000_000, 1_800_000_000_001, 2 ** 48 - 1, 36 ** 10 - 1];
    const parts = times.map((t) => orderedPart(t).slice(0, 10));
    const sorted = [...parts].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(sorted).toEqual(parts);
    expect(new Set(parts).size).toBe(parts.length);
    // Also as a database with an English locale's collation would sort them (case folded, '-' and '_' ignored at first).
    expect([...parts].sort((a, b) => a.localeCompare(b, 'en'))).toEqual(parts);
    expect(() => orderedPart(-1)).toThrow(RangeError);
    expect(() => orderedPart(36 ** 10)).toThrow(RangeError);
  });

  it('carry the event id in a request id', () => {
    const eventId = newEventId();
    const requestId = newRequestId(eventId);
    expect(eventIdOfRequest(requestId)).toBe(eventId);
    expect(eventIdOfRequest(`${eventId}.not-an-id`)).toBeUndefined();
    expect(eventIdOfRequest('no-dot')).toBeUndefined();
  });
});
