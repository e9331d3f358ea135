/**
 * Fixed-length confidence interval (FLCI) of Armstrong & Kolesár (2018, 2020) for Δ^SD(M), as the R
 * package HonestDiD 0.2.8 computes it (R/flci.R: findOptimalFLCI, .findOptimalFLCI_helper,
 * .findOptimalCIDerivativeBisection, .findWorstCaseBiasGivenH, .findLowestH, .qfoldednormal).
 *
 * The affine estimator of θ = l'τ_post is v'β̂ with v = (l_pre, l), l_pre = D w (D: first differences,
 * w ∈ R^K, K = number of pre periods) and Σ w = Σ_j j·l_j. Its worst-case bias over Δ^SD(M) is
 * M·(c₀ + Σ_k |Σ_{i≤k} w_i|), its standard deviation sd(w). For a standard deviation bound h the
 * package minimises the worst-case bias (a second-order-cone program, solved there by CVXR/ECOS),
 * here by a primal log-barrier Newton method on the same (U, w) formulation; the CI half-length is
 * h·cv_α(maxBias/h), cv_α(b) the 1−α quantile of |N(b, 1)|, which the package takes from 10^6 draws
 * of rnorm after set.seed(0) (reproduced draw for draw by stats/normal.ts RRng). The half-length is
 * minimised over h ∈ [h_min, h_0] by the package's bisection on numerical derivatives (falling back
 * to a 100-point grid when that fails), reproduced step for step.
 *
 * Tests: test/stats/honest-did-flci.test.ts vs test/golden/honest-did/golden-flci.json (R: make-flci.R).
 */
import { RRng } from './normal.js';

type Mat = number[][];

const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!; return s; };

/** Solve the symmetric linear system A x = b by Gaussian elimination with partial pivoting. */
function solve(A: Mat, b: number[]): number[] {
  const n = b.length;
  const M = A.map((r, i) => [...r, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[p]![c]!)) p = r;
    [M[c], M[p]] = [M[p]!, M[c]!];
    const pv = M[c]![c]!;
    if (pv === 0) throw new Error('singular linear system');
    for (let r = c + 1; r < n; r++) {
      const f = M[r]![c]! / pv;
      if (f !== 0) for (let j = c; j <= n; j++) M[r]![j]! -= f * M[c]![j]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = M[r]![n]!;
    for (let j = r + 1; j < n; j++) s -= M[r]![j]! * x[j]!;
    x[r] = s / M[r]![r]!;
  }
  return x;
}

/** The variance of v'β̂ as a function of w: w'Qw + a'w + c0 (.createMatricesForVarianceFromW). */
export interface FlciSetup { K: number; P: number; Q: Mat; a: number[]; c0: number; sumW: number; biasConst: number }

export function flciSetup(sigma: Mat, numPre: number, numPost: number, l: number[]): FlciSetup {
  const K = numPre, P = numPost;
  // D: l_pre = D w, D[i][i] = 1, D[i+1][i] = −1
  const D = (i: number, j: number): number => (i === j ? 1 : i === j + 1 ? -1 : 0);
  const Spre = (i: number, j: number) => sigma[i]![j]!;
  const Q: Mat = Array.from({ length: K }, (_, r) => Array.from({ length: K }, (_, c) => {
    let s = 0;
    for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) s += D(i, r) * Spre(i, j) * D(j, c);
    return s;
  }));
  const SprePostL = Array.from({ length: K }, (_, i) => { let s = 0; for (let j = 0; j < P; j++) s += sigma[i]![K + j]! * l[j]!; return s; });
  const a = Array.from({ length: K }, (_, r) => { let s = 0; for (let i = 0; i < K; i++) s += D(i, r) * SprePostL[i]!; return 2 * s; });
  let c0 = 0;
  for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) c0 += l[i]! * sigma[K + i]![K + j]! * l[j]!;
  let sumW = 0;
  for (let j = 0; j < P; j++) sumW += (j + 1) * l[j]!;
  // constant of .createObjectiveObjectForBias: Σ_s |Σ_{j≤s} j·l[P−s+j]| − Σ_j j·l_j
  let biasConst = -sumW;
  for (let s = 1; s <= P; s++) { let t = 0; for (let j = 1; j <= s; j++) t += j * l[P - s + j - 1]!; biasConst += Math.abs(t); }
  return { K, P, Q, a, c0, sumW, biasConst };
}

const varOf = (S: FlciSetup, w: ArrayLike<number>): number => {
  let q = S.c0 + dot(S.a, w);
  for (let i = 0; i < S.K; i++) for (let j = 0; j < S.K; j++) q += w[i]! * S.Q[i]![j]! * w[j]!;
  return q;
};
const biasOf = (S: FlciSetup, w: ArrayLike<number>): number => {
  let s = 0, b = S.biasConst;
  for (let k = 0; k < S.K; k++) { s += w[k]!; b += Math.abs(s); }
  return b;
};

/** The minimum-variance w (.findLowestH), in closed form: min w'Qw + a'w s.t. Σ w = sumW. */
export function minVarianceW(S: FlciSetup): number[] {
  const one = new Array<number>(S.K).fill(1);
  const Qa = solve(S.Q, S.a), Q1 = solve(S.Q, one);
  const nu = -(2 * S.sumW + dot(one, Qa)) / dot(one, Q1);
  return Qa.map((x, i) => -(x + nu * Q1[i]!) / 2);
}

/**
 * .findWorstCaseBiasGivenH at M = 1: min c₀ + Σ U_k s.t. |Σ_{i≤k} w_i| ≤ U_k, Σ w = sumW, var(w) ≤ h²,
 * by a log-barrier method (Newton with the equality constraint, t ×10 until the duality gap
 * (2K+1)/t < 1e-11·(1 + bias)). At h ≤ h_min the feasible set is the minimum-variance point.
 */
export function worstCaseBiasGivenH(S: FlciSetup, h: number, wMin: number[]): { bias: number; w: number[] } {
  const K = S.K, n = 2 * K, h2 = h * h;
  const vMin = varOf(S, wMin);
  if (h2 <= vMin * (1 + 1e-12)) return { bias: biasOf(S, wMin), w: [...wMin] };
  // x = (U, w). Inequalities: −U_k + s_k(w) ≤ 0, −U_k − s_k(w) ≤ 0, var(w) − h² ≤ 0.
  const w = [...wMin];
  const U = new Array<number>(K);
  { let s = 0; const scale = Math.max(1e-8, Math.abs(S.sumW)); for (let k = 0; k < K; k++) { s += w[k]!; U[k] = Math.abs(s) + scale; } }
  const x = [...U, ...w];
  const cs = (x: number[]): number[] => { const r = new Array<number>(K); let s = 0; for (let k = 0; k < K; k++) { s += x[K + k]!; r[k] = s; } return r; };
  const feasible = (x: number[]): boolean => {
    const c = cs(x);
    for (let k = 0; k < K; k++) if (!(x[k]! - c[k]! > 0 && x[k]! + c[k]! > 0)) return false;
    return h2 - varOf(S, x.slice(K)) > 0;
  };
  const phi = (x: number[], t: number): number => {
    const c = cs(x);
    let f = 0;
    for (let k = 0; k < K; k++) f += t * x[k]! - Math.log(x[k]! - c[k]!) - Math.log(x[k]! + c[k]!);
    return f - Math.log(h2 - varOf(S, x.slice(K)));
  };
  let t = 1 / Math.max(1e-12, Math.abs(S.sumW) + 1e-12);
  for (let outer = 0; outer < 200; outer++) {
    for (let it = 0; it < 100; it++) {
      // gradient and Hessian of t·ΣU + barrier
      const g = new Array<number>(n).fill(0);
      const H: Mat = Array.from({ length: n }, () => new Array<number>(n).fill(0));
      const c = cs(x);
      for (let k = 0; k < K; k++) {
        g[k]! += t;
        for (const sgn of [1, -1]) {
          const s = x[k]! - sgn * c[k]!; // slack of −U_k + sgn·c_k ≤ 0
          // a = ∇(−U_k + sgn c_k): −1 at U_k, sgn at w_0..w_k
          const av = new Array<number>(n).fill(0);
          av[k] = -1;
          for (let i = 0; i <= k; i++) av[K + i] = sgn;
          for (let i = 0; i < n; i++) {
            if (av[i] === 0) continue;
            g[i]! += av[i]! / s;
            for (let j = 0; j < n; j++) if (av[j] !== 0) H[i]![j]! += (av[i]! * av[j]!) / (s * s);
          }
        }
      }
      const ww = x.slice(K);
      const sq = h2 - varOf(S, ww);
      const gq = S.a.map((ai, i) => ai + 2 * dot(S.Q[i]!, ww));
      for (let i = 0; i < K; i++) {
        g[K + i]! += gq[i]! / sq;
        for (let j = 0; j < K; j++) H[K + i]![K + j]! += (gq[i]! * gq[j]!) / (sq * sq) + (2 * S.Q[i]![j]!) / sq;
      }
      // KKT: [H E'; E 0] [dx; ν] = [−g; 0], E = (0…0, 1…1)
      const KKT: Mat = H.map((r, i) => [...r, i >= K ? 1 : 0]);
      KKT.push([...new Array<number>(K).fill(0), ...new Array<number>(K).fill(1), 0]);
      const sol = solve(KKT, [...g.map((v) => -v), 0]);
      const dx = sol.slice(0, n);
      const dec = -dot(g, dx);
      if (dec / 2 <= 1e-13) break;
      let step = 1;
      const f0 = phi(x, t);
      for (let ls = 0; ls < 100; ls++) {
        const xn = x.map((v, i) => v + step * dx[i]!);
        if (feasible(xn) && phi(xn, t) <= f0 - 0.25 * step * dec) { for (let i = 0; i < n; i++) x[i] = xn[i]!; break; }
        step *= 0.5;
        if (ls === 99) step = 0;
      }
      if (step === 0) break;
    }
    const obj = S.biasConst + x.slice(0, K).reduce((s, v) => s + v, 0);
    if ((2 * K + 1) / t < 1e-11 * (1 + Math.abs(obj))) break;
    t *= 10;
  }
  const wOpt = x.slice(K);
  return { bias: S.biasConst + x.slice(0, K).reduce((s, v) => s + v, 0), w: wOpt };
}

/** Quantiles of |Z + μ| from R's set.seed(seed); rnorm(10^6) (.qfoldednormal), type 7. */
export class FoldedNormalQuantile {
  private readonly draws: Float64Array;
  private readonly buf: Float64Array;
  constructor(numSims = 1e6, seed = 0) {
    const rng = new RRng(seed);
    this.draws = new Float64Array(numSims);
    for (let i = 0; i < numSims; i++) this.draws[i] = rng.norm();
    this.buf = new Float64Array(numSims);
  }
  quantile(p: number, mu: number): number {
    const a = this.buf, n = a.length;
    for (let i = 0; i < n; i++) a[i] = Math.abs(this.draws[i]! + mu);
    const hpos = (n - 1) * p, lo = Math.floor(hpos);
    const x0 = select(a, lo);
    if (lo + 1 >= n) return x0;
    // the (lo+1)-th order statistic is the minimum of the part right of lo after selection
    let x1 = Infinity;
    for (let i = lo + 1; i < n; i++) if (a[i]! < x1) x1 = a[i]!;
    return x0 + (hpos - lo) * (x1 - x0);
  }
}

/** Quickselect: rearranges a so that a[k] is the k-th smallest, smaller left, larger right. */
function select(a: Float64Array, k: number): number {
  let lo = 0, hi = a.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // median of three
    if (a[mid]! < a[lo]!) swap(a, mid, lo);
    if (a[hi]! < a[lo]!) swap(a, hi, lo);
    if (a[hi]! < a[mid]!) swap(a, hi, mid);
    const pivot = a[mid]!;
    let i = lo, j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) { swap(a, i, j); i++; j--; }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}
function swap(a: Float64Array, i: number, j: number): void { const t = a[i]!; a[i] = a[j]!; a[j] = t; }

let foldedCache: FoldedNormalQuantile | null = null;
function folded(): FoldedNormalQuantile { return (foldedCache ??= new FoldedNormalQuantile()); }

export interface FlciResult { lb: number; ub: number; halfLength: number; optimalVec: number[]; h: number; method: 'bisection' | 'grid' }

/** HonestDiD findOptimalFLCI(betahat, sigma, M, numPrePeriods, numPostPeriods, l_vec, numPoints = 100, alpha). */
export function findOptimalFLCI(beta: number[], sigma: Mat, numPre: number, numPost: number, l: number[], M: number, alpha: number, numPoints = 100): FlciResult {
  const S = flciSetup(sigma, numPre, numPost, l);
  const wMin = minVarianceW(S);
  const hMin = Math.sqrt(varOf(S, wMin));
  const w0 = [...new Array<number>(numPre - 1).fill(0), S.sumW];
  const h0 = Math.sqrt(varOf(S, w0));
  const fq = folded();
  const half = (h: number): { hl: number; w: number[] } => {
    const r = worstCaseBiasGivenH(S, h, wMin);
    return { hl: fq.quantile(1 - alpha, (M * r.bias) / h) * h, w: r.w };
  };
  const f = (h: number): number => half(h).hl;
  // .findOptimalCIDerivativeBisection(a = hMin, b = h0)
  let a = hMin, b = h0;
  const eps = 2.220446049250313e-16;
  const failtol = Math.sqrt(eps);
  let failed = false;
  const dif = Math.min((b - a) / numPoints, Math.abs(b) * Math.cbrt(eps));
  let hstar = NaN;
  if (!(dif > 0)) hstar = a;
  else {
    const fa = f(a), fb = f(b);
    const fpa = (f(a + dif) - fa) / dif;
    const fpb = (f(b - dif) - fb) / -dif;
    let iter = 1;
    const maxiter = 10 * Math.ceil(Math.log(Math.abs(b - a) / dif) / Math.log(2));
    if (fpa > fpb || Number.isNaN(fa) || Number.isNaN(fb)) failed = true;
    else if (fpb < 0) hstar = b;
    else if (fpa > 0) hstar = a;
    else {
      while (!failed && Math.abs(b - a) > dif) {
        iter++;
        const x = (a + b) / 2;
        const fpx = (f(x + dif) - f(x - dif)) / (2 * dif);
        failed = fpx > fpb + failtol || fpx + failtol < fpa || iter > maxiter;
        if (fpx > 0) b = x;
        else a = x;
      }
      hstar = (a + b) / 2;
    }
  }
  let best: { hl: number; w: number[] }, method: 'bisection' | 'grid' = 'bisection';
  if (failed) {
    method = 'grid';
    const n = numPoints;
    best = { hl: Infinity, w: [] };
    for (let i = 0; i < n; i++) {
      const h = i === n - 1 ? h0 : hMin + (i * (h0 - hMin)) / (n - 1);
      const r = half(h);
      if (r.hl < best.hl) { best = r; hstar = h; }
    }
  } else best = half(hstar);
  const lpre = best.w.map((v, i) => v - (i > 0 ? best.w[i - 1]! : 0));
  const v = [...lpre, ...l];
  const est = dot(v, beta);
  return { lb: est - best.hl, ub: est + best.hl, halfLength: best.hl, optimalVec: v, h: hstar, method };
}
