/** What the share plan needs to know of an event this worker serves. */
export interface ServedEvent {
  eventId: string;
  /** A job of the event is being decided now. */
  busy: boolean;
  /** When the event last had a job in progress (ms). */
  lastBusyAt: number;
  /** When this worker took the event's lease (ms). */
  acquiredAt: number;
  /** Being let go already. */
  leaving: boolean;
}

export interface ShareInput {
  now: number;
  /** Events with work (the ready set), in the order they became ready. */
  ready: readonly string[];
  /** Live workers (at least 1: this one). */
  live: number;
  /** Most events this worker may serve at once. */
  maxEvents: number;
  served: readonly ServedEvent[];
  /** Events another worker holds, with the time until which asking for their lease is pointless. */
  heldElsewhere: ReadonlyMap<string, number>;
  /** An event whose queue stays empty this long is let go. */
  idleMs: number;
  /** While more events have work than all workers can serve, a busy event is handed on after this long. */
  turnMs: number;
}

export interface SharePlan {
  /** This worker's fair share: ready events / live workers, at least 1, at most `maxEvents`. */
  target: number;
  /** Idle events to let go, unless their queue turns out not to be empty. */
  retire: string[];
  /** Busy events to hand on, their turn over, while other events wait for a worker. */
  turn: string[];
  /** Events beyond the fair share (a worker joined, or demand fell), newest first. */
  share: string[];
  /** Ready events to ask the lease of, as many as there is room for. */
  candidates: string[];
}

/**
 * How many and which events one worker serves: a pure function of what it sees in one round, so
 * the scheduling can be read, and tested, apart from leases, queues and timers.
 */
export function planShare(input: ShareInput): SharePlan {
  const { now, ready, live, maxEvents } = input;
  const target = Math.min(maxEvents, Math.max(1, Math.ceil(ready.length / live)));
  const crowded = ready.length > live * maxEvents;
  const holding = input.served.filter((s) => !s.leaving);
  // Events with work wait for a worker: let an emptied event go at once instead of after idleMs.
  const othersWait = ready.length > live * holding.length;
  const idleMs = othersWait ? Math.min(200, input.idleMs) : input.idleMs;
  const retire: string[] = [];
  const turn = new Set<string>();
  for (const s of holding) {
    if (!s.busy && now - s.lastBusyAt > idleMs) retire.push(s.eventId);
    else if (crowded && now - s.acquiredAt > input.turnMs) turn.add(s.eventId);
  }
  const staying = holding.filter((s) => !turn.has(s.eventId));
  const share = [...staying]
    .sort((a, b) => b.acquiredAt - a.acquiredAt)
    .slice(0, Math.max(0, staying.length - target))
    .map((s) => s.eventId);

  const servedIds = new Set(input.served.map((s) => s.eventId));
  const room = target - (staying.length - share.length);
  const candidates: string[] = [];
  for (const eventId of ready) {
    if (candidates.length >= room) break;
    if (servedIds.has(eventId) || (input.heldElsewhere.get(eventId) ?? 0) > now) continue;
    candidates.push(eventId);
  }
  return { target, retire, turn: [...turn], share, candidates };
}
