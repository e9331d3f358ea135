/**
 * Sample quantiles, Hyndman–Fan type 7 (R's default; linear interpolation between order statistics).
 *
 * @example
 * quantile7([1, 2, 3, 4, 10], 0.99); // 9.76 — R: quantile(c(1, 2, 3, 4, 10), 0.99, type = 7)
 */

/** Quantile `q` ∈ [0, 1] of values sorted ascending (no NaN). NaN when empty. */
export function quantile7(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}
