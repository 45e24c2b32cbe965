import { createHash } from 'node:crypto';

/** What is stored under an Idempotency-Key: the body's fingerprint and, once known, the answer. */
export interface IdempotencyRecord {
  /** sha256 of the canonical request body. */
  h: string;
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

export function parseRecord(raw: string): IdempotencyRecord | undefined {
  try {
    const record = JSON.parse(raw) as IdempotencyRecord;
    return typeof record.h === 'string' ? record : undefined;
  } catch {
    return undefined;
  }
}
