/**
 * Honest DiD sensitivity analysis (Rambachan & Roth 2023, "A More Credible Approach to Parallel
 * Trends"), ported from the R package HonestDiD 0.2.8 (asheshrambachan/HonestDiD, R/deltarm.R,
 * R/arp-nuisance.R, R/sensitivityresults.R) so that results agree on the package's own grid.
 *
 * Inputs: event-study estimates β̂ = (pre-periods, post-periods) without the base period, their
 * covariance Σ, and the target θ = l'τ_post.
 *
 * Implemented:
 * - `originalCI`: the non-robust CI l'β̂_post ± z_{1−α/2} √(l'Σ_post l) (constructOriginalCS).
 * - Relative magnitudes Δ^RM(M̄) (bound: deviation from parallel trends): post-period first
 *   differences of the trend at most M̄ × the largest pre-period first difference.
 *   `conditionalCSDeltaRM`: the union over the location s of the largest pre-period difference and its
 *   sign of the ARP (Andrews, Roth & Pakes) conditional test (method "Conditional") or its hybrid with
 *   the least-favourable test (method "C-LF", κ = α/10, the package default), inverted on the grid
 *   seq(−20 sd, 20 sd, length 1000) (grid.lb/grid.ub/gridPoints as the package), post-period moments
 *   only, with nuisance parameters (more than one post period) or without (one post period).
 * - The least-favourable critical value is simulated exactly as HonestDiD does: `set.seed(0)`, 1000
 *   draws of `mvtnorm::rmvnorm` (eigen square root, draws filled by row) from R's Mersenne-Twister,
 *   reproduced by stats/normal.ts, and R's type-7 quantile.
 *
 * - Smoothness Δ^SD(M) (second differences of the trend at most M): `conditionalCSDeltaSD`, methods
 *   "Conditional" and "C-LF", grid = identified set at β = 0 ± 20 sd(θ̂) (the package's grid).
 *
 * - Δ^SDRM(M̄) (bound: deviation from a linear trend): `conditionalCSDeltaSDRM`, as Δ^RM with second
 *   differences (union over s ∈ {−(numPre−2), …, 0} and the sign).
 * - C-F for Δ^SD: the ARP test with the FLCI hybrid (hybrid "FLCI": first stage the size-κ FLCI of
 *   stats/flci.ts, its interval also the grid). The package's `vbar` (min ||v − A_SD' vbar||², not
 *   unique since A_SD A_SD' is singular) enters only through u = A_SD' vbar, the projection of v onto
 *   the row space of A_SD, computed here exactly.
 *
 * Not implemented (errors say so): sign/monotonicity variants.
 *
 * Tests: test/stats/honest-did.test.ts vs test/golden/honest-did/ (R: HonestDiD built from GitHub).
 */
import { simplexMax } from './lp.js';
import { RRng, norminvp, qnorm } from './normal.js';
import { findOptimalFLCI } from './flci.js';

type Mat = number[][];

// ---------- small dense linear algebra ----------
const zeros = (r: number, c: number): Mat => Array.from({ length: r }, () => new Array<number>(c).fill(0));
const matmul = (A: Mat, B: Mat): Mat => {
  const r = A.length, k = B.length, c = B[0]?.length ?? 0;
  const C = zeros(r, c);
  for (let i = 0; i < r; i++) for (let l = 0; l < k; l++) { const a = A[i]![l]!; if (a !== 0) for (let j = 0; j < c; j++) C[i]![j]! += a * B[l]![j]!; }
  return C;
};
const transpose = (A: Mat): Mat => (A.length === 0 ? [] : A[0]!.map((_, j) => A.map((row) => row[j]!)));
const matvec = (A: Mat, x: ArrayLike<number>): number[] => A.map((row) => row.reduce((s, a, j) => s + a * x[j]!, 0));
const dotv = (a: ArrayLike<number>, b: ArrayLike<number>): number => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!; return s; };
const quad = (S: Mat, v: ArrayLike<number>): number => dotv(v, matvec(S, v));

/** Inverse by Gauss–Jordan with partial pivoting; throws when singular. */
export function inverse(A: Mat): Mat {
  const n = A.length;
  const M = A.map((row, i) => [...row, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[p]![c]!)) p = r;
    if (Math.abs(M[p]![c]!) < 1e-300) throw new Error('singular matrix');
    [M[c], M[p]] = [M[p]!, M[c]!];
    const pv = M[c]![c]!;
    for (let j = 0; j < 2 * n; j++) M[c]![j]! /= pv;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r]![c]!;
      if (f !== 0) for (let j = 0; j < 2 * n; j++) M[r]![j]! -= f * M[c]![j]!;
    }
  }
  return M.map((row) => row.slice(n));
}

/** Eigen-decomposition of a symmetric matrix (cyclic Jacobi): values and column eigenvectors. */
export function symEigen(S: Mat): { values: number[]; vectors: Mat } {
  const n = S.length;
  const A = S.map((r) => [...r]);
  const V = zeros(n, n);
  for (let i = 0; i < n; i++) V[i]![i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += A[p]![q]! * A[p]![q]!;
    let diag = 0;
    for (let p = 0; p < n; p++) diag += A[p]![p]! * A[p]![p]!;
    if (off <= 1e-32 * Math.max(diag, 1e-300)) break;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = A[p]![q]!;
        if (apq === 0) continue;
        const theta = (A[q]![q]! - A[p]![p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = A[k]![p]!, akq = A[k]![q]!;
          A[k]![p] = c * akp - s * akq;
          A[k]![q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = A[p]![k]!, aqk = A[q]![k]!;
          A[p]![k] = c * apk - s * aqk;
          A[q]![k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = V[k]![p]!, vkq = V[k]![q]!;
          V[k]![p] = c * vkp - s * vkq;
          V[k]![q] = s * vkp + c * vkq;
        }
      }
  }
  return { values: A.map((r, i) => r[i]!), vectors: V };
}

/** Numerical rank (tolerance as Matrix::rankMatrix: max(dim) · ε · σ_max). */
function rank(X: Mat): number {
  if (X.length === 0) return 0;
  const XtX = matmul(transpose(X), X);
  const sv = symEigen(XtX).values.map((v) => Math.sqrt(Math.max(v, 0)));
  const smax = Math.max(...sv);
  const tol = Math.max(X.length, X[0]!.length) * 2.220446049250313e-16 * smax;
  return sv.filter((s) => s > tol).length;
}

/** R's quantile(x, p, type = 7) ignoring NaN. */
function quantile7(xs: number[], p: number): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  const h = (s.length - 1) * p, lo = Math.floor(h);
  return lo + 1 < s.length ? s[lo]! + (h - lo) * (s[lo + 1]! - s[lo]!) : s[lo]!;
}

/** R's seq(from, to, length.out = n). */
export function rSeq(from: number, to: number, n: number): number[] {
  if (n === 1) return [from];
  const by = (to - from) / (n - 1);
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? to : from + i * by));
}

// ---------- Δ^RM constraint matrices (HonestDiD .create_A_RM) ----------
export function createA_RM(numPre: number, numPost: number, Mbar: number, s: number, maxPositive: boolean): Mat {
  const T = numPre + numPost;
  const Atilde = zeros(T, T + 1);
  for (let r = 0; r < T; r++) { Atilde[r]![r] = -1; Atilde[r]![r + 1] = 1; }
  const v = new Array<number>(T + 1).fill(0);
  v[numPre + s - 1] = -1;
  v[numPre + s] = 1;
  if (!maxPositive) for (let j = 0; j <= T; j++) v[j] = -v[j]!;
  const AUB: Mat = [];
  for (let r = 0; r < numPre; r++) AUB.push([...v]);
  for (let r = 0; r < numPost; r++) AUB.push(v.map((x) => Mbar * x));
  const rows: Mat = [];
  for (let r = 0; r < T; r++) rows.push(Atilde[r]!.map((a, j) => a - AUB[r]![j]!));
  for (let r = 0; r < T; r++) rows.push(Atilde[r]!.map((a, j) => -a - AUB[r]![j]!));
  const kept = rows.filter((row) => dotv(row, row) > 1e-10);
  return kept.map((row) => row.filter((_, j) => j !== numPre));
}

/** HonestDiD .construct_Gamma: rows l', then the unit vectors except the last nonzero index of l. */
export function constructGamma(l: number[]): Mat {
  const T = l.length;
  let last = -1;
  for (let i = 0; i < T; i++) if (l[i] !== 0) last = i;
  if (last < 0) throw new Error('l_vec is all zeros');
  const G: Mat = [[...l]];
  for (let i = 0; i < T; i++) if (i !== last) G.push(Array.from({ length: T }, (_, j) => (j === i ? 1 : 0)));
  return G;
}

// ---------- ARP conditional / hybrid test with nuisance parameters ----------

interface EtaSolution { ok: boolean; eta: number; lambda: Float64Array }

/** η = min{η : σ_i η + X_i δ ≥ y_i} and its multipliers λ, via the dual max{y'λ : [σ X]'λ = e₁, λ ≥ 0}. */
function testDeltaLP(y: number[], X: Mat, sd: number[]): EtaSolution {
  const M = y.length, k = X[0]?.length ?? 0;
  const A: number[][] = [sd];
  for (let j = 0; j < k; j++) A.push(X.map((row) => row[j]!));
  const b = [1, ...new Array<number>(k).fill(0)];
  const r = simplexMax(y, A, b);
  if (r.status !== 'optimal') return { ok: false, eta: NaN, lambda: new Float64Array(M) };
  return { ok: true, eta: r.value, lambda: r.x };
}

/** HonestDiD .max_program / .check_if_solution_helper: max f'γ s.t. W'γ = e₁, γ ≥ 0. */
function maxProgram(sT: number[], gamma: ArrayLike<number>, Sg: number[], gSg: number, W: Mat, c: number, tol: number) {
  const f = sT.map((s, i) => s + (Sg[i]! / gSg) * c);
  const m = W[0]!.length;
  const A: number[][] = [];
  for (let j = 0; j < m; j++) A.push(W.map((row) => row[j]!));
  const b = [1, ...new Array<number>(m - 1).fill(0)];
  const r = simplexMax(f, A, b);
  const ok = r.status === 'optimal';
  return { honest: ok && Math.abs(c - r.value) <= tol, solution: r.x, ok };
}

const roundeps = (x: number): number => (Math.abs(x) < Math.pow(2.220446049250313e-16, 0.75) ? 0 : x);

/** HonestDiD .vlo_vup_dual_fn. */
function vloVupDual(eta: number, sT: number[], gamma: ArrayLike<number>, sigma: Mat, W: Mat): { vlo: number; vup: number } {
  const tolC = 1e-6, tolEq = 1e-6;
  const Sg = matvec(sigma, gamma);
  const gSg = dotv(gamma, Sg);
  const sigmaB = Math.sqrt(gSg);
  const lowInit = Math.min(-100, eta - 20 * sigmaB), highInit = Math.max(100, eta + 20 * sigmaB);
  const maxiters = 10000, switchiters = 10;
  const check = (c: number) => maxProgram(sT, gamma, Sg, gSg, W, c, tolEq);
  const bvec = Sg.map((x) => x / gSg);
  const next = (sol: Float64Array): number => roundeps(dotv(sol, sT)) / (1 - dotv(sol, bvec));
  if (!check(eta).honest) return { vlo: eta, vup: Infinity };
  let vup: number, vlo: number;
  let lp = check(highInit);
  if (lp.honest) vup = Infinity;
  else {
    let dif = 0, iters = 1;
    let mid = next(lp.solution);
    while (!(lp = check(mid)).honest && iters < maxiters) {
      iters++;
      if (iters >= switchiters) { dif = tolC + 1; break; }
      mid = next(lp.solution);
    }
    let low = eta, high = mid;
    while (dif > tolC && iters < maxiters) {
      iters++;
      mid = (high + low) / 2;
      if (check(mid).honest) low = mid;
      else high = mid;
      dif = high - low;
    }
    vup = mid;
  }
  lp = check(lowInit);
  if (lp.honest) vlo = -Infinity;
  else {
    let dif = 0, iters = 1;
    let mid = next(lp.solution);
    while (!(lp = check(mid)).honest && iters < maxiters) {
      iters++;
      if (iters >= switchiters) { dif = tolC + 1; break; }
      mid = next(lp.solution);
    }
    let low = mid, high = eta;
    while (dif > tolC && iters < maxiters) {
      mid = (low + high) / 2;
      iters++;
      if (check(mid).honest) high = mid;
      else low = mid;
      dif = high - low;
    }
    vlo = mid;
  }
  return { vlo, vup };
}

export type Hybrid = 'ARP' | 'LF' | 'FLCI';

/**
 * The FLCI hybrid's pieces for one θ (HonestDiD hybrid_flag "FLCI"): `reject` is the first stage
 * (θ outside the size-κ FLCI built on u = A_SD' vbar), `bounds(g)` the truncation .FLCI_computeVloVup
 * for the conditioning direction g over the ARP rows.
 */
interface FlciHook { reject: boolean; bounds: (g: ArrayLike<number>) => { vlo: number; vup: number } }

/** HonestDiD .lp_conditional_test_fn (ARP or LF hybrid); returns 1 = reject. */
function conditionalTest(y: number[], X: Mat, sigma: Mat, alpha: number, hybrid: Hybrid, kappa: number, lfCv: number, flci?: FlciHook): number {
  const M = y.length, k = X[0]?.length ?? 0;
  const sd = sigma.map((r, i) => Math.sqrt(r[i]!));
  const lin = testDeltaLP(y, X, sd);
  if (!lin.ok) return 0; // the package warns "LP for eta did not converge properly. Not rejecting"
  let modSize = alpha;
  if (hybrid === 'LF') {
    modSize = (alpha - kappa) / (1 - kappa);
    if (lin.eta > lfCv) return 1;
  } else if (hybrid === 'FLCI') {
    modSize = (alpha - kappa) / (1 - kappa);
    if (flci!.reject) return 1;
  }
  const tolLambda = 1e-6;
  const B = Array.from(lin.lambda, (l) => l > tolLambda);
  const nB = B.filter(Boolean).length;
  const degenerate = nB !== k + 1;
  const XB = X.filter((_, i) => B[i]);
  const Xdim = Math.min(XB.length, k);
  const fullRank = Xdim === 0 ? false : rank(XB) === Xdim;
  if (!fullRank || degenerate) {
    const g = lin.lambda;
    const Sg = matvec(sigma, g);
    const gSg = dotv(g, Sg);
    const gy = dotv(g, y);
    const sT = y.map((yi, i) => yi - (Sg[i]! / gSg) * gy);
    const W = sigma.map((_, i) => [sd[i]!, ...X[i]!]);
    if (Math.abs(gSg) < 2.220446049250313e-16) return lin.eta > 0 ? 1 : 0;
    const v = vloVupDual(lin.eta, sT, g, sigma, W);
    const sB = Math.sqrt(gSg);
    const maxstat = lin.eta / sB;
    const fb = hybrid === 'FLCI' ? flci!.bounds(g) : { vlo: -Infinity, vup: Infinity };
    const zlo = Math.max(v.vlo, fb.vlo) / sB;
    const zup = (hybrid === 'LF' ? Math.min(v.vup, lfCv) : Math.min(v.vup, fb.vup)) / sB;
    if (!(zlo <= maxstat && maxstat <= zup)) return 0;
    const cval = Math.max(0, norminvp(1 - modSize, zlo, zup));
    return maxstat > cval ? 1 : 0;
  }
  const Bi: number[] = [], Bc: number[] = [];
  B.forEach((b, i) => (b ? Bi : Bc).push(i));
  const WB = Bi.map((i) => [sd[i]!, ...X[i]!]);
  const WBinv = inverse(WB); // (k+1)×(k+1)
  // v_B = (e1' WB⁻¹ S_B)' : M-vector with WBinv[0][j] at row Bi[j]
  const vB = new Array<number>(M).fill(0);
  Bi.forEach((i, j) => (vB[i] = WBinv[0]![j]!));
  // Gamma_B = [sd_Bc X_Bc] WB⁻¹ S_B − S_Bc : |Bc| × M
  const WBc = Bc.map((i) => [sd[i]!, ...X[i]!]);
  const P = matmul(WBc, WBinv);
  const GammaB = Bc.map((ic, r) => {
    const row = new Array<number>(M).fill(0);
    Bi.forEach((i, j) => (row[i] = P[r]![j]!));
    row[ic]! -= 1;
    return row;
  });
  const SvB = matvec(sigma, vB);
  const s2B = dotv(vB, SvB);
  const sB = Math.sqrt(s2B);
  const vBy = dotv(vB, y);
  let vlo = -Infinity, vup = Infinity;
  GammaB.forEach((row) => {
    const rho = dotv(row, SvB) / s2B;
    const val = -dotv(row, y) / rho + vBy;
    if (rho > 0) vlo = Math.max(vlo, val);
    else if (rho < 0) vup = Math.min(vup, val);
  });
  const fb = hybrid === 'FLCI' ? flci!.bounds(vB) : { vlo: -Infinity, vup: Infinity };
  const zlo = Math.max(vlo, fb.vlo) / sB;
  const zup = (hybrid === 'LF' ? Math.min(vup, lfCv) : Math.min(vup, fb.vup)) / sB;
  const maxstat = lin.eta / sB;
  if (!(zlo <= maxstat && maxstat <= zup)) return 0;
  const cval = Math.max(0, norminvp(1 - modSize, zlo, zup));
  return maxstat > cval ? 1 : 0;
}

/** Symmetric PSD square root V diag(√max(λ,0)) V' (mvtnorm::rmvnorm, method "eigen"). */
function sqrtPsd(S: Mat): Mat {
  const { values, vectors } = symEigen(S);
  const n = S.length;
  const R = zeros(n, n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let l = 0; l < n; l++) s += vectors[i]![l]! * Math.sqrt(Math.max(values[l]!, 0)) * vectors[j]![l]!;
      R[i]![j] = s;
    }
  return R;
}

/**
 * HonestDiD .compute_least_favorable_cv: the 1−κ quantile of the test statistic at the least
 * favourable point, by simulation with set.seed(seed) (1000 draws).
 */
export function leastFavorableCV(X: Mat | null, sigma: Mat, kappa: number, sims = 1000, seed = 0): number {
  const rng = new RRng(seed);
  const p = sigma.length;
  const R = sqrtPsd(sigma);
  const sd = sigma.map((r, i) => Math.sqrt(r[i]!));
  const etas: number[] = [];
  const z = new Array<number>(p);
  for (let s = 0; s < sims; s++) {
    for (let j = 0; j < p; j++) z[j] = rng.norm();
    const xi = new Array<number>(p).fill(0);
    for (let j = 0; j < p; j++) { let v = 0; for (let l = 0; l < p; l++) v += z[l]! * R[l]![j]!; xi[j] = v; }
    if (X === null) etas.push(Math.max(...xi.map((x, j) => x / sd[j]!)));
    else {
      const r = testDeltaLP(xi, X, sd);
      etas.push(r.ok ? r.eta : NaN);
    }
  }
  return quantile7(etas, 1 - kappa);
}

/** HonestDiD .testInIdentifiedSet (ARP, no nuisance) / _LF_Hybrid; returns 1 = reject. */
function testNoNuisance(y: number[], sigma: Mat, A: Mat, d: number[], alpha: number, hybrid: Hybrid, kappa: number, lfCv: number, flciFirst?: { A: Mat; d: number[] }): number {
  const ASA = matmul(matmul(A, sigma), transpose(A));
  const st = ASA.map((r, i) => Math.sqrt(r[i]!));
  const At = A.map((row, i) => row.map((a) => a / st[i]!));
  const dt = d.map((x, i) => x / st[i]!);
  const mom = matvec(At, y).map((v, i) => v - dt[i]!);
  let loc = 0;
  for (let i = 1; i < mom.length; i++) if (mom[i]! > mom[loc]!) loc = i;
  const maxMoment = mom[loc]!;
  let a = alpha;
  if (hybrid === 'LF') {
    if (maxMoment > lfCv) return 1;
    a = (alpha - kappa) / (1 - kappa);
  } else if (hybrid === 'FLCI') {
    // .testInIdentifiedSet_FLCI_Hybrid: reject outside the size-κ FLCI, else the test with its two rows added to Abar
    const f = flciFirst!;
    if (Math.max(...f.A.map((row, i) => dotv(row, y) - f.d[i]!)) > 0) return 1;
    a = (alpha - kappa) / (1 - kappa);
  }
  const gamma = At[loc]!;
  const Abar = At.map((row) => row.map((x, j) => x - gamma[j]!));
  const dbar = dt.map((x) => x - dt[loc]!);
  if (hybrid === 'FLCI') { Abar.push(...flciFirst!.A.map((r) => [...r])); dbar.push(...flciFirst!.d); }
  const Sg = matvec(sigma, gamma);
  const gSg = dotv(gamma, Sg);
  const sigmabar = Math.sqrt(gSg);
  const c = Sg.map((x) => x / gSg);
  const gy = dotv(gamma, y);
  const z = y.map((yi, i) => yi - c[i]! * gy);
  // .VLoVUpFN(eta = gamma, Sigma, A = Abar, b = dbar, z)
  const Ac = matvec(Abar, c), Az = matvec(Abar, z);
  let vlo = -Infinity, vup = Infinity;
  for (let i = 0; i < Abar.length; i++) {
    const obj = (dbar[i]! - Az[i]!) / Ac[i]!;
    if (Ac[i]! < 0) vlo = Math.max(vlo, obj);
    else if (Ac[i]! > 0) vup = Math.min(vup, obj);
  }
  const mu = dt[loc]!;
  const cv = Math.max(0, mu + sigmabar * norminvp(1 - a, (vlo - mu) / sigmabar, (vup - mu) / sigmabar));
  return maxMoment + mu > cv ? 1 : 0;
}

export interface CsOptions {
  alpha: number;
  hybrid: Hybrid;
  kappa?: number;
  gridPoints?: number;
  gridLb?: number;
  gridUb?: number;
  seed?: number;
}

/**
 * HonestDiD .ARP_computeCI (more than one post period: nuisance parameters) or
 * .APR_computeCI_NoNuis (one post period) for the polyhedron A δ ≤ d: accept (1/0) per grid value.
 * `postOnly`: keep only the moments with a post-period entry (postPeriodMomentsOnly, as the package
 * does for both restrictions when there are several post periods; with one post period, Δ^RM keeps
 * only its post-period rows and Δ^SD all rows).
 */
function arpGrid(beta: number[], sigma: Mat, numPre: number, numPost: number, l: number[], A: Mat, d: number[], grid: number[], o: Required<CsOptions>, postOnly: boolean, flci?: { v: number[]; h: number; B: Mat }): number[] {
  if (numPost === 1) {
    const keep = A.map((row, i) => (!postOnly || row[row.length - 1] !== 0 ? i : -1)).filter((i) => i >= 0);
    const Ap = keep.map((i) => A[i]!), dp = keep.map((i) => d[i]!);
    const lf = o.hybrid === 'LF' ? leastFavorableCV(null, matmul(matmul(Ap, sigma), transpose(Ap)), o.kappa, 1000, o.seed) : NaN;
    return grid.map((theta) => {
      const y = beta.map((b, i) => (i === numPre ? b - theta : b));
      const first = flci ? { A: [flci.v, flci.v.map((x) => -x)], d: [flci.h, flci.h] } : undefined;
      return 1 - testNoNuisance(y, sigma, Ap, dp, o.alpha, o.hybrid, o.kappa, lf, first);
    });
  }
  const rows = A.map((row, i) => (row.slice(numPre).some((x) => x !== 0) ? i : -1)).filter((i) => i >= 0);
  const Gamma = constructGamma(l);
  const Ginv = inverse(Gamma);
  const AGinv = matmul(A.map((row) => row.slice(numPre)), Ginv);
  const one = AGinv.map((r) => r[0]!);
  const Xt = AGinv.map((r) => r.slice(1));
  const Y = matvec(A, beta).map((v, i) => v - d[i]!);
  const SY = matmul(matmul(A, sigma), transpose(A));
  const Xa = rows.map((i) => Xt[i]!);
  const Sa = rows.map((i) => rows.map((j) => SY[i]![j]!));
  const lf = o.hybrid === 'LF' ? leastFavorableCV(Xa, Sa, o.kappa, 1000, o.seed) : NaN;
  // FLCI hybrid: only u = A_SD' vbar enters (the vbar'd terms of dbar cancel), u = the projection of the
  // FLCI vector onto the row space of A_SD (vbar minimises ||v − A_SD' vbar||²): u = B'(BB')⁻¹B v.
  let u: number[] = [], uBeta = 0;
  if (flci) {
    const Bv = matvec(flci.B, flci.v);
    const coef = matvec(inverse(matmul(flci.B, transpose(flci.B))), Bv);
    u = matvec(transpose(flci.B), coef);
    uBeta = dotv(u, beta);
  }
  return grid.map((theta) => {
    const y = rows.map((i) => Y[i]! - one[i]! * theta);
    let hook: FlciHook | undefined;
    if (flci) {
      const h = flci.h;
      hook = {
        reject: Math.max(uBeta - theta - h, -(uBeta - theta) - h) > 0,
        bounds: (g) => {
          const Ag = new Array<number>(beta.length).fill(0);
          rows.forEach((i, r) => { const gr = g[r]!; if (gr !== 0) A[i]!.forEach((a, j) => (Ag[j]! += gr * a)); });
          const vc = dotv(u, matvec(sigma, Ag)) / quad(Sa, g);
          const gy = dotv(g, y);
          const nums = [h + theta - uBeta + vc * gy, h - theta + uBeta - vc * gy], dens = [vc, -vc];
          let vlo = -Infinity, vup = Infinity;
          for (let k = 0; k < 2; k++) {
            if (dens[k]! < 0) vlo = Math.max(vlo, nums[k]! / dens[k]!);
            else if (dens[k]! > 0) vup = Math.min(vup, nums[k]! / dens[k]!);
          }
          return { vlo, vup };
        },
      };
    }
    return 1 - conditionalTest(y, Xa, Sa, o.alpha, o.hybrid, o.kappa, lf, hook);
  });
}

/** One (s, sign) piece of computeConditionalCS_DeltaRM: accept (1/0) per grid value. */
function csDeltaRMFixedS(beta: number[], sigma: Mat, numPre: number, numPost: number, l: number[], Mbar: number, s: number, maxPos: boolean, grid: number[], o: Required<CsOptions>): number[] {
  const A = createA_RM(numPre, numPost, Mbar, s, maxPos);
  return arpGrid(beta, sigma, numPre, numPost, l, A, new Array<number>(A.length).fill(0), grid, o, true);
}

/** HonestDiD .create_A_SD: ± second differences of (pre, 0, post), the base column dropped. */
export function createA_SD(numPre: number, numPost: number): Mat {
  const T = numPre + numPost;
  const rows: Mat = [];
  for (let r = 0; r < T - 1; r++) {
    const row = new Array<number>(T + 1).fill(0);
    row[r] = 1; row[r + 1] = -2; row[r + 2] = 1;
    rows.push(row.filter((_, j) => j !== numPre));
  }
  return [...rows, ...rows.map((row) => row.map((x) => -x))];
}

/**
 * HonestDiD .compute_IDset_DeltaSD at trueBeta = 0: [−V, V] with V = max l'δ_post subject to
 * |second differences| ≤ M and δ_pre = 0 (an LP: δ_post = p − q, slacks on A_post δ_post ≤ M).
 */
export function idSetDeltaSD(numPre: number, numPost: number, l: number[], M: number): { lb: number; ub: number } {
  const A = createA_SD(numPre, numPost).map((row) => row.slice(numPre));
  const m = A.length;
  const n = 2 * numPost + m;
  const c = [...l, ...l.map((x) => -x), ...new Array<number>(m).fill(0)];
  const rows = A.map((row, i) => [...row, ...row.map((x) => -x), ...Array.from({ length: m }, (_, j) => (j === i ? 1 : 0))]);
  const r = simplexMax(c, rows, new Array<number>(m).fill(M));
  if (r.status !== 'optimal' || n !== c.length) return { lb: 0, ub: 0 }; // the package warns and uses l'β
  return { lb: -r.value, ub: r.value };
}

/**
 * computeConditionalCS_DeltaSD with hybrid ARP ("Conditional"), LF ("C-LF") or FLCI ("C-F": first
 * stage the FLCI of size κ, whose interval is also the grid).
 */
export function conditionalCSDeltaSD(beta: number[], sigma: Mat, numPre: number, numPost: number, l: number[], M: number, opts: CsOptions): CsResult {
  const sdTheta = Math.sqrt(quad(sigma.slice(numPre).map((r) => r.slice(numPre)), l));
  let flci: { v: number[]; h: number; B: Mat } | undefined;
  let id = { lb: 0, ub: 0 };
  if (opts.hybrid === 'FLCI') {
    const f = findOptimalFLCI(beta, sigma, numPre, numPost, l, M, opts.kappa ?? opts.alpha / 10);
    flci = { v: f.optimalVec, h: f.halfLength, B: createA_SD(numPre, numPost).slice(0, numPre + numPost - 1) };
    opts = { ...opts, gridLb: opts.gridLb ?? f.lb, gridUb: opts.gridUb ?? f.ub };
  } else id = idSetDeltaSD(numPre, numPost, l, M);
  const o = csDefaults(opts, id.lb - 20 * sdTheta, id.ub + 20 * sdTheta);
  const grid = rSeq(o.gridLb, o.gridUb, o.gridPoints);
  const A = createA_SD(numPre, numPost);
  const accept = arpGrid(beta, sigma, numPre, numPost, l, A, new Array<number>(A.length).fill(M), grid, o, false, flci);
  return csResult(grid, accept);
}

export interface CsResult { grid: number[]; accept: number[]; lb: number | null; ub: number | null }

/** The package's defaults for the options not given (κ = α/10, 1000 grid points, seed 0) and the grid's ends. */
function csDefaults(opts: CsOptions, gridLb: number, gridUb: number): Required<CsOptions> {
  return {
    alpha: opts.alpha,
    hybrid: opts.hybrid,
    kappa: opts.kappa ?? opts.alpha / 10,
    gridPoints: opts.gridPoints ?? 1000,
    gridLb: opts.gridLb ?? gridLb,
    gridUb: opts.gridUb ?? gridUb,
    seed: opts.seed ?? 0,
  };
}

/** The confidence set as the accepted grid points and their ends (null when nothing is accepted). */
function csResult(grid: number[], accept: number[]): CsResult {
  const acc = grid.filter((_, i) => accept[i] === 1);
  return { grid, accept, lb: acc.length ? Math.min(...acc) : null, ub: acc.length ? Math.max(...acc) : null };
}

/** The union over s ∈ {from, …, 0} and both signs of the per-(s, sign) acceptance vectors on `grid` (Δ^RM, Δ^SDRM). */
function unionOverS(from: number, grid: number[], fixedS: (s: number, pos: boolean) => number[]): number[] {
  const accept = new Array<number>(grid.length).fill(0);
  for (let s = from; s <= 0; s++)
    for (const pos of [true, false]) fixedS(s, pos).forEach((x, i) => (accept[i] = Math.max(accept[i]!, x)));
  return accept;
}

/** computeConditionalCS_DeltaRM (HonestDiD defaults: κ = α/10, 1000 grid points on ±20 sd(θ̂), seed 0). */
export function conditionalCSDeltaRM(beta: number[], sigma: Mat, numPre: number, numPost: number, l: number[], Mbar: number, opts: CsOptions): CsResult {
  const sdTheta = Math.sqrt(quad(sigma.slice(numPre).map((r) => r.slice(numPre)), l));
  const o = csDefaults(opts, -20 * sdTheta, 20 * sdTheta);
  const grid = rSeq(o.gridLb, o.gridUb, o.gridPoints);
  const accept = unionOverS(-(numPre - 1), grid, (s, pos) => csDeltaRMFixedS(beta, sigma, numPre, numPost, l, Mbar, s, pos, grid, o));
  return csResult(grid, accept);
}

// ---------- Δ^SDRM: bound on the deviation from a linear trend (HonestDiD R/deltasdrm.R) ----------

/**
 * HonestDiD .create_A_SDRM: |second difference of δ at t| ≤ (1 or M̄ for post periods) × the second
 * difference at pre period s (sign + or −), all-zero rows removed, the base column dropped.
 */
export function createA_SDRM(numPre: number, numPost: number, Mbar: number, s: number, maxPositive: boolean): Mat {
  const T = numPre + numPost;
  const Atilde = zeros(T - 1, T + 1);
  for (let r = 0; r < T - 1; r++) { Atilde[r]![r] = 1; Atilde[r]![r + 1] = -2; Atilde[r]![r + 2] = 1; }
  const v = new Array<number>(T + 1).fill(0);
  v[numPre + s - 2] = 1; v[numPre + s - 1] = -2; v[numPre + s] = 1;
  if (!maxPositive) for (let j = 0; j <= T; j++) v[j] = -v[j]!;
  const AUB: Mat = [];
  for (let r = 0; r < numPre - 1; r++) AUB.push([...v]);
  for (let r = 0; r < numPost; r++) AUB.push(v.map((x) => Mbar * x));
  const rows: Mat = [];
  for (let r = 0; r < T - 1; r++) rows.push(Atilde[r]!.map((a, j) => a - AUB[r]![j]!));
  for (let r = 0; r < T - 1; r++) rows.push(Atilde[r]!.map((a, j) => -a - AUB[r]![j]!));
  const kept = rows.filter((row) => dotv(row, row) > 1e-10);
  return kept.map((row) => row.filter((_, j) => j !== numPre));
}

/**
 * computeConditionalCS_DeltaSDRM (bound "deviation from linear trend" of
 * createSensitivityResults_relativeMagnitudes): the union over s ∈ {−(numPre−2), …, 0} and the sign of
 * the ARP / hybrid confidence sets for Δ^SDRM_s(M̄), post-period moments only, on seq(−20 sd, 20 sd).
 * Needs at least two pre periods.
 */
export function conditionalCSDeltaSDRM(beta: number[], sigma: Mat, numPre: number, numPost: number, l: number[], Mbar: number, opts: CsOptions): CsResult {
  if (numPre < 2) throw new Error('Δ^SDRM (deviation from a linear trend) needs at least two pre periods');
  const sdTheta = Math.sqrt(quad(sigma.slice(numPre).map((r) => r.slice(numPre)), l));
  const o = csDefaults(opts, -20 * sdTheta, 20 * sdTheta);
  const grid = rSeq(o.gridLb, o.gridUb, o.gridPoints);
  const accept = unionOverS(-(numPre - 2), grid, (s, pos) => {
    const A = createA_SDRM(numPre, numPost, Mbar, s, pos);
    return arpGrid(beta, sigma, numPre, numPost, l, A, new Array<number>(A.length).fill(0), grid, o, true);
  });
  return csResult(grid, accept);
}

/** constructOriginalCS: l'β̂_post ± z_{1−α/2} √(l'Σ_post l). */
export function originalCI(beta: number[], sigma: Mat, numPre: number, l: number[], alpha: number): { estimate: number; se: number; lb: number; ub: number } {
  const post = beta.slice(numPre);
  const est = dotv(l, post);
  const se = Math.sqrt(quad(sigma.slice(numPre).map((r) => r.slice(numPre)), l));
  const z = qnorm(1 - alpha / 2);
  return { estimate: est, se, lb: est - z * se, ub: est + z * se };
}
