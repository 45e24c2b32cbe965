import type { RedisClient } from './redis.ts';
import { type DecisionMessage, messageEntries } from './jobs.ts';

/** Why a wait ended without a message: time ran out, or the subscription was interrupted. */
export type WaitOutcome =
  | { kind: 'message'; message: DecisionMessage }
  | { kind: 'timeout' }
  | { kind: 'recheck' }
  /** The process is shutting down: answer with what is known now. */
  | { kind: 'closing' };

interface Waiter {
  resolve: (outcome: WaitOutcome) => void;
  timer: NodeJS.Timeout;
}

/**
 * One subscription per process to the decisions channel, fanned out to any number of local waiters.
 * A waiter is registered before its caller re-reads the durable record, so no decision is missed in
 * between; after a reconnect every waiter is told to re-check (messages may have been lost).
 */
export class DecisionHub {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private subscribedOnce = false;
  private closing = false;

  constructor(
    private readonly subscriber: RedisClient,
    private readonly channel: string,
  ) {}

  /** Subscribes; resolves once the subscription is active. */
  async start(): Promise<void> {
    this.subscriber.on('message', (channel: string, payload: string) => {
      if (channel !== this.channel) return;
      let message: DecisionMessage;
      try {
        message = JSON.parse(payload) as DecisionMessage;
      } catch {
        return;
      }
      for (const [key, one] of messageEntries(message)) this.settle(key, { kind: 'message', message: one });
    });
    this.subscriber.on('ready', () => {
      if (this.subscribedOnce) this.settleAll({ kind: 'recheck' });
    });
    await this.subscriber.subscribe(this.channel);
    this.subscribedOnce = true;
  }

  /** Number of callers waiting right now. */
  get waiting(): number {
    let n = 0;
    for (const set of this.waiters.values()) n += set.size;
    return n;
  }

  /**
   * Registers a waiter for `key` now; the returned promise settles on the first message for it, after
   * `timeoutMs`, on a reconnect, or when `cancel` is called (as a timeout).
   */
  register(key: string, timeoutMs: number): { result: Promise<WaitOutcome>; cancel: () => void } {
    if (this.closing) return { result: Promise.resolve({ kind: 'closing' }), cancel: () => {} };
    let waiter!: Waiter;
    const result = new Promise<WaitOutcome>((resolve) => {
      waiter = {
        resolve,
        timer: setTimeout(() => this.remove(key, waiter, { kind: 'timeout' }), timeoutMs),
      };
    });
    let set = this.waiters.get(key);
    if (!set) {
      set = new Set();
      this.waiters.set(key, set);
    }
    set.add(waiter);
    return { result, cancel: () => this.remove(key, waiter, { kind: 'timeout' }) };
  }

  /** Ends every wait, now and from now on, for shutdown. */
  releaseAll(): void {
    this.closing = true;
    this.settleAll({ kind: 'closing' });
  }

  private remove(key: string, waiter: Waiter, outcome: WaitOutcome): void {
    const set = this.waiters.get(key);
    if (!set?.delete(waiter)) return;
    if (set.size === 0) this.waiters.delete(key);
    clearTimeout(waiter.timer);
    waiter.resolve(outcome);
  }

  private settle(key: string, outcome: WaitOutcome): void {
    const set = this.waiters.get(key);
    if (!set) return;
    this.waiters.delete(key);
    for (const w of set) {
      clearTimeout(w.timer);
      w.resolve(outcome);
    }
  }

  private settleAll(outcome: WaitOutcome): void {
    for (const key of [...this.waiters.keys()]) this.settle(key, outcome);
  }
}
