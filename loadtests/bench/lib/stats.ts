// Small numeric helpers shared by the benchmarks.

/** Nearest-rank percentile of `values` (ms), or undefined when there are none. */
export function percentile(values: number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Milliseconds with one decimal, or `n/a`. */
export const ms = (v: number | undefined): string => (v === undefined ? 'n/a' : v.toFixed(1));

/** A count with thousands separators (`12,345`). */
export const int = (v: number): string => Math.round(v).toLocaleString('en-US');

/** A share as a percentage with one decimal (`99.5 %`). */
export const pct = (part: number, whole: number): string => (whole === 0 ? 'n/a' : `${((100 * part) / whole).toFixed(1)} %`);
