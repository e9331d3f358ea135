/**
 * Distribution functions for inference, from jstat (a maintained library), with one refinement:
 * Student-t quantiles are polished by Newton steps on jstat's CDF so that confidence intervals
 * agree with R's `qt` to ~1e-9 relative, the precision of jstat's t CDF (its own inverse is
 * accurate to ~1e-8 only). p-values agree with R's pt/pf to ~1e-9 relative.
 *
 * // R: pt, qt, pf (values checked in test/stats/regression-core.test.ts)
 *
 * @example
 * tPValue(2.5, 10);     // 2 * pt(-2.5, 10) = 0.0314468...
 * tQuantile(0.975, 10); // qt(0.975, 10) = 2.2281388...
 */
import { createRequire } from 'node:module';

interface JStatLike {
  studentt: { cdf(x: number, df: number): number; pdf(x: number, df: number): number; inv(p: number, df: number): number };
  centralF: { cdf(x: number, df1: number, df2: number): number };
  normal: { cdf(x: number, mean: number, sd: number): number; inv(p: number, mean: number, sd: number): number };
}
let jstatCache: JStatLike | null = null;
/** jstat, loaded on first use (keeps module import cheap, e.g. in worker threads and validation). */
function J(): JStatLike {
  if (!jstatCache) jstatCache = (createRequire(import.meta.url)('jstat') as { jStat: JStatLike }).jStat;
  return jstatCache;
}

/** CDF of Student's t with `df` degrees of freedom (df = Infinity → standard normal). */
export function tCdf(x: number, df: number): number {
  if (!(df > 0)) throw new Error(`tCdf: degrees of freedom must be > 0, got ${df}`);
  if (!Number.isFinite(df)) return J().normal.cdf(x, 0, 1);
  return J().studentt.cdf(x, df);
}

/** Two-sided p-value of a t statistic: 2·P(T_df ≥ |t|). NaN in, NaN out. */
export function tPValue(t: number, df: number): number {
  if (Number.isNaN(t)) return NaN;
  const p = 2 * tCdf(-Math.abs(t), df);
  return Math.min(1, Math.max(0, p));
}

/** Quantile of Student's t: x with P(T_df ≤ x) = p, for 0 < p < 1. */
export function tQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new Error(`tQuantile: probability must be in (0, 1), got ${p}`);
  if (!(df > 0)) throw new Error(`tQuantile: degrees of freedom must be > 0, got ${df}`);
  if (!Number.isFinite(df)) return J().normal.inv(p, 0, 1);
  let x = J().studentt.inv(p, df);
  for (let k = 0; k < 4; k++) {
    const f = J().studentt.cdf(x, df) - p;
    const d = J().studentt.pdf(x, df);
    if (!(d > 0)) break;
    const step = f / d;
    x -= step;
    if (Math.abs(step) <= 1e-15 * Math.max(1, Math.abs(x))) break;
  }
  return x;
}

/** Upper-tail probability of the F(df1, df2) distribution: P(F ≥ f). */
export function fPValue(f: number, df1: number, df2: number): number {
  if (Number.isNaN(f)) return NaN;
  if (!(df1 > 0 && df2 > 0)) throw new Error(`fPValue: degrees of freedom must be > 0, got (${df1}, ${df2})`);
  if (f <= 0) return 1;
  return Math.min(1, Math.max(0, 1 - J().centralF.cdf(f, df1, df2)));
}
