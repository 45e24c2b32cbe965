import { AppError } from '@booking/domain';

/** Seconds a long-poll refused for being over the bound is told to wait. */
export const LONG_POLL_RETRY_AFTER_SECONDS = 1;

/** Bounds on the long-polls one process holds: in all, and per user (when the user is known). */
export interface LongPollBounds {
  perUser: number;
  perProcess: number;
}

/**
 * Counts the long-polls (and `Prefer: wait` submissions) a process holds. A wait takes a slot and
 * gives it back when it ends, whichever way: the counts recover by themselves once waits end.
 */
export class LongPollLimits {
  private total = 0;
  private readonly byUser = new Map<string, number>();

  constructor(private readonly bounds: LongPollBounds) {}

  /** Long-polls held now. */
  get held(): number {
    return this.total;
  }

  /** Takes a slot (for `userId`, if known); returns its release, or undefined when over a bound. */
  tryAcquire(userId?: string): (() => void) | undefined {
    if (this.total >= this.bounds.perProcess) return undefined;
    const mine = userId === undefined ? 0 : (this.byUser.get(userId) ?? 0);
    if (userId !== undefined && mine >= this.bounds.perUser) return undefined;
    this.total++;
    if (userId !== undefined) this.byUser.set(userId, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      if (userId === undefined) return;
      const left = (this.byUser.get(userId) ?? 1) - 1;
      if (left <= 0) this.byUser.delete(userId);
      else this.byUser.set(userId, left);
    };
  }

  /** Like `tryAcquire`, but throws `503 UNAVAILABLE` with `Retry-After` when over a bound. */
  acquire(userId?: string): () => void {
    const release = this.tryAcquire(userId);
    if (release) return release;
    throw new AppError('UNAVAILABLE', 'too many long-polls are waiting; poll again shortly', {
      retryAfterSeconds: LONG_POLL_RETRY_AFTER_SECONDS,
    });
  }
}
