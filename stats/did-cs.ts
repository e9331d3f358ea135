/**
 * Callaway & Sant'Anna (2021) group-time average treatment effects ATT(g,t) on a balanced panel,
 * their influence functions, the multiplier bootstrap, and the `aggte` aggregations — the numerics
 * of R `did::att_gt` + `did::aggte` (did 2.5.1, DRDID 1.2.x), no I/O.
 *
 * ATT(g,t) (did R/compute.att_gt.R): for cohort g (first treated period) and period t, the 2×2
 * comparison of ΔY = Y_t − Y_b between units of cohort g and the comparison units, where the base b is
 *   - base 'varying':   t−1 (previous period) for pre-treatment cells (t < g), and the last period
 *                       before g − anticipation for post cells (t ≥ g);
 *   - base 'universal': always the last period before g − anticipation (the cell t = b is 0, IF 0);
 * comparison units: never treated (g = 0) for control 'never'; for 'notyet' also units of other cohorts
 * with g' > max(t, b) + anticipation. Covariates are taken in the earlier of the two periods (t, b).
 * The 2×2 estimator (DRDID, panel versions, unit weights 1):
 *   - reg: outcome regression (DRDID::reg_did_panel): OLS of ΔY on X among comparison units;
 *   - ipw: normalized (Hajek) IPW (DRDID::std_ipw_did_panel), logit propensity score, comparison
 *          units with p̂ ≥ 0.995 trimmed;
 *   - dr:  locally efficient doubly robust (DRDID::drdid_panel) — what did 2.5.1 calls for
 *          est_method = "dr" (compute.att_gt.R calls drdid_panel, not drdid_imp_panel).
 * Without covariates (intercept only) all three equal the difference of mean ΔY.
 * Influence functions: DRDID's att.inf.func of the 2×2 sample, scaled by n/n₁ (n = all units, n₁ =
 * units in the 2×2), 0 for units not in it. Analytic SE = sqrt(Σ_c (Σ_{i∈c} ψ_i)²)/n over clusters c
 * (c = unit: did's sqrt(diag(ψ'ψ/n)/n)); SEs ≤ 10·sqrt(ε) are reported as NaN (did: NA).
 *
 * Multiplier bootstrap (did R/mboot.R): draw b: bres_b = sqrt(C)·(1/n)·Σ_c V_bc S_c with S_c the
 * cluster sums of ψ and V_bc i.i.d. multipliers — Mammen's two-point weights by default (the issue's
 * contract; DRDID's mboot.did), or Rademacher ±1 (what BMisc 1.4.x `multiplier_bootstrap` draws in
 * did 2.5.1). SE_boot = IQR(bres)/(z.75 − z.25)·sqrt(C)/n, order statistics b[⌈.75B⌉], b[⌈.25B⌉];
 * sup-t critical value = type-1 quantile 1−α of max_k |bres_k / σ̂_k|.
 *
 * Aggregations (did R/compute.aggte.R): weights p_g = share of units in cohort g; simple, group,
 * calendar and dynamic (balance_e, min_e, max_e) with the weights' influence function (`wif`) added to
 * the IF of simple, the overall group effect, and each calendar/dynamic period.
 *
 * // R: did::att_gt / did::aggte (built from github.com/bcallaway11/did), test/golden/did-cs/did-cs.R
 *
 * @example
 * const fit = attGt({ nUnits, periods, y, g, X: [] }, { control: 'never', base: 'varying', anticipation: 0, est: 'dr' });
 * const agg = aggregate(fit, 'dynamic', {});
 */
import { createRequire } from 'node:module';
import { fitBinary, GlmError } from './glm.js';
import { cholesky, spdInverse } from './linalg.js';

interface JStatLike {
  normal: { inv(p: number, mean: number, sd: number): number };
  chisquare: { cdf(x: number, df: number): number };
}
let jstatCache: JStatLike | null = null;
const J = (): JStatLike => (jstatCache ??= (createRequire(import.meta.url)('jstat') as { jStat: JStatLike }).jStat);

/** Standard normal quantile (R qnorm). */
export const qnorm = (p: number): number => J().normal.inv(p, 0, 1);
/** Upper tail of χ²(df) (R 1 − pchisq). */
export const chi2Upper = (x: number, df: number): number => 1 - J().chisquare.cdf(x, df);

/** Error for bad input that the caller shows as is (prefixed by the step). */
export class CsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CsError';
  }
}

/** A balanced panel, unit-major: value of unit i in period index t at [i·T + t]. */
export interface CsPanel {
  nUnits: number;
  /** Periods ascending (length T). */
  periods: number[];
  y: Float64Array;
  /** First treated period per unit (0 = never treated). */
  g: Float64Array;
  /** Covariate columns, unit-major like y (may be empty). */
  X: Float64Array[];
  /** Cluster id per unit (0..C−1); default: each unit its own cluster. */
  cluster?: Int32Array;
}

export type Control = 'never' | 'notyet';
export type BaseKind = 'varying' | 'universal';
export type Est = 'reg' | 'ipw' | 'dr';

export interface CsOptions {
  control: Control;
  base: BaseKind;
  anticipation: number;
  est: Est;
}

export interface CsCell {
  group: number;
  time: number;
  /** Base period of the 2×2 comparison. */
  base: number;
  att: number;
  post: boolean;
  /** Units in the 2×2 (treated, comparison). */
  nTreated: number;
  nControl: number;
}

export interface CsFit {
  n: number;
  nClusters: number;
  cluster: Int32Array;
  cells: CsCell[];
  /** Influence functions, column-major: cell k, unit i at [k·n + i]. */
  inf: Float64Array;
  /** Cohorts estimated (ascending) and their unit shares p_g. */
  groups: number[];
  pg: number[];
  /** Cohort per unit (0 = never / treated as never). */
  g: Float64Array;
  /** Periods used (ascending). */
  periods: number[];
  options: CsOptions;
}

const TINY = Math.sqrt(2.220446049250313e-16) * 10;

/** Estimate one 2×2 DiD with covariates (intercept first in `Z`). Returns ATT and the IF (length n₁). */
export function twoByTwo(dy: Float64Array, D: Uint8Array, Z: Float64Array[], est: Est): { att: number; inf: Float64Array } {
  const n = dy.length;
  const k = Z.length;
  // outcome regression among comparison units (reg, dr): β = (Z'(1−D)Z)⁻¹ Z'(1−D)ΔY
  let outDelta: Float64Array | null = null;
  let alrOls: Float64Array | null = null; // n×k, row-major: (1−D_i)(ΔY_i − Z_iβ) Z_i' (Z'(1−D)Z/n)⁻¹
  if (est !== 'ipw') {
    const XtX = new Float64Array(k * k);
    const Xty = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      if (D[i]) continue;
      for (let a = 0; a < k; a++) {
        const za = Z[a]![i]!;
        Xty[a]! += za * dy[i]!;
        for (let b = a; b < k; b++) XtX[a * k + b]! += za * Z[b]![i]!;
      }
    }
    for (let a = 0; a < k; a++) for (let b = 0; b < a; b++) XtX[a * k + b] = XtX[b * k + a]!;
    let inv: Float64Array;
    try {
      inv = spdInverse(XtX, k);
    } catch {
      throw new CsError('the outcome regression on the comparison units is singular (collinear covariates or too few comparison units)');
    }
    const beta = new Float64Array(k);
    for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) beta[a]! += inv[a * k + b]! * Xty[b]!;
    outDelta = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let a = 0; a < k; a++) s += Z[a]![i]! * beta[a]!;
      outDelta[i] = s;
    }
    // (Z'WZ/n)⁻¹ = n · inv
    alrOls = new Float64Array(n * k);
    for (let i = 0; i < n; i++) {
      if (D[i]) continue;
      const e = dy[i]! - outDelta[i]!;
      for (let b = 0; b < k; b++) {
        let s = 0;
        for (let a = 0; a < k; a++) s += Z[a]![i]! * inv[a * k + b]!;
        alrOls[i * k + b] = e * s * n;
      }
    }
  }
  if (est === 'reg') {
    // DRDID::reg_did_panel
    let sw = 0, st = 0, sc = 0;
    for (let i = 0; i < n; i++) if (D[i]) { sw++; st += dy[i]!; sc += outDelta![i]!; }
    const mw = sw / n;
    const etaT = st / n / mw, etaC = sc / n / mw;
    const M1 = new Float64Array(k);
    for (let i = 0; i < n; i++) if (D[i]) for (let a = 0; a < k; a++) M1[a]! += Z[a]![i]! / n;
    const inf = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const d = D[i]!;
      const infT = (d * dy[i]! - d * etaT) / mw;
      let c2 = 0;
      for (let a = 0; a < k; a++) c2 += alrOls![i * k + a]! * M1[a]!;
      const infC = (d * outDelta![i]! - d * etaC + c2) / mw;
      inf[i] = infT - infC;
    }
    return { att: etaT - etaC, inf };
  }
  // propensity score (ipw, dr): logit of D on Z (Z includes the intercept)
  const Xl: Float64Array[] = Z.slice(1);
  let ps: Float64Array;
  try {
    ps = fitBinary({ y: D, X: Xl, names: Xl.map((_, j) => `x${j + 1}`), intercept: true, who: 'propensity score' }).fitted;
  } catch (e) {
    if (e instanceof GlmError) throw new CsError(`the propensity-score logit failed: ${e.message}`);
    throw e;
  }
  // did's overlap check (utility_functions.R overlap_check_fail): a fitted score ≥ 0.999 → no 2×2
  let pmax = 0;
  for (let i = 0; i < n; i++) if (ps[i]! > pmax) pmax = ps[i]!;
  if (Z.length > 1 && pmax >= 0.999) throw new CsError(`overlap fails: a propensity score is ${pmax.toPrecision(6)} (≥ 0.999) — the covariates nearly separate this cohort from its comparison units`);
  const p = new Float64Array(n);
  const W = new Float64Array(n);
  const wT = new Float64Array(n), wC = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const pi = Math.min(ps[i]!, 1 - 1e-6);
    p[i] = pi;
    W[i] = pi * (1 - pi);
    const trim = D[i] ? 1 : pi < 0.995 ? 1 : 0;
    wT[i] = trim * D[i]!;
    wC[i] = (trim * pi * (1 - D[i]!)) / (1 - pi);
  }
  // Hessian.ps = (Z' W Z)⁻¹ · n
  const H = new Float64Array(k * k);
  for (let i = 0; i < n; i++)
    for (let a = 0; a < k; a++) {
      const za = Z[a]![i]! * W[i]!;
      for (let b = a; b < k; b++) H[a * k + b]! += za * Z[b]![i]!;
    }
  for (let a = 0; a < k; a++) for (let b = 0; b < a; b++) H[a * k + b] = H[b * k + a]!;
  let Hinv: Float64Array;
  try {
    cholesky(H, k);
    Hinv = spdInverse(H, k);
  } catch {
    throw new CsError('the propensity-score Hessian is singular (collinear covariates or perfect prediction)');
  }
  for (let j = 0; j < k * k; j++) Hinv[j]! *= n;
  // asy.lin.rep.ps_i = (D_i − p_i) Z_i' Hinv, applied to a vector M: (D_i − p_i) Z_i' Hinv M
  const applyPs = (M: Float64Array): Float64Array => {
    const HM = new Float64Array(k);
    for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) HM[a]! += Hinv[a * k + b]! * M[b]!;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let a = 0; a < k; a++) s += Z[a]![i]! * HM[a]!;
      out[i] = (D[i]! - p[i]!) * s;
    }
    return out;
  };
  const applyOls = (M: Float64Array): Float64Array => {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let a = 0; a < k; a++) s += alrOls![i * k + a]! * M[a]!;
      out[i] = s;
    }
    return out;
  };
  let mwT = 0, mwC = 0;
  for (let i = 0; i < n; i++) { mwT += wT[i]!; mwC += wC[i]!; }
  mwT /= n;
  mwC /= n;
  const r = new Float64Array(n); // ΔY − m(X) (dr) or ΔY (ipw)
  for (let i = 0; i < n; i++) r[i] = est === 'dr' ? dy[i]! - outDelta![i]! : dy[i]!;
  let sT = 0, sC = 0;
  for (let i = 0; i < n; i++) { sT += wT[i]! * r[i]!; sC += wC[i]! * r[i]!; }
  const etaT = sT / n / mwT, etaC = sC / n / mwC;
  const M2 = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const v = (wC[i]! * (r[i]! - etaC)) / n;
    for (let a = 0; a < k; a++) M2[a]! += v * Z[a]![i]!;
  }
  const infC2 = applyPs(M2);
  const inf = new Float64Array(n);
  if (est === 'ipw') {
    // DRDID::std_ipw_did_panel
    for (let i = 0; i < n; i++) {
      const infT = (wT[i]! * r[i]! - wT[i]! * etaT) / mwT;
      const infC = (wC[i]! * r[i]! - wC[i]! * etaC + infC2[i]!) / mwC;
      inf[i] = infT - infC;
    }
    return { att: etaT - etaC, inf };
  }
  // DRDID::drdid_panel
  const M1 = new Float64Array(k), M3 = new Float64Array(k);
  for (let i = 0; i < n; i++)
    for (let a = 0; a < k; a++) {
      M1[a]! += (wT[i]! * Z[a]![i]!) / n;
      M3[a]! += (wC[i]! * Z[a]![i]!) / n;
    }
  const infT2 = applyOls(M1);
  const infC3 = applyOls(M3);
  for (let i = 0; i < n; i++) {
    const infT = (wT[i]! * r[i]! - wT[i]! * etaT - infT2[i]!) / mwT;
    const infC = (wC[i]! * r[i]! - wC[i]! * etaC + infC2[i]! - infC3[i]!) / mwC;
    inf[i] = infT - infC;
  }
  return { att: etaT - etaC, inf };
}

/**
 * All ATT(g,t) with their influence functions. The panel must already be validated (balanced,
 * adoption constant within unit and an observed period or 0, no cohort treated in the first period
 * + anticipation); cohorts with g > last period + anticipation count as never treated (as did).
 * With control 'notyet' and no never-treated unit, periods ≥ (last cohort − anticipation) are left
 * out and the last cohort serves only as comparison (as did).
 */
export function attGt(panel: CsPanel, opt: CsOptions, onCell?: (done: number, total: number) => void): CsFit {
  const { nUnits: n, periods } = panel;
  let T = periods.length;
  const antic = opt.anticipation;
  const g = Float64Array.from(panel.g, (v) => (v > periods[T - 1]! + antic ? 0 : v));
  let glist = [...new Set(Array.from(g))].filter((v) => v > 0).sort((a, b) => a - b);
  const hasNever = g.some((v) => v === 0);
  if (!hasNever) {
    if (opt.control === 'never') throw new CsError('no never-treated unit (adopt 0 or missing, or after the last period); use control: notyet or add never-treated units');
    const latest = glist[glist.length - 1]!;
    T = periods.filter((p) => p < latest - antic).length;
    glist = glist.filter((v) => v < latest);
  }
  const cluster = panel.cluster ?? Int32Array.from({ length: n }, (_, i) => i);
  let nClusters = 0;
  for (let i = 0; i < n; i++) if (cluster[i]! + 1 > nClusters) nClusters = cluster[i]! + 1;
  const Tfull = panel.periods.length;
  const pg = glist.map((gg) => g.reduce((s, v) => s + (v === gg ? 1 : 0), 0) / n);
  const cells: CsCell[] = [];
  const infCols: Float64Array[] = [];
  const kx = panel.X.length;
  const total = glist.length * (opt.base === 'varying' ? T - 1 : T);
  for (const gg of glist) {
    let pretG = -1;
    for (let t = 0; t < T; t++) if (periods[t]! + antic < gg) pretG = t;
    if (pretG < 0) throw new CsError(`cohort ${gg} has no pre-treatment period`);
    for (let cur = opt.base === 'varying' ? 1 : 0; cur < T; cur++) {
      const post = gg <= periods[cur]!;
      const base = opt.base === 'universal' || post ? pretG : cur - 1;
      const time = periods[cur]!;
      const cell: CsCell = { group: gg, time, base: periods[base]!, att: 0, post, nTreated: 0, nControl: 0 };
      const col = new Float64Array(n);
      if (base === cur) {
        cells.push(cell);
        infCols.push(col);
        onCell?.(cells.length, total);
        continue;
      }
      const thr = periods[Math.max(cur, base)]! + antic;
      const idx: number[] = [];
      for (let i = 0; i < n; i++) {
        const gi = g[i]!;
        const ctrl = opt.control === 'never' ? gi === 0 : gi === 0 || (gi > thr && gi !== gg);
        if (gi === gg || ctrl) idx.push(i);
      }
      const n1 = idx.length;
      const dy = new Float64Array(n1);
      const D = new Uint8Array(n1);
      const early = Math.min(cur, base);
      const Z: Float64Array[] = [new Float64Array(n1).fill(1)];
      for (let c = 0; c < kx; c++) Z.push(new Float64Array(n1));
      let nt = 0;
      for (let j = 0; j < n1; j++) {
        const i = idx[j]!;
        dy[j] = panel.y[i * Tfull + cur]! - panel.y[i * Tfull + base]!;
        D[j] = g[i] === gg ? 1 : 0;
        nt += D[j]!;
        for (let c = 0; c < kx; c++) Z[c + 1]![j] = panel.X[c]![i * Tfull + early]!;
      }
      cell.nTreated = nt;
      cell.nControl = n1 - nt;
      if (nt === 0 || nt === n1) throw new CsError(`ATT(g=${gg}, t=${time}): ${nt === 0 ? 'no treated unit' : 'no comparison unit'} in the 2×2 comparison`);
      let r;
      try {
        r = twoByTwo(dy, D, Z, opt.est);
      } catch (e) {
        if (e instanceof CsError) throw new CsError(`ATT(g=${gg}, t=${time}): ${e.message}`);
        throw e;
      }
      cell.att = r.att;
      const scale = n / n1;
      for (let j = 0; j < n1; j++) col[idx[j]!] = r.inf[j]! * scale;
      cells.push(cell);
      infCols.push(col);
      onCell?.(cells.length, total);
    }
  }
  const inf = new Float64Array(cells.length * n);
  infCols.forEach((c, k) => inf.set(c, k * n));
  return { n, nClusters, cluster, cells, inf, groups: glist, pg, g, periods: periods.slice(0, T), options: opt };
}

/** Analytic SE of an influence function ψ (length n): sqrt(Σ_c (Σ_{i∈c} ψ_i)²)/n; NaN when ≤ 10·sqrt(ε). */
export function ifSe(psi: Float64Array, cluster: Int32Array, nClusters: number): number {
  const n = psi.length;
  let s = 0;
  if (nClusters === n) for (let i = 0; i < n; i++) s += psi[i]! * psi[i]!;
  else {
    const S = new Float64Array(nClusters);
    for (let i = 0; i < n; i++) S[cluster[i]!]! += psi[i]!;
    for (let c = 0; c < nClusters; c++) s += S[c]! * S[c]!;
  }
  const se = Math.sqrt(s) / n;
  return se <= TINY ? NaN : se;
}

/** Covariance of estimates with IF columns `cols` (each length n): Σ_c S_c S_c' / n². Row-major k×k. */
export function ifVcov(cols: Float64Array[], cluster: Int32Array, nClusters: number): Float64Array {
  const k = cols.length;
  const n = k ? cols[0]!.length : 0;
  const S = cols.map((c) => {
    if (nClusters === n) return c;
    const s = new Float64Array(nClusters);
    for (let i = 0; i < n; i++) s[cluster[i]!]! += c[i]!;
    return s;
  });
  const V = new Float64Array(k * k);
  for (let a = 0; a < k; a++)
    for (let b = a; b < k; b++) {
      let s = 0;
      const sa = S[a]!, sb = S[b]!;
      for (let i = 0; i < sa.length; i++) s += sa[i]! * sb[i]!;
      V[a * k + b] = V[b * k + a] = s / (n * n);
    }
  return V;
}

/** Multiplier draws: B × C matrix (row-major) of i.i.d. weights from `uniform`. */
export type MultiplierKind = 'mammen' | 'rademacher';
export function multiplierDraws(B: number, C: number, uniform: () => number, kind: MultiplierKind): Float64Array {
  const out = new Float64Array(B * C);
  const s5 = Math.sqrt(5);
  // Mammen: (1 − √5)/2 with probability (√5 + 1)/(2√5), else (1 + √5)/2 (mean 0, variance 1).
  // Two draws per 53-bit uniform: its top 27 bits and its low 26 bits (probability resolution 2⁻²⁶).
  const pLow = kind === 'mammen' ? (s5 + 1) / (2 * s5) : 0.5;
  const lo = kind === 'mammen' ? (1 - s5) / 2 : -1;
  const hi = kind === 'mammen' ? (1 + s5) / 2 : 1;
  const t27 = pLow * 134217728, t26 = pLow * 67108864;
  const m = B * C;
  for (let j = 0; j < m; j += 2) {
    const x = uniform() * 9007199254740992; // exact 53-bit integer
    const a = Math.floor(x / 67108864); // 27 bits
    const b = x - a * 67108864; // 26 bits
    out[j] = a < t27 ? lo : hi;
    if (j + 1 < m) out[j + 1] = b < t26 ? lo : hi;
  }
  return out;
}

/**
 * Bootstrap draws of several estimators at once: bres_b,j = sqrt(C)/n · Σ_c V_bc S_cj with S the
 * cluster sums of IF column j. Returns B × k, column-major (column j at [j·B, (j+1)·B)).
 */
export function bootDraws(cols: Float64Array[], cluster: Int32Array, nClusters: number, V: Float64Array, B: number): Float64Array {
  const k = cols.length;
  const n = k ? cols[0]!.length : 0;
  const C = nClusters;
  const S = new Float64Array(C * k); // C × k, row-major: contiguous over estimators
  for (let j = 0; j < k; j++) {
    const c = cols[j]!;
    for (let i = 0; i < n; i++) S[cluster[i]! * k + j]! += c[i]!;
  }
  const fac = Math.sqrt(C) / n;
  const acc = new Float64Array(k);
  const bres = new Float64Array(B * k);
  for (let b = 0; b < B; b++) {
    acc.fill(0);
    const off = b * C;
    for (let c = 0; c < C; c++) {
      const v = V[off + c]!;
      const row = c * k;
      for (let j = 0; j < k; j++) acc[j]! += v * S[row + j]!;
    }
    for (let j = 0; j < k; j++) bres[j * B + b] = acc[j]! * fac;
  }
  return bres;
}

export interface BootResult {
  se: number[];
  /** Sup-t critical value at level 1 − alpha over the columns (NaN when every column is degenerate). */
  crit: number;
}

/**
 * did's mboot statistics for columns `which` of the draws: SE = IQR/(z.75 − z.25)·sqrt(C)/n with the
 * order statistics b[⌈.75B⌉], b[⌈.25B⌉]; sup-t critical value = type-1 quantile 1−α of
 * max_j |bres_j/σ_j| (degenerate columns, Σ b² ≤ 10·sqrt(ε), skipped; their SE is NaN).
 */
export function bootStats(bres: Float64Array, B: number, which: number[], nClusters: number, n: number, alpha: number): BootResult {
  const iqrNorm = qnorm(0.75) - qnorm(0.25);
  const k = which.length;
  const sigma = new Float64Array(k);
  const se: number[] = [];
  const tmp = new Float64Array(B);
  for (let j = 0; j < k; j++) {
    const off = which[j]! * B;
    let ss = 0;
    for (let b = 0; b < B; b++) { const v = bres[off + b]!; tmp[b] = v; ss += v * v; }
    if (!(ss > TINY)) { sigma[j] = NaN; se.push(NaN); continue; }
    tmp.sort();
    const s = (tmp[Math.ceil(0.75 * B) - 1]! - tmp[Math.ceil(0.25 * B) - 1]!) / iqrNorm;
    sigma[j] = s;
    se.push((s * Math.sqrt(nClusters)) / n);
  }
  const bT = new Float64Array(B);
  let m = 0;
  for (let b = 0; b < B; b++) {
    let mx = -Infinity;
    for (let j = 0; j < k; j++) {
      if (!(sigma[j]! > TINY)) continue;
      const v = Math.abs(bres[which[j]! * B + b]! / sigma[j]!);
      if (v > mx) mx = v;
    }
    if (Number.isFinite(mx)) bT[m++] = mx;
  }
  const bt = bT.subarray(0, m).sort();
  return { se, crit: m ? quantile1(bt, 1 - alpha) : NaN };
}

/** R quantile type 1 (inverse of the empirical CDF) of sorted values. */
export function quantile1(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  const np = n * p;
  const j = Math.floor(np + 4 * 2.220446049250313e-16); // R quantile(): fuzz <- 4 * .Machine$double.eps
  const h = np > j ? 1 : 0;
  const idx = Math.min(Math.max(j + h, 1), n);
  return sorted[idx - 1]!;
}

export type AggType = 'simple' | 'group' | 'calendar' | 'dynamic';
export interface AggOptions {
  balance_e?: number;
  min_e?: number;
  max_e?: number;
}

export interface AggResult {
  type: AggType;
  overall: { att: number; inf: Float64Array };
  /** Per-group / per-period / per-event-time estimates (empty for simple). */
  parts: { key: number; att: number; inf: Float64Array }[];
}

/** wif(keepers)·att[keepers] of did's compute.aggte (the IF of the estimated weights p_g). */
function wifTimesAtt(keepGroups: number[], keepPg: number[], keepAtt: number[], g: Float64Array): Float64Array {
  const n = g.length;
  const Spg = keepPg.reduce((a, b) => a + b, 0);
  const out = new Float64Array(n);
  let pa = 0;
  for (let k = 0; k < keepPg.length; k++) pa += keepPg[k]! * keepAtt[k]!;
  for (let i = 0; i < n; i++) {
    let rowSum = 0, if1 = 0;
    for (let k = 0; k < keepGroups.length; k++) {
      const c = (g[i] === keepGroups[k] ? 1 : 0) - keepPg[k]!;
      rowSum += c;
      if1 += c * keepAtt[k]!;
    }
    out[i] = if1 / Spg - (rowSum * pa) / (Spg * Spg);
  }
  return out;
}

function combine(fit: CsFit, which: number[], wts: number[]): Float64Array {
  const n = fit.n;
  const out = new Float64Array(n);
  which.forEach((k, j) => {
    const w = wts[j]!;
    const off = k * n;
    for (let i = 0; i < n; i++) out[i]! += w * fit.inf[off + i]!;
  });
  return out;
}

/** One `aggte` aggregation (no SEs: those come from the IFs via {@link ifSe} or {@link mboot}). */
export function aggregate(fit: CsFit, type: AggType, o: AggOptions): AggResult {
  const cells = fit.cells;
  const maxE = o.max_e ?? Infinity;
  const minE = o.min_e ?? -Infinity;
  const pgOf = new Map(fit.groups.map((gg, j) => [gg, fit.pg[j]!]));
  const att = cells.map((c) => c.att);
  const pg = cells.map((c) => pgOf.get(c.group)!);
  const idxWhere = (f: (c: CsCell) => boolean): number[] => cells.flatMap((c, k) => (f(c) ? [k] : []));
  const weighted = (which: number[]): { att: number; inf: Float64Array; wts: number[] } => {
    const s = which.reduce((a, k) => a + pg[k]!, 0);
    const wts = which.map((k) => pg[k]! / s);
    let a = 0;
    which.forEach((k, j) => (a += wts[j]! * att[k]!));
    return { att: a, inf: combine(fit, which, wts), wts };
  };
  const addWif = (inf: Float64Array, which: number[]): void => {
    const w = wifTimesAtt(which.map((k) => cells[k]!.group), which.map((k) => pg[k]!), which.map((k) => att[k]!), fit.g);
    for (let i = 0; i < inf.length; i++) inf[i]! += w[i]!;
  };
  const mean = (parts: { att: number; inf: Float64Array }[]): { att: number; inf: Float64Array } => {
    const m = parts.length;
    const inf = new Float64Array(fit.n);
    let a = 0;
    for (const p of parts) {
      a += p.att / m;
      for (let i = 0; i < fit.n; i++) inf[i]! += p.inf[i]! / m;
    }
    return { att: a, inf };
  };
  if (type === 'simple') {
    const keep = idxWhere((c) => c.group <= c.time && c.time <= c.group + maxE);
    if (!keep.length) throw new CsError('no post-treatment ATT(g,t) to aggregate');
    const r = weighted(keep);
    addWif(r.inf, keep);
    return { type, overall: { att: r.att, inf: r.inf }, parts: [] };
  }
  if (type === 'group') {
    const parts = fit.groups.map((gg) => {
      const which = idxWhere((c) => c.group === gg && gg <= c.time && c.time <= gg + maxE);
      const r = weighted(which);
      // did: mean(attg) (equal weights within a group, as pg is constant there)
      return { key: gg, att: which.length ? r.att : NaN, inf: r.inf };
    });
    const Spg = fit.pg.reduce((a, b) => a + b, 0);
    const inf = new Float64Array(fit.n);
    let a = 0;
    parts.forEach((p, j) => {
      const w = fit.pg[j]! / Spg;
      a += w * p.att;
      for (let i = 0; i < fit.n; i++) inf[i]! += w * p.inf[i]!;
    });
    const w = wifTimesAtt(fit.groups, fit.pg, parts.map((p) => p.att), fit.g);
    for (let i = 0; i < fit.n; i++) inf[i]! += w[i]!;
    return { type, overall: { att: a, inf }, parts };
  }
  if (type === 'calendar') {
    const minG = Math.min(...fit.groups);
    const times = [...new Set(cells.map((c) => c.time))].sort((x, y) => x - y).filter((t) => t >= minG && cells.some((c) => c.time === t && c.group <= t));
    if (!times.length) throw new CsError('no calendar period with a post-treatment ATT(g,t)');
    const parts = times.map((t) => {
      const which = idxWhere((c) => c.time === t && c.group <= t);
      const r = weighted(which);
      addWif(r.inf, which);
      return { key: t, att: r.att, inf: r.inf };
    });
    return { type, overall: mean(parts), parts };
  }
  // dynamic
  const es = (c: CsCell): number => c.time - c.group;
  let eseq = [...new Set(cells.map(es))].sort((x, y) => x - y);
  let include = (_c: CsCell): boolean => true;
  if (o.balance_e !== undefined) {
    const be = o.balance_e;
    const maxT = Math.max(...cells.map((c) => c.time));
    const first = Math.min(fit.periods[0]!, ...fit.groups);
    include = (c) => maxT - c.group >= be;
    eseq = [...new Set(cells.filter(include).map(es))].sort((x, y) => x - y).filter((e) => e <= be && e >= be - maxT + first);
  }
  eseq = eseq.filter((e) => e >= minE && e <= maxE);
  if (!eseq.length) throw new CsError('no event time falls within min_e/max_e (and balance_e); widen them');
  const parts = eseq.map((e) => {
    const which = idxWhere((c) => es(c) === e && include(c));
    const r = weighted(which);
    addWif(r.inf, which);
    return { key: e, att: r.att, inf: r.inf };
  });
  const postParts = parts.filter((p) => p.key >= 0);
  const overall = postParts.length ? mean(postParts) : { att: NaN, inf: new Float64Array(fit.n) };
  return { type, overall, parts };
}

/** did's pre-test of parallel trends: W = θ' V⁻¹ θ over the pre-treatment ATT(g,t) (group > time) with finite SE; χ²(q). */
export function pretest(fit: CsFit): { W: number; df: number; p: number; cells: { group: number; time: number }[] } | { W: null; df: number; p: null; reason: string; cells: { group: number; time: number }[] } {
  const n = fit.n;
  const pre: number[] = [];
  fit.cells.forEach((c, k) => {
    if (c.group > c.time && !Number.isNaN(ifSe(fit.inf.subarray(k * n, (k + 1) * n), fit.cluster, fit.nClusters))) pre.push(k);
  });
  const cells = pre.map((k) => ({ group: fit.cells[k]!.group, time: fit.cells[k]!.time }));
  if (!pre.length) return { W: null, df: 0, p: null, reason: 'no pre-treatment ATT(g,t) with a finite SE', cells };
  const V = ifVcov(pre.map((k) => fit.inf.subarray(k * n, (k + 1) * n)), fit.cluster, fit.nClusters);
  const q = pre.length;
  let inv: Float64Array;
  try {
    inv = spdInverse(V, q);
  } catch {
    return { W: null, df: q, p: null, reason: 'singular covariance of the pre-treatment ATT(g,t)', cells };
  }
  const th = pre.map((k) => fit.cells[k]!.att);
  let W = 0;
  for (let a = 0; a < q; a++) for (let b = 0; b < q; b++) W += th[a]! * inv[a * q + b]! * th[b]!;
  return { W, df: q, p: chi2Upper(W, q), cells };
}
