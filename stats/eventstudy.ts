/**
 * Event-study design helpers: relative-period dummies (with optional binning of the endpoints)
 * and the joint Wald test of the pre-period coefficients.
 *
 * Relative period of an observation: time − adoption time for ever-treated units, NaN for
 * never-treated units (they have all dummies 0: the controls). With `bin` the periods below `lo`
 * count as `lo` and those above `hi` as `hi`; without it, treated observations outside [lo, hi]
 * are dropped (flagged in `keep`). The base period gets no dummy (its coefficient is 0).
 *
 * Pre-trend test: W = b' V⁻¹ b over the q estimated pre-period coefficients (period < 0, base
 * excluded), F = W / q, p from F(q, df2) with df2 the t degrees of freedom of the model (G − 1
 * when clustered).
 *
 * // R: lm with hand-built dummies + sandwich; F from pf (test/golden/eventstudy/make.R)
 *
 * @example
 * const { periods, cols } = eventDummies(rel, { lo: -4, hi: 3, base: -1, bin: true });
 */
import { cholSolve } from './linalg.js';
import { fPValue } from './dist.js';

export interface EventWindow {
  lo: number;
  hi: number;
  base: number;
  bin: boolean;
}

/** Column name used for the dummy of relative period p (e.g. `_rel_m2`, `_rel_p0`). */
export const periodTerm = (p: number): string => (p < 0 ? `_rel_m${-p}` : `_rel_p${p}`);

/**
 * Dummies for the relative periods lo..hi except base. `rel` is NaN for never-treated rows.
 * Returns the periods (ascending, base excluded), one column per period, and `keep` (0 for treated
 * rows outside the window when not binning).
 */
export function eventDummies(rel: Float64Array, w: EventWindow): { periods: number[]; cols: Float64Array[]; keep: Uint8Array } {
  const { lo, hi, base, bin } = w;
  if (!(Number.isInteger(lo) && Number.isInteger(hi) && lo <= hi)) throw new Error(`eventDummies: window must be integers lo ≤ hi, got [${lo}, ${hi}]`);
  if (!(base >= lo && base <= hi)) throw new Error(`eventDummies: base period ${base} is outside the window [${lo}, ${hi}]`);
  const n = rel.length;
  const periods: number[] = [];
  for (let p = lo; p <= hi; p++) if (p !== base) periods.push(p);
  const index = new Map(periods.map((p, j) => [p, j]));
  const cols = periods.map(() => new Float64Array(n));
  const keep = new Uint8Array(n).fill(1);
  for (let i = 0; i < n; i++) {
    let r = rel[i]!;
    if (Number.isNaN(r)) continue;
    if (!Number.isInteger(r)) throw new Error(`eventDummies: relative period ${r} at row ${i + 1} is not an integer`);
    if (r < lo || r > hi) {
      if (!bin) {
        keep[i] = 0;
        continue;
      }
      r = r < lo ? lo : hi;
    }
    const j = index.get(r);
    if (j !== undefined) cols[j]![i] = 1;
  }
  return { periods, cols, keep };
}

/** Joint Wald F test of b = 0 with covariance V (q×q row-major) and denominator df `df2`. */
export function waldF(b: number[], V: Float64Array, df2: number): { stat: number; df1: number; df2: number; p: number } {
  const q = b.length;
  if (q === 0) return { stat: NaN, df1: 0, df2, p: NaN };
  let W: number;
  try {
    const x = cholSolve(V, q, Float64Array.from(b));
    W = 0;
    for (let i = 0; i < q; i++) W += b[i]! * x[i]!;
  } catch {
    return { stat: NaN, df1: q, df2, p: NaN };
  }
  const F = W / q;
  return { stat: F, df1: q, df2, p: fPValue(F, q, df2) };
}
