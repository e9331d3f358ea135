/**
 * Variance–covariance matrices of OLS coefficients on (demeaned) regressors Z with residuals e:
 *
 * - `iid`:  σ̂² (Z'WZ)⁻¹, σ̂² = Σ w e² / (N − K).
 * - `hc1`:  N/(N − K) · B (Σ w² e² z z') B,  B = (Z'WZ)⁻¹  (Stata `robust`, sandwich HC1).
 * - `cluster` (CR1), one way: (N − 1)/(N − K) · G/(G − 1) · B (Σ_g s_g s_g') B,  s_g = Σ_{i∈g} w e z.
 * - `cluster`, two way (Cameron–Gelbach–Miller 2011): B (M_a + M_b − M_ab) B, where M_ab uses the
 *   intersection clusters, scaled by (N − 1)/(N − K) · G_min/(G_min − 1) with G_min = min(G_a, G_b)
 *   — fixest's default `ssc(cluster.df = "min")`. No eigenvalue fix-up is applied (a non-PSD
 *   result gives NaN standard errors rather than silently altered ones).
 *
 * K is the caller's count of parameters (see ols.ts: regressors + intercept + fixed effects not
 * nested in a cluster variable). Degrees of freedom for t tests: N − K (iid, hc1) or G_min − 1.
 *
 * // R: sandwich::vcovCL(lm(...), cluster = ~c, type = "HC0", cadjust = FALSE) × the factors above
 * //    (test/golden/twfe/make.R)
 *
 * @example
 * const { V, dfT } = computeVcov('cluster', { Z, e, w: null, bread, dofK: 7, clusters: [city] });
 */
import type { Factor } from './fe.js';
import { sandwichProduct } from './linalg.js';

/** Which variance estimator. */
export type VcovType = 'iid' | 'hc1' | 'cluster';

export interface VcovInput {
  /** Regressor columns (demeaned), length K. */
  Z: Float64Array[];
  /** Residuals. */
  e: Float64Array;
  /** Weights or null. */
  w: Float64Array | null;
  /** (Z'WZ)⁻¹, K×K row-major. */
  bread: Float64Array;
  /** Parameter count K of the small-sample factor (N − K). */
  dofK: number;
  /** 1 or 2 cluster factors for `cluster`. */
  clusters?: Factor[];
}

export interface VcovResult {
  /** K×K row-major. */
  V: Float64Array;
  /** Degrees of freedom of the t / F reference distribution. */
  dfT: number;
  /** Number of clusters per cluster variable (empty unless clustered). */
  G: number[];
  /** The scalar small-sample factor applied. */
  adj: number;
}

/** Σ_g s_g s_g' for scores s_g = Σ_{i∈g} w_i e_i z_i (K×K). */
export function clusterMeat(Z: Float64Array[], e: Float64Array, w: Float64Array | null, f: Factor): Float64Array {
  const S = new Float64Array(f.nlevels * Z.length);
  addScores(S, Z, e, w, f.codes, 0, e.length);
  return meatOfScores(S, f.nlevels, Z.length);
}

/** S[g·K + a] += w_i e_i z_ia for the rows i0 … i0 + len − 1 (Z and e indexed from 0 at row i0; w and codes by row). */
function addScores(S: Float64Array, Z: Float64Array[], e: Float64Array, w: Float64Array | null, codes: Int32Array, i0: number, len: number): void {
  const k = Z.length;
  let we = e;
  if (w) {
    we = new Float64Array(len);
    for (let j = 0; j < len; j++) we[j] = w[i0 + j]! * e[j]!;
  }
  // rows grouped by cluster (a panel sorted by unit, clustered by unit): each run of one cluster
  // summed in a register, then added once
  let runs = 1;
  for (let j = 1; j < len; j++) if (codes[i0 + j] !== codes[i0 + j - 1]) runs++;
  if (runs * 4 <= len) {
    for (let a = 0; a < k; a++) addScoreRuns(S, Z[a]!, we, codes, i0, len, k, a);
    return;
  }
  // one regressor at a time (each S entry gets its rows in order); the codes are re-read from cache
  for (let a = 0; a < k; a++) {
    const z = Z[a]!;
    for (let j = 0; j < len; j++) S[codes[i0 + j]! * k + a]! += we[j]! * z[j]!;
  }
}

/** S[g·k + a] += Σ we_j z_j over the rows of a block, one addition per run of equal cluster g. */
function addScoreRuns(S: Float64Array, z: Float64Array, we: Float64Array, codes: Int32Array, i0: number, len: number, k: number, a: number): void {
  let g = codes[i0]!, acc = 0;
  for (let j = 0; j < len; j++) {
    const c = codes[i0 + j]!;
    if (c !== g) {
      S[g * k + a]! += acc;
      acc = 0;
      g = c;
    }
    acc += we[j]! * z[j]!;
  }
  S[g * k + a]! += acc;
}

/** Σ_g s_g s_g' of the score sums S (G × K, row-major). */
function meatOfScores(S: Float64Array, G: number, k: number): Float64Array {
  const M = new Float64Array(k * k);
  for (let g = 0; g < G; g++) {
    const o = g * k;
    for (let a = 0; a < k; a++) {
      const sa = S[o + a]!;
      if (sa === 0) continue;
      for (let b = a; b < k; b++) M[a * k + b]! += sa * S[o + b]!;
    }
  }
  for (let a = 0; a < k; a++) for (let b = 0; b < a; b++) M[a * k + b] = M[b * k + a]!;
  return M;
}

/** The factor of intersections of two factors (one level per observed pair). */
export function intersectFactors(a: Factor, b: Factor): Factor {
  const n = a.codes.length;
  const map = new Map<number, number>();
  const codes = new Int32Array(n);
  let nl = 0;
  for (let i = 0; i < n; i++) {
    const key = a.codes[i]! * b.nlevels + b.codes[i]!;
    let c = map.get(key);
    if (c === undefined) {
      c = nl++;
      map.set(key, c);
    }
    codes[i] = c;
  }
  return { codes, nlevels: nl };
}

/** The variance–covariance matrix of the chosen type (see the module comment for formulas). */
export function computeVcov(type: VcovType, inp: VcovInput): VcovResult {
  const { Z, e, w, bread, dofK } = inp;
  const n = e.length;
  if (!(n > dofK)) throw new Error(`computeVcov: need more observations (${n}) than parameters (${dofK})`);
  const acc = new VcovAccumulator(type, Z.length, w, inp.clusters ?? []);
  acc.add(Z, e, 0, n);
  return acc.result(bread, dofK);
}

/**
 * {@link computeVcov} fed by blocks of rows, for callers that never hold the whole regressor
 * columns or residuals (stats/ols.ts recomputes them block by block): every sum runs over the rows
 * in order, so the result is computeVcov's on the whole columns up to rounding (a run of rows of
 * one cluster is summed before it is added, and a block boundary may cut a run in two).
 *
 * @example
 * const acc = new VcovAccumulator('cluster', k, null, [city]);
 * for (const [i0, Zb, eb] of blocks) acc.add(Zb, eb, i0, eb.length);
 * const { V, dfT } = acc.result(bread, dofK);
 */
export class VcovAccumulator {
  private n = 0;
  private rss = 0;
  /** hc1: Σ w² e² z z' (K×K). */
  private readonly M: Float64Array | null;
  /** cluster: the cluster factors (two-way: a, b and their intersection) and their score sums. */
  private readonly factors: Factor[];
  private readonly scores: Float64Array[];

  constructor(
    readonly type: VcovType,
    readonly k: number,
    readonly w: Float64Array | null,
    clusters: Factor[],
  ) {
    this.M = type === 'hc1' ? new Float64Array(k * k) : null;
    if (type === 'cluster') {
      if (clusters.length < 1 || clusters.length > 2) throw new Error(`computeVcov: clustered variance needs 1 or 2 cluster variables, got ${clusters.length}`);
      const Gmin = Math.min(...clusters.map((f) => f.nlevels));
      if (Gmin < 2) throw new Error(`computeVcov: clustered variance needs at least 2 clusters, got ${Gmin}`);
      this.factors = clusters.length === 2 ? [clusters[0]!, clusters[1]!, intersectFactors(clusters[0]!, clusters[1]!)] : [clusters[0]!];
    } else this.factors = [];
    this.scores = this.factors.map((f) => new Float64Array(f.nlevels * k));
  }

  /** Add rows i0 … i0 + len − 1: Z[a][j] and e[j] are regressor a and the residual of row i0 + j. */
  add(Z: Float64Array[], e: Float64Array, i0: number, len: number): void {
    const w = this.w, k = this.k;
    this.n += len;
    if (this.type === 'iid') {
      let rss = this.rss;
      if (w) for (let j = 0; j < len; j++) rss += w[i0 + j]! * e[j]! * e[j]!;
      else for (let j = 0; j < len; j++) rss += e[j]! * e[j]!;
      this.rss = rss;
    } else if (this.M) {
      const M = this.M;
      for (let a = 0; a < k; a++)
        for (let b = a; b < k; b++) {
          const za = Z[a]!, zb = Z[b]!;
          let s = M[a * k + b]!;
          for (let j = 0; j < len; j++) {
            const we = w ? w[i0 + j]! * e[j]! : e[j]!;
            s += we * we * za[j]! * zb[j]!;
          }
          M[a * k + b] = s;
        }
    } else for (let q = 0; q < this.factors.length; q++) addScores(this.scores[q]!, Z, e, w, this.factors[q]!.codes, i0, len);
  }

  /** The variance matrix from the rows added, with bread (Z'WZ)⁻¹ and K = dofK. */
  result(bread: Float64Array, dofK: number): VcovResult {
    const { n, k } = this;
    if (!(n > dofK)) throw new Error(`computeVcov: need more observations (${n}) than parameters (${dofK})`);
    if (this.type === 'iid') {
      const s2 = this.rss / (n - dofK);
      const V = new Float64Array(k * k);
      for (let i = 0; i < k * k; i++) V[i] = s2 * bread[i]!;
      return { V, dfT: n - dofK, G: [], adj: 1 };
    }
    let M: Float64Array;
    let adj: number, dfT: number;
    const G = this.factors.slice(0, 2).map((f) => f.nlevels);
    if (this.M) {
      M = this.M;
      for (let a = 0; a < k; a++) for (let b = 0; b < a; b++) M[a * k + b] = M[b * k + a]!;
      adj = n / (n - dofK);
      dfT = n - dofK;
    } else {
      const meats = this.factors.map((f, q) => meatOfScores(this.scores[q]!, f.nlevels, k));
      M = meats[0]!;
      if (meats.length === 3) {
        const Mt = new Float64Array(k * k);
        for (let i = 0; i < k * k; i++) Mt[i] = meats[0]![i]! + meats[1]![i]! - meats[2]![i]!;
        M = Mt;
      }
      const Gmin = Math.min(...G);
      adj = ((n - 1) / (n - dofK)) * (Gmin / (Gmin - 1));
      dfT = Gmin - 1;
    }
    const V = sandwichProduct(bread, M, k);
    for (let i = 0; i < k * k; i++) V[i]! *= adj;
    return { V, dfT, G: this.M ? [] : G, adj };
  }
}
