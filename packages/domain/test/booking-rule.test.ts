import { describe, expect, it } from 'vitest';

import { confirmedSeats, decideAll, decideOne, initialRuleState, judge, type RuleEvent, type RuleRequest } from '../src/booking-rule.ts';

let next = 0;
function request(userId: string, quantity: number): RuleRequest {
  next += 1;
  return { requestId: `r${next}`, userId, quantity };
}

/** Status or reason of each decision, in order. */
function outcomes(event: RuleEvent, requests: RuleRequest[]): string[] {
  return decideAll(event, initialRuleState(event), requests).decisions.map((d) => d.reason ?? d.status);
}

describe('the booking rule', () => {
  it('confirms while seats are left, first come first served, then turns requests away as sold out', () => {
    const event = { capacity: 3, maxPerUser: null };
    expect(outcomes(event, [request('a', 1), request('b', 1), request('c', 1), request('d', 1)])).toEqual([
      'confirmed',
      'confirmed',
      'confirmed',
      'SOLD_OUT',
    ]);
  });

  it('turns away a request for more seats than are left as SOLD_OUT, and still confirms a smaller one after it', () => {
    const event = { capacity: 5, maxPerUser: null };
    expect(outcomes(event, [request('a', 3), request('b', 3), request('c', 2), request('d', 1)])).toEqual([
      'confirmed',
      'SOLD_OUT',
      'confirmed',
      'SOLD_OUT',
    ]);
  });

  it('rejects a request that would take the user past the per-user limit, counting the seats already confirmed', () => {
    const event = { capacity: 10, maxPerUser: 3 };
    expect(outcomes(event, [request('a', 2), request('a', 2), request('a', 1), request('a', 1), request('b', 4)])).toEqual([
      'confirmed',
      'USER_LIMIT_EXCEEDED',
      'confirmed',
      'USER_LIMIT_EXCEEDED',
      'USER_LIMIT_EXCEEDED',
    ]);
  });

  it('checks the per-user limit before the seats left', () => {
    const event = { capacity: 2, maxPerUser: 2 };
    expect(outcomes(event, [request('a', 2), request('b', 3), request('b', 1)])).toEqual(['confirmed', 'USER_LIMIT_EXCEEDED', 'SOLD_OUT']);
  });

  it('has no per-user limit when maxPerUser is null', () => {
    const event = { capacity: 10, maxPerUser: null };
    expect(outcomes(event, [request('a', 5), request('a', 5), request('a', 1)])).toEqual(['confirmed', 'confirmed', 'SOLD_OUT']);
  });

  it('changes nothing on a rejection and counts seats on a confirmation', () => {
    const event = { capacity: 4, maxPerUser: 2 };
    const start = initialRuleState(event);
    const confirmed = decideOne(event, start, request('a', 2));
    expect(confirmed.state.available).toBe(2);
    expect(confirmed.state.seatsByUser.get('a')).toBe(2);
    expect(confirmedSeats(event, confirmed.state)).toBe(2);
    const rejected = decideOne(event, confirmed.state, request('a', 1));
    expect(rejected.decision).toMatchObject({ status: 'rejected', reason: 'USER_LIMIT_EXCEEDED', replayed: false });
    expect(rejected.state.available).toBe(2);
    expect(rejected.state.seatsByUser).toEqual(confirmed.state.seatsByUser);
    expect(start.available, 'the earlier state is left as it was').toBe(4);
  });

  it('gives a request decided before its first decision back, as a replay that changes nothing', () => {
    const event = { capacity: 1, maxPerUser: null };
    const first = request('a', 1);
    const { decisions, state } = decideAll(event, initialRuleState(event), [first, request('b', 1), first]);
    expect(decisions.map((d) => [d.requestId, d.status, d.replayed])).toEqual([
      [first.requestId, 'confirmed', false],
      [decisions[1]!.requestId, 'rejected', false],
      [first.requestId, 'confirmed', true],
    ]);
    expect(state.available).toBe(0);
    expect(state.seatsByUser.get('a')).toBe(1);
  });

  it('judges a request without looking at earlier decisions of its id', () => {
    const event = { capacity: 2, maxPerUser: 1 };
    const state = decideOne(event, initialRuleState(event), { requestId: 'x', userId: 'a', quantity: 1 }).state;
    expect(judge(event, state, { userId: 'a', quantity: 1 })).toEqual({ status: 'rejected', reason: 'USER_LIMIT_EXCEEDED' });
    expect(judge(event, state, { userId: 'b', quantity: 1 })).toEqual({ status: 'confirmed', reason: null });
    expect(judge(event, state, { userId: 'b', quantity: 2 })).toEqual({ status: 'rejected', reason: 'USER_LIMIT_EXCEEDED' });
  });
});
