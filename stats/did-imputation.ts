/**
 * Borusyak, Jaravel & Spiess (2024) imputation estimator, as R `didimputation::did_imputation`:
 *
 * 1. First stage on the untreated observations (D_it = 0: never-treated units and the pre-periods of
 *    treated ones): y_it = α_i + λ_t + x_it'γ + ε_it by OLS. It is solved exactly through the normal
 *    equations with the unit block eliminated (Schur complement onto the period dummies and
 *    controls), so no iteration is involved.
 * 2. Y(0) imputed for treated observations, τ̂_it = y_it − α̂_i − λ̂_t − x_it'γ̂. A treated observation
 *    whose unit or period has no untreated observation cannot be imputed and is dropped (reported),
 *    as didimputation drops its NA.
 * 3. Targets: τ̂_h = mean of τ̂_it over treated observations at horizon t − adopt = h (each requested
 *    h ≥ 0), and the overall ATT = mean over all treated observations.
 * 4. Conservative clustered variance (BJS 2024 Theorem 3, didimputation's `se_inner`): with target
 *    weights w on treated rows, v_it = w_it on treated rows and v = −Z_0 (Z_0'Z_0)⁻¹ Z_1'w on untreated
 *    rows (Z = [unit dummies, period dummies, controls]); residuals ε̃ = τ̂_it − τ̄_{g,e} on treated
 *    rows, τ̄_{g,e} = Σ v²τ̂ / Σ v² within cohort g × horizon e, and the first-stage residual on
 *    untreated rows; Var = Σ_clusters (Σ v ε̃)². No small-sample factor (as didimputation).
 *    Covariances between targets use the same cluster sums (didimputation reports variances only).
 * 5. Pre-trend coefficients (didimputation `pretrends`): OLS on the untreated observations of y on
 *    dummies of the chosen pre-periods (t − adopt = −k..−1) + controls | unit + period, CR1
 *    clustered (fixest's conventions; solved exactly by twoway.ts). Their covariance with the horizon estimates uses the
 *    cluster scores of both (√(CR1 factor)·(Z̃'Z̃)⁻¹ s_g for the regression).
 *
 * // R: didimputation::did_imputation(data, yname, gname, tname, idname, first_stage,
 * //    horizon = TRUE, pretrends = -k:-1, cluster_var) (test/golden/did-imputation/make.R)
 *
 * @example
 * const r = didImputation({ y, X: [], unit, cluster: unit, panel, horizons: 'all', pretrends: [-3, -2, -1] });
 * r.horizons; // [{ period: 0, estimate, se, n }, ...]   r.att
 */
import type { Factor } from './fe.js';
import type { StaggeredPanel } from './staggered.js';
import { cholesky, cholSolveInPlace, collinearityCheck, crossprod, spdInverse, subMatrix } from './linalg.js';
import { olsTwoWay } from './twoway.js';

export interface ImputationInput {
  y: Float64Array;
  /** Controls (complete). */
  X: Float64Array[];
  xNames?: string[];
  unit: Factor;
  cluster: Factor;
  panel: StaggeredPanel;
  /** Horizons h ≥ 0 to estimate, or 'all' observed ones. */
  horizons: number[] | 'all';
  /** Pre-periods (negative relative periods) for the pre-trend regression; [] = none. */
  pretrends: number[];
}

export interface ImputationEstimate {
  period: number;
  estimate: number;
  se: number;
  /** Observations behind the estimate (treated at that horizon, or untreated in that pre-period). */
  n: number;
}

export interface ImputationResult {
  /** Pre-period coefficients then horizons, ascending. */
  periods: (ImputationEstimate & { kind: 'pre' | 'post' })[];
  /** Covariance of `periods` (row-major). */
  V: Float64Array;
  att: ImputationEstimate;
  /** Treated observations that could not be imputed (no untreated observation of their unit or period). */
  notImputable: number;
  nTreated: number;
  nUntreated: number;
  /** Controls dropped as collinear with the fixed effects in the first stage. */
  collinear: string[];
  /** First-stage coefficients of the controls. */
  gamma: number[];
  /** CR1 degrees of freedom of the pre-trend regression (G − 1), or null. */
  preDf: number | null;
  clusters: number;
}

/** The estimator (see the module comment). */
export function didImputation(inp: ImputationInput): ImputationResult {
  const { y, X, unit, panel } = inp;
  const n = y.length;
  const U = unit.nlevels;
  const T = panel.times.length;
  const k = X.length;
  const D = panel.D;
  // imputability
  const nu = new Float64Array(U), nt = new Float64Array(T);
  for (let i = 0; i < n; i++) if (D[i] === 0) {
    nu[unit.codes[i]!]!++;
    nt[panel.timeIdx[i]!]!++;
  }
  const use = new Uint8Array(n);
  let notImputable = 0, nTreated = 0, nUntreated = 0;
  for (let i = 0; i < n; i++) {
    if (D[i] === 0) {
      use[i] = 1;
      nUntreated++;
    } else if (nu[unit.codes[i]!]! > 0 && nt[panel.timeIdx[i]!]! > 0) {
      use[i] = 1;
      nTreated++;
    } else notImputable++;
  }
  if (nTreated === 0) throw new Error('did-imputation: no treated observation can be imputed (each needs untreated observations of its unit and its period)');

  // ---- first stage: normal equations [unit | period (t ≥ 1) | controls], unit block eliminated
  const q = T - 1 + k;
  const tIdx = panel.timeIdx;
  /** Z'w over the rows with w ≠ 0 (bu: unit block, br: period dummies t ≥ 1 and controls). */
  const zty = (w: Float64Array, rowsOf: ArrayLike<number>, bu: Float64Array, br: Float64Array): void => {
    for (let j = 0; j < rowsOf.length; j++) {
      const i = rowsOf[j]!;
      const wi = w[i]!;
      if (wi === 0) continue;
      bu[unit.codes[i]!]! += wi;
      const t = tIdx[i]!;
      if (t > 0) br[t - 1]! += wi;
      for (let c = 0; c < k; c++) br[T - 1 + c]! += wi * X[c]![i]!;
    }
  };
  const Su = new Float64Array(U * q);
  const RR = new Float64Array(q * q);
  const untreatedRows: number[] = [];
  for (let i = 0; i < n; i++) {
    if (D[i] !== 0) continue;
    untreatedRows.push(i);
    const o = unit.codes[i]! * q;
    const t = tIdx[i]! - 1;
    if (t >= 0) {
      Su[o + t]!++;
      RR[t * q + t]!++;
    }
    for (let c = 0; c < k; c++) {
      const xc = X[c]![i]!;
      const cc = T - 1 + c;
      Su[o + cc]! += xc;
      if (t >= 0) {
        RR[t * q + cc]! += xc;
        RR[cc * q + t]! += xc;
      }
      for (let c2 = 0; c2 < k; c2++) RR[cc * q + T - 1 + c2]! += xc * X[c2]![i]!;
    }
  }
  const S = new Float64Array(q * q);
  S.set(RR);
  for (let u = 0; u < U; u++) {
    if (!(nu[u]! > 0)) continue;
    const o = u * q;
    for (let a = 0; a < q; a++) {
      const sa = Su[o + a]!;
      if (sa === 0) continue;
      for (let b = 0; b < q; b++) S[a * q + b]! -= (sa * Su[o + b]!) / nu[u]!;
    }
  }
  const chk = collinearityCheck(S, q, 1e-10);
  const kept = chk.kept;
  const collinear = chk.dropped.filter((c) => c >= T - 1).map((c) => (inp.xNames ?? X.map((_, j) => `x${j + 1}`))[c - (T - 1)]!);
  const m = kept.length;
  const L = m > 0 ? cholesky(subMatrix(S, q, kept), m) : new Float64Array(0);
  const solveL = (b: Float64Array): Float64Array => cholSolveInPlace(L, m, Float64Array.from(b.subarray(0, m)));
  /** Solve the normal equations for the right-hand side (bu, br); return Z_i'γ for every usable row. */
  let lastGr = new Float64Array(q);
  const solve = (bu: Float64Array, br: Float64Array): Float64Array => {
    const rhs = new Float64Array(q);
    rhs.set(br);
    for (let u = 0; u < U; u++) {
      if (!(nu[u]! > 0) || bu[u] === 0) continue;
      const f = bu[u]! / nu[u]!;
      for (let a = 0; a < q; a++) rhs[a]! -= Su[u * q + a]! * f;
    }
    const gk = solveL(Float64Array.from(kept, (c) => rhs[c]!));
    const gr = new Float64Array(q);
    kept.forEach((c, j) => (gr[c] = gk[j]!));
    lastGr = gr;
    const a = new Float64Array(U);
    for (let u = 0; u < U; u++) {
      if (!(nu[u]! > 0)) continue;
      let s = bu[u]!;
      for (let c = 0; c < q; c++) s -= Su[u * q + c]! * gr[c]!;
      a[u] = s / nu[u]!;
    }
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      if (!use[i]) continue;
      const t = tIdx[i]!;
      let s = a[unit.codes[i]!]! + (t > 0 ? gr[t - 1]! : 0);
      for (let c = 0; c < k; c++) s += gr[T - 1 + c]! * X[c]![i]!;
      out[i] = s;
    }
    return out;
  };
  // γ_y
  const buY = new Float64Array(U), brY = new Float64Array(q);
  zty(y, untreatedRows, buY, brY);
  const fitY = solve(buY, brY);
  const adj = new Float64Array(n);
  for (let i = 0; i < n; i++) if (use[i]) adj[i] = y[i]! - fitY[i]!;
  const gammaFull = Array.from({ length: k }, (_, c) => (kept.includes(T - 1 + c) ? lastGr[T - 1 + c]! : NaN));

  // ---- targets
  const rel = panel.rel;
  const obsH = [...new Set(Array.from({ length: n }, (_, i) => i).filter((i) => use[i] && D[i] === 1).map((i) => rel[i]!))].sort((a, b) => a - b);
  const hs = inp.horizons === 'all' ? obsH : [...new Set(inp.horizons)].sort((a, b) => a - b);
  for (const h of hs) {
    if (!(Number.isInteger(h) && h >= 0)) throw new Error(`did-imputation: horizons must be integers ≥ 0, got ${h}`);
    if (!obsH.includes(h)) throw new Error(`did-imputation: horizon ${h} has no treated observation (observed horizons: ${obsH[0]}..${obsH[obsH.length - 1]})`);
  }
  const targets: { period: number | null; w: Float64Array; n: number }[] = [];
  const treatedRows: number[] = [];
  for (let i = 0; i < n; i++) if (use[i] && D[i] === 1) treatedRows.push(i);
  for (const h of hs) {
    const w = new Float64Array(n);
    let c = 0;
    for (const i of treatedRows) if (rel[i] === h) c++;
    for (const i of treatedRows) if (rel[i] === h) w[i] = 1 / c;
    targets.push({ period: h, w, n: c });
  }
  {
    const w = new Float64Array(n);
    for (const i of treatedRows) w[i] = 1 / treatedRows.length;
    targets.push({ period: null, w, n: treatedRows.length });
  }
  // cohort × horizon groups of treated rows
  const gKey = new Map<string, number>();
  const grp = new Int32Array(n).fill(-1);
  for (const i of treatedRows) {
    const key = `${panel.times[panel.timeIdx[i]!]! - rel[i]!}|${rel[i]}`;
    let g = gKey.get(key);
    if (g === undefined) gKey.set(key, (g = gKey.size));
    grp[i] = g;
  }
  const NGr = gKey.size;
  const Gc = inp.cluster.nlevels;
  const psi: Float64Array[] = []; // per target, per cluster
  const estimates: number[] = [];
  for (const tg of targets) {
    let est = 0;
    const bu = new Float64Array(U), br = new Float64Array(q);
    for (const i of treatedRows) est += tg.w[i]! * adj[i]!;
    zty(tg.w, treatedRows, bu, br);
    estimates.push(est);
    const fv = solve(bu, br);
    const v = new Float64Array(n);
    for (let i = 0; i < n; i++) if (use[i]) v[i] = D[i] === 1 ? tg.w[i]! : -fv[i]!;
    const num = new Float64Array(NGr), den = new Float64Array(NGr);
    for (const i of treatedRows) {
      const v2 = v[i]! * v[i]!;
      num[grp[i]!]! += v2 * adj[i]!;
      den[grp[i]!]! += v2;
    }
    const s = new Float64Array(Gc);
    for (let i = 0; i < n; i++) {
      if (!use[i]) continue;
      let e = adj[i]!;
      if (D[i] === 1) {
        const g = grp[i]!;
        if (den[g]! > 0) e -= num[g]! / den[g]!;
      }
      s[inp.cluster.codes[i]!]! += v[i]! * e;
    }
    psi.push(s);
  }

  // ---- pre-trend regression on untreated rows
  const pre = [...inp.pretrends].sort((a, b) => a - b);
  const prePsi: Float64Array[] = [];
  const preEst: ImputationEstimate[] = [];
  let preDf: number | null = null;
  if (pre.length) {
    const rows: number[] = [];
    for (let i = 0; i < n; i++) if (D[i] === 0) rows.push(i);
    const obsPre = new Set(rows.map((i) => rel[i]!).filter((r) => !Number.isNaN(r)));
    for (const p of pre) if (!obsPre.has(p)) throw new Error(`did-imputation: pre-period ${p} is not observed (pre-periods run ${Math.min(...obsPre)}..-1)`);
    const m0 = rows.length;
    const take = (x: Float64Array) => Float64Array.from(rows, (i) => x[i]!);
    const dums = pre.map((p) => Float64Array.from(rows, (i) => (rel[i] === p ? 1 : 0)));
    const sub = (f: Factor): Factor => {
      const map = new Int32Array(f.nlevels).fill(-1);
      let nl = 0;
      const codes = Int32Array.from(rows, (i) => {
        const c = f.codes[i]!;
        if (map[c]! < 0) map[c] = nl++;
        return map[c]!;
      });
      return { codes, nlevels: nl };
    };
    const timeF: Factor = { codes: Int32Array.from(panel.timeIdx), nlevels: T };
    const cl = sub(inp.cluster);
    const names = pre.map((p) => `_pre_m${-p}`);
    const fit = olsTwoWay({
      y: take(y),
      X: [...dums, ...X.map(take)],
      xNames: [...names, ...X.map((_, j) => `_x${j}`)],
      a: sub(unit),
      b: sub(timeF),
      feNames: ['unit', 'time'],
      clusters: [cl],
      clusterNames: ['cluster'],
      vcov: 'cluster',
    });
    preDf = fit.dfT;
    const byTerm = new Map(fit.coefficients.map((c) => [c.term, c]));
    const Z = fit.Z;
    const e = fit.e;
    const K = Z.length;
    const B = spdInverse(crossprod(Z), K);
    const G = cl.nlevels;
    const scale = Math.sqrt(((m0 - 1) / (m0 - fit.dofK)) * (G / (G - 1)));
    // per-cluster scores s_g = Σ e z, then ψ_g = scale · B s_g, indexed by the full cluster codes
    const Sg = new Float64Array(G * K);
    for (let i = 0; i < m0; i++) for (let a = 0; a < K; a++) Sg[cl.codes[i]! * K + a]! += e[i]! * Z[a]![i]!;
    const fullOf = new Int32Array(G);
    rows.forEach((r, i) => (fullOf[cl.codes[i]!] = inp.cluster.codes[r]!));
    pre.forEach((p, j) => {
      const a = fit.terms.indexOf(names[j]!);
      if (a < 0) throw new Error(`did-imputation: pre-period ${p} is collinear with the fixed effects; choose fewer pretrends`);
      const ps = new Float64Array(Gc);
      for (let g = 0; g < G; g++) {
        let s = 0;
        for (let b = 0; b < K; b++) s += B[a * K + b]! * Sg[g * K + b]!;
        ps[fullOf[g]!]! += scale * s;
      }
      prePsi.push(ps);
      let cnt = 0;
      for (const r of rows) if (rel[r] === p) cnt++;
      preEst.push({ period: p, estimate: byTerm.get(names[j]!)!.estimate, se: byTerm.get(names[j]!)!.se, n: cnt });
    });
  }

  const allPsi = [...prePsi, ...psi.slice(0, hs.length)];
  const P = allPsi.length;
  const V = new Float64Array(P * P);
  for (let a = 0; a < P; a++)
    for (let b = a; b < P; b++) {
      let s = 0;
      for (let g = 0; g < Gc; g++) s += allPsi[a]![g]! * allPsi[b]![g]!;
      V[a * P + b] = V[b * P + a] = s;
    }
  const varOf = (s: Float64Array) => s.reduce((acc, x) => acc + x * x, 0);
  const post = hs.map((h, j) => ({ period: h, estimate: estimates[j]!, se: Math.sqrt(varOf(psi[j]!)), n: targets[j]!.n, kind: 'post' as const }));
  const periods = [...preEst.map((e) => ({ ...e, kind: 'pre' as const })), ...post];
  const attSe = Math.sqrt(varOf(psi[hs.length]!));
  return {
    periods,
    V,
    att: { period: 0, estimate: estimates[hs.length]!, se: attSe, n: treatedRows.length },
    notImputable,
    nTreated,
    nUntreated,
    collinear,
    gamma: gammaFull,
    preDf,
    clusters: Gc,
  };
}
