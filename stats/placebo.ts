/**
 * Placebo (randomization-inference) replicates of a fixed-effects DiD regression, by the
 * Frisch–Waugh–Lovell fast path: y and the controls are demeaned once; for each replicate only the
 * new treatment column is built, demeaned and the K×K system solved, with the treatment's
 * standard error (iid / HC1 / one- or two-way CR1, same factors as vcov.ts) computed from the
 * first row of the bread only.
 *
 * Replicate r draws from its own counter-based stream (`keys[r]`), so results do not depend on how
 * replicates are split across threads.
 *
 * Treatment of a replicate: D_it = 1[A'_i > 0 and t ≥ A'_i] where A' is the unit-level adoption
 * vector of the replicate:
 * - `permute`: the observed adoption times A shuffled across units (same number treated, same
 *   timing distribution);
 * - `random`: as many treated units as observed, drawn without replacement, each given an adoption
 *   time drawn uniformly from the distinct sample times except the first (a unit treated in every
 *   period would be absorbed by its fixed effect).
 *
 * @example
 * const res = runReplicates(problem, keys);   // { estimate, se, p } Float64Arrays, NaN = degenerate draw
 */
import { Demeaner } from './demean.js';
import type { Factor } from './fe.js';
import { cholSolve, crossprod, crossvec, dot, spdInverse } from './linalg.js';
import { intersectFactors, type VcovType } from './vcov.js';
import { tPValue } from './dist.js';
import { rngFromKey } from '../engine/rng.js';

/** Everything a replicate needs; plain data (structured-cloneable for worker threads). */
export interface PlaceboProblem {
  /** Demeaned outcome on the estimation sample. */
  yt: Float64Array;
  /** Demeaned (kept) controls. */
  Ct: Float64Array[];
  /** Fixed effects on the estimation sample (empty: intercept only). */
  fe: Factor[];
  weights: Float64Array | null;
  /** Cluster factors (for vcov 'cluster'). */
  clusters: Factor[];
  vcov: VcovType;
  /** K of the small-sample factor (as in the observed model). */
  dofK: number;
  /** Degrees of freedom of the t test. */
  dfT: number;
  /** Unit index (0..U−1) per observation. */
  unit: Int32Array;
  /** Time per observation. */
  time: Float64Array;
  /** Observed adoption time per unit (0 = never treated). */
  adopt: Float64Array;
  mode: 'permute' | 'random';
  /** Candidate adoption times for `random` mode. */
  times: Float64Array;
  /** Demeaning tolerance. */
  tol?: number;
}

export interface ReplicateResults {
  estimate: Float64Array;
  se: Float64Array;
  p: Float64Array;
}

/** Precomputed pieces shared by all replicates of a problem. */
export class PlaceboSolver {
  private readonly dm: Demeaner;
  private readonly CC: Float64Array;
  private readonly Cy: Float64Array;
  private readonly n: number;
  private readonly k: number;
  private readonly D: Float64Array;
  private readonly Dt: Float64Array;
  private readonly e: Float64Array;
  private readonly u: Float64Array;
  private readonly inter: Factor | null;
  private readonly sw: number;

  constructor(readonly prob: PlaceboProblem) {
    this.n = prob.yt.length;
    this.k = prob.Ct.length + 1;
    const fe = prob.fe.length > 0 ? prob.fe : [{ codes: new Int32Array(this.n), nlevels: 1 }];
    this.dm = new Demeaner(fe, { weights: prob.weights, tol: prob.tol });
    this.CC = crossprod(prob.Ct, prob.weights);
    this.Cy = crossvec(prob.Ct, prob.yt, prob.weights);
    this.D = new Float64Array(this.n);
    this.Dt = new Float64Array(this.n);
    this.e = new Float64Array(this.n);
    this.u = new Float64Array(this.n);
    this.inter = prob.vcov === 'cluster' && prob.clusters.length === 2 ? intersectFactors(prob.clusters[0]!, prob.clusters[1]!) : null;
    let sw = 0;
    if (prob.weights) for (let i = 0; i < this.n; i++) sw += prob.weights[i]!;
    else sw = this.n;
    this.sw = sw;
  }

  /** The adoption vector of replicate `key`. */
  drawAdoption(key: string): Float64Array {
    const { adopt, mode, times } = this.prob;
    const rng = rngFromKey(key);
    const U = adopt.length;
    if (mode === 'permute') {
      const a = Array.from(adopt);
      rng.shuffle(a);
      return Float64Array.from(a);
    }
    let nT = 0;
    for (let i = 0; i < U; i++) if (adopt[i]! > 0) nT++;
    const idx = Array.from({ length: U }, (_, i) => i);
    rng.shuffle(idx);
    const out = new Float64Array(U);
    for (let j = 0; j < nT; j++) out[idx[j]!] = times[rng.int(times.length)]!;
    return out;
  }

  /** Estimate, se and p of the treatment column `D` (any 0/1 or numeric column on the sample). */
  fitTreatment(D: Float64Array): [number, number, number] {
    const { yt, Ct, weights: w, clusters, vcov, dofK, dfT } = this.prob;
    const n = this.n, k = this.k;
    const Dt = this.dm.demean(D, this.Dt, 'placebo treatment');
    // degenerate: treatment absorbed by the fixed effects (or constant)
    let raw = 0, within = 0, mean = 0;
    for (let i = 0; i < n; i++) mean += (w ? w[i]! : 1) * D[i]!;
    mean /= this.sw;
    for (let i = 0; i < n; i++) {
      const wi = w ? w[i]! : 1;
      raw += wi * (D[i]! - mean) * (D[i]! - mean);
      within += wi * Dt[i]! * Dt[i]!;
    }
    if (!(raw > 0) || !(within > 1e-10 * raw)) return [NaN, NaN, NaN];
    const A = new Float64Array(k * k);
    A[0] = within;
    const b = new Float64Array(k);
    b[0] = dot(Dt, yt, w);
    for (let a = 1; a < k; a++) {
      const v = dot(Dt, Ct[a - 1]!, w);
      A[a] = v;
      A[a * k] = v;
      b[a] = this.Cy[a - 1]!;
      for (let c = 1; c < k; c++) A[a * k + c] = this.CC[(a - 1) * (k - 1) + (c - 1)]!;
    }
    let beta: Float64Array, B: Float64Array;
    try {
      beta = cholSolve(A, k, b);
      B = spdInverse(A, k);
    } catch {
      return [NaN, NaN, NaN];
    }
    // residuals and u_i = (row 0 of B) · z_i
    const e = this.e, u = this.u;
    const b0 = beta[0]!;
    const B00 = B[0]!;
    for (let i = 0; i < n; i++) {
      e[i] = yt[i]! - b0 * Dt[i]!;
      u[i] = B00 * Dt[i]!;
    }
    for (let a = 1; a < k; a++) {
      const c = Ct[a - 1]!, ba = beta[a]!, Ba = B[a]!;
      for (let i = 0; i < n; i++) {
        e[i]! -= ba * c[i]!;
        u[i]! += Ba * c[i]!;
      }
    }
    let v: number;
    if (vcov === 'iid') {
      let rss = 0;
      for (let i = 0; i < n; i++) rss += (w ? w[i]! : 1) * e[i]! * e[i]!;
      v = (rss / (n - dofK)) * B00;
    } else if (vcov === 'hc1') {
      let s = 0;
      for (let i = 0; i < n; i++) {
        const we = (w ? w[i]! : 1) * e[i]! * u[i]!;
        s += we * we;
      }
      v = (n / (n - dofK)) * s;
    } else {
      const G = clusters.map((f) => f.nlevels);
      const Gmin = Math.min(...G);
      let s = clusterSq(clusters[0]!, e, u, w);
      if (clusters.length === 2) s += clusterSq(clusters[1]!, e, u, w) - clusterSq(this.inter!, e, u, w);
      v = ((n - 1) / (n - dofK)) * (Gmin / (Gmin - 1)) * s;
    }
    const se = v >= 0 ? Math.sqrt(v) : NaN;
    return [b0, se, tPValue(b0 / se, dfT)];
  }

  /** Estimate, se and p of replicate `key`. */
  replicate(key: string): [number, number, number] {
    const { unit, time } = this.prob;
    const A = this.drawAdoption(key);
    const D = this.D;
    for (let i = 0; i < this.n; i++) {
      const a = A[unit[i]!]!;
      D[i] = a > 0 && time[i]! >= a ? 1 : 0;
    }
    return this.fitTreatment(D);
  }
}

/** Σ_g (Σ_{i∈g} w e u)². */
function clusterSq(f: Factor, e: Float64Array, u: Float64Array, w: Float64Array | null): number {
  const S = new Float64Array(f.nlevels);
  const codes = f.codes;
  if (w) for (let i = 0; i < e.length; i++) S[codes[i]!]! += w[i]! * e[i]! * u[i]!;
  else for (let i = 0; i < e.length; i++) S[codes[i]!]! += e[i]! * u[i]!;
  let s = 0;
  for (let g = 0; g < S.length; g++) s += S[g]! * S[g]!;
  return s;
}

/** Run the replicates whose stream keys are given, in order; `onProgress(done)` every 25 replicates. */
export function runReplicates(prob: PlaceboProblem, keys: string[], onProgress?: (done: number) => void): ReplicateResults {
  const solver = new PlaceboSolver(prob);
  const m = keys.length;
  const out: ReplicateResults = { estimate: new Float64Array(m), se: new Float64Array(m), p: new Float64Array(m) };
  for (let r = 0; r < m; r++) {
    const [b, s, p] = solver.replicate(keys[r]!);
    out.estimate[r] = b;
    out.se[r] = s;
    out.p[r] = p;
    if (onProgress && ((r + 1) % 25 === 0 || r + 1 === m)) onProgress(r + 1);
  }
  return out;
}

/** Quantile (type 7, R's default) of the finite values of x. */
export function quantile(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}
