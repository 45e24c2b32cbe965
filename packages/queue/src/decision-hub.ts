import { type DecisionMessage, messageEntries } from './jobs.ts';
import { type RedisClient, subscribeForGood } from './redis.ts';

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

/** What this process knows of a request it queued itself, without asking Redis or Postgres. */
export type KnownState = { state: 'pending' } | { state: 'decided'; message: DecisionMessage } | undefined;

/** How long the hub remembers that a request this process queued is pending (longer: ask Redis). */
const EXPECT_MS = 60_000;
/** How long it keeps the decision of such a request for a poll that has not come yet. */
const RECENT_MS = 10_000;

/**
 * One subscription per process to the decisions channel, fanned out to any number of local waiters.
 * A waiter is registered before its caller re-reads the durable record, so no decision is missed in
 * between; after a reconnect every waiter is told to re-check (messages may have been lost).
 */
export class DecisionHub {
  private readonly waiters = new Map<string, Set<Waiter>>();
  /** Requests this process queued (while subscribed without a break) and not seen decided: when to forget them. */
  private readonly expected = new Map<string, number>();
  /** Decisions of requests this process queued that nobody waited for yet, for the client's next poll. */
  private readonly recent = new Map<string, { message: DecisionMessage; until: number }>();
  private sweeper: NodeJS.Timeout | undefined;
  private subscribedOnce = false;
  private closing = false;
  /** Told of every message, before its waiters (e.g. to forget what a message makes out of date). */
  private readonly listeners: Array<(message: DecisionMessage) => void> = [];

  constructor(
    private readonly subscriber: RedisClient,
    private readonly channel: string,
  ) {}

  /** Calls `listener` with every message that arrives, before the waiters it settles. */
  onMessage(listener: (message: DecisionMessage) => void): void {
    this.listeners.push(listener);
  }

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
      for (const listener of this.listeners) listener(message);
      for (const [key, one] of messageEntries(message)) {
        if (this.expected.delete(key) && !this.waiters.has(key)) this.recent.set(key, { message: one, until: Date.now() + RECENT_MS });
        this.settle(key, { kind: 'message', message: one });
      }
    });
    this.subscriber.on('ready', () => {
      // Messages may have been lost while reconnecting: what was known to be pending may not be.
      this.expected.clear();
      if (this.subscribedOnce) this.settleAll({ kind: 'recheck' });
    });
    await subscribeForGood(this.subscriber, this.channel);
    this.subscribedOnce = true;
    this.sweeper = setInterval(() => this.sweep(), 5_000);
    this.sweeper.unref();
  }

  /**
   * Notes a request this process is about to queue: until its decision arrives, it is known to be
   * pending, and its decision is kept for a while for a poll that comes after it. Returns a function
   * that forgets the request (it could not be queued after all).
   */
  expect(requestId: string): () => void {
    if (this.subscribedOnce && !this.closing) this.expected.set(requestId, Date.now() + EXPECT_MS);
    return () => {
      this.expected.delete(requestId);
    };
  }

  /** What this process knows of a request it queued itself; undefined when it has to ask. A kept decision is handed out once. */
  known(requestId: string): KnownState {
    const decided = this.recent.get(requestId);
    if (decided) {
      this.recent.delete(requestId);
      return { state: 'decided', message: decided.message };
    }
    return this.expected.has(requestId) ? { state: 'pending' } : undefined;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, until] of this.expected) if (until <= now) this.expected.delete(id);
    for (const [id, entry] of this.recent) if (entry.until <= now) this.recent.delete(id);
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
    clearInterval(this.sweeper);
    this.expected.clear();
    this.recent.clear();
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
