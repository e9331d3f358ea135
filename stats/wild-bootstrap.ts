/**
 * Wild cluster bootstrap of one coefficient of a fixed-effects OLS regression (Cameron, Gelbach &
 * Miller 2008; Roodman, MacKinnon, Nielsen & Webb 2019 "Fast and wild", as boottest /
 * fwildclusterboot), one-way clustering, no regression weights.
 *
 * Model: y = x β + Z γ + D α + u, D the fixed-effect dummies (or an intercept), clusters g = 1..G.
 * Test H0: β = r by the CR1 t statistic t(r) = (β̂ − r)/se_CR1.
 * - WCR (impose_null): y* = ŷ₀(r) + ü(r)∘v, ü(r) the residuals of the restricted model (β = r),
 *   t*(r) = (β* − r)/se*.
 * - WCU: y* = ŷ + û∘v, t* = (β* − β̂)/se*.
 * v_g is one weight per cluster: rademacher ±1; webb ±√½, ±1, ±√(3/2); mammen (1−√5)/2 w.p.
 * (√5+1)/(2√5), else (1+√5)/2; norm N(0,1).
 * p(r) = share of draws with |t*| > |t(r)| (fwildclusterboot's two-tailed p; exact ties within a
 * relative 1e-10, e.g. the draws v ≡ ±1 that reproduce |t| under WCR, do not count unless
 * `countTies`). The CR1 factor cancels in p (it scales t and t*).
 *
 * Never refits per draw (Frisch–Waugh–Lovell): with x̃ = M[Z,D] x, β* − r = Σ_g v_g x̃_g'ü_g / x̃'x̃, and
 * the bootstrap score of cluster g is x̃_g'(M_X w)_g, w = ü∘v. The span of X = [x, Z, D] splits into
 * the span of the fixed effects nested in the clusters (block-diagonal by cluster, orthogonal to x̃
 * within each cluster, so it drops out) plus the span of W = [M_Dn D_other, M_D X] (the non-nested
 * fixed effects' dummies demeaned by the nested ones, and the fully demeaned regressors), with an
 * orthonormal basis Q (n × q). Then x̃_g'(M_X w)_g = v_g x̃_g'ü_g − Σ_j (x̃_g'Q_jg)(Σ_h v_h Q_jh'ü_h):
 * O(G·q) per draw after O(n·q) set-up. Everything is linear in r, so each draw stores five numbers
 * and p(r) costs O(B) for any r; the confidence interval is {r : p(r) > α}, found by bisection on
 * each side of β̂ (test inversion, as boottest).
 *
 * Full enumeration: Rademacher when 2^G ≤ reps, Webb when 6^G ≤ reps: all sign vectors, exact and
 * seed-free (`enumerated: true`, reps = 2^G or 6^G).
 *
 * Tests: test/stats/wild-bootstrap.test.ts against test/golden/wild-bootstrap/ (R brute force: refit
 * with lm per draw, make.R) and test/stats/wild-bootstrap-fwcb.test.ts against fwildclusterboot
 * 0.14.3 (make-fwcb.R): exact under full enumeration, within Monte Carlo error otherwise.
 */
import type { Factor } from './fe.js';
import { isNested } from './fe.js';
import { Demeaner } from './demean.js';
import { cholSolve, crossprod, crossvec } from './linalg.js';
import type { Rng } from '../engine/types.js';

export type WildWeights = 'rademacher' | 'webb' | 'mammen' | 'norm';

export interface WildProblem {
  /** Outcome demeaned by all fixed effects (estimation sample). */
  yt: Float64Array;
  /** Regressors demeaned by all fixed effects (kept terms). */
  Xt: Float64Array[];
  /** Index in Xt of the coefficient tested. */
  k: number;
  /** Fixed effects on the estimation sample ([] = intercept only). */
  fe: Factor[];
  /** The one cluster factor. */
  cluster: Factor;
  /** CR1 K (parameters counted in (N−1)/(N−K)); only scales se, not p. */
  dofK: number;
  /**
   * The orthonormal basis Q of W (see the module comment) from wildBasis(): it depends on the
   * design only, not on the tested coefficient, so several coefficients of one model (the periods of
   * an event study) share it. Computed here when absent.
   */
  basis?: Float64Array[];
}

export interface WildOptions {
  reps: number;
  weights: WildWeights;
  imposeNull: boolean;
  /** Null value r of H0: β = r. Default 0. */
  r?: number;
  /** Level of the CI by test inversion (e.g. 0.95); 0 = no CI. */
  level?: number;
  /** Random stream for non-enumerated draws. Required unless enumeration applies. */
  rng?: Rng;
  /** Demeaning tolerance. */
  tol?: number;
  /** Never enumerate (random draws even when 2^G ≤ reps). */
  noEnumeration?: boolean;
  /**
   * Also count the ties |t*| = |t| (relative 1e-10) as at least as extreme. Default false: p is the
   * share of draws with |t*| > |t| strictly, as fwildclusterboot (`mean(abs(t) < abs(t_boot))`) and
   * MacKinnon, Nielsen & Webb (2023); under WCR the draws v ≡ 1 and (Rademacher, Webb) v ≡ −1
   * reproduce |t| exactly and so do not count. true gives p ≥ 1/B under WCR.
   */
  countTies?: boolean;
}

export interface WildResult {
  estimate: number;
  /** CR1 se of the estimate (as feols). */
  se: number;
  t: number;
  p: number;
  ci_low: number | null;
  ci_high: number | null;
  reps: number;
  enumerated: boolean;
  weights: WildWeights;
  impose_null: boolean;
  G: number;
}

const WEBB = [-Math.sqrt(1.5), -1, -Math.sqrt(0.5), Math.sqrt(0.5), 1, Math.sqrt(1.5)];
const S5 = Math.sqrt(5);

/** Whether full enumeration applies (and how many draws it has), or null. */
export function enumerationSize(weights: WildWeights, G: number, reps: number): number | null {
  if (weights === 'rademacher' && G <= 52 && 2 ** G <= reps) return 2 ** G;
  if (weights === 'webb' && G <= 20 && 6 ** G <= reps) return 6 ** G;
  return null;
}

/** Orthonormal basis of the span of `cols` (modified Gram–Schmidt, twice; near-dependent columns dropped). */
function orthonormalBasis(cols: Float64Array[], n: number): Float64Array[] {
  const Q: Float64Array[] = [];
  for (const c0 of cols) {
    const c = Float64Array.from(c0);
    let norm0 = 0;
    for (let i = 0; i < n; i++) norm0 += c[i]! * c[i]!;
    norm0 = Math.sqrt(norm0);
    if (norm0 === 0) continue;
    for (let pass = 0; pass < 2; pass++)
      for (const q of Q) {
        let d = 0;
        for (let i = 0; i < n; i++) d += q[i]! * c[i]!;
        for (let i = 0; i < n; i++) c[i]! -= d * q[i]!;
      }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += c[i]! * c[i]!;
    norm = Math.sqrt(norm);
    if (norm <= 1e-9 * norm0) continue;
    for (let i = 0; i < n; i++) c[i]! /= norm;
    Q.push(c);
  }
  return Q;
}

/** Residual of v on the columns C (Gram matrix CC), in place copy. */
function residualise(v: Float64Array, C: Float64Array[], CC: Float64Array): Float64Array {
  const out = Float64Array.from(v);
  if (C.length === 0) return out;
  const g = cholSolve(CC, C.length, crossvec(C, v, null));
  for (let j = 0; j < C.length; j++) {
    const c = C[j]!, gj = g[j]!;
    for (let i = 0; i < out.length; i++) out[i]! -= gj * c[i]!;
  }
  return out;
}

/**
 * Orthonormal basis (n × q, columns) of W = [M_Dn D_other, M_D X]: the dummies of the fixed effects
 * not nested in the clusters, demeaned by the nested ones, and the fully demeaned regressors.
 */
export function wildBasis(prob: Pick<WildProblem, 'yt' | 'Xt' | 'fe' | 'cluster'>, tol?: number): Float64Array[] {
  const n = prob.yt.length;
  const fe = prob.fe.length > 0 ? prob.fe : [{ codes: new Int32Array(n), nlevels: 1 }];
  const nested = fe.filter((f) => isNested(f, prob.cluster));
  const other = fe.filter((f) => !isNested(f, prob.cluster));
  const dm = nested.length > 0 ? new Demeaner(nested, { tol: tol ?? 1e-13 }) : null;
  const Wcols: Float64Array[] = [];
  for (const f of other) {
    for (let l = 0; l < f.nlevels; l++) {
      const d = new Float64Array(n);
      for (let i = 0; i < n; i++) if (f.codes[i] === l) d[i] = 1;
      Wcols.push(dm ? dm.demean(d, undefined, 'fixed-effect dummy') : d);
    }
  }
  Wcols.push(...prob.Xt);
  return orthonormalBasis(Wcols, n);
}

/**
 * The wild cluster bootstrap p-value (and CI by test inversion) of coefficient `prob.k`.
 * Throws Error on degenerate input (the caller names the step).
 */
export function wildClusterBootstrap(prob: WildProblem, opt: WildOptions): WildResult {
  const n = prob.yt.length;
  const G = prob.cluster.nlevels;
  const cl = prob.cluster.codes;
  const r0 = opt.r ?? 0;
  if (G < 2) throw new Error(`wild bootstrap needs at least 2 clusters, got ${G}`);
  const x = prob.Xt[prob.k]!;
  const Z = prob.Xt.filter((_, j) => j !== prob.k);
  const ZZ = crossprod(Z, null);
  const xt = residualise(x, Z, ZZ);
  const yr = residualise(prob.yt, Z, ZZ);
  let xx = 0, xy = 0;
  for (let i = 0; i < n; i++) { xx += xt[i]! * xt[i]!; xy += xt[i]! * yr[i]!; }
  if (!(xx > 0)) throw new Error('the tested regressor is collinear with the fixed effects and controls');
  const beta = xy / xx;
  const uhat = new Float64Array(n);
  for (let i = 0; i < n; i++) uhat[i] = yr[i]! - beta * xt[i]!;
  const c = (G / (G - 1)) * ((n - 1) / (n - prob.dofK));
  const sg = new Float64Array(G);
  for (let i = 0; i < n; i++) sg[cl[i]!]! += xt[i]! * uhat[i]!;
  let meat = 0;
  for (let g = 0; g < G; g++) meat += sg[g]! * sg[g]!;
  const se = Math.sqrt(c * meat) / xx;

  const Q = prob.basis ?? wildBasis(prob, opt.tol);
  const q = Q.length;

  // per-cluster sums: a0 = x̃'ü0, a1 = x̃'x̃ (ü(r) = ü0 − r x̃ under WCR; ü = û under WCU)
  const res = opt.imposeNull ? yr : uhat;
  const a0 = new Float64Array(G), a1 = new Float64Array(G);
  const C = new Float64Array(G * q), E0 = new Float64Array(q * G), E1 = new Float64Array(q * G);
  for (let i = 0; i < n; i++) {
    const g = cl[i]!;
    a0[g]! += xt[i]! * res[i]!;
    a1[g]! += xt[i]! * xt[i]!;
  }
  for (let j = 0; j < q; j++) {
    const Qj = Q[j]!;
    for (let i = 0; i < n; i++) {
      const g = cl[i]!, qi = Qj[i]!;
      C[g * q + j]! += xt[i]! * qi;
      E0[j * G + g]! += qi * res[i]!;
      E1[j * G + g]! += qi * xt[i]!;
    }
  }

  const en = opt.noEnumeration ? null : enumerationSize(opt.weights, G, opt.reps);
  const B = en ?? opt.reps;
  if (en === null && !opt.rng) throw new Error('wild bootstrap: a random stream is required when the draws are not enumerated');
  const N0 = new Float64Array(B), N1 = new Float64Array(B), SA = new Float64Array(B), SB = new Float64Array(B), SC = new Float64Array(B);
  // draws are processed four at a time (V: G × 4, row-major) so that each E/C element loaded
  // serves four draws (register blocking of the two mat-vecs T = E·v and s = a∘v − C·T)
  const NB = 4;
  const V = new Float64Array(G * NB), T0 = new Float64Array(q * NB), T1 = new Float64Array(q * NB);
  const v = new Float64Array(G);
  const S0 = new Float64Array(NB), S1 = new Float64Array(NB), S2 = new Float64Array(NB);
  const wr = opt.imposeNull;
  for (let b0 = 0; b0 < B; b0 += NB) {
    for (let kk = 0; kk < NB; kk++) {
      const b = b0 + kk;
      if (b >= B) v.fill(0);
      else if (en !== null) {
        if (opt.weights === 'rademacher') for (let g = 0, m = b; g < G; g++, m = Math.floor(m / 2)) v[g] = m % 2 === 1 ? 1 : -1;
        else for (let g = 0, m = b; g < G; g++, m = Math.floor(m / 6)) v[g] = WEBB[m % 6]!;
      } else drawWeights(opt.weights, opt.rng!, v);
      let n0 = 0, n1 = 0;
      for (let g = 0; g < G; g++) {
        const vg = v[g]!;
        V[g * NB + kk] = vg;
        n0 += vg * a0[g]!;
        n1 += vg * a1[g]!;
      }
      if (b < B) { N0[b] = n0; N1[b] = wr ? n1 : 0; }
    }
    for (let j = 0; j < q; j++) {
      let p0 = 0, p1 = 0, p2 = 0, p3 = 0, r0 = 0, r1 = 0, r2 = 0, r3 = 0;
      const off = j * G;
      for (let g = 0; g < G; g++) {
        const e = E0[off + g]!, f = E1[off + g]!, o = g * NB;
        const v0 = V[o]!, v1 = V[o + 1]!, v2 = V[o + 2]!, v3 = V[o + 3]!;
        p0 += e * v0; p1 += e * v1; p2 += e * v2; p3 += e * v3;
        r0 += f * v0; r1 += f * v1; r2 += f * v2; r3 += f * v3;
      }
      const o = j * NB;
      T0[o] = p0; T0[o + 1] = p1; T0[o + 2] = p2; T0[o + 3] = p3;
      T1[o] = r0; T1[o + 1] = r1; T1[o + 2] = r2; T1[o + 3] = r3;
    }
    S0.fill(0); S1.fill(0); S2.fill(0);
    for (let g = 0; g < G; g++) {
      const o = g * NB, a = a0[g]!, aa = a1[g]!, off = g * q;
      const w0 = V[o]!, w1 = V[o + 1]!, w2 = V[o + 2]!, w3 = V[o + 3]!;
      let s0 = w0 * a, s1 = w1 * a, s2 = w2 * a, s3 = w3 * a;
      let u0 = w0 * aa, u1 = w1 * aa, u2 = w2 * aa, u3 = w3 * aa;
      for (let j = 0; j < q; j++) {
        const cg = C[off + j]!, jo = j * NB;
        s0 -= cg * T0[jo]!; s1 -= cg * T0[jo + 1]!; s2 -= cg * T0[jo + 2]!; s3 -= cg * T0[jo + 3]!;
        u0 -= cg * T1[jo]!; u1 -= cg * T1[jo + 1]!; u2 -= cg * T1[jo + 2]!; u3 -= cg * T1[jo + 3]!;
      }
      S0[0]! += s0 * s0; S0[1]! += s1 * s1; S0[2]! += s2 * s2; S0[3]! += s3 * s3;
      S1[0]! += s0 * u0; S1[1]! += s1 * u1; S1[2]! += s2 * u2; S1[3]! += s3 * u3;
      S2[0]! += u0 * u0; S2[1]! += u1 * u1; S2[2]! += u2 * u2; S2[3]! += u3 * u3;
    }
    for (let kk = 0; kk < NB && b0 + kk < B; kk++) {
      SA[b0 + kk] = S0[kk]!;
      SB[b0 + kk] = wr ? S1[kk]! : 0;
      SC[b0 + kk] = wr ? S2[kk]! : 0;
    }
  }

  /** p-value of H0: β = r. */
  const pval = (r: number): number => {
    const tabs = Math.abs((beta - r) / se);
    const thr = opt.countTies ? tabs - 1e-10 * Math.max(1, tabs) : tabs + 1e-10 * Math.max(1, tabs);
    let hit = 0;
    for (let b = 0; b < B; b++) {
      const num = wr ? N0[b]! - r * N1[b]! : N0[b]!;
      const den = wr ? SA[b]! - 2 * r * SB[b]! + r * r * SC[b]! : SA[b]!;
      const ts = Math.abs(num) / Math.sqrt(c * Math.max(den, 0));
      if (ts >= thr || (num !== 0 && den <= 0)) hit++;
    }
    return hit / B;
  };
  const p = pval(r0);
  let lo: number | null = null, hi: number | null = null;
  const level = opt.level ?? 0.95;
  if (level > 0) {
    const alpha = 1 - level;
    const edge = (dir: 1 | -1): number | null => {
      // expand from β̂ until p ≤ α, then bisect to the crossing
      let inside = beta, step = Math.max(se, 1e-12 * Math.max(1, Math.abs(beta)));
      let out = beta + dir * step;
      let k = 0;
      while (pval(out) > alpha) {
        inside = out;
        step *= 2;
        out = beta + dir * step;
        if (++k > 60) return null;
      }
      for (let it = 0; it < 200 && Math.abs(out - inside) > 1e-12 * Math.max(1, se, Math.abs(beta)); it++) {
        const mid = 0.5 * (inside + out);
        if (pval(mid) > alpha) inside = mid;
        else out = mid;
      }
      return 0.5 * (inside + out);
    };
    lo = edge(-1);
    hi = edge(1);
  }
  return { estimate: beta, se, t: (beta - r0) / se, p, ci_low: lo, ci_high: hi, reps: B, enumerated: en !== null, weights: opt.weights, impose_null: opt.imposeNull, G };
}

function drawWeights(kind: WildWeights, rng: Rng, v: Float64Array): void {
  const G = v.length;
  switch (kind) {
    case 'rademacher':
      // 26 independent bits from each half of a 52-bit uniform
      for (let g = 0; g < G; ) {
        const x = Math.floor(rng.uniform() * 2 ** 52);
        let lo = x % 2 ** 26, hi = Math.floor(x / 2 ** 26);
        for (let k = 0; k < 26 && g < G; k++, g++) { v[g] = (lo & 1) === 1 ? 1 : -1; lo >>>= 1; }
        for (let k = 0; k < 26 && g < G; k++, g++) { v[g] = (hi & 1) === 1 ? 1 : -1; hi >>>= 1; }
      }
      break;
    case 'webb':
      for (let g = 0; g < G; g++) v[g] = WEBB[rng.int(6)]!;
      break;
    case 'mammen': {
      const pLow = (S5 + 1) / (2 * S5);
      for (let g = 0; g < G; g++) v[g] = rng.uniform() < pLow ? (1 - S5) / 2 : (1 + S5) / 2;
      break;
    }
    case 'norm':
      for (let g = 0; g < G; g++) v[g] = rng.normal();
      break;
  }
}
