import DataLoader from 'dataloader';

/**
 * Lookups made one at a time by concurrent requests, gathered for `ms` and made together by `load`
 * (at most 1,000 at once), each caller getting its own answer: a sale's thousands of reads at once
 * become a few queries. Nothing is cached between batches (dataloader's cache is off).
 */
export function gathered<V>(
  ms: number,
  load: (keys: readonly string[]) => Promise<Map<string, V>>,
): (key: string) => Promise<V | undefined> {
  const loader = new DataLoader<string, V | undefined>(
    async (keys) => {
      const found = await load(keys);
      return keys.map((key) => found.get(key));
    },
    { cache: false, maxBatchSize: 1_000, batchScheduleFn: (run) => setTimeout(run, ms) },
  );
  return (key) => loader.load(key);
}
