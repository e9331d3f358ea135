/**
 * Exact two-way fixed-effects regression (unit + period effects) without iteration, for the
 * staggered-DID estimators whose designs have many sparse dummy columns (sunab: one per cohort ×
 * relative period):
 *
 * - `TwoWayProjector`: the residual of a column after its least-squares projection on the dummies of
 *   two factors a (many levels, e.g. units) and b (few, e.g. periods), on any unbalanced panel, by
 *   eliminating the a-block of the normal equations: with c_ab the number of rows in (a, b),
 *   S = diag(n_b) − Σ_a c_a c_a' / n_a (a Schur complement, L_b × L_b, rank L_b − components),
 *   S β = s_b − Σ_{i∈b} s_{a_i}/n_{a_i}, α_a = (s_a − Σ_{i∈a} β_{b_i}) / n_a. One level of b per
 *   connected component is dropped (pivoted Cholesky), which leaves the residual unchanged.
 * - `olsTwoWay`: OLS of y on X with both effects absorbed, the same estimator, collinearity rule,
 *   parameter count K (fixed effects nested in the cluster not counted) and variance (vcov.ts) as
 *   ols.ts `feols` with singletons kept (fixest's feols default), but with the projection above and
 *   X̃'X̃ = X'X̃ computed from the nonzeros of X (dummies are sparse).
 *
 * // R: agrees with fixest::feols / lm (tested against stats/ols.ts feols, itself tested against lm +
 * //    sandwich, in test/stats/twoway.test.ts; sunab golden values in test/golden/sunab/make.R)
 *
 * @example
 * const p = new TwoWayProjector(unit, year);
 * const xt = p.residual(x);
 * const fit = olsTwoWay({ y, X, xNames, a: unit, b: year, feNames: ['city', 'year'], clusters: [unit], clusterNames: ['city'], vcov: 'cluster' });
 */
import type { Factor } from './fe.js';
import { absorbedDof, isNested } from './fe.js';
import { cholesky, collinearityCheck, spdInverse, subMatrix } from './linalg.js';
import { computeVcov, type VcovType } from './vcov.js';
import { tPValue, tQuantile } from './dist.js';
import type { Coefficient } from './ols.js';

/** What a {@link TwoWayProjector} precomputes from its two factors (see its `state()`). */
export interface TwoWayState {
  invNa: Float64Array;
  invNb: Float64Array;
  keptB: number[];
  L: Float64Array;
  abStart: Int32Array;
  abB: Int32Array;
  abC: Float64Array;
}

export class TwoWayProjector {
  readonly n: number;
  private readonly invNa: Float64Array;
  private readonly invNb: Float64Array;
  private readonly keptB: number[];
  private readonly L: Float64Array;
  private readonly sa: Float64Array;
  private readonly sb: Float64Array;
  /** Per level of a: the levels of b it meets and the row counts (CSR). */
  private readonly abStart: Int32Array;
  private readonly abB: Int32Array;
  private readonly abC: Float64Array;
  private rhsBuf: Float64Array | null = null;
  private zBuf: Float64Array | null = null;
  private betaBuf: Float64Array | null = null;

  /**
   * @param from the {@link state} of a projector built on the same two factors (e.g. in another
   *   thread): taken as it is instead of recomputed
   */
  constructor(
    readonly a: Factor,
    readonly b: Factor,
    from?: TwoWayState,
  ) {
    const n = (this.n = a.codes.length);
    if (b.codes.length !== n) throw new Error('TwoWayProjector: factors have different lengths');
    if (from) {
      ({ invNa: this.invNa, invNb: this.invNb, keptB: this.keptB, L: this.L, abStart: this.abStart, abB: this.abB, abC: this.abC } = from);
      this.sa = new Float64Array(a.nlevels);
      this.sb = new Float64Array(b.nlevels);
      return;
    }
    const La = a.nlevels, Lb = b.nlevels;
    const na = new Float64Array(La), nb = new Float64Array(Lb);
    for (let i = 0; i < n; i++) {
      na[a.codes[i]!]!++;
      nb[b.codes[i]!]!++;
    }
    for (let l = 0; l < La; l++) if (!(na[l]! > 0)) throw new Error(`TwoWayProjector: level ${l} of the first factor has no observation`);
    for (let l = 0; l < Lb; l++) if (!(nb[l]! > 0)) throw new Error(`TwoWayProjector: level ${l} of the second factor has no observation`);
    this.invNa = Float64Array.from(na, (v) => 1 / v);
    this.invNb = Float64Array.from(nb, (v) => 1 / v);
    // c_ab per a, as sparse lists (CSR): rows bucketed by a (counting sort), then the distinct b of
    // each a counted with a stamp array — O(n + La·deg), no hashing
    const rowStart = new Int32Array(La + 1);
    for (let i = 0; i < n; i++) rowStart[a.codes[i]! + 1]!++;
    for (let u = 0; u < La; u++) rowStart[u + 1]! += rowStart[u]!;
    const fill = rowStart.slice(0, La);
    const bsOf = new Int32Array(n);
    for (let i = 0; i < n; i++) bsOf[fill[a.codes[i]!]!++] = b.codes[i]!;
    const stamp = new Int32Array(Lb).fill(-1);
    const slot = new Int32Array(Lb);
    const abStart = new Int32Array(La + 1);
    const abBBuf = new Int32Array(n);
    const abCBuf = new Float64Array(n);
    let m = 0;
    for (let u = 0; u < La; u++) {
      abStart[u] = m;
      for (let k = rowStart[u]!; k < rowStart[u + 1]!; k++) {
        const p = bsOf[k]!;
        if (stamp[p] !== u) {
          stamp[p] = u;
          slot[p] = m;
          abBBuf[m] = p;
          abCBuf[m] = 0;
          m++;
        }
        abCBuf[slot[p]!]!++;
      }
    }
    abStart[La] = m;
    this.abStart = abStart;
    this.abB = abBBuf.slice(0, m);
    this.abC = abCBuf.slice(0, m);
    const S = new Float64Array(Lb * Lb);
    for (let l = 0; l < Lb; l++) S[l * Lb + l] = nb[l]!;
    for (let u = 0; u < La; u++) {
      const inv = this.invNa[u]!;
      const s0 = abStart[u]!, s1 = abStart[u + 1]!;
      for (let j = s0; j < s1; j++) {
        const p = this.abB[j]!, cp = this.abC[j]! * inv;
        for (let k = s0; k < s1; k++) S[p * Lb + this.abB[k]!]! -= cp * this.abC[k]!;
      }
    }
    // normalise the diagonal before the pivot test so the tolerance is scale free
    const chk = collinearityCheck(S, Lb, 1e-9);
    this.keptB = chk.kept;
    this.L = this.keptB.length ? cholesky(subMatrix(S, Lb, this.keptB), this.keptB.length) : new Float64Array(0);
    this.sa = new Float64Array(La);
    this.sb = new Float64Array(Lb);
  }

  /** The precomputation of this projector, for {@link TwoWayProjector}'s `from` (plain arrays: structured-cloneable). */
  state(): TwoWayState {
    return { invNa: this.invNa, invNb: this.invNb, keptB: this.keptB, L: this.L, abStart: this.abStart, abB: this.abB, abC: this.abC };
  }

  /**
   * x minus its projection on the dummies of both factors (a new array unless `out` is given).
   * With `nz` (the indices of the nonzeros of x; the first `nnz` of them) the group sums cost
   * O(nnz) instead of O(n).
   */
  residual(x: Float64Array, out?: Float64Array, nz?: Int32Array | null, nnz = nz ? nz.length : 0): Float64Array {
    const { alpha, beta } = this.effects(x, nz, nnz);
    const n = this.n, ac = this.a.codes, bc = this.b.codes;
    const res = out ?? new Float64Array(n);
    for (let i = 0; i < n; i++) res[i] = x[i]! - alpha[ac[i]!]! - beta[bc[i]!]!;
    return res;
  }

  /**
   * The two sets of effects of x's projection, x̂_i = α[a_i] + β[b_i], without building the
   * residual (the placebo fuses it into its own pass). The arrays are buffers reused by the next
   * call. With `nz` the group sums cost O(nnz); the rest O(pairs (a, b) + L_b²).
   */
  effects(x: Float64Array, nz?: Int32Array | null, nnz = nz ? nz.length : 0): { alpha: Float64Array; beta: Float64Array } {
    const n = this.n, ac = this.a.codes, bc = this.b.codes;
    const sa = this.sa, sb = this.sb;
    const La = sa.length;
    sa.fill(0);
    sb.fill(0);
    if (nz) {
      for (let j = 0; j < nnz; j++) {
        const i = nz[j]!;
        sa[ac[i]!]! += x[i]!;
        sb[bc[i]!]! += x[i]!;
      }
    } else {
      for (let i = 0; i < n; i++) {
        sa[ac[i]!]! += x[i]!;
        sb[bc[i]!]! += x[i]!;
      }
    }
    const beta = this.effectsB(sa, sb);
    const invNa = this.invNa;
    const { abStart, abB, abC } = this;
    // α_a = (s_a − Σ_b c_ab β_b) / n_a
    const alpha = sa;
    for (let u = 0; u < La; u++) {
      let s = sa[u]!;
      for (let j = abStart[u]!; j < abStart[u + 1]!; j++) s -= abC[j]! * beta[abB[j]!]!;
      alpha[u] = s * invNa[u]!;
    }
    return { alpha, beta };
  }

  /**
   * The second factor's effects β of a projection from the group sums of x (s_a over the levels
   * of a, s_b over those of b): S β = s_b − Σ_a c_ab s_a / n_a. The first factor's follow as
   * α_a = (s_a − Σ_b c_ab β_b) / n_a. Returns a buffer reused by the next call.
   */
  effectsB(sa: Float64Array, sb: Float64Array): Float64Array {
    const La = sa.length;
    const invNa = this.invNa;
    const { abStart, abB, abC } = this;
    // rhs_b = s_b − Σ_a c_ab s_a / n_a (buffers reused across calls: a placebo calls this per draw)
    const rhs = (this.rhsBuf ??= new Float64Array(sb.length));
    rhs.set(sb);
    for (let u = 0; u < La; u++) {
      const f = sa[u]! * invNa[u]!;
      if (f === 0) continue;
      for (let j = abStart[u]!; j < abStart[u + 1]!; j++) rhs[abB[j]!]! -= abC[j]! * f;
    }
    const m = this.keptB.length, L = this.L;
    const z = (this.zBuf ??= new Float64Array(m));
    for (let r = 0; r < m; r++) {
      let s = rhs[this.keptB[r]!]!;
      for (let c = 0; c < r; c++) s -= L[r * m + c]! * z[c]!;
      z[r] = s / L[r * m + r]!;
    }
    for (let r = m - 1; r >= 0; r--) {
      let s = z[r]!;
      for (let c = r + 1; c < m; c++) s -= L[c * m + r]! * z[c]!;
      z[r] = s / L[r * m + r]!;
    }
    const beta = (this.betaBuf ??= new Float64Array(sb.length));
    beta.fill(0);
    for (let r = 0; r < m; r++) beta[this.keptB[r]!] = z[r]!;
    return beta;
  }
}

/**
 * The exact projector for a set of fixed effects when it applies — exactly two, unweighted — with
 * the factor with more levels eliminated; null otherwise, or when a level has no observation (the
 * callers then use alternating projections, stats/demean.ts). `from`: the state of the projector
 * this function returned for the same factors (in another thread).
 *
 * @example
 * const two = exactTwoWay(fe, weights);
 * const xt = two ? two.residual(x) : demeaner.demean(x);
 */
export function exactTwoWay(fe: readonly Factor[], weights: Float64Array | null | undefined, from?: TwoWayState): TwoWayProjector | null {
  if (fe.length !== 2 || weights) return null;
  const [f0, f1] = fe as [Factor, Factor];
  try {
    return f0.nlevels >= f1.nlevels ? new TwoWayProjector(f0, f1, from) : new TwoWayProjector(f1, f0, from);
  } catch {
    return null; // an empty level (e.g. after singletons)
  }
}

export interface TwoWayOlsInput {
  y: Float64Array;
  X: Float64Array[];
  xNames: string[];
  a: Factor;
  b: Factor;
  feNames: [string, string];
  clusters?: Factor[];
  clusterNames?: string[];
  vcov: VcovType;
  level?: number;
  collinTol?: number;
}

export interface TwoWayOlsResult {
  n: number;
  coefficients: Coefficient[];
  terms: string[];
  V: Float64Array;
  r2: number;
  r2_within: number;
  rss: number;
  dfT: number;
  dofK: number;
  clusters: Record<string, number>;
  collinear: string[];
  nested: string[];
  /** Demeaned kept regressors (terms order) and the residuals. */
  Z: Float64Array[];
  e: Float64Array;
}

/** OLS with two absorbed fixed effects (see the module comment). */
export function olsTwoWay(inp: TwoWayOlsInput): TwoWayOlsResult {
  const n = inp.y.length;
  const level = inp.level ?? 0.95;
  const clusters = inp.clusters ?? [];
  // eliminate the factor with more levels (the Schur complement is on the smaller one)
  const proj = inp.a.nlevels >= inp.b.nlevels ? new TwoWayProjector(inp.a, inp.b) : new TwoWayProjector(inp.b, inp.a);
  const yt = proj.residual(inp.y);
  const K0 = inp.X.length;
  // nonzero index lists of the raw columns (dense columns: null)
  const nz: (Int32Array | null)[] = inp.X.map((x) => {
    let c = 0;
    for (let i = 0; i < n; i++) if (x[i] !== 0) c++;
    if (c > n / 4) return null;
    const idx = new Int32Array(c);
    for (let i = 0, j = 0; i < n; i++) if (x[i] !== 0) idx[j++] = i;
    return idx;
  });
  const Xt = inp.X.map((x, j) => proj.residual(x, undefined, nz[j]));
  let ybar = 0;
  for (let i = 0; i < n; i++) ybar += inp.y[i]!;
  ybar /= n;
  let tss = 0, tssW = 0;
  for (let i = 0; i < n; i++) {
    tss += (inp.y[i]! - ybar) ** 2;
    tssW += yt[i]! * yt[i]!;
  }
  if (!(tssW > 1e-20 * Math.max(tss, 1e-300)) || tss === 0) throw new Error('the outcome has no variation within the fixed effects in the estimation sample');
  /** Σ x_a x̃_b over the nonzeros of the sparser raw column. */
  const cross = (a: number, b: number): number => {
    const ia = nz[a], ib = nz[b];
    let s = 0;
    if (ia && (!ib || ia.length <= ib.length)) {
      const xa = inp.X[a]!, tb = Xt[b]!;
      for (let j = 0; j < ia.length; j++) s += xa[ia[j]!]! * tb[ia[j]!]!;
    } else if (ib) {
      const xb = inp.X[b]!, ta = Xt[a]!;
      for (let j = 0; j < ib.length; j++) s += xb[ib[j]!]! * ta[ib[j]!]!;
    } else {
      const ta = Xt[a]!, tb = Xt[b]!;
      for (let i = 0; i < n; i++) s += ta[i]! * tb[i]!;
    }
    return s;
  };
  const collinTol = inp.collinTol ?? 1e-10;
  const collinear: string[] = [];
  const cand: number[] = [];
  for (let j = 0; j < K0; j++) {
    const x = inp.X[j]!, ij = nz[j];
    let raw = 0;
    if (ij) {
      // Σ (x − x̄)² = Σ x² − n x̄² over the nonzeros
      let s1 = 0, s2 = 0;
      for (let t = 0; t < ij.length; t++) {
        const v = x[ij[t]!]!;
        s1 += v;
        s2 += v * v;
      }
      raw = s2 - (s1 * s1) / n;
    } else {
      let m = 0;
      for (let i = 0; i < n; i++) m += x[i]!;
      m /= n;
      for (let i = 0; i < n; i++) raw += (x[i]! - m) ** 2;
    }
    const within = cross(j, j);
    if (!(raw > 0) || !(within > collinTol * raw)) collinear.push(inp.xNames[j]!);
    else cand.push(j);
  }
  const kc = cand.length;
  const A0 = new Float64Array(kc * kc);
  for (let a = 0; a < kc; a++)
    for (let b = a; b < kc; b++) {
      const v = cross(cand[a]!, cand[b]!);
      A0[a * kc + b] = v;
      A0[b * kc + a] = v;
    }
  const chk = collinearityCheck(A0, kc, collinTol);
  for (const d of chk.dropped) collinear.push(inp.xNames[cand[d]!]!);
  const order = new Map(inp.xNames.map((nm, i) => [nm, i]));
  collinear.sort((p, q) => order.get(p)! - order.get(q)!);
  const keptIdx = chk.kept.map((c) => cand[c]!);
  const k = keptIdx.length;
  const A = subMatrix(A0, kc, chk.kept);
  const Ainv = k ? spdInverse(A, k) : new Float64Array(0);
  const xty = keptIdx.map((j) => {
    const ij = nz[j], x = inp.X[j]!;
    let s = 0;
    if (ij) for (let t = 0; t < ij.length; t++) s += x[ij[t]!]! * yt[ij[t]!]!;
    else for (let i = 0; i < n; i++) s += Xt[j]![i]! * yt[i]!;
    return s;
  });
  const beta = new Float64Array(k);
  for (let a = 0; a < k; a++) {
    let s = 0;
    for (let b = 0; b < k; b++) s += Ainv[a * k + b]! * xty[b]!;
    beta[a] = s;
  }
  const e = new Float64Array(n);
  e.set(yt);
  const Z = keptIdx.map((j) => Xt[j]!);
  for (let a = 0; a < k; a++) {
    const z = Z[a]!, bb = beta[a]!;
    for (let i = 0; i < n; i++) e[i]! -= bb * z[i]!;
  }
  let rss = 0;
  for (let i = 0; i < n; i++) rss += e[i]! * e[i]!;
  const fe = [inp.a, inp.b];
  const nestedFlags = fe.map((f) => inp.vcov === 'cluster' && clusters.some((c) => isNested(f, c)));
  const dofK = k + absorbedDof(fe, nestedFlags);
  if (!(n > dofK)) throw new Error(`${n} observations but ${dofK} parameters (regressors + fixed effects); the model is not identified`);
  const vc = computeVcov(inp.vcov, { Z, e, w: null, bread: Ainv, dofK, clusters });
  const q = tQuantile(0.5 + level / 2, vc.dfT);
  const terms = keptIdx.map((j) => inp.xNames[j]!);
  const coefficients = terms.map((t, a): Coefficient => {
    const est = beta[a]!, v = vc.V[a * k + a]!;
    const se = v >= 0 ? Math.sqrt(v) : NaN;
    const tt = est / se;
    return { term: t, estimate: est, se, t: tt, p: tPValue(tt, vc.dfT), ci_low: est - q * se, ci_high: est + q * se };
  });
  const clustersOut: Record<string, number> = {};
  clusters.forEach((f, i) => (clustersOut[inp.clusterNames?.[i] ?? `cluster${i + 1}`] = f.nlevels));
  return {
    n,
    coefficients,
    terms,
    V: vc.V,
    r2: 1 - rss / tss,
    r2_within: 1 - rss / tssW,
    rss,
    dfT: vc.dfT,
    dofK,
    clusters: clustersOut,
    collinear,
    nested: inp.feNames.filter((_, qq) => nestedFlags[qq]),
    Z,
    e,
  };
}
