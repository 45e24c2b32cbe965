import { describe, expect, it } from 'vitest';

import { planShare, type ServedEvent, type ShareInput } from '../src/fair-share.ts';

const NOW = 100_000;

function served(eventId: string, over: Partial<ServedEvent> = {}): ServedEvent {
  return { eventId, busy: true, lastBusyAt: NOW, acquiredAt: NOW - 1_000, leaving: false, ...over };
}

function plan(over: Partial<ShareInput>) {
  return planShare({
    now: NOW,
    ready: [],
    live: 1,
    maxEvents: 4,
    served: [],
    heldElsewhere: new Map(),
    idleMs: 2_000,
    turnMs: 5_000,
    ...over,
  });
}

describe('planShare: which events one worker serves', () => {
  it('takes ready events up to its share: ready events over live workers, rounded up, at most maxEvents', () => {
    const ready = ['a', 'b', 'c', 'd', 'e'];
    expect(plan({ ready, live: 2 })).toMatchObject({ target: 3, candidates: ['a', 'b', 'c'] });
    expect(plan({ ready, live: 1, maxEvents: 4 })).toMatchObject({ target: 4, candidates: ['a', 'b', 'c', 'd'] });
    expect(plan({ ready: [], live: 3 }).target, 'at least one').toBe(1);
  });

  it('counts the events it serves against the share and never asks again for one it serves', () => {
    const p = plan({ ready: ['a', 'b', 'c'], live: 1, maxEvents: 2, served: [served('a')] });
    expect(p.candidates).toEqual(['b']);
  });

  it('skips events another worker holds until their lease could have lapsed', () => {
    const heldElsewhere = new Map([
      ['a', NOW + 500],
      ['b', NOW - 1],
    ]);
    expect(plan({ ready: ['a', 'b', 'c'], heldElsewhere }).candidates).toEqual(['b', 'c']);
  });

  it('retires an event idle longer than idleMs, and sooner (200 ms) while other events wait for a worker', () => {
    const quiet = served('q', { busy: false, lastBusyAt: NOW - 500 });
    expect(plan({ ready: [], served: [quiet] }).retire, 'no one waits: idle 500 ms is not enough').toEqual([]);
    expect(plan({ ready: ['x', 'y'], live: 1, maxEvents: 1, served: [quiet] }).retire, 'others wait').toEqual(['q']);
    expect(plan({ served: [served('q', { busy: false, lastBusyAt: NOW - 2_001 })] }).retire).toEqual(['q']);
    expect(plan({ served: [served('q', { busy: true, lastBusyAt: NOW - 9_000 })] }).retire, 'busy is never idle').toEqual([]);
  });

  it('hands a busy event on once its turn is over, only while more events have work than all workers can serve', () => {
    const old = served('old', { acquiredAt: NOW - 6_000 });
    const crowded = { ready: ['old', 'w1', 'w2'], live: 1, maxEvents: 1 };
    expect(plan({ ...crowded, served: [old] }).turn).toEqual(['old']);
    expect(plan({ ready: ['old'], live: 1, maxEvents: 1, served: [old] }).turn, 'nobody waits').toEqual([]);
    expect(plan({ ...crowded, served: [served('young', { acquiredAt: NOW - 1_000 })] }).turn, 'turn not over').toEqual([]);
  });

  it('gives up the newest events beyond its share when a worker joins', () => {
    const mine = [served('a', { acquiredAt: 1 }), served('b', { acquiredAt: 3 }), served('c', { acquiredAt: 2 })];
    const p = plan({ ready: ['a', 'b', 'c'], live: 3, served: mine });
    expect(p.target).toBe(1);
    expect(p.share).toEqual(['b', 'c']);
    expect(p.candidates).toEqual([]);
  });

  it('leaves events being let go out of the count, so their room goes to ready events', () => {
    const p = plan({ ready: ['a', 'b'], live: 1, maxEvents: 2, served: [served('gone', { leaving: true })] });
    expect(p.candidates).toEqual(['a', 'b']);
    expect([...p.retire, ...p.turn, ...p.share]).toEqual([]);
  });
});
