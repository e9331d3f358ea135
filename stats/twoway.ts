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
import { cholesky, cholSolveInPlace, collinearityCheck, spdInverse, subMatrix } from './linalg.js';
import { computeVcov, type VcovType } from './vcov.js';
import { tPValue, tQuantile } from './dist.js';
import type { Coefficient } from './ols.js';

/** What a {@link TwoWayProjector} precomputes from its two factors (see its `state()`). */
export interface TwoWayState {
  invNa: Float64Array;
  keptB: number[];
  L: Float64Array;
  abStart: Int32Array;
  abB: Int32Array;
  abC: Int32Array | null;
  runs: Int32Array;
}

export class TwoWayProjector {
  readonly n: number;
  private readonly invNa: Float64Array;
  private readonly keptB: number[];
  private readonly L: Float64Array;
  private readonly sa: Float64Array;
  private readonly sb: Float64Array;
  /** Per level of a: the levels of b it meets and the row counts (CSR). */
  private readonly abStart: Int32Array;
  private readonly abB: Int32Array;
  /** Rows per pair; null when every pair has one row (no copy of the rows' b levels is made then). */
  private readonly abC: Int32Array | null;
  /** Runs of consecutive levels of a with the same pairs (b levels and counts): run r is levels runs[r] … runs[r + 1] − 1. */
  private readonly runs: Int32Array;
  private zBuf: Float64Array | null = null;
  private betaBuf: Float64Array | null = null;
  private fBuf: Float64Array | null = null;

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
      ({ invNa: this.invNa, keptB: this.keptB, L: this.L, abStart: this.abStart, abB: this.abB, abC: this.abC, runs: this.runs } = from);
      this.sa = new Float64Array(a.nlevels);
      this.sb = new Float64Array(b.nlevels);
      return;
    }
    const La = a.nlevels, Lb = b.nlevels;
    const ac = a.codes, bc = b.codes;
    const na = new Float64Array(La), nb = new Float64Array(Lb);
    const sorted = levelCounts(ac, bc, na, nb);
    const invNa = (this.invNa = new Float64Array(La));
    for (let l = 0; l < La; l++) {
      if (!(na[l]! > 0)) throw new Error(`TwoWayProjector: level ${l} of the first factor has no observation`);
      invNa[l] = 1 / na[l]!;
    }
    for (let l = 0; l < Lb; l++) {
      if (!(nb[l]! > 0)) throw new Error(`TwoWayProjector: level ${l} of the second factor has no observation`);
    }
    // c_ab per a, as sparse lists (CSR): the rows' b levels grouped by a (counting sort unless
    // already grouped: a panel sorted by unit), then the distinct b of each a counted with a stamp
    // array — O(n + La·deg), no hashing
    const rowStart = new Int32Array(La + 1);
    for (let u = 0; u < La; u++) rowStart[u + 1] = rowStart[u]! + na[u]!;
    const { abStart, abB, abC } = pairsOf(rowStart, sorted ? bc : bucketByA(ac, bc, rowStart), Lb);
    this.abStart = abStart;
    this.abB = abB;
    this.abC = abC;
    this.runs = runsOf(abStart, this.abB, this.abC);
    const S = schur(abStart, this.abB, this.abC, this.runs, invNa, nb);
    // normalise the diagonal before the pivot test so the tolerance is scale free
    const chk = collinearityCheck(S, Lb, 1e-9);
    this.keptB = chk.kept;
    this.L = this.keptB.length ? cholesky(subMatrix(S, Lb, this.keptB), this.keptB.length) : new Float64Array(0);
    this.sa = new Float64Array(La);
    this.sb = new Float64Array(Lb);
  }

  /** The precomputation of this projector, for {@link TwoWayProjector}'s `from` (plain arrays: structured-cloneable). */
  state(): TwoWayState {
    return { invNa: this.invNa, keptB: this.keptB, L: this.L, abStart: this.abStart, abB: this.abB, abC: this.abC, runs: this.runs };
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
   * call. With `nz` the group sums cost O(nnz); the rest O(L_a + runs · deg + L_b²) (see `runs`).
   */
  effects(x: Float64Array, nz?: Int32Array | null, nnz = nz ? nz.length : 0): { alpha: Float64Array; beta: Float64Array } {
    const n = this.n, ac = this.a.codes, bc = this.b.codes;
    const sa = this.sa, sb = this.sb;
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
    const beta = (this.betaBuf ??= new Float64Array(sb.length));
    this.solve(sa, sb, 1, beta, (this.zBuf ??= new Float64Array(this.keptB.length)));
    return { alpha: sa, beta };
  }

  /**
   * The effects of the projections of C columns at once, as {@link effects} gives them column by
   * column (the same sums in the same order, so the same values): α (L_a × C) and β (L_b × C),
   * column c of level l at [l·C + c]. One pass over the rows gathers every column's group sums; it
   * also leaves each column's total Σ_i x_i (the sum of its sums over a) in `totals` when given.
   * New arrays.
   */
  effectsOf(cols: readonly Float64Array[], totals?: Float64Array): { alpha: Float64Array; beta: Float64Array } {
    const C = cols.length, ac = this.a.codes, bc = this.b.codes;
    const La = this.sa.length, Lb = this.sb.length;
    const alpha = new Float64Array(La * C);
    const rhs = new Float64Array(Lb * C);
    groupSums(cols, ac, bc, alpha, rhs);
    if (totals) {
      totals.fill(0);
      for (let u = 0; u < La; u++) for (let c = 0; c < C; c++) totals[c]! += alpha[u * C + c]!;
    }
    const beta = new Float64Array(Lb * C);
    this.solve(alpha, rhs, C, beta, new Float64Array(this.keptB.length));
    return { alpha, beta };
  }

  /**
   * The effects from the group sums of C columns (interleaved, level l of column c at [l·C + c]),
   * in place: `sa` (L_a × C) becomes α and `sb` (L_b × C) is overwritten; β goes to `beta`
   * (L_b × C); `z` is scratch of the kept levels of b. The rhs S β = s_b − Σ_a c_a s_a / n_a and
   * α_a = (s_a − Σ_b c_ab β_b) / n_a are summed once per run of levels of a with the same pairs.
   */
  private solve(sa: Float64Array, sb: Float64Array, C: number, beta: Float64Array, z: Float64Array): void {
    const f = this.solveB(sa, sb, C, beta, z);
    const { invNa, abStart, abB, abC, runs } = this;
    for (let r = 0; r + 1 < runs.length; r++) {
      const u0 = runs[r]!, u1 = runs[r + 1]!;
      f.fill(0);
      for (let j = abStart[u0]!; j < abStart[u0 + 1]!; j++) {
        const ob = abB[j]! * C, cab = abC ? abC[j]! : 1;
        for (let c = 0; c < C; c++) f[c]! += cab * beta[ob + c]!;
      }
      for (let u = u0; u < u1; u++) {
        const inv = invNa[u]!, oa = u * C;
        for (let c = 0; c < C; c++) sa[oa + c] = (sa[oa + c]! - f[c]!) * inv;
      }
    }
  }

  /**
   * The β half of {@link solve}: S β = s_b − Σ_a c_a s_a / n_a into `beta`; `sb` is overwritten by
   * the rhs, `sa` only read. Returns scratch of C values (for the α half).
   */
  private solveB(sa: Float64Array, sb: Float64Array, C: number, beta: Float64Array, z: Float64Array): Float64Array {
    const { invNa, abStart, abB, abC, runs } = this;
    // scratch reused across calls (the placebo solves once per draw)
    const f = this.fBuf?.length === C ? this.fBuf : (this.fBuf = new Float64Array(C));
    if (C === 1) rhsOne(sa, sb, invNa, abStart, abB, abC, runs);
    else for (let r = 0; r + 1 < runs.length; r++) {
      const u0 = runs[r]!, u1 = runs[r + 1]!;
      f.fill(0);
      for (let u = u0; u < u1; u++) {
        const inv = invNa[u]!, oa = u * C;
        for (let c = 0; c < C; c++) f[c]! += sa[oa + c]! * inv;
      }
      for (let j = abStart[u0]!; j < abStart[u0 + 1]!; j++) {
        const ob = abB[j]! * C, cab = abC ? abC[j]! : 1;
        for (let c = 0; c < C; c++) sb[ob + c]! -= cab * f[c]!;
      }
    }
    const m = this.keptB.length, L = this.L, kept = this.keptB;
    beta.fill(0);
    for (let c = 0; c < C; c++) {
      for (let r = 0; r < m; r++) z[r] = sb[kept[r]! * C + c]!;
      cholSolveInPlace(L, m, z);
      for (let r = 0; r < m; r++) beta[kept[r]! * C + c] = z[r]!;
    }
    return f;
  }

  /**
   * The second factor's effects β of one column's projection from its group sums (s_a over the
   * levels of a, s_b over those of b; `sb` is overwritten): the placebo's draws, whose first
   * factor's effects it takes group by group. Returns a buffer reused by the next call.
   */
  effectsB(sa: Float64Array, sb: Float64Array): Float64Array {
    const beta = (this.betaBuf ??= new Float64Array(sb.length));
    this.solveB(sa, sb, 1, beta, (this.zBuf ??= new Float64Array(this.keptB.length)));
    return beta;
  }
}

/**
 * sa[a_i·C + c] += x_ci and sb[b_i·C + c] += x_ci over the rows in order. (The hot
 * loops of a one-shot fit live in small functions of their own: V8 compiles a long-running loop
 * on the fly, and code after it that has never run would send the whole function back to the
 * interpreter.)
 */
function groupSums(cols: readonly Float64Array[], ac: Int32Array, bc: Int32Array, sa: Float64Array, sb: Float64Array): void {
  const C = cols.length, n = ac.length;
  for (let i = 0; i < n; i++) {
    const oa = ac[i]! * C, ob = bc[i]! * C;
    for (let c = 0; c < C; c++) {
      const v = cols[c]![i]!;
      sa[oa + c]! += v;
      sb[ob + c]! += v;
    }
  }
}

/** Rows per level of a (na) and of b (nb); true when the rows are grouped by a in code order. */
function levelCounts(ac: Int32Array, bc: Int32Array, na: Float64Array, nb: Float64Array): boolean {
  let sorted = true;
  for (let i = 0, prev = 0; i < ac.length; i++) {
    const u = ac[i]!;
    if (u < prev) sorted = false;
    prev = u;
    na[u]!++;
    nb[bc[i]!]!++;
  }
  return sorted;
}

/** The b level of each row, the rows grouped by a (a counting sort; rowStart: CSR starts of a). */
function bucketByA(ac: Int32Array, bc: Int32Array, rowStart: Int32Array): Int32Array {
  const fill = rowStart.slice(0, rowStart.length - 1);
  const bsOf = new Int32Array(ac.length);
  for (let i = 0; i < ac.length; i++) bsOf[fill[ac[i]!]!++] = bc[i]!;
  return bsOf;
}

/**
 * The pairs (a, b) with their row counts as CSR over a, from the rows' b levels grouped by a
 * (`bsOf`, rows of a at rowStart[a] …). When no pair repeats (one row per unit and period), the
 * pairs are the rows: `bsOf` itself, counts null.
 */
function pairsOf(rowStart: Int32Array, bsOf: Int32Array, Lb: number): { abStart: Int32Array; abB: Int32Array; abC: Int32Array | null } {
  const La = rowStart.length - 1;
  const stamp = new Int32Array(Lb).fill(-1);
  let repeats = false;
  for (let u = 0; u < La && !repeats; u++) {
    for (let k = rowStart[u]!; k < rowStart[u + 1]!; k++) {
      const p = bsOf[k]!;
      if (stamp[p] === u) {
        repeats = true;
        break;
      }
      stamp[p] = u;
    }
  }
  if (!repeats) return { abStart: rowStart, abB: bsOf, abC: null };
  stamp.fill(-1);
  const slot = new Int32Array(Lb);
  const abStart = new Int32Array(La + 1);
  const abB = new Int32Array(bsOf.length);
  const abC = new Int32Array(bsOf.length);
  let m = 0;
  for (let u = 0; u < La; u++) {
    abStart[u] = m;
    for (let k = rowStart[u]!; k < rowStart[u + 1]!; k++) {
      const p = bsOf[k]!;
      if (stamp[p] !== u) {
        stamp[p] = u;
        slot[p] = m;
        abB[m] = p;
        abC[m] = 0;
        m++;
      }
      abC[slot[p]!]!++;
    }
  }
  abStart[La] = m;
  return { abStart, abB: abB.slice(0, m), abC: abC.slice(0, m) };
}

/** The runs of {@link TwoWayProjector}: starts of runs of consecutive levels of a with the same pairs, then L_a. */
function runsOf(abStart: Int32Array, abB: Int32Array, abC: Int32Array | null): Int32Array {
  const La = abStart.length - 1;
  const starts: number[] = [];
  for (let u = 0; u < La; ) {
    starts.push(u);
    const s0 = abStart[u]!, deg = abStart[u + 1]! - s0;
    let v = u + 1;
    for (; v < La; v++) {
      const t0 = abStart[v]!;
      if (abStart[v + 1]! - t0 !== deg) break;
      let j = 0;
      while (j < deg && abB[s0 + j] === abB[t0 + j] && (!abC || abC[s0 + j] === abC[t0 + j])) j++;
      if (j < deg) break;
    }
    u = v;
  }
  starts.push(La);
  return Int32Array.from(starts);
}

/**
 * The Schur complement S = diag(n_b) − Σ_a c_a c_a' / n_a from the CSR pairs of
 * {@link TwoWayProjector}, exactly symmetric: a run of levels of a with the same pairs is one term,
 * (Σ_run 1/n_a) c c', so the cost is O(runs · deg²) instead of O(L_a · deg²) (a balanced panel
 * sorted by unit is one run).
 */
function schur(abStart: Int32Array, abB: Int32Array, abC: Int32Array | null, runs: Int32Array, invNa: Float64Array, nb: Float64Array): Float64Array {
  const Lb = nb.length;
  const S = new Float64Array(Lb * Lb);
  for (let l = 0; l < Lb; l++) S[l * Lb + l] = nb[l]!;
  for (let r = 0; r + 1 < runs.length; r++) {
    const u = runs[r]!, v = runs[r + 1]!;
    const s0 = abStart[u]!, s1 = abStart[u + 1]!;
    const w = (v - u) * invNa[u]!;
    for (let j = s0; j < s1; j++) {
      const p = abB[j]!, cp = abC ? abC[j]! : 1;
      S[p * Lb + p]! -= cp * cp * w;
      for (let k = j + 1; k < s1; k++) {
        const q = abB[k]!, d = cp * (abC ? abC[k]! : 1) * w;
        S[p * Lb + q]! -= d;
        S[q * Lb + p]! -= d;
      }
    }
  }
  return S;
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

/**
 * {@link TwoWayProjector} solveB's right-hand side for one column (the placebo's case, once per
 * draw): sb[b] −= Σ_{a ∈ run} c_ab s_a / n_a, once per run of levels of a with the same pairs —
 * the general loop's sums in the same order without its per-run scratch (`fill` on a one-value
 * array per run cost more than the sums), so the same values.
 */
function rhsOne(sa: Float64Array, sb: Float64Array, invNa: Float64Array, abStart: Int32Array, abB: Int32Array, abC: Int32Array | null, runs: Int32Array): void {
  for (let r = 0; r + 1 < runs.length; r++) {
    const u0 = runs[r]!, u1 = runs[r + 1]!;
    let f = 0;
    for (let u = u0; u < u1; u++) f += sa[u]! * invNa[u]!;
    const j0 = abStart[u0]!, j1 = abStart[u0 + 1]!;
    if (abC) for (let j = j0; j < j1; j++) sb[abB[j]!]! -= abC[j]! * f;
    else for (let j = j0; j < j1; j++) sb[abB[j]!]! -= f;
  }
}
