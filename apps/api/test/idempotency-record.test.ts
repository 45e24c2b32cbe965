import { describe, expect, it } from 'vitest';

import { bodyFingerprint, parseRecord, serializeRecord } from '../src/idempotency.ts';

describe('idempotency records', () => {
  const fingerprint = bodyFingerprint({ userId: 'alice', quantity: 2 });

  it('come back as they were stored', () => {
    const record = { fingerprint, state: 'done' as const, status: 202, body: { requestId: 'r1' } };
    expect(parseRecord(serializeRecord(record))).toEqual(record);
  });

  it('are stored with the fingerprint under `h`, as earlier releases read and wrote them', () => {
    expect(JSON.parse(serializeRecord({ fingerprint, state: 'admitting' }))).toEqual({ h: fingerprint, state: 'admitting' });
    expect(parseRecord(JSON.stringify({ h: fingerprint, state: 'done', status: 409 }))).toEqual({
      fingerprint,
      state: 'done',
      status: 409,
    });
  });

  it('are not read from text that is not one', () => {
    expect(parseRecord('not json')).toBeUndefined();
    expect(parseRecord(JSON.stringify({ state: 'done' }))).toBeUndefined();
  });
});
