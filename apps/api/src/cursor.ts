import type { PagePosition } from '@booking/db';
import { AppError, isOpaqueId } from '@booking/domain';

// PostgreSQL's text of a timestamptz (`2026-12-02 03:55:16.123456+00`), the only form a cursor holds.
const TIMESTAMP_TEXT = /^(\d{4})-(\d{2})-(\d{2}) ([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?[+-]\d{2}(:\d{2}){0,2}$/;

/** Whether `text` is such a timestamp of a day that exists (PostgreSQL would refuse 2030-02-30). */
function isTimestampText(text: string): boolean {
  const match = TIMESTAMP_TEXT.exec(text);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/** The opaque cursor of a page position: base64url of `createdAt|id`. */
export function encodeCursor(position: PagePosition): string {
  return Buffer.from(`${position.createdAt}|${position.id}`, 'utf8').toString('base64url');
}

/** The position a cursor names; `400 VALIDATION_FAILED` for anything that is not one of ours. */
export function decodeCursor(cursor: string): PagePosition {
  const text = /^[A-Za-z0-9_-]+$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const bar = text.lastIndexOf('|');
  const createdAt = text.slice(0, bar);
  const id = text.slice(bar + 1);
  if (bar < 0 || !isTimestampText(createdAt) || !isOpaqueId(id)) {
    throw new AppError('VALIDATION_FAILED', 'the query is invalid', {
      errors: [{ field: 'cursor', message: 'is not a cursor of this list' }],
    });
  }
  return { createdAt, id };
}

/** A page's answer: `nextCursor` is null on the last page. */
export function page<R, V>(
  rows: Array<R & { position: PagePosition }>,
  limit: number,
  view: (row: R) => V,
): { items: V[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items: items.map(view), nextCursor: rows.length > limit && last ? encodeCursor(last.position) : null };
}
