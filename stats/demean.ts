/**
 * Absorbing fixed effects: the residual of a column after its (weighted) projection on the dummies
 * of every fixed effect, by the method of alternating projections (each sweep subtracts the group
 * means of one fixed effect after the other) with Irons–Tuck acceleration every two sweeps, as in
 * fixest's demean.cpp and reghdfe's accelerated MAP.
 *
 * One fixed effect is exact in one sweep. With several, the iteration stops when, after a sweep,
 * no group mean of any fixed effect exceeds `tol` × max|x after one sweep| (so a further sweep would
 * move no value by more than that); if that does not happen within `maxIter` accelerated
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
  /** Scratch of factor 0's size (fused accumulation in sweep). */
  private sums0: Float64Array;
  /** Iterations used by the last call of demean (0 for a single fixed effect). */
  lastIterations = 0;
  private gx: Float64Array | null = null;
  private ggx: Float64Array | null = null;

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
    this.sums0 = new Float64Array(factors[0]!.nlevels);
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

  /** sums[q] ← Σ_{i in level} w_i x_i for factor q. */
  private accumulate(q: number, x: Float64Array): void {
    const n = this.n, w = this.weights;
    const codes = this.factors[q]!.codes;
    const sums = this.sums[q]!;
    sums.fill(0);
    if (w) for (let i = 0; i < n; i++) sums[codes[i]!]! += w[i]! * x[i]!;
    else for (let i = 0; i < n; i++) sums[codes[i]!]! += x[i]!;
  }

  /**
   * One sweep in place: for each factor in turn, subtract the (weighted) group means. Fused: the
   * pass that subtracts factor q's means accumulates factor q+1's sums, and the last one factor 0's
   * (left in sums[0] for the convergence check). `pre` = sums[0] already holds factor 0's sums of x.
   * Returns max|x| after the sweep.
   */
  sweep(x: Float64Array, pre = false): number {
    const n = this.n;
    const w = this.weights;
    const Q = this.factors.length;
    if (!pre) this.accumulate(0, x);
    let mx = 0;
    for (let q = 0; q < Q; q++) {
      const codes = this.factors[q]!.codes;
      const means = this.sums[q]!;
      const inv = this.invW[q]!;
      for (let l = 0; l < means.length; l++) means[l]! *= inv[l]!;
      if (Q === 1) {
        for (let i = 0; i < n; i++) x[i]! -= means[codes[i]!]!;
        return NaN;
      }
      const nq = q + 1 < Q ? q + 1 : 0;
      const ncodes = this.factors[nq]!.codes;
      const next = nq === 0 ? this.sums0 : this.sums[nq]!;
      next.fill(0);
      const last = q === Q - 1;
      if (w) {
        for (let i = 0; i < n; i++) {
          const v = x[i]! - means[codes[i]!]!;
          x[i] = v;
          next[ncodes[i]!]! += w[i]! * v;
          if (last && Math.abs(v) > mx) mx = Math.abs(v);
        }
      } else if (last) {
        for (let i = 0; i < n; i++) {
          const v = x[i]! - means[codes[i]!]!;
          x[i] = v;
          next[ncodes[i]!]! += v;
          const a = v < 0 ? -v : v;
          if (a > mx) mx = a;
        }
      } else {
        for (let i = 0; i < n; i++) {
          const v = x[i]! - means[codes[i]!]!;
          x[i] = v;
          next[ncodes[i]!]! += v;
        }
      }
    }
    // factor 0's sums of the result: swap the scratch buffer in
    const t = this.sums[0]!;
    this.sums[0] = this.sums0;
    this.sums0 = t;
    return mx;
  }

  /** max over levels of |weighted group mean of x| for every factor but the last; sums[0] must hold factor 0's sums of x. */
  private maxGroupMean(x: Float64Array): number {
    let m = 0;
    for (let q = 0; q < this.factors.length - 1; q++) {
      if (q > 0) this.accumulate(q, x);
      const sums = this.sums[q]!;
      const inv = this.invW[q]!;
      for (let l = 0; l < sums.length; l++) {
        const a = Math.abs(sums[l]! * inv[l]!);
        if (a > m) m = a;
      }
    }
    return m;
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
    const scale = this.sweep(X);
    const eps = this.tol * Math.max(scale, 1e-6 * raw);
    if (this.gx === null || this.gx.length !== n) {
      this.gx = new Float64Array(n);
      this.ggx = new Float64Array(n);
    }
    const GX = this.gx, GGX = this.ggx!;
    for (let it = 1; it <= this.maxIter; it++) {
      this.lastIterations = it;
      // after a sweep the last factor's means are exactly 0; converged when every other factor's
      // group means are within eps (a further sweep would move no value by more than ~eps)
      if (this.maxGroupMean(X) <= eps) return X;
      GX.set(X);
      this.sweep(GX, true);
      GGX.set(GX);
      this.sweep(GGX, true);
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
      this.sweep(X);
    }
    throw new DemeanConvergenceError(
      `demean: alternating projections on ${this.factors.length} fixed effects did not converge for ${label} ` +
        `within ${this.maxIter} accelerated iterations (tolerance ${this.tol} × max|x|); ` +
        'check for fixed effects that are (nearly) collinear or a very weakly connected panel',
    );
  }
}

