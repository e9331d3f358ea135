/**
 * Linear regression with absorbed fixed effects (the reghdfe / fixest `feols` model):
 *
 *   y = X β + Σ_q D_q α_q + ε,
 *
 * estimated by OLS on the columns demeaned by alternating projections (demean.ts), after iterative
 * singleton removal (fe.ts). With exactly two unweighted fixed effects (unit + time, the common
 * case) the projection is the exact one of twoway.ts instead, and no demeaned column is stored:
 * the group sums of y and every regressor come from one pass over the rows, and the demeaned values
 * are recomputed block by block for the cross products and again for the residuals and the
 * variance (a 10⁶-row fit touches O(levels) fresh memory). Reported, following reghdfe:
 *
 * - `_cons` = ȳ − x̄'β̂ (weighted means over the estimation sample), with its standard error from
 *   the regression of (ỹ + ȳ) on (X̃ + x̄) and a constant (as xtreg, fe / reghdfe do);
 * - R² = 1 − RSS/TSS of the full model (TSS around the mean of y), within R² = 1 − RSS/Σỹ²;
 * - collinear regressors dropped in the order given (a column whose residual after the fixed effects
 *   and the regressors before it has ≤ 1e-10 of its own sum of squares), reported.
 *
 * Parameter count K of the small-sample factors (vcov.ts): K = (regressors kept) + rank of
 * [1, D_1..D_Q] where a fixed effect nested in a cluster variable (every level within one cluster,
 * e.g. city FE with clustering by city or province) is not counted — reghdfe's and fixest's
 * `fixef.K = "nested"` rule. The rank is 1 + Σ(L_q − 1) − (C − 1), C = connected components of the
 * first two counted fixed effects. With no clustering nothing is nested, so K is the rank of the
 * full dummy-variable regression (what lm + sandwich use).
 *
 * // R: lm(y ~ x + factor(f1) + factor(f2)) coefficients; vcov via sandwich (test/golden/twfe/make.R)
 *
 * @example
 * const fit = feols({ y, yName: 'so2', X: [did, gdp], xNames: ['did', 'gdp'], fe: [city, year],
 *   feNames: ['city', 'year'], clusters: [city], clusterNames: ['city'], vcov: 'cluster' });
 * fit.coefficients[0]; // { term: 'did', estimate, se, t, p, ci_low, ci_high }
 */
import { Demeaner } from './demean.js';
import { exactTwoWay, type TwoWayProjector } from './twoway.js';
import { type Factor, absorbedDof, dropSingletons, isNested, subsetFactor } from './fe.js';
import { collinearityCheck, crossprod, crossvec, cholSolve, spdInverse, subMatrix } from './linalg.js';
import { computeVcov, VcovAccumulator, type VcovResult, type VcovType } from './vcov.js';
import { tPValue, tQuantile } from './dist.js';

/** Inputs of {@link feols}: complete columns (no missing values), all of the same length. */
export interface FeolsInput {
  y: Float64Array;
  yName: string;
  /** Regressors, the treatment(s) first. */
  X: Float64Array[];
  xNames: string[];
  /** Fixed effects to absorb (any number, may be empty: then only an intercept). */
  fe: Factor[];
  feNames: string[];
  /** 0, 1 or 2 cluster factors. */
  clusters?: Factor[];
  clusterNames?: string[];
  /** Observation weights (> 0), or null. */
  weights?: Float64Array | null;
  /** Variance type. `cluster` needs clusters. */
  vcov: VcovType;
  /** Confidence level of the intervals. Default 0.95, bounds (0, 1). */
  level?: number;
  /** Keep singleton observations. Default false (dropped iteratively). */
  keepSingletons?: boolean;
  /** Demeaning tolerance (demean.ts). Default 1e-13. */
  tol?: number;
  /** Collinearity tolerance. Default 1e-10. */
  collinTol?: number;
}

export interface Coefficient {
  term: string;
  estimate: number;
  se: number;
  t: number;
  p: number;
  ci_low: number;
  ci_high: number;
}

export interface FeolsResult {
  n: number;
  coefficients: Coefficient[];
  /** Kept regressor names (excluding _cons), in order. */
  terms: string[];
  /** Variance matrix of the kept regressors (terms order, K×K row-major). */
  V: Float64Array;
  r2: number;
  r2_within: number;
  rss: number;
  /** Degrees of freedom of t tests. */
  dfT: number;
  /** K of the small-sample factor. */
  dofK: number;
  clusters: Record<string, number>;
  singletons: number;
  collinear: string[];
  /** Why each collinear regressor was dropped (same order as `collinear`): "constant in the
   * estimation sample", "collinear with the fixed effect city", "collinear with the fixed effects
   * city, year (jointly)" or "collinear with the regressors before it (a, b)". */
  collinearWhy: Record<string, string>;
  /** Fixed effects nested in a cluster variable (not counted in K). */
  nested: string[];
  nobsByFe: Record<string, number>;
  iterations: number;
  /**
   * Internals for fast re-estimation (placebo, wild bootstrap): estimation-sample rows, demeaner,
   * demeaned data — built on first access (the two-way path stores no demeaned column otherwise).
   */
  internals: {
    rows: Int32Array;
    demeaner: Demeaner;
    yt: Float64Array;
    Xt: Float64Array[];
    fe: Factor[];
    clusters: Factor[];
    weights: Float64Array | null;
  };
}

/**
 * Σw(x − x̄)² and Σw x̃² of a column and its demeaned version: feols' TSS and within TSS for the
 * outcome, and its collinearity test for a regressor (also stats/spec-curve.ts, which must match).
 */
export function sumsOfSquares(x: Float64Array, xt: Float64Array, w: Float64Array | null): { raw: number; within: number } {
  const xbar = wmean(x, w);
  let raw = 0, within = 0;
  for (let i = 0; i < x.length; i++) {
    const wi = w ? w[i]! : 1;
    const d = x[i]! - xbar;
    raw += wi * d * d;
    within += wi * xt[i]! * xt[i]!;
  }
  return { raw, within };
}

/** Weighted mean. */
export function wmean(x: Float64Array, w: Float64Array | null): number {
  let s = 0, sw = 0;
  if (w) for (let i = 0; i < x.length; i++) { s += w[i]! * x[i]!; sw += w[i]!; }
  else { for (let i = 0; i < x.length; i++) s += x[i]!; sw = x.length; }
  return s / sw;
}

/** x at `rows` (a new array). */
export function take(x: Float64Array, rows: Int32Array): Float64Array {
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = x[rows[i]!]!;
  return out;
}

/**
 * What the fit needs from the data after the fixed effects, however it is computed: sums of
 * squares, the Gram matrix X̃'WX̃ and X̃'Wỹ of every regressor, and a pass over the residuals.
 */
interface Within {
  ybar: number;
  tss: number;
  tssWithin: number;
  /** Per regressor: Σw(x − x̄)², Σw x̃² and the weighted mean x̄. */
  raw: Float64Array;
  within: Float64Array;
  xbar: Float64Array;
  /** X̃'WX̃ (K0×K0) and X̃'Wỹ (K0) of all regressors. */
  gram: Float64Array;
  xty: Float64Array;
  iterations: number;
  /**
   * The residuals e = ỹ − X̃_kept β: their Σw e², and the variance on the design [X̃_kept, 1]
   * (`bread` its (k+1)×(k+1) inverse Gram matrix).
   */
  residuals(kept: number[], beta: Float64Array, vcov: VcovType, clusters: Factor[], bread: Float64Array, dofK: number): { rss: number; vc: VcovResult };
  /** The demeaner and demeaned columns (feols' `internals`), built on first use. */
  demeaned(): { demeaner: Demeaner; yt: Float64Array; Xt: Float64Array[] };
}

/** Fit the fixed-effects regression (see the module comment). Throws Error with a clear message on degenerate input. */
export function feols(inp: FeolsInput): FeolsResult {
  const n0 = inp.y.length;
  const level = inp.level ?? 0.95;
  if (!(level > 0 && level < 1)) throw new Error(`feols: level must be in (0, 1), got ${level}`);
  if (inp.X.length !== inp.xNames.length) throw new Error('feols: X and xNames differ in length');
  const clusters0 = inp.clusters ?? [];
  const clusterNames = inp.clusterNames ?? [];
  if (inp.vcov === 'cluster' && clusters0.length === 0) throw new Error('feols: vcov "cluster" needs a cluster variable');

  // 1. singletons
  const keep = inp.keepSingletons || inp.fe.length === 0 ? null : new Uint8Array(n0).fill(1);
  const singletons = keep ? dropSingletons(inp.fe, keep) : 0;
  const sub = singletons > 0;
  let rows: Int32Array | null = null;
  if (sub) {
    rows = new Int32Array(n0 - singletons);
    let j = 0;
    for (let i = 0; i < n0; i++) if (keep![i]) rows[j++] = i;
  }
  const n = n0 - singletons;
  if (n === 0) throw new Error('feols: no observation left after dropping singletons');
  const y = rows ? take(inp.y, rows) : inp.y;
  const X = rows ? inp.X.map((x) => take(x, rows!)) : inp.X;
  const w = inp.weights ? (rows ? take(inp.weights, rows) : inp.weights) : null;
  // a factor given as both a fixed effect and a cluster (city FE, clustered by city) stays one object
  const subsets = new Map<Factor, Factor>();
  const subset = (f: Factor): Factor => {
    if (!rows) return f;
    let s = subsets.get(f);
    if (!s) subsets.set(f, (s = subsetFactor(f, rows)));
    return s;
  };
  const fe = inp.fe.map(subset);
  const clusters = clusters0.map(subset);

  // 2. the data after the fixed effects. Two unweighted fixed effects (unit + time, the common
  // case): the exact projection of stats/twoway.ts, no iteration, no demeaned column stored;
  // otherwise alternating projections to tolerance (no fixed effect: the overall mean, i.e. an
  // intercept)
  const two = exactTwoWay(fe, w);
  const feForDemean: Factor[] = fe.length > 0 ? fe : [{ codes: new Int32Array(n), nlevels: 1 }];
  const wd = two ? twoWayWithin(two, y, X, () => new Demeaner(feForDemean, { weights: w, tol: inp.tol })) : demeanedWithin(new Demeaner(feForDemean, { weights: w, tol: inp.tol }), y, X, w, inp.yName, inp.xNames);
  const { ybar, tss, tssWithin } = wd;
  if (!(tssWithin > 1e-20 * Math.max(tss, 1e-300)) || tss === 0)
    throw new Error(`feols: outcome "${inp.yName}" has no variation${fe.length ? ' within the fixed effects' : ''} in the estimation sample`);

  // 3. collinearity: absorbed by the fixed effects, then sequentially among regressors
  const collinTol = inp.collinTol ?? 1e-10;
  const candidates: number[] = [];
  const collinear: string[] = [];
  const collinearWhy: Record<string, string> = Object.create(null) as Record<string, string>;
  // which fixed effect absorbs a column: the first one that does alone, else all of them jointly
  const absorbedBy = (x: Float64Array, raw: number): string => {
    if (fe.length === 0) return 'constant in the estimation sample';
    for (let q = 0; q < fe.length; q++) {
      if (fe.length === 1) break;
      const r = new Demeaner([fe[q]!], { weights: w, tol: inp.tol }).demean(x, undefined, 'x');
      let ss = 0;
      for (let i = 0; i < n; i++) ss += (w ? w[i]! : 1) * r[i]! * r[i]!;
      if (!(ss > collinTol * raw)) return `collinear with the fixed effect ${inp.feNames[q] ?? `fe${q + 1}`}`;
    }
    return fe.length === 1 ? `collinear with the fixed effect ${inp.feNames[0] ?? 'fe1'}` : `collinear with the fixed effects ${inp.feNames.join(', ')} (jointly)`;
  };
  for (let j = 0; j < X.length; j++) {
    const raw = wd.raw[j]!, within = wd.within[j]!;
    if (!(raw > 0) || !(within > collinTol * raw)) {
      collinear.push(inp.xNames[j]!);
      collinearWhy[inp.xNames[j]!] = raw > 0 ? absorbedBy(X[j]!, raw) : 'constant in the estimation sample';
    } else candidates.push(j);
  }
  const A0 = subMatrix(wd.gram, X.length, candidates);
  const chk = collinearityCheck(A0, candidates.length, collinTol);
  for (const d of chk.dropped) {
    const nm = inp.xNames[candidates[d]!]!;
    collinear.push(nm);
    const before = chk.kept.filter((c) => c < d).map((c) => inp.xNames[candidates[c]!]!);
    collinearWhy[nm] = `collinear with the regressors before it${before.length ? ` (${before.join(', ')})` : ''}${fe.length ? ' after the fixed effects' : ''}`;
  }
  const keptIdx = chk.kept.map((c) => candidates[c]!);
  // report collinear terms in the order given
  const order = new Map(inp.xNames.map((nm, i) => [nm, i]));
  collinear.sort((a, b) => order.get(a)! - order.get(b)!);
  const k = keptIdx.length;
  const terms = keptIdx.map((j) => inp.xNames[j]!);

  // 4. OLS
  const A = k > 0 ? subMatrix(A0, candidates.length, chk.kept) : new Float64Array(0);
  const beta = k > 0 ? cholSolve(A, k, Float64Array.from(keptIdx, (j) => wd.xty[j]!)) : new Float64Array(0);

  // 5. K and variance on the design [Z, 1] (the constant column is weighted-orthogonal to Z)
  const nestedFlags = fe.map((f) => inp.vcov === 'cluster' && clusters.some((c) => isNested(f, c)));
  const nested = inp.feNames.filter((_, q) => nestedFlags[q]);
  const dofK = k + absorbedDof(fe, nestedFlags);
  if (!(n > dofK)) throw new Error(`feols: ${n} observations but ${dofK} parameters (regressors + fixed effects); the model is not identified`);
  const kc = k + 1;
  const bread = new Float64Array(kc * kc);
  if (k > 0) {
    const Ainv = spdInverse(A, k);
    for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) bread[a * kc + b] = Ainv[a * k + b]!;
  }
  let sw = 0;
  if (w) for (let i = 0; i < n; i++) sw += w[i]!;
  else sw = n;
  bread[k * kc + k] = 1 / sw;
  const { rss, vc } = wd.residuals(keptIdx, beta, inp.vcov, clusters, bread, dofK);
  const Vc = vc.V;
  // transform to (β, _cons = ȳ − x̄'β): Var(c) = V_11 − 2 x̄'V_x1 + x̄'V_xx x̄
  const xbar = keptIdx.map((j) => wd.xbar[j]!);
  let cons = ybar;
  for (let a = 0; a < k; a++) cons -= xbar[a]! * beta[a]!;
  let vcons = Vc[k * kc + k]!;
  for (let a = 0; a < k; a++) {
    vcons -= 2 * xbar[a]! * Vc[a * kc + k]!;
    for (let b = 0; b < k; b++) vcons += xbar[a]! * Vc[a * kc + b]! * xbar[b]!;
  }
  const V = new Float64Array(k * k);
  for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) V[a * k + b] = Vc[a * kc + b]!;

  const q = tQuantile(0.5 + level / 2, vc.dfT);
  const coef = (term: string, est: number, v: number): Coefficient => {
    const se = v >= 0 ? Math.sqrt(v) : NaN;
    const t = est / se;
    return { term, estimate: est, se, t, p: tPValue(t, vc.dfT), ci_low: est - q * se, ci_high: est + q * se };
  };
  const coefficients = terms.map((t, a) => coef(t, beta[a]!, V[a * k + a]!));
  coefficients.push(coef('_cons', cons, vcons));

  const clustersOut: Record<string, number> = {};
  clusters.forEach((f, i) => (clustersOut[clusterNames[i] ?? `cluster${i + 1}`] = f.nlevels));
  const nobsByFe: Record<string, number> = {};
  fe.forEach((f, i) => (nobsByFe[inp.feNames[i] ?? `fe${i + 1}`] = f.nlevels));

  let internals: FeolsResult['internals'] | null = null;
  return {
    n,
    coefficients,
    terms,
    V,
    r2: 1 - rss / tss,
    r2_within: 1 - rss / tssWithin,
    rss,
    dfT: vc.dfT,
    dofK,
    clusters: clustersOut,
    singletons,
    collinear,
    collinearWhy,
    nested,
    nobsByFe,
    iterations: wd.iterations,
    get internals(): FeolsResult['internals'] {
      if (!internals) {
        const r = rows ?? new Int32Array(n);
        if (!rows) for (let i = 0; i < n; i++) r[i] = i;
        internals = { rows: r, ...wd.demeaned(), fe, clusters, weights: w };
      }
      return internals;
    },
  };
}

/** {@link Within} from columns demeaned by alternating projections (any fixed effects, weights). */
function demeanedWithin(dm: Demeaner, y: Float64Array, X: Float64Array[], w: Float64Array | null, yName: string, xNames: string[]): Within {
  const yt = dm.demean(y, undefined, yName);
  let iterations = dm.lastIterations;
  const Xt = X.map((x, j) => {
    const r = dm.demean(x, undefined, xNames[j]);
    iterations = Math.max(iterations, dm.lastIterations);
    return r;
  });
  const ys = sumsOfSquares(y, yt, w);
  const ss = X.map((x, j) => sumsOfSquares(x, Xt[j]!, w));
  return {
    ybar: wmean(y, w),
    tss: ys.raw,
    tssWithin: ys.within,
    raw: Float64Array.from(ss, (s) => s.raw),
    within: Float64Array.from(ss, (s) => s.within),
    xbar: Float64Array.from(X, (x) => wmean(x, w)),
    gram: crossprod(Xt, w),
    xty: crossvec(Xt, yt, w),
    iterations,
    residuals(kept, beta, vcov, clusters, bread, dofK) {
      const n = y.length, k = kept.length;
      const Z = kept.map((j) => Xt[j]!);
      const e = new Float64Array(n);
      e.set(yt);
      for (let a = 0; a < k; a++) {
        const z = Z[a]!, b = beta[a]!;
        for (let i = 0; i < n; i++) e[i]! -= b * z[i]!;
      }
      let rss = 0;
      for (let i = 0; i < n; i++) rss += (w ? w[i]! : 1) * e[i]! * e[i]!;
      const ones = new Float64Array(n).fill(1);
      return { rss, vc: computeVcov(vcov, { Z: [...Z, ones], e, w, bread, dofK, clusters }) };
    },
    demeaned: () => ({ demeaner: dm, yt, Xt }),
  };
}

/** Rows per block of the fused passes: the block's demeaned columns stay in cache. */
const BLOCK = 2048;

/** Σ_j R[oa + j] R[ob + j] over j < len, in four interleaved partial sums (no serial add chain). */
function blockDot(R: Float64Array, oa: number, ob: number, len: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let j = 0;
  for (; j + 3 < len; j += 4) {
    s0 += R[oa + j]! * R[ob + j]!;
    s1 += R[oa + j + 1]! * R[ob + j + 1]!;
    s2 += R[oa + j + 2]! * R[ob + j + 2]!;
    s3 += R[oa + j + 3]! * R[ob + j + 3]!;
  }
  for (; j < len; j++) s0 += R[oa + j]! * R[ob + j]!;
  return s0 + s1 + (s2 + s3);
}

/**
 * The data of the block passes: columns (y first), their effects (interleaved, C columns), codes,
 * scratch R (C × BLOCK), the block's offsets into the effects (IA, IB) and its runs of equal a
 * (starts RS, α offsets RA).
 */
interface Blocks {
  cols: Float64Array[];
  alpha: Float64Array;
  gamma: Float64Array;
  C: number;
  ac: Int32Array;
  bc: Int32Array;
  R: Float64Array;
  IA: Int32Array;
  IB: Int32Array;
  RA: Int32Array;
  RS: Int32Array;
}

/**
 * R[c·BLOCK + i − s] = x̃_i of column `which[c]` for rows s … e − 1 (the rows' offsets into the
 * effects computed once for all columns). Rows grouped by a (a panel sorted by unit) are taken a
 * run of equal a at a time, α read once per run; the values are the same either way.
 */
function demeanBlock(d: Blocks, which: number[], s: number, e: number): void {
  const { cols, alpha, gamma, C, ac, bc, R, IA, IB, RA, RS } = d;
  const len = e - s;
  let nr = 0;
  for (let i = s, j = 0; i < e; i++, j++) {
    const u = ac[i]! * C;
    if (nr === 0 || u !== RA[nr - 1]) {
      RA[nr] = u;
      RS[nr++] = j;
    }
    IA[j] = u;
    IB[j] = bc[i]! * C;
  }
  RS[nr] = len;
  if (nr * 4 <= len) {
    for (let c = 0; c < which.length; c++) demeanRuns(cols[which[c]!]!, s, alpha, gamma, which[c]!, R, c * BLOCK, IB, RA, RS, nr);
    return;
  }
  for (let c = 0; c < which.length; c++) {
    const q = which[c]!, x = cols[q]!, o = c * BLOCK;
    for (let i = s, j = 0; i < e; i++, j++) R[o + j] = x[i]! - alpha[IA[j]! + q]! - gamma[IB[j]! + q]!;
  }
}

/** demeanBlock for one column of a block in nr runs of equal a (run r: rows s + RS[r] …, α offset RA[r]). */
function demeanRuns(x: Float64Array, s: number, alpha: Float64Array, gamma: Float64Array, q: number, R: Float64Array, o: number, IB: Int32Array, RA: Int32Array, RS: Int32Array, nr: number): void {
  for (let r = 0; r < nr; r++) {
    const av = alpha[RA[r]! + q]!, j1 = RS[r + 1]!;
    for (let j = RS[r]!; j < j1; j++) R[o + j] = x[s + j]! - av - gamma[IB[j]! + q]!;
  }
}

/**
 * Σ (x_i − m)² over rows s … e − 1. (The loops of the block passes are small functions: V8
 * optimises a small function called per block sooner than one long loop body, and a worker runs
 * these kernels cold.)
 */
function sumSquares(x: Float64Array, m: number, s: number, e: number): number {
  let r0 = 0, r1 = 0;
  let i = s;
  for (; i + 1 < e; i += 2) {
    const d0 = x[i]! - m, d1 = x[i + 1]! - m;
    r0 += d0 * d0;
    r1 += d1 * d1;
  }
  if (i < e) r0 += (x[i]! - m) ** 2;
  return r0 + r1;
}

/**
 * res = ỹ − Σ_a b_a z̃_a of a block (ỹ at R[0 …], z̃_a at R[(a + 1)·BLOCK …]), the regressors
 * subtracted in order two at a time (the sums of feols' general path); returns Σ res².
 */
function residualBlock(R: Float64Array, b: Float64Array, res: Float64Array, len: number): number {
  const k = b.length;
  res.set(R.subarray(0, len));
  let a = 0;
  for (; a + 1 < k; a += 2) {
    const oa = (a + 1) * BLOCK, ob = oa + BLOCK, ba = b[a]!, bb = b[a + 1]!;
    for (let j = 0; j < len; j++) res[j] = res[j]! - ba * R[oa + j]! - bb * R[ob + j]!;
  }
  if (a < k) {
    const oa = (a + 1) * BLOCK, ba = b[a]!;
    for (let j = 0; j < len; j++) res[j]! -= ba * R[oa + j]!;
  }
  let rss = 0;
  for (let j = 0; j < len; j++) rss += res[j]! * res[j]!;
  return rss;
}

/**
 * The first block pass, by blocks: per column Σ(x − x̄)² and Σ x̃² (for the regressors, the
 * diagonal of X̃'X̃), and over the regressors (columns 1 …) X̃'X̃ and X̃'ỹ. (The passes are functions
 * of their own: see twoway.ts groupSums.)
 */
function crossBlocks(d: Blocks, mean: Float64Array): { raw: Float64Array; within: Float64Array; gram: Float64Array; xty: Float64Array } {
  const { cols, C, R } = d, n = cols[0]!.length, K0 = C - 1;
  const all = Array.from({ length: C }, (_, c) => c);
  const raw = new Float64Array(C), within = new Float64Array(C);
  const gram = new Float64Array(K0 * K0), xty = new Float64Array(K0);
  for (let s = 0; s < n; s += BLOCK) {
    const e = Math.min(n, s + BLOCK), len = e - s;
    demeanBlock(d, all, s, e);
    for (let c = 0; c < C; c++) raw[c]! += sumSquares(cols[c]!, mean[c]!, s, e);
    within[0]! += blockDot(R, 0, 0, len);
    for (let a = 0; a < K0; a++) {
      const oa = (a + 1) * BLOCK;
      xty[a]! += blockDot(R, oa, 0, len);
      for (let b = a; b < K0; b++) gram[a * K0 + b]! += blockDot(R, oa, (b + 1) * BLOCK, len);
    }
  }
  for (let a = 0; a < K0; a++) {
    for (let b = 0; b < a; b++) gram[a * K0 + b] = gram[b * K0 + a]!;
    within[a + 1] = gram[a * K0 + a]!;
  }
  return { raw, within, gram, xty };
}

/**
 * The second block pass: e = ỹ − Σ_a b_a x̃_(kept a) block by block, fed to `acc` with the design
 * [X̃_kept, 1]; returns Σ e².
 */
function residualBlocks(d: Blocks, kept: number[], b: Float64Array, acc: VcovAccumulator): number {
  const { cols, R } = d, n = cols[0]!.length, k = kept.length;
  const which = [0, ...kept.map((j) => j + 1)];
  const ones = new Float64Array(BLOCK).fill(1);
  const Z = [...Array.from({ length: k }, (_, a) => R.subarray((a + 1) * BLOCK, (a + 2) * BLOCK)), ones];
  const res = new Float64Array(BLOCK);
  let rss = 0;
  for (let s = 0; s < n; s += BLOCK) {
    const e = Math.min(n, s + BLOCK), len = e - s;
    demeanBlock(d, which, s, e);
    rss += residualBlock(R, b, res, len);
    acc.add(Z, res, s, len);
  }
  return rss;
}

/**
 * {@link Within} from the exact two-way projection (unweighted), without storing a demeaned column:
 * one pass over the rows gathers every column's group sums (TwoWayProjector.effectsOf); the
 * demeaned values x̃_i = x_i − α[a_i] − β[b_i] are then recomputed block by block, once for the sums
 * of squares and cross products and once for the residuals and the variance — each block's
 * columns in a scratch buffer, so memory stays O(levels + block) whatever the number of rows.
 * `demeaner` makes the alternating-projections demeaner for `internals`.
 */
function twoWayWithin(two: TwoWayProjector, y: Float64Array, X: Float64Array[], demeaner: () => Demeaner): Within {
  const n = y.length, K0 = X.length, C = K0 + 1;
  const cols = [y, ...X];
  const tot = new Float64Array(C);
  const { alpha, beta: gamma } = two.effectsOf(cols, tot);
  const mean = Float64Array.from(tot, (s) => s / n);
  const blocks: Blocks = { cols, alpha, gamma, C, ac: two.a.codes, bc: two.b.codes, R: new Float64Array(C * BLOCK), IA: new Int32Array(BLOCK), IB: new Int32Array(BLOCK), RA: new Int32Array(BLOCK), RS: new Int32Array(BLOCK + 1) };
  const { raw, within, gram, xty } = crossBlocks(blocks, mean);
  let made: { demeaner: Demeaner; yt: Float64Array; Xt: Float64Array[] } | null = null;
  return {
    ybar: mean[0]!,
    tss: raw[0]!,
    tssWithin: within[0]!,
    raw: raw.subarray(1),
    within: within.subarray(1),
    xbar: mean.subarray(1),
    gram,
    xty,
    iterations: 0,
    residuals(kept, b, vcov, clusters, bread, dofK) {
      const acc = new VcovAccumulator(vcov, kept.length + 1, null, clusters);
      return { rss: residualBlocks(blocks, kept, b, acc), vc: acc.result(bread, dofK) };
    },
    demeaned() {
      if (!made) made = { demeaner: demeaner(), yt: two.residual(y), Xt: X.map((x) => two.residual(x)) };
      return made;
    },
  };
}
