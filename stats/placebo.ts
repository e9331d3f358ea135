/**
 * Placebo (randomization-inference) replicates of a fixed-effects DiD regression, by the
 * Frisch–Waugh–Lovell fast path: y and the controls are demeaned once; for each replicate only the
 * new treatment column is built, demeaned and residualised on the (demeaned) controls, whose Gram
 * matrix is inverted once; the treatment's standard error (iid / HC1 / one- or two-way CR1, same
 * factors as vcov.ts) needs only the first row of the bread, D̈'/D̈'WD̈.
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
import { exactTwoWay, type TwoWayProjector, type TwoWayState } from './twoway.js';
import type { Factor } from './fe.js';
import { cholSolve, crossprod, crossvec, spdInverse } from './linalg.js';
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
  /**
   * The precomputation of a solver of this problem ({@link PlaceboSolver.state}), set by the thread
   * that built one before the problem goes to other threads: they take it instead of recomputing.
   */
  state?: SolverState;
}

/** What a {@link PlaceboSolver} precomputes from its problem (plain arrays). */
export interface SolverState {
  two: TwoWayState | null;
  CCinv: Float64Array;
  yr: Float64Array;
  Crow: Float64Array | null;
  unitStart: Int32Array;
  unitRows: Int32Array;
  grp: Pick<Grouped, 'pos' | 'start' | 'bP' | 'R' | 'clusterOf'> | null;
}

export interface ReplicateResults {
  estimate: Float64Array;
  se: Float64Array;
  p: Float64Array;
}

/** Precomputed pieces shared by all replicates of a problem. */
export class PlaceboSolver {
  /** Alternating projections for the treatment, when the exact two-way projector does not apply. */
  private readonly dm: Demeaner | null;
  private readonly CCinv: Float64Array;
  /** ỹ residualised on the demeaned controls. */
  private readonly yr: Float64Array;
  private readonly cbuf: Float64Array;
  private readonly delta: Float64Array;
  private readonly nz: Int32Array;
  private readonly collinTol = 1e-10;
  private readonly n: number;
  private readonly k: number;
  private readonly D: Float64Array;
  private readonly Dt: Float64Array;
  private readonly e: Float64Array;
  private readonly u: Float64Array;
  private readonly inter: Factor | null;
  private readonly two: TwoWayProjector | null;
  /** Demeaned controls row-major (n × k−1), when the fused path applies (two-way FE, unweighted, one-way clusters). */
  private readonly Crow: Float64Array | null = null;
  private readonly unitStart: Int32Array;
  private readonly unitRows: Int32Array;
  /** The grouped path of replicates ({@link Grouped}); null when it does not apply. */
  private readonly grp: Grouped | null = null;
  /** The rows where the last replicate's D was 1 (the first `last` of `rnz`), reset before the next. */
  private rnz: Int32Array | null = null;
  private last = 0;

  /** The replicates of `keys` (one stream key each), in order. */
  run(keys: string[], onProgress?: (done: number) => void): ReplicateResults {
    return runWith(this, keys, onProgress);
  }
  private readonly sw: number;

  constructor(readonly prob: PlaceboProblem) {
    this.n = prob.yt.length;
    this.k = prob.Ct.length + 1;
    const st = prob.state;
    // two unweighted fixed effects (city + year): the treatment's residual is exact and costs
    // O(N + T²) per replicate (stats/twoway.ts), not an iteration to tolerance
    this.two = st ? (st.two ? exactTwoWay(prob.fe, prob.weights, st.two) : null) : exactTwoWay(prob.fe, prob.weights);
    this.dm = this.two ? null : new Demeaner(prob.fe.length > 0 ? prob.fe : [{ codes: new Int32Array(this.n), nlevels: 1 }], { weights: prob.weights, tol: prob.tol });
    const kc = prob.Ct.length;
    this.cbuf = new Float64Array(kc);
    this.delta = new Float64Array(kc);
    this.nz = new Int32Array(this.n);
    this.D = new Float64Array(this.n);
    this.Dt = new Float64Array(this.n);
    this.e = new Float64Array(this.n);
    this.u = new Float64Array(this.n);
    this.inter = prob.vcov === 'cluster' && prob.clusters.length === 2 ? intersectFactors(prob.clusters[0]!, prob.clusters[1]!) : null;
    let sw = 0;
    if (prob.weights) for (let i = 0; i < this.n; i++) sw += prob.weights[i]!;
    else sw = this.n;
    this.sw = sw;
    if (st) {
      ({ CCinv: this.CCinv, yr: this.yr, Crow: this.Crow, unitStart: this.unitStart, unitRows: this.unitRows } = st);
      this.grp = st.grp && this.two ? { ...st.grp, Dp: new Float64Array(this.n), sa: new Float64Array(this.two.a.nlevels), sb: new Float64Array(this.two.b.nlevels), alpha: new Float64Array(this.two.a.nlevels) } : null;
      return;
    }
    const CC = crossprod(prob.Ct, prob.weights);
    this.CCinv = kc > 0 ? spdInverse(CC, kc) : new Float64Array(0);
    const gamma = kc > 0 ? cholSolve(CC, kc, crossvec(prob.Ct, prob.yt, prob.weights)) : new Float64Array(0);
    this.yr = Float64Array.from(prob.yt);
    for (let j = 0; j < kc; j++) {
      const cj = prob.Ct[j]!, g = gamma[j]!;
      for (let i = 0; i < this.yr.length; i++) this.yr[i]! -= g * cj[i]!;
    }
    if (this.two && !prob.weights && prob.vcov === 'cluster' && prob.clusters.length === 1) {
      // the fused path: the controls row-major, so one pass reads each row's k values together
      const Crow = new Float64Array(this.n * kc);
      for (let j = 0; j < kc; j++) {
        const cj = prob.Ct[j]!;
        for (let i = 0; i < this.n; i++) Crow[i * kc + j] = cj[i]!;
      }
      this.Crow = Crow;
      this.grp = groupedLayout(this.two, prob.clusters[0]!, prob.yt.length, this.yr, Crow, kc);
    }
    // each unit's rows by time (CSR), so a replicate's treated rows cost O(treated units × T), not O(N)
    const U = prob.adopt.length;
    const start = new Int32Array(U + 1);
    for (let i = 0; i < this.n; i++) start[prob.unit[i]! + 1]!++;
    for (let u = 0; u < U; u++) start[u + 1]! += start[u]!;
    const rows = new Int32Array(this.n);
    const fill = start.slice(0, U);
    for (let i = 0; i < this.n; i++) rows[fill[prob.unit[i]!]!++] = i;
    // (panels usually come sorted by time within unit: then no sort is needed)
    for (let u = 0; u < U; u++) {
      const r = rows.subarray(start[u]!, start[u + 1]!);
      let sorted = true;
      for (let j = 1; j < r.length && sorted; j++) sorted = prob.time[r[j - 1]!]! <= prob.time[r[j]!]!;
      if (!sorted) r.sort((x, y) => prob.time[x]! - prob.time[y]! || x - y);
    }
    this.unitStart = start;
    this.unitRows = rows;
  }

  /** This solver's precomputation, for {@link PlaceboProblem.state} (plain arrays). */
  state(): SolverState {
    const g = this.grp;
    return {
      two: this.two ? this.two.state() : null,
      CCinv: this.CCinv,
      yr: this.yr,
      Crow: this.Crow,
      unitStart: this.unitStart,
      unitRows: this.unitRows,
      grp: g ? { pos: g.pos, start: g.start, bP: g.bP, R: g.R, clusterOf: g.clusterOf } : null,
    };
  }

  /** The adoption vector of replicate `key` (a buffer reused by the next call). */
  drawAdoption(key: string): Float64Array {
    const { adopt, mode, times } = this.prob;
    const rng = rngFromKey(key);
    const U = adopt.length;
    const out = (this.abuf ??= new Float64Array(U));
    if (mode === 'permute') {
      // Fisher–Yates on a copy of the observed adoption times, as Rng.shuffle draws (same stream use)
      out.set(adopt);
      for (let i = U - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const t = out[i]!;
        out[i] = out[j]!;
        out[j] = t;
      }
      return out;
    }
    let nT = 0;
    for (let i = 0; i < U; i++) if (adopt[i]! > 0) nT++;
    const idx = (this.ibuf ??= new Int32Array(U));
    for (let i = 0; i < U; i++) idx[i] = i;
    for (let i = U - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const t = idx[i]!;
      idx[i] = idx[j]!;
      idx[j] = t;
    }
    out.fill(0);
    for (let j = 0; j < nT; j++) out[idx[j]!] = times[rng.int(times.length)]!;
    return out;
  }
  private abuf: Float64Array | null = null;
  private ibuf: Int32Array | null = null;

  /**
   * Estimate, se and p of the treatment column `D` (any numeric column on the sample).
   * FWL: with D̃ the demeaned treatment and D̈ its (weighted) residual on the demeaned controls,
   * β = D̈'W ỹ_r / D̈'W D̈ (ỹ_r = ỹ residualised on the controls, precomputed), e = ỹ_r − β D̈, and
   * the first row of (Z'WZ)⁻¹ Z' is D̈'/D̈'W D̈, so Var(β) needs only the scores Σ w e D̈ per cluster.
   */
  fitTreatment(D: Float64Array, nzKnown?: Int32Array, nnzKnown?: number): [number, number, number] {
    const { Ct, weights: w, clusters, vcov, dofK, dfT } = this.prob;
    const n = this.n, kc = this.k - 1;
    // the rows where D ≠ 0 (the treated observations), given by the caller or found here
    const nz = nzKnown ?? this.nz;
    let m = nnzKnown ?? 0;
    if (nzKnown === undefined) for (let i = 0; i < n; i++) if (D[i]! !== 0) nz[m++] = i;
    if (this.Crow) return this.fitFused(D, nz, m);
    const Dt = this.two ? this.two.residual(D, this.Dt, nz, m) : this.dm!.demean(D, this.Dt, 'placebo treatment');
    // degenerate: treatment constant or absorbed by the fixed effects.
    // C̃'W D̃ = C̃'W D and D̃'W D̃ = D'W D̃ (C̃ and D − D̃ are orthogonal / in the FE space), so the
    // cross products only need the rows where D ≠ 0 (the treated observations).
    let sD = 0, sDD = 0, within = 0;
    for (let r = 0; r < m; r++) {
      const i = nz[r]!;
      const d = D[i]!;
      const wd = w ? w[i]! * d : d;
      sD += wd;
      sDD += wd * d;
      within += wd * Dt[i]!;
    }
    const c = this.cbuf;
    for (let j = 0; j < kc; j++) {
      const cj = Ct[j]!;
      let acc = 0;
      if (w) for (let r = 0; r < m; r++) { const i = nz[r]!; acc += w[i]! * D[i]! * cj[i]!; }
      else for (let r = 0; r < m; r++) { const i = nz[r]!; acc += D[i]! * cj[i]!; }
      c[j] = acc;
    }
    const raw = sDD - (sD * sD) / this.sw;
    if (!(raw > 0) || !(within > 1e-10 * raw)) return [NaN, NaN, NaN];
    // δ = (C'WC)⁻¹ C'W D̃ ; D̈ = D̃ − C δ
    const delta = this.delta;
    for (let a = 0; a < kc; a++) {
      let v = 0;
      for (let b = 0; b < kc; b++) v += this.CCinv[a * kc + b]! * c[b]!;
      delta[a] = v;
    }
    if (!w && vcov === 'cluster' && clusters.length === 1) return this.fitOneWay(D, Dt, nz, m, within, dfT, dofK);
    const Dr = this.e; // reuse as D̈
    Dr.set(Dt);
    for (let j = 0; j < kc; j++) {
      const cj = Ct[j]!, dj = delta[j]!;
      for (let i = 0; i < n; i++) Dr[i]! -= dj * cj[i]!;
    }
    const yr = this.yr;
    let dd = 0, dy = 0;
    if (w) for (let i = 0; i < n; i++) { const wv = w[i]! * Dr[i]!; dd += wv * Dr[i]!; dy += wv * yr[i]!; }
    else for (let i = 0; i < n; i++) { const v = Dr[i]!; dd += v * v; dy += v * yr[i]!; }
    if (!(dd > this.collinTol * within)) return [NaN, NaN, NaN];
    const beta = dy / dd;
    let v: number;
    if (vcov === 'cluster' && clusters.length === 1) {
      // one-way CR1 in one pass: Σ_g (Σ_{i∈g} w e D̈)² / dd²
      const f = clusters[0]!;
      const S = (this.sbuf ??= new Float64Array(f.nlevels));
      S.fill(0);
      const codes = f.codes;
      if (w) for (let i = 0; i < n; i++) S[codes[i]!]! += w[i]! * (yr[i]! - beta * Dr[i]!) * Dr[i]!;
      else for (let i = 0; i < n; i++) { const d = Dr[i]!; S[codes[i]!]! += (yr[i]! - beta * d) * d; }
      let s2 = 0;
      for (let g = 0; g < S.length; g++) s2 += S[g]! * S[g]!;
      s2 /= dd * dd;
      const G = f.nlevels;
      v = ((n - 1) / (n - dofK)) * (G / (G - 1)) * s2;
    } else {
      // u_i = D̈_i / dd ; scores w e u ; e = yr − β D̈
      const u = this.u;
      for (let i = 0; i < n; i++) {
        const ei = yr[i]! - beta * Dr[i]!;
        u[i] = ((w ? w[i]! : 1) * ei * Dr[i]!) / dd; // w e u
      }
      if (vcov === 'iid') {
        let rss = 0;
        for (let i = 0; i < n; i++) {
          const ei = yr[i]! - beta * Dr[i]!;
          rss += (w ? w[i]! : 1) * ei * ei;
        }
        v = rss / (n - dofK) / dd;
      } else if (vcov === 'hc1') {
        let s2 = 0;
        for (let i = 0; i < n; i++) s2 += u[i]! * u[i]!;
        v = (n / (n - dofK)) * s2;
      } else {
        const G = clusters.map((f) => f.nlevels);
        const Gmin = Math.min(...G);
        let s2 = clusterSq(clusters[0]!, u);
        if (clusters.length === 2) s2 += clusterSq(clusters[1]!, u) - clusterSq(this.inter!, u);
        v = ((n - 1) / (n - dofK)) * (Gmin / (Gmin - 1)) * s2;
      }
    }
    const se = v >= 0 ? Math.sqrt(v) : NaN;
    return [beta, se, tPValue(beta / se, dfT)];
  }
  private sbuf: Float64Array | null = null;
  private s2buf: Float64Array | null = null;

  /** The two per-cluster sum buffers of the one-way paths (Σ_g ỹ_r D̈, Σ_g D̈²), zeroed, reused across draws. */
  private clusterSums(G: number): [Float64Array, Float64Array] {
    const S1 = (this.sbuf ??= new Float64Array(G));
    const S2 = (this.s2buf ??= new Float64Array(G));
    S1.fill(0);
    S2.fill(0);
    return [S1, S2];
  }

  /**
   * The fused path (two unweighted fixed effects, one-way clusters): the effects of D's two-way
   * projection come from O(nnz) group sums (stats/twoway.ts `effects`); the cross products from the
   * treated rows alone (C̃'D̃ = C̃'D, D̃'D̃ = D'D̃, D̈'ỹ_r = D'ỹ_r); and one pass over the rows builds
   * D̈_i = D_i − α[a_i] − β[b_i] − C̃_i δ on the fly with the cluster sums Σ_g ỹ_r D̈ and Σ_g D̈²,
   * whose combination Σ_g ỹ_r D̈ − β Σ_g D̈² is the score of g. No column of length N is written.
   */
  private fitFused(D: Float64Array, nz: Int32Array, m: number): [number, number, number] {
    const { clusters, dofK, dfT } = this.prob;
    const two = this.two!, Crow = this.Crow!;
    const n = this.n, kc = this.k - 1;
    const ac = two.a.codes, bc = two.b.codes;
    const { alpha, beta: gam } = two.effects(D, nz, m);
    const c = this.cbuf, delta = this.delta;
    const t = treatedSums(D, nz, m, alpha, gam, ac, bc, this.yr, Crow, kc, c, (this.tbuf ??= new Float64Array(4)));
    const sD = t[0]!, sDD = t[1]!, within = t[2]!, dy = t[3]!;
    const raw = sDD - (sD * sD) / this.sw;
    if (!(raw > 0) || !(within > 1e-10 * raw)) return [NaN, NaN, NaN];
    const dd = this.residualSS(c, within);
    if (Number.isNaN(dd)) return [NaN, NaN, NaN];
    const beta = dy / dd;
    const f = clusters[0]!;
    const [S1, S2] = this.clusterSums(f.nlevels);
    if (kc === 5) fusedPass5(n, D, alpha, gam, ac, bc, Crow, delta[0]!, delta[1]!, delta[2]!, delta[3]!, delta[4]!, f.codes, this.yr, S1, S2);
    else fusedPass(n, D, alpha, gam, ac, bc, Crow, kc, delta, f.codes, this.yr, S1, S2);
    return oneWayResult(S1, S2, beta, dd, n, dofK, dfT);
  }
  private tbuf: Float64Array | null = null;

  /**
   * δ = (C̃'C̃)⁻¹ c into `this.delta` (c = C̃'D) and D̈'D̈ = D'D̃ − δ'c (`within` = D'D̃); NaN when D
   * is (nearly) collinear with the controls and fixed effects.
   */
  private residualSS(c: Float64Array, within: number): number {
    const kc = this.k - 1, delta = this.delta;
    let dc = 0;
    for (let a = 0; a < kc; a++) {
      let v = 0;
      for (let b = 0; b < kc; b++) v += this.CCinv[a * kc + b]! * c[b]!;
      delta[a] = v;
      dc += v * c[a]!;
    }
    const dd = within - dc;
    return dd > this.collinTol * within ? dd : NaN;
  }

  /**
   * The unweighted one-way clustered case in one pass over the rows (after the O(nnz) sums):
   * with δ = (C̃'C̃)⁻¹C̃'D, D̈'D̈ = D'D̃ − δ'C̃'D and D̈'ỹ_r = D'ỹ_r (ỹ_r and C̃ are orthogonal to the
   * fixed effects and to each other), so β needs no pass; the pass builds D̈ on the fly and the
   * cluster sums Σ_g ỹ_r D̈ and Σ_g D̈², whose combination Σ_g ỹ_r D̈ − β Σ_g D̈² is the score of g.
   */
  private fitOneWay(D: Float64Array, Dt: Float64Array, nz: Int32Array, m: number, within: number, dfT: number, dofK: number): [number, number, number] {
    const { Ct, clusters } = this.prob;
    const n = this.n, kc = this.k - 1;
    const c = this.cbuf, delta = this.delta, yr = this.yr;
    let dc = 0;
    for (let j = 0; j < kc; j++) dc += delta[j]! * c[j]!;
    const dd = within - dc;
    if (!(dd > this.collinTol * within)) return [NaN, NaN, NaN];
    let dy = 0;
    for (let r = 0; r < m; r++) {
      const i = nz[r]!;
      dy += D[i]! * yr[i]!;
    }
    const beta = dy / dd;
    const f = clusters[0]!;
    const G = f.nlevels;
    const [S1, S2] = this.clusterSums(G);
    const codes = f.codes;
    if (kc === 0) {
      for (let i = 0; i < n; i++) {
        const d = Dt[i]!, g = codes[i]!;
        S1[g]! += yr[i]! * d;
        S2[g]! += d * d;
      }
    } else {
      // D̈ = D̃ − C̃δ: column passes into a buffer (typed-array loops V8 vectorises well), then one
      // pass for the cluster sums
      const Dr = this.e;
      Dr.set(Dt);
      for (let j = 0; j < kc; j++) {
        const cj = Ct[j]!, dj = delta[j]!;
        for (let i = 0; i < n; i++) Dr[i]! -= dj * cj[i]!;
      }
      for (let i = 0; i < n; i++) {
        const d = Dr[i]!, g = codes[i]!;
        S1[g]! += yr[i]! * d;
        S2[g]! += d * d;
      }
    }
    return oneWayResult(S1, S2, beta, dd, n, dofK, dfT);
  }

  /** Estimate, se and p of replicate `key`. */
  replicate(key: string): [number, number, number] {
    const { time } = this.prob;
    const A = this.drawAdoption(key);
    const g = this.grp;
    // D (or, on the grouped path, D in group order) is all zeros again
    const D = g ? g.Dp : this.D;
    const nz = (this.rnz ??= new Int32Array(this.n)); // not this.nz, which fitTreatment(D) without nz overwrites
    if (g) for (let r = 0; r < this.last; r++) D[g.pos[nz[r]!]!] = 0;
    else for (let r = 0; r < this.last; r++) D[nz[r]!] = 0;
    const { unitStart, unitRows } = this;
    let m = 0;
    for (let u = 0; u < A.length; u++) {
      const a = A[u]!;
      if (!(a > 0)) continue;
      const end = unitStart[u + 1]!;
      let k = unitStart[u]!;
      while (k < end && time[unitRows[k]!]! < a) k++;
      for (; k < end; k++) nz[m++] = unitRows[k]!;
    }
    this.last = m;
    if (g) {
      for (let r = 0; r < m; r++) D[g.pos[nz[r]!]!] = 1;
      return this.fitGrouped(g, nz, m);
    }
    for (let r = 0; r < m; r++) D[nz[r]!] = 1;
    return this.fitTreatment(D, nz, m);
  }

  /**
   * A 0/1 treatment on the grouped path ({@link Grouped}): D's group sums are counts; the period
   * effects γ come from them (stats/twoway.ts `effectsB`), the unit effects α_u = (n_u^treated −
   * Σ_{i∈u} γ[b_i]) / n_u one group at a time, and the pass over the rows keeps α_u and the cluster
   * sums of a group in registers. Same quantities as {@link fitFused}, summed group by group.
   */
  private fitGrouped(g: Grouped, nz: Int32Array, m: number): [number, number, number] {
    const { clusters, dofK, dfT } = this.prob;
    const two = this.two!;
    const n = this.n, kc = this.k - 1, w = kc + 1;
    const ac = two.a.codes, bc = two.b.codes;
    const { sa, sb, alpha, pos, R } = g;
    sa.fill(0);
    sb.fill(0);
    for (let r = 0; r < m; r++) {
      const i = nz[r]!;
      sa[ac[i]!]!++;
      sb[bc[i]!]!++;
    }
    const gam = two.effectsB(sa, sb);
    groupEffects(g.start, g.bP, gam, sa, alpha);
    // sums over the treated rows (D = 1): D'D̃, D'ỹ_r, c = C̃'D
    const c = this.cbuf, delta = this.delta;
    c.fill(0);
    let within = 0, dy = 0;
    for (let r = 0; r < m; r++) {
      const i = nz[r]!;
      within += 1 - alpha[ac[i]!]! - gam[bc[i]!]!;
      const base = pos[i]! * w;
      dy += R[base]!;
      for (let j = 0; j < kc; j++) c[j]! += R[base + 1 + j]!;
    }
    const raw = m - (m * m) / this.sw;
    if (!(raw > 0) || !(within > 1e-10 * raw)) return [NaN, NaN, NaN];
    const dd = this.residualSS(c, within);
    if (Number.isNaN(dd)) return [NaN, NaN, NaN];
    const beta = dy / dd;
    const [S1, S2] = this.clusterSums(clusters[0]!.nlevels);
    if (kc === 5) groupedPass5(g.start, g.Dp, alpha, gam, g.bP, R, delta[0]!, delta[1]!, delta[2]!, delta[3]!, delta[4]!, g.clusterOf, S1, S2);
    else groupedPass(g.start, g.Dp, alpha, gam, g.bP, R, kc, delta, g.clusterOf, S1, S2);
    return oneWayResult(S1, S2, beta, dd, n, dofK, dfT);
  }
}

/**
 * The replicates' grouped layout (two unweighted fixed effects a, b and one-way clusters that a is
 * nested in, e.g. city and year effects clustered by city): the rows ordered by the level of a,
 * each with its level of b and [ỹ_r, C̃] packed together, so one pass over a group of rows holds
 * the group's α and cluster sums in registers and reads two arrays besides D.
 */
interface Grouped {
  /** Row → position in group order. */
  pos: Int32Array;
  /** Level of a → its first position (length L_a + 1). */
  start: Int32Array;
  /** Position → level of b. */
  bP: Int32Array;
  /** Position → [ỹ_r, C̃_1 … C̃_kc] (stride kc + 1). */
  R: Float64Array;
  /** Level of a → its cluster. */
  clusterOf: Int32Array;
  /** Position → the replicate's D (0/1). */
  Dp: Float64Array;
  /** Treated counts per level of a and of b, and the unit effects α (buffers). */
  sa: Float64Array;
  sb: Float64Array;
  alpha: Float64Array;
}

/** The {@link Grouped} layout, or null when a is not nested in the clusters. */
function groupedLayout(two: TwoWayProjector, cluster: Factor, n: number, yr: Float64Array, Crow: Float64Array, kc: number): Grouped | null {
  const a = two.a, b = two.b, La = a.nlevels;
  const clusterOf = new Int32Array(La).fill(-1);
  for (let i = 0; i < n; i++) {
    const u = a.codes[i]!, g = cluster.codes[i]!;
    if (clusterOf[u] === -1) clusterOf[u] = g;
    else if (clusterOf[u] !== g) return null;
  }
  const start = new Int32Array(La + 1);
  for (let i = 0; i < n; i++) start[a.codes[i]! + 1]!++;
  for (let u = 0; u < La; u++) start[u + 1]! += start[u]!;
  const fill = start.slice(0, La);
  const pos = new Int32Array(n), bP = new Int32Array(n), w = kc + 1, R = new Float64Array(n * w);
  for (let i = 0; i < n; i++) {
    const p = fill[a.codes[i]!]!++;
    pos[i] = p;
    bP[p] = b.codes[i]!;
    R[p * w] = yr[i]!;
    for (let j = 0; j < kc; j++) R[p * w + 1 + j] = Crow[i * kc + j]!;
  }
  return { pos, start, bP, R, clusterOf, Dp: new Float64Array(n), sa: new Float64Array(La), sb: new Float64Array(b.nlevels), alpha: new Float64Array(La) };
}

/** α_u = (s_u − Σ_{p∈u} γ[b_p]) / n_u for every level u of a (the rows of u at start[u]…start[u+1]). */
function groupEffects(start: Int32Array, bP: Int32Array, gam: Float64Array, sa: Float64Array, alpha: Float64Array): void {
  const La = alpha.length;
  for (let u = 0; u < La; u++) {
    const p0 = start[u]!, p1 = start[u + 1]!;
    let s = sa[u]!;
    for (let p = p0; p < p1; p++) s -= gam[bP[p]!]!;
    alpha[u] = s / (p1 - p0);
  }
}

/**
 * One pass over the rows in group order: D̈_p = D_p − α_u − γ[b_p] − C̃_p δ; per group u the sums
 * Σ ỹ_r D̈ and Σ D̈², added to its cluster's S1, S2 (zeroed by the caller); five controls unrolled.
 */
function groupedPass5(
  start: Int32Array, Dp: Float64Array, alpha: Float64Array, gam: Float64Array, bP: Int32Array, R: Float64Array,
  d0: number, d1: number, d2: number, d3: number, d4: number, clusterOf: Int32Array, S1: Float64Array, S2: Float64Array,
): void {
  const La = alpha.length;
  for (let u = 0; u < La; u++) {
    const au = alpha[u]!;
    let s1 = 0, s2 = 0;
    for (let p = start[u]!, e = start[u + 1]!, q = p * 6; p < e; p++, q += 6) {
      const d = Dp[p]! - au - gam[bP[p]!]! - (d0 * R[q + 1]! + d1 * R[q + 2]! + d2 * R[q + 3]! + d3 * R[q + 4]! + d4 * R[q + 5]!);
      s1 += R[q]! * d;
      s2 += d * d;
    }
    const g = clusterOf[u]!;
    S1[g]! += s1;
    S2[g]! += s2;
  }
}

/** {@link groupedPass5} for any number kc of controls (δ in `delta`). */
function groupedPass(
  start: Int32Array, Dp: Float64Array, alpha: Float64Array, gam: Float64Array, bP: Int32Array, R: Float64Array,
  kc: number, delta: Float64Array, clusterOf: Int32Array, S1: Float64Array, S2: Float64Array,
): void {
  const La = alpha.length, w = kc + 1;
  for (let u = 0; u < La; u++) {
    const au = alpha[u]!;
    let s1 = 0, s2 = 0;
    for (let p = start[u]!, e = start[u + 1]!; p < e; p++) {
      const q = p * w;
      let d = Dp[p]! - au - gam[bP[p]!]!;
      for (let j = 0; j < kc; j++) d -= delta[j]! * R[q + 1 + j]!;
      s1 += R[q]! * d;
      s2 += d * d;
    }
    const g = clusterOf[u]!;
    S1[g]! += s1;
    S2[g]! += s2;
  }
}

// The replicates' loops are functions of their own, called once per replicate: V8 compiles a long
// loop on its first call (on-stack replacement) before the code after it has run, and such code,
// kept for the loop's next entry, deoptimised at that code on every replicate (~4× slower).

/**
 * The sums over the treated rows of a replicate (D ≠ 0): t = [Σ D, Σ D², D'D̃, D'ỹ_r] with D̃ the
 * two-way residual D − α[a] − γ[b], and c = C̃'D (the demeaned controls row-major, kc per row).
 */
function treatedSums(
  D: Float64Array, nz: Int32Array, m: number, alpha: Float64Array, gam: Float64Array, ac: Int32Array, bc: Int32Array,
  yr: Float64Array, Crow: Float64Array, kc: number, c: Float64Array, t: Float64Array,
): Float64Array {
  c.fill(0);
  let sD = 0, sDD = 0, within = 0, dy = 0;
  for (let r = 0; r < m; r++) {
    const i = nz[r]!;
    const d = D[i]!;
    sD += d;
    sDD += d * d;
    within += d * (d - alpha[ac[i]!]! - gam[bc[i]!]!);
    dy += d * yr[i]!;
    const base = i * kc;
    for (let j = 0; j < kc; j++) c[j]! += d * Crow[base + j]!;
  }
  t[0] = sD;
  t[1] = sDD;
  t[2] = within;
  t[3] = dy;
  return t;
}

/**
 * One pass over the rows: D̈_i = D_i − α[a_i] − γ[b_i] − C̃_i δ and the cluster sums
 * S1_g += ỹ_r D̈, S2_g += D̈² (S1, S2 zeroed by the caller); the study's five controls unrolled
 * with δ in registers (~2× the generic loop, {@link fusedPass}).
 */
function fusedPass5(
  n: number, D: Float64Array, alpha: Float64Array, gam: Float64Array, ac: Int32Array, bc: Int32Array, Crow: Float64Array,
  d0: number, d1: number, d2: number, d3: number, d4: number, codes: Int32Array, yr: Float64Array, S1: Float64Array, S2: Float64Array,
): void {
  for (let i = 0, base = 0; i < n; i++, base += 5) {
    const d = D[i]! - alpha[ac[i]!]! - gam[bc[i]!]! - (d0 * Crow[base]! + d1 * Crow[base + 1]! + d2 * Crow[base + 2]! + d3 * Crow[base + 3]! + d4 * Crow[base + 4]!);
    const g = codes[i]!;
    S1[g]! += yr[i]! * d;
    S2[g]! += d * d;
  }
}

/** {@link fusedPass5} for any number kc of controls (δ in `delta`). */
function fusedPass(
  n: number, D: Float64Array, alpha: Float64Array, gam: Float64Array, ac: Int32Array, bc: Int32Array, Crow: Float64Array,
  kc: number, delta: Float64Array, codes: Int32Array, yr: Float64Array, S1: Float64Array, S2: Float64Array,
): void {
  for (let i = 0; i < n; i++) {
    let d = D[i]! - alpha[ac[i]!]! - gam[bc[i]!]!;
    const base = i * kc;
    for (let j = 0; j < kc; j++) d -= delta[j]! * Crow[base + j]!;
    const g = codes[i]!;
    S1[g]! += yr[i]! * d;
    S2[g]! += d * d;
  }
}

/**
 * Estimate, one-way CR1 se and p from the cluster sums S1_g = Σ_g ỹ_r D̈ and S2_g = Σ_g D̈²: the
 * score of g is S1_g − β S2_g, Var(β) = (N−1)/(N−K) · G/(G−1) · Σ_g score_g² / (D̈'D̈)².
 */
function oneWayResult(S1: Float64Array, S2: Float64Array, beta: number, dd: number, n: number, dofK: number, dfT: number): [number, number, number] {
  const G = S1.length;
  let s2 = 0;
  for (let g = 0; g < G; g++) {
    const sg = S1[g]! - beta * S2[g]!;
    s2 += sg * sg;
  }
  s2 /= dd * dd;
  const v = ((n - 1) / (n - dofK)) * (G / (G - 1)) * s2;
  const se = v >= 0 ? Math.sqrt(v) : NaN;
  return [beta, se, tPValue(beta / se, dfT)];
}

/** Σ_g (Σ_{i∈g} s_i)² for per-observation scores s. */
function clusterSq(f: Factor, s: Float64Array): number {
  const S = new Float64Array(f.nlevels);
  const codes = f.codes;
  for (let i = 0; i < s.length; i++) S[codes[i]!]! += s[i]!;
  let t = 0;
  for (let g = 0; g < S.length; g++) t += S[g]! * S[g]!;
  return t;
}

/** Run the replicates whose stream keys are given, in order; `onProgress(done)` every 25 replicates. */
export function runReplicates(prob: PlaceboProblem, keys: string[], onProgress?: (done: number) => void): ReplicateResults {
  return new PlaceboSolver(prob).run(keys, onProgress);
}

function runWith(solver: PlaceboSolver, keys: string[], onProgress?: (done: number) => void): ReplicateResults {
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

/** One solver per problem object and thread: the chunks of one ctx.map call share the precomputation. */
const solvers = new WeakMap<PlaceboProblem, PlaceboSolver>();

/** The solver of `problem` on this thread (built once). */
export function solverOf(problem: PlaceboProblem): PlaceboSolver {
  let solver = solvers.get(problem);
  if (!solver) solvers.set(problem, (solver = new PlaceboSolver(problem)));
  return solver;
}

/** The placebo step's ctx.map task: replicates of a chunk of stream keys (steps/placebo.ts `tasks`). */
export function replicates(keys: string[], problem: PlaceboProblem): ReplicateResults {
  return solverOf(problem).run(keys);
}
