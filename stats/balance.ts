/**
 * Covariate balance before and after matching, as MatchIt's `summary.matchit` (ATT, `standardize =
 * TRUE`) computes it (its internal `bal1var`):
 *
 * - means: weighted means Σwx/Σw within the treated and within the controls (weights 1 before
 *   matching, the match weights after);
 * - standardised mean difference: (mean treated − mean control) / sd, where sd is the standard
 *   deviation of the covariate among ALL treated units of the unmatched sample (the same denominator
 *   before and after). For a binary (0/1) covariate the variance is p(1−p); otherwise the sample
 *   variance. If that sd is 0 the pooled sd √((v₁+v₀)/2) is used. A difference below √ε is
 *   reported unstandardised, as MatchIt does;
 * - variance ratio: weighted variance of the treated / of the controls, for non-binary covariates
 *   only (NaN for binary ones), with the weighted variance Σw(x−x̄)²/(1−Σw̃²), w̃ = w/Σw.
 *
 * // R: summary(matchit(...))$sum.all / $sum.matched, columns "Means Treated", "Means Control",
 * //    "Std. Mean Diff.", "Var. Ratio" (test/golden/match/)
 */

export interface BalanceRow {
  covariate: string;
  mean_treated: number;
  mean_control: number;
  mean_treated_matched: number;
  mean_control_matched: number;
  smd_before: number;
  smd_after: number;
  var_ratio_before: number;
  var_ratio_after: number;
}

function isBinary(x: ArrayLike<number>): boolean {
  for (let i = 0; i < x.length; i++) if (x[i] !== 0 && x[i] !== 1) return false;
  return true;
}

/** Weighted mean of x over rows where sel(i) and w[i] > 0 (w null = weight 1). */
function wmean(x: ArrayLike<number>, idx: number[], w: ArrayLike<number> | null): number {
  let s = 0, sw = 0;
  for (const i of idx) {
    const wi = w ? w[i]! : 1;
    s += wi * x[i]!;
    sw += wi;
  }
  return s / sw;
}

/** MatchIt's `wvar`: p(1−p) for binary x, else Σw̃(x−x̄)²/(1−Σw̃²) with normalised weights w̃. */
export function weightedVar(x: ArrayLike<number>, idx: number[], w: ArrayLike<number> | null, binary: boolean): number {
  let sw = 0;
  for (const i of idx) sw += w ? w[i]! : 1;
  let mx = 0, sw2 = 0;
  for (const i of idx) {
    const wi = (w ? w[i]! : 1) / sw;
    mx += wi * x[i]!;
    sw2 += wi * wi;
  }
  if (binary) return mx * (1 - mx);
  let s = 0;
  for (const i of idx) {
    const wi = (w ? w[i]! : 1) / sw;
    s += wi * (x[i]! - mx) ** 2;
  }
  return s / (1 - sw2);
}

/**
 * One balance row per covariate. `treat` is 0/1 per row, `weights` the match weights (0 =
 * unmatched). Rows with a missing covariate value are ignored for that covariate.
 */
export function balanceTable(
  covariates: { name: string; values: ArrayLike<number> }[],
  treat: ArrayLike<number>,
  weights: ArrayLike<number>,
): BalanceRow[] {
  const n = treat.length;
  return covariates.map(({ name, values: x }) => {
    const i1: number[] = [], i0: number[] = [], m1: number[] = [], m0: number[] = [];
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(x[i]!)) continue;
      const t = treat[i] === 1;
      (t ? i1 : i0).push(i);
      if (weights[i]! > 0) (t ? m1 : m0).push(i);
    }
    const bin = isBinary(x);
    const vt = weightedVar(x, i1, null, bin);
    let sd = Math.sqrt(vt);
    if (!Number.isFinite(sd) || sd < Math.sqrt(Number.EPSILON)) sd = Math.sqrt((vt + weightedVar(x, i0, null, bin)) / 2);
    const smd = (d: number): number => (Math.abs(d) > Math.sqrt(Number.EPSILON) ? d / sd : d);
    const mt = wmean(x, i1, null), mc = wmean(x, i0, null);
    const mtm = wmean(x, m1, weights), mcm = wmean(x, m0, weights);
    const vr = (a: number[], b: number[], w: ArrayLike<number> | null): number =>
      bin || a.length < 2 || b.length < 2 ? NaN : weightedVar(x, a, w, false) / weightedVar(x, b, w, false);
    return {
      covariate: name,
      mean_treated: mt,
      mean_control: mc,
      mean_treated_matched: mtm,
      mean_control_matched: mcm,
      smd_before: smd(mt - mc),
      smd_after: smd(mtm - mcm),
      var_ratio_before: vr(i1, i0, null),
      var_ratio_after: vr(m1, m0, weights),
    };
  });
}
