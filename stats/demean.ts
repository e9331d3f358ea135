/**
 * Absorbing fixed effects: the residual of a column after its (weighted) projection on the dummies
 * of every fixed effect, by the method of alternating projections (each sweep subtracts the group
 * means of one fixed effect after the other) with Irons–Tuck acceleration every two sweeps, as in
 * fixest's demean.cpp and reghdfe's accelerated MAP.
 *
 * One fixed effect is exact in one sweep. With several, the iteration stops when a sweep moves no
 * value by more than `tol` × max|x|; if that does not happen within `maxIter` accelerated
 * iterations it throws (never a silent estimate).
 *
 * // R: residuals of lm(x ~ factor(f1) + factor(f2) + ...) — checked in test/stats/demean.test.ts
 *
 * @example
 * const dm = new Demeaner([cityFactor, yearFactor]);
 * const xt = dm.demean(x);   // x minus its projection on city and year dummies
 */
import type { Factor } from './fe.js';

/** Options of {@link Demeaner}. */
export interface DemeanOptions {
  /** Observation weights (> 0), or none. Default none. */
  weights?: Float64Array | null;
  /** Convergence tolerance, relative to max|x|. Default 1e-13, bounds [1e-16, 1e-6]. */
  tol?: number;
  /** Maximum accelerated iterations (each = 2 sweeps). Default 20000. */
  maxIter?: number;
}

/** Thrown when the alternating projections do not converge. */
export class DemeanConvergenceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DemeanConvergenceError';
  }
}

export class Demeaner {
  readonly n: number;
  readonly factors: Factor[];
  readonly weights: Float64Array | null;
  readonly tol: number;
  readonly maxIter: number;
  /** 1 / (sum of weights) per level, per factor. */
  private readonly invW: Float64Array[];
  private readonly sums: Float64Array[];
  /** Iterations used by the last call of demean (0 for a single fixed effect). */
  lastIterations = 0;

  constructor(factors: Factor[], opts: DemeanOptions = {}) {
    if (factors.length === 0) throw new Error('Demeaner: at least one factor is required');
    this.n = factors[0]!.codes.length;
    this.factors = factors;
    this.weights = opts.weights ?? null;
    this.tol = opts.tol ?? 1e-13;
    if (!(this.tol >= 1e-16 && this.tol <= 1e-6)) throw new Error(`Demeaner: tol must be in [1e-16, 1e-6], got ${this.tol}`);
    this.maxIter = opts.maxIter ?? 20000;
    this.invW = [];
    this.sums = [];
    for (const f of factors) {
      if (f.codes.length !== this.n) throw new Error('Demeaner: factors have different lengths');
      const s = new Float64Array(f.nlevels);
      const w = this.weights;
      const codes = f.codes;
      if (w) for (let i = 0; i < this.n; i++) s[codes[i]!]! += w[i]!;
      else for (let i = 0; i < this.n; i++) s[codes[i]!]!++;
      for (let l = 0; l < f.nlevels; l++) {
        if (!(s[l]! > 0)) throw new Error(`Demeaner: level ${l} of a fixed effect has no observation (or zero weight)`);
        s[l] = 1 / s[l]!;
      }
      this.invW.push(s);
      this.sums.push(new Float64Array(f.nlevels));
    }
  }

  /** One sweep in place: for each factor in turn, subtract the (weighted) group means. */
  sweep(x: Float64Array): void {
    const n = this.n;
    const w = this.weights;
    for (let q = 0; q < this.factors.length; q++) {
      const codes = this.factors[q]!.codes;
      const sums = this.sums[q]!;
      const inv = this.invW[q]!;
      sums.fill(0);
      if (w) for (let i = 0; i < n; i++) sums[codes[i]!]! += w[i]! * x[i]!;
      else for (let i = 0; i < n; i++) sums[codes[i]!]! += x[i]!;
      for (let l = 0; l < sums.length; l++) sums[l]! *= inv[l]!;
      for (let i = 0; i < n; i++) x[i]! -= sums[codes[i]!]!;
    }
  }

  /**
   * The residual of `x` after projection on all fixed effects, written to `out` (a new array if not
   * given). `label` names the column in the non-convergence error.
   */
  demean(x: Float64Array, out?: Float64Array, label = 'column'): Float64Array {
    const n = this.n;
    if (x.length !== n) throw new Error(`Demeaner.demean: ${label} has ${x.length} values, expected ${n}`);
    const X = out ?? new Float64Array(n);
    X.set(x);
    this.lastIterations = 0;
    if (this.factors.length === 1) {
      this.sweep(X);
      return X;
    }
    let raw = 0;
    for (let i = 0; i < n; i++) {
      const a = Math.abs(x[i]!);
      if (a > raw) raw = a;
    }
    if (raw === 0) return X;
    // X ← F(X) once; the scale of the convergence test is the size of what is left after one sweep
    // (so that badly centred columns, e.g. levels around 1e5 with small within variation, are
    // held to the precision of their within variation), floored at 1e-6 × max|x|.
    this.sweep(X);
    let scale = 0;
    for (let i = 0; i < n; i++) {
      const a = Math.abs(X[i]!);
      if (a > scale) scale = a;
    }
    const eps = this.tol * Math.max(scale, 1e-6 * raw);
    const GX = new Float64Array(n);
    const GGX = new Float64Array(n);
    for (let it = 1; it <= this.maxIter; it++) {
      this.lastIterations = it;
      GX.set(X);
      this.sweep(GX);
      if (maxAbsDiff(GX, X) <= eps) {
        X.set(GX);
        return X;
      }
      GGX.set(GX);
      this.sweep(GGX);
      // Irons–Tuck: X ← GGX − [⟨ΔGX, Δ²X⟩ / ⟨Δ²X, Δ²X⟩] (GGX − GX)
      let vprod = 0;
      let ssq = 0;
      for (let i = 0; i < n; i++) {
        const d1 = GGX[i]! - GX[i]!;
        const d2 = d1 - GX[i]! + X[i]!;
        vprod += d1 * d2;
        ssq += d2 * d2;
      }
      if (ssq === 0) {
        X.set(GGX);
        return X;
      }
      const coef = vprod / ssq;
      for (let i = 0; i < n; i++) X[i] = GGX[i]! - coef * (GGX[i]! - GX[i]!);
    }
    throw new DemeanConvergenceError(
      `demean: alternating projections on ${this.factors.length} fixed effects did not converge for ${label} ` +
        `within ${this.maxIter} accelerated iterations (tolerance ${this.tol} × max|x|); ` +
        'check for fixed effects that are (nearly) collinear or a very weakly connected panel',
    );
  }
}

function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (d > m) m = d;
  }
  return m;
}
