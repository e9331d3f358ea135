/**
 * Numerics of the specification curve (Simonsohn, Simmons & Nelson 2020, "Specification curve
 * analysis", Nature Human Behaviour 4: 1208–1214): many regressions that share a sample and a set of
 * fixed effects are estimated on columns demeaned once (Frisch–Waugh–Lovell).
 *
 * {@link FwlGroup} holds one estimation sample (complete cases of every column its specifications
 * use, singletons dropped by its fixed effects) and demeans each column the first time a
 * specification needs it. {@link FwlGroup.fit} is then one small OLS of the demeaned outcome on the
 * demeaned treatment and controls plus the variance of the treatment coefficient — the same
 * operations, in the same order, as stats/ols.ts `feols` (collinearity check, Cholesky solve,
 * parameter count K with fixed effects nested in a cluster not counted, CR1 / iid / HC1 on the
 * design [Z, 1]), so each specification's estimate and SE equal what the `estimate` step reports for
 * it (test/steps/spec-curve.test.ts compares them; R: fixest::feols in a loop,
 * test/golden/spec-curve/make.R).
 *
 * {@link summarizeCurve}: the share of specifications with the base's sign, the share significant at
 * 5% (two-sided p < 0.05), the median and the range of the estimates.
 *
 * @example
 * const g = new FwlGroup({ columns: { so2, did, pgdp }, fe: [city, year], feNames: ['city_code', 'year'],
 *   clusters: { city_code: city }, keepSingletons: false });
 * g.fit({ y: 'so2', x: ['did', 'pgdp'], cluster: ['city_code'], vcov: 'cluster', level: 0.95 });
 */
import { Demeaner } from './demean.js';
import { exactTwoWay, type TwoWayProjector } from './twoway.js';
import { type Factor, absorbedDof, dropSingletons, isNested, subsetFactor } from './fe.js';
import { collinearityCheck, crossprod, crossvec, cholSolve, spdInverse, subMatrix } from './linalg.js';
import { computeVcov, type VcovType } from './vcov.js';
import { tPValue, tQuantile } from './dist.js';
import { quantile7 } from './quantile.js';
import { sumsOfSquares, take, wmean } from './ols.js';

/** One estimation sample shared by several specifications (complete cases, before singletons). */
export interface FwlGroupInput {
  /** Numeric columns (outcomes, treatment, controls) on the complete-case rows, by name. */
  columns: Record<string, Float64Array>;
  /** Fixed effects to absorb (may be empty: an intercept only). */
  fe: Factor[];
  feNames: string[];
  /** Cluster factors on the same rows, by column name. */
  clusters: Record<string, Factor>;
  weights?: Float64Array | null;
  keepSingletons: boolean;
  /** Demeaning tolerance (default 1e-13, as feols). */
  tol?: number;
}

/** The treatment coefficient of one specification; NaN estimate/se with `why` when it has none. */
export interface SpecFit {
  estimate: number;
  se: number;
  t: number;
  p: number;
  ci_low: number;
  ci_high: number;
  n: number;
  /** Why the specification has no estimate (treatment collinear, no variation, not identified), else null. */
  why: string | null;
}


/** A sample and fixed-effect set whose columns are demeaned once for every specification on it. */
export class FwlGroup {
  /** Observations after singletons. */
  readonly n: number;
  readonly singletons: number;
  private readonly fe: Factor[];
  private readonly w: Float64Array | null;
  private readonly rows: Int32Array | null;
  private readonly two: TwoWayProjector | null;
  private readonly dm: Demeaner | null;
  private readonly rawCols = new Map<string, Float64Array>();
  private readonly dmCols = new Map<string, Float64Array>();
  private readonly clusters = new Map<string, Factor>();
  private readonly nestedMemo = new Map<string, boolean>();
  private readonly dofMemo = new Map<string, number>();
  private readonly statMemo = new Map<string, { raw: number; within: number }>();
  private readonly olsMemo = new Map<string, Ols | string>();
  private readonly ones: Float64Array;

  constructor(private readonly inp: FwlGroupInput) {
    const first = Object.values(inp.columns)[0];
    if (!first) throw new Error('FwlGroup: no columns');
    const n0 = first.length;
    // 1. singletons (feols step 1)
    const keep = new Uint8Array(n0).fill(1);
    this.singletons = inp.keepSingletons ? 0 : dropSingletons(inp.fe, keep);
    if (this.singletons > 0) {
      const rows = new Int32Array(n0 - this.singletons);
      let j = 0;
      for (let i = 0; i < n0; i++) if (keep[i]) rows[j++] = i;
      this.rows = rows;
    } else this.rows = null;
    this.n = n0 - this.singletons;
    if (this.n === 0) throw new Error('no observation left after dropping singletons');
    const rows = this.rows;
    this.w = inp.weights ? (rows ? take(inp.weights, rows) : inp.weights) : null;
    this.fe = rows ? inp.fe.map((f) => subsetFactor(f, rows)) : inp.fe.map((f) => f);
    // 2. the projector (feols step 2)
    this.two = exactTwoWay(this.fe, this.w);
    // alternating projections only when the exact two-way projector does not apply (as feols)
    const feForDemean: Factor[] = this.fe.length > 0 ? this.fe : [{ codes: new Int32Array(this.n), nlevels: 1 }];
    this.dm = this.two ? null : new Demeaner(feForDemean, { weights: this.w, tol: inp.tol });
    this.ones = new Float64Array(this.n).fill(1);
  }

  /** A numeric column on the group's rows (after singletons). */
  raw(name: string): Float64Array {
    let c = this.rawCols.get(name);
    if (!c) {
      const full = this.inp.columns[name];
      if (!full) throw new Error(`FwlGroup: column "${name}" was not given`);
      c = this.rows ? take(full, this.rows) : full;
      this.rawCols.set(name, c);
    }
    return c;
  }

  /** The column after the fixed effects, computed once. */
  demeaned(name: string): Float64Array {
    let c = this.dmCols.get(name);
    if (!c) {
      const x = this.raw(name);
      c = this.two ? this.two.residual(x) : this.dm!.demean(x, undefined, name);
      this.dmCols.set(name, c);
    }
    return c;
  }

  private cluster(name: string): Factor {
    let f = this.clusters.get(name);
    if (!f) {
      const full = this.inp.clusters[name];
      if (!full) throw new Error(`FwlGroup: cluster "${name}" was not given`);
      f = this.rows ? subsetFactor(full, this.rows) : full;
      this.clusters.set(name, f);
    }
    return f;
  }

  /** K of the small-sample factor without the regressors (fixed effects nested in a cluster not counted). */
  private absorbed(vcov: VcovType, cluster: string[]): number {
    const flags = this.fe.map((f, q) => {
      if (vcov !== 'cluster') return false;
      return cluster.some((c) => {
        const key = `${q}\u0000${c}`;
        let v = this.nestedMemo.get(key);
        if (v === undefined) this.nestedMemo.set(key, (v = isNested(f, this.cluster(c))));
        return v;
      });
    });
    const key = flags.map(Number).join('');
    let d = this.dofMemo.get(key);
    if (d === undefined) this.dofMemo.set(key, (d = absorbedDof(this.fe, flags)));
    return d;
  }

  /** Σw(y − ȳ)² and Σw ỹ² of a column (feols' TSS and within TSS; its collinearity test for a regressor). */
  private colStats(name: string): { raw: number; within: number } {
    let st = this.statMemo.get(name);
    if (st) return st;
    this.statMemo.set(name, (st = sumsOfSquares(this.raw(name), this.demeaned(name), this.w)));
    return st;
  }

  /** The OLS of demeaned y on demeaned x (feols steps 3–4), shared by the specifications that differ only in clustering. */
  private ols(y: string, x: string[], collinTol: number): Ols | string {
    const key = `${y}\u0000${x.join('\u0001')}\u0000${collinTol}`;
    let o = this.olsMemo.get(key);
    if (o !== undefined) return o;
    o = this.olsOf(y, x, collinTol);
    this.olsMemo.set(key, o);
    return o;
  }

  private olsOf(y: string, x: string[], collinTol: number): Ols | string {
    const n = this.n, w = this.w;
    const ys = this.colStats(y);
    if (!(ys.within > 1e-20 * Math.max(ys.raw, 1e-300)) || ys.raw === 0) return `outcome "${y}" has no variation${this.fe.length ? ' within the fixed effects' : ''}`;
    // 3. collinearity: absorbed by the fixed effects (or constant), then among the regressors
    const candidates: number[] = [];
    for (let j = 0; j < x.length; j++) {
      const { raw, within } = this.colStats(x[j]!);
      if (!(raw > 0) || !(within > collinTol * raw)) {
        if (j === 0) return `treatment "${x[0]}" is ${raw > 0 ? 'collinear with the fixed effects' : 'constant'}`;
      } else candidates.push(j);
    }
    const Xt = candidates.map((j) => this.demeaned(x[j]!));
    const A0 = crossprod(Xt, w);
    const chk = collinearityCheck(A0, candidates.length, collinTol);
    if (chk.kept[0] !== 0) return `treatment "${x[0]}" is collinear`;
    const k = chk.kept.length;
    const Z = chk.kept.map((c) => Xt[c]!);
    // 4. OLS
    const A = subMatrix(A0, candidates.length, chk.kept);
    const yt = this.demeaned(y);
    const beta = cholSolve(A, k, crossvec(Z, yt, w));
    const e = new Float64Array(n);
    e.set(yt);
    for (let a = 0; a < k; a++) {
      const z = Z[a]!, b = beta[a]!;
      for (let i = 0; i < n; i++) e[i]! -= b * z[i]!;
    }
    const kc = k + 1;
    const bread = new Float64Array(kc * kc);
    const Ainv = spdInverse(A, k);
    for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) bread[a * kc + b] = Ainv[a * k + b]!;
    let sw = 0;
    if (w) for (let i = 0; i < n; i++) sw += w[i]!;
    else sw = n;
    bread[k * kc + k] = 1 / sw;
    return { estimate: beta[0]!, k, Zc: [...Z, this.ones], e, bread };
  }

  /** The coefficient of x[0] in the regression of y on x (after the fixed effects): feols steps 3–5. */
  fit(spec: { y: string; x: string[]; cluster: string[]; vcov: VcovType; level: number; collinTol?: number }): SpecFit {
    const n = this.n;
    const none = (why: string): SpecFit => ({ estimate: NaN, se: NaN, t: NaN, p: NaN, ci_low: NaN, ci_high: NaN, n, why });
    const o = this.ols(spec.y, spec.x, spec.collinTol ?? 1e-10);
    if (typeof o === 'string') return none(o);
    // 5. K and the variance on [Z, 1]
    const dofK = o.k + this.absorbed(spec.vcov, spec.cluster);
    if (!(n > dofK)) return none(`${n} observations but ${dofK} parameters`);
    const clusters = spec.vcov === 'cluster' ? spec.cluster.map((c) => this.cluster(c)) : [];
    const vc = computeVcov(spec.vcov, { Z: o.Zc, e: o.e, w: this.w, bread: o.bread, dofK, clusters });
    const v = vc.V[0]!;
    const est = o.estimate;
    const se = v >= 0 ? Math.sqrt(v) : NaN;
    const t = est / se;
    const q = tQuantile(0.5 + spec.level / 2, vc.dfT);
    return { estimate: est, se, t, p: tPValue(t, vc.dfT), ci_low: est - q * se, ci_high: est + q * se, n, why: null };
  }
}

/** A fitted OLS of one (y, x) on a group: what the variance of each clustering needs. */
interface Ols {
  estimate: number;
  k: number;
  /** Kept demeaned regressors and the constant column. */
  Zc: Float64Array[];
  e: Float64Array;
  /** (Z'WZ)⁻¹ with 1/Σw for the constant, (k+1)×(k+1). */
  bread: Float64Array;
}

/** What {@link summarizeCurve} reports. */
export interface CurveSummary {
  /** Specifications with an estimate. */
  valid: number;
  /** Share of valid specifications whose estimate has the base estimate's sign. */
  share_same_sign: number;
  /** Share of valid specifications with p < alpha. */
  share_significant: number;
  /** Share of valid specifications with the base's sign and p < alpha. */
  share_significant_same_sign: number;
  median: number;
  min: number;
  max: number;
}

/**
 * Shares, median (type 7 quantile, R's default) and range of the estimates; NaN estimates are left
 * out. `base` gives the sign; a zero or NaN base counts nothing as the same sign.
 */
export function summarizeCurve(estimate: ArrayLike<number>, p: ArrayLike<number>, base: number, alpha = 0.05): CurveSummary {
  const est: number[] = [];
  let same = 0, sig = 0, sigSame = 0;
  const sb = Math.sign(base);
  for (let i = 0; i < estimate.length; i++) {
    const b = estimate[i]!;
    if (Number.isNaN(b)) continue;
    est.push(b);
    const s = sb !== 0 && !Number.isNaN(sb) && Math.sign(b) === sb;
    const g = p[i]! < alpha;
    if (s) same++;
    if (g) sig++;
    if (s && g) sigSame++;
  }
  const m = est.length;
  const sorted = Float64Array.from(est).sort();
  return {
    valid: m,
    share_same_sign: m ? same / m : NaN,
    share_significant: m ? sig / m : NaN,
    share_significant_same_sign: m ? sigSame / m : NaN,
    median: m ? quantile7(sorted, 0.5) : NaN,
    min: m ? sorted[0]! : NaN,
    max: m ? sorted[m - 1]! : NaN,
  };
}
