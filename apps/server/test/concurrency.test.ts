import { type Stack, startStack } from '@booking/test-support/stack';
import { afterAll, beforeAll, describe, it } from 'vitest';

import { expectTenSeatsSoldToThousand } from './sellout.ts';

describe.each([
  { gate: true, name: 'with the admission gate' },
  { gate: false, name: 'with every request queued' },
])('1,000 concurrent submissions for 10 seats, $name', ({ gate }) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ admissionGate: gate });
  });
  afterAll(async () => {
    await stack.close();
  });

  it('confirms exactly 10, turns 990 away as SOLD_OUT and leaves 0 available', async () => {
    await expectTenSeatsSoldToThousand(stack, gate);
  });
});
