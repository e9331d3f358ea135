/**
 * Sun & Abraham (2021) interaction-weighted event study, as fixest `sunab()`:
 *
 *   y_it = α_i + λ_t + Σ_{c} Σ_{p ∉ ref} δ_{c,p} 1{adopt_i = c, t − c = p} + x_it'γ + ε_it
 *
 * (fixed effects as given, default unit and time), one dummy per treated cohort c and relative
 * period p except the reference periods (default p = −1); the controls are the never-treated units
 * (all dummies 0). Without never-treated units the last-treated cohort is the control: the sample is
 * restricted to the periods before it adopts, where fixest, too, sees it as never treated.
 * Singletons are kept and collinear dummies dropped (fixest `feols` defaults), the variance is the
 * one of ols.ts/vcov.ts (CR1 by cluster with fixest's small-sample factors by default). With the
 * default two fixed effects the regression is solved by the exact projection of twoway.ts (no
 * iteration, sparse cross-products), otherwise by ols.ts feols.
 *
 * Aggregation (fixest `aggregate()` / `summary(agg = ...)`): for each relative period p,
 * β_p = Σ_c s_{c,p} δ_{c,p} with s_{c,p} = n_{c,p} / Σ_c n_{c,p}, n_{c,p} the number of estimation
 * rows with that dummy; the ATT is the same over every estimated (c, p ≥ 0). With W the matrix of
 * these shares, Var(β) = W V W' (delta method; the full matrix is returned).
 *
 * // R: fixest::feols(y ~ sunab(adopt, time) | unit + time, cluster = ~unit); aggregate(fit, "period")
 * //    and summary(fit, agg = "ATT") (test/golden/sunab/make.R)
 *
 * @example
 * const r = sunabFit({ y, yName: 'so2', X: [], xNames: [], fe: [unit, time], feNames: ['city', 'year'],
 *   clusters: [unit], clusterNames: ['city'], vcov: 'cluster', panel });
 * r.periods; // [{ period: -17, estimate, se }, ...]   r.att
 */
import { feols, type FeolsResult } from './ols.js';
import type { Factor } from './fe.js';
import { subsetFactor } from './fe.js';
import type { VcovType } from './vcov.js';
import type { StaggeredPanel } from './staggered.js';
import { olsTwoWay } from './twoway.js';

export interface SunabInput {
  y: Float64Array;
  yName: string;
  X: Float64Array[];
  xNames: string[];
  fe: Factor[];
  feNames: string[];
  clusters: Factor[];
  clusterNames: string[];
  vcov: VcovType;
  panel: StaggeredPanel;
  /** Omitted relative periods (default [−1]). */
  refPeriods?: number[];
  level?: number;
  /** 'auto' (default): with exactly two fixed effects the exact projection of twoway.ts, otherwise
   * ols.ts feols (alternating projections); 'iterative': always feols (for tests). */
  method?: 'auto' | 'iterative';
}

/** What the aggregation needs from a fit (ols.ts feols and twoway.ts olsTwoWay both provide it). */
export type SunabFit = Pick<FeolsResult, 'n' | 'coefficients' | 'terms' | 'V' | 'r2' | 'r2_within' | 'dfT' | 'dofK' | 'clusters' | 'collinear'>;

export interface SunabCell {
  cohort: number;
  period: number;
  n: number;
  estimate: number;
  se: number;
}

export interface SunabAggregate {
  period: number;
  estimate: number;
  se: number;
}

export interface SunabResult {
  /** Aggregated relative periods (ascending, references excluded). */
  periods: SunabAggregate[];
  /** Covariance of the aggregated periods (periods order, row-major). */
  V: Float64Array;
  att: { estimate: number; se: number };
  cells: SunabCell[];
  fit: SunabFit;
  /** The control cohort: 'never' or the last-treated cohort used as control. */
  control: 'never' | number;
  /** Rows of the input used (after the restriction when the last cohort is the control). */
  rows: Int32Array;
  /** Collinear cohort × period dummies dropped. */
  droppedCells: { cohort: number; period: number }[];
}

const cellName = (c: number, p: number): string => `_sa_${c}_${p < 0 ? 'm' + -p : p}`;

/** Fit and aggregate (see the module comment). Throws Error on degenerate input. */
export function sunabFit(inp: SunabInput): SunabResult {
  const { panel } = inp;
  const refs = inp.refPeriods ?? [-1];
  const n0 = inp.y.length;
  let control: 'never' | number = 'never';
  let rowsArr: number[] | null = null;
  let cohorts = panel.cohorts;
  if (panel.nNever === 0) {
    if (cohorts.length < 2) throw new Error('sunab: a single treated cohort and no never-treated unit: there is no control group');
    const last = cohorts[cohorts.length - 1]!;
    control = last;
    cohorts = cohorts.slice(0, -1);
    rowsArr = [];
    for (let i = 0; i < n0; i++) if (panel.times[panel.timeIdx[i]!]! < last) rowsArr.push(i);
  }
  const rows = rowsArr ? Int32Array.from(rowsArr) : Int32Array.from({ length: n0 }, (_, i) => i);
  const n = rows.length;
  const sub = <T extends Float64Array>(x: T): Float64Array => (rowsArr ? Float64Array.from(rows, (r) => x[r]!) : x);
  const cohortSet = new Set(cohorts);
  // cells (cohort, period), ordered by period then cohort (fixest i(period, cohort))
  const cellIdx = new Map<string, number>();
  const cellList: { cohort: number; period: number }[] = [];
  const rowCell = new Int32Array(n).fill(-1);
  for (let j = 0; j < n; j++) {
    const i = rows[j]!;
    const r = panel.rel[i]!;
    if (Number.isNaN(r) || refs.includes(r)) continue;
    const c = panel.times[panel.timeIdx[i]!]! - r;
    if (!cohortSet.has(c)) continue;
    const key = `${c}|${r}`;
    let k = cellIdx.get(key);
    if (k === undefined) {
      k = cellList.length;
      cellIdx.set(key, k);
      cellList.push({ cohort: c, period: r });
    }
    rowCell[j] = k;
  }
  if (cellList.length === 0) throw new Error('sunab: no treated cohort × relative period to estimate');
  const order = cellList.map((_, k) => k).sort((a, b) => cellList[a]!.period - cellList[b]!.period || cellList[a]!.cohort - cellList[b]!.cohort);
  const pos = new Int32Array(cellList.length);
  order.forEach((k, m) => (pos[k] = m));
  const cells = order.map((k) => cellList[k]!);
  const D = cells.map(() => new Float64Array(n));
  const counts = new Float64Array(cells.length);
  for (let j = 0; j < n; j++) {
    const k = rowCell[j]!;
    if (k < 0) continue;
    D[pos[k]!]![j] = 1;
    counts[pos[k]!]!++;
  }
  const names = cells.map((c) => cellName(c.cohort, c.period));
  const fe = rowsArr ? inp.fe.map((f) => subsetFactor(f, rows)) : inp.fe;
  const clusters = rowsArr ? inp.clusters.map((f) => subsetFactor(f, rows)) : inp.clusters;
  const X = [...D, ...inp.X.map(sub)];
  const xNames = [...names, ...inp.xNames];
  const fit: SunabFit =
    fe.length === 2 && inp.method !== 'iterative'
      ? olsTwoWay({ y: sub(inp.y), X, xNames, a: fe[0]!, b: fe[1]!, feNames: [inp.feNames[0]!, inp.feNames[1]!], clusters, clusterNames: inp.clusterNames, vcov: inp.vcov, level: inp.level })
      : feols({ y: sub(inp.y), yName: inp.yName, X, xNames, fe, feNames: inp.feNames, clusters, clusterNames: inp.clusterNames, vcov: inp.vcov, level: inp.level, keepSingletons: true });
  const K = fit.terms.length;
  const termPos = new Map(fit.terms.map((t, a) => [t, a]));
  const est = new Map(fit.coefficients.map((c) => [c.term, c]));
  const kept = cells.map((_, m) => termPos.get(names[m]!));
  const droppedCells = cells.filter((_, m) => kept[m] === undefined);
  const outCells: SunabCell[] = [];
  cells.forEach((c, m) => {
    const e = est.get(names[m]!);
    if (e) outCells.push({ cohort: c.cohort, period: c.period, n: counts[m]!, estimate: e.estimate, se: e.se });
  });
  // share matrix: one row per aggregated period, plus the ATT row last
  const periods = [...new Set(cells.filter((_, m) => kept[m] !== undefined).map((c) => c.period))].sort((a, b) => a - b);
  const P = periods.length;
  const Wm = new Float64Array((P + 1) * K);
  const fill = (row: number, sel: (c: { period: number }) => boolean) => {
    let tot = 0;
    cells.forEach((c, m) => {
      if (kept[m] !== undefined && sel(c)) tot += counts[m]!;
    });
    cells.forEach((c, m) => {
      if (kept[m] !== undefined && sel(c)) Wm[row * K + kept[m]!] = counts[m]! / tot;
    });
  };
  periods.forEach((p, r) => fill(r, (c) => c.period === p));
  fill(P, (c) => c.period >= 0);
  const beta = fit.terms.map((t) => est.get(t)!.estimate);
  const R = P + 1;
  const WV = new Float64Array(R * K);
  for (let r = 0; r < R; r++)
    for (let b = 0; b < K; b++) {
      let s = 0;
      for (let a = 0; a < K; a++) {
        const w = Wm[r * K + a]!;
        if (w !== 0) s += w * fit.V[a * K + b]!;
      }
      WV[r * K + b] = s;
    }
  const Vall = new Float64Array(R * R);
  for (let r = 0; r < R; r++)
    for (let q = 0; q < R; q++) {
      let s = 0;
      for (let b = 0; b < K; b++) s += WV[r * K + b]! * Wm[q * K + b]!;
      Vall[r * R + q] = s;
    }
  const agg = (r: number) => {
    let s = 0;
    for (let a = 0; a < K; a++) s += Wm[r * K + a]! * beta[a]!;
    return s;
  };
  const V = new Float64Array(P * P);
  for (let r = 0; r < P; r++) for (let q = 0; q < P; q++) V[r * P + q] = Vall[r * R + q]!;
  const hasPost = cells.some((c, m) => kept[m] !== undefined && c.period >= 0);
  return {
    periods: periods.map((p, r) => ({ period: p, estimate: agg(r), se: Math.sqrt(Vall[r * R + r]!) })),
    V,
    att: hasPost ? { estimate: agg(P), se: Math.sqrt(Vall[P * R + P]!) } : { estimate: NaN, se: NaN },
    cells: outCells,
    fit,
    control,
    rows,
    droppedCells,
  };
}
