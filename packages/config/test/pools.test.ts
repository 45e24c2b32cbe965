import { describe, expect, it } from 'vitest';

import { rolePoolSizes } from '../src/index.ts';

describe('rolePoolSizes: one process, both roles', () => {
  it.each([
    [10, { api: 5, worker: 5 }],
    [7, { api: 3, worker: 4 }],
    [2, { api: 1, worker: 1 }],
    [500, { api: 250, worker: 250 }],
  ])('shares %i connections between the roles', (total, sizes) => {
    expect(rolePoolSizes(total)).toEqual(sizes);
    expect(sizes.api + sizes.worker).toBe(total);
  });

  it('gives each role a connection even from a pool of one', () => {
    expect(rolePoolSizes(1)).toEqual({ api: 1, worker: 1 });
  });
});
