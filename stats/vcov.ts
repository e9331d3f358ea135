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
  const k = Z.length;
  const n = e.length;
  const G = f.nlevels;
  const S = new Float64Array(G * k);
  const codes = f.codes;
  const we = new Float64Array(n);
  if (w) for (let i = 0; i < n; i++) we[i] = w[i]! * e[i]!;
  else we.set(e);
  // one pass over rows, k contiguous updates per row (cache friendly for many clusters)
  for (let i = 0; i < n; i++) {
    const o = codes[i]! * k;
    const v = we[i]!;
    for (let a = 0; a < k; a++) S[o + a]! += v * Z[a]![i]!;
  }
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
  const k = Z.length;
  const n = e.length;
  if (!(n > dofK)) throw new Error(`computeVcov: need more observations (${n}) than parameters (${dofK})`);
  if (type === 'iid') {
    let rss = 0;
    if (w) for (let i = 0; i < n; i++) rss += w[i]! * e[i]! * e[i]!;
    else for (let i = 0; i < n; i++) rss += e[i]! * e[i]!;
    const s2 = rss / (n - dofK);
    const V = new Float64Array(k * k);
    for (let i = 0; i < k * k; i++) V[i] = s2 * bread[i]!;
    return { V, dfT: n - dofK, G: [], adj: 1 };
  }
  if (type === 'hc1') {
    const M = new Float64Array(k * k);
    const e2 = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const we = w ? w[i]! * e[i]! : e[i]!;
      e2[i] = we * we;
    }
    for (let a = 0; a < k; a++)
      for (let b = a; b < k; b++) {
        const za = Z[a]!, zb = Z[b]!;
        let s = 0;
        for (let i = 0; i < n; i++) s += e2[i]! * za[i]! * zb[i]!;
        M[a * k + b] = s;
        M[b * k + a] = s;
      }
    const adj = n / (n - dofK);
    const V = sandwichProduct(bread, M, k);
    for (let i = 0; i < k * k; i++) V[i]! *= adj;
    return { V, dfT: n - dofK, G: [], adj };
  }
  const cl = inp.clusters ?? [];
  if (cl.length < 1 || cl.length > 2) throw new Error(`computeVcov: clustered variance needs 1 or 2 cluster variables, got ${cl.length}`);
  const G = cl.map((f) => f.nlevels);
  const Gmin = Math.min(...G);
  if (Gmin < 2) throw new Error(`computeVcov: clustered variance needs at least 2 clusters, got ${Gmin}`);
  let M = clusterMeat(Z, e, w, cl[0]!);
  if (cl.length === 2) {
    const Mb = clusterMeat(Z, e, w, cl[1]!);
    const Mab = clusterMeat(Z, e, w, intersectFactors(cl[0]!, cl[1]!));
    const Mt = new Float64Array(k * k);
    for (let i = 0; i < k * k; i++) Mt[i] = M[i]! + Mb[i]! - Mab[i]!;
    M = Mt;
  }
  const adj = ((n - 1) / (n - dofK)) * (Gmin / (Gmin - 1));
  const V = sandwichProduct(bread, M, k);
  for (let i = 0; i < k * k; i++) V[i]! *= adj;
  return { V, dfT: Gmin - 1, G, adj };
}
