import { createHash } from 'node:crypto';

/** What is stored under an Idempotency-Key: the body's fingerprint and, once known, the answer. */
export interface IdempotencyRecord {
  /** sha256 of the canonical request body (bodyFingerprint). */
  fingerprint: string;
  state: 'admitting' | 'done';
  status?: number;
  body?: unknown;
}

export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** Fingerprint of a booking body: the same for equal bodies however they were formatted. */
export function bodyFingerprint(body: { userId: string; quantity: number }): string {
  return sha256(JSON.stringify([body.userId, body.quantity]));
}

/**
 * A record as stored in Redis: the fingerprint under the key `h`, as every release has written it
 * (records live a day, so a rolling upgrade reads the ones of the release before).
 */
interface StoredRecord extends Omit<IdempotencyRecord, 'fingerprint'> {
  h: string;
}

export function serializeRecord(record: IdempotencyRecord): string {
  const { fingerprint, ...rest } = record;
  return JSON.stringify({ h: fingerprint, ...rest } satisfies StoredRecord);
}

export function parseRecord(raw: string): IdempotencyRecord | undefined {
  try {
    const { h, ...rest } = JSON.parse(raw) as StoredRecord;
    return typeof h === 'string' ? { fingerprint: h, ...rest } : undefined;
  } catch {
    return undefined;
  }
}
