/**
 * The regression layer shared by every estimator step (estimate, event-study, placebo, and the
 * heterogeneity-robust estimators): the params they share, the regression spec, the preparation of
 * complete cases (filters, column checks, missing values, factors), the fit, the drops report and
 * the model JSON of DESIGN.md's `model` contract. Steps import this module, never each other, so
 * editing one step's documentation reruns only that step's nodes (as fixest's `fixest_env.R`
 * prepares the inputs of feols, feglm and sunab in one place).
 *
 * @example
 * const spec = regressionSpecOf(params, asList(params.treat));
 * const prep = prepareRegression(table, spec);
 * const fit = fitRegression(prep, spec);
 * reportDrops(ctx, fit);
 * return { model: { type: 'json', value: modelJson(fit, spec, prep) } };
 */
import { z } from 'zod';
import { StepError, type StepContext } from '../../engine/types.js';
import { type Table, hasCol, isNumeric, notNumericWhy } from '../../engine/table.js';
import { applyFilters, whereSchema, excludeSchema, type Where, type Exclude } from './filter.js';
import { factorize, subsetFactor, type Factor } from '../../stats/fe.js';
import { feols, type FeolsResult } from '../../stats/ols.js';
import type { VcovType } from '../../stats/vcov.js';
import type { ModelArtifact } from './contracts.js';

const strOrList = z.union([z.string(), z.array(z.string())]);

/** The outcome param of estimate, event-study and placebo. */
export const outcomeParam = z.string().min(1).describe('outcome column (numeric)');

/** Params shared by estimate, event-study and placebo (the regression part after y and the treatment). */
export const regressionParams = {
  controls: z.array(z.string()).default([]).describe('control columns (numeric), after the treatment in outputs'),
  fe: strOrList.default([]).describe('fixed-effect columns to absorb (numeric or text), any number; [] = intercept only'),
  cluster: z
    .union([z.string(), z.array(z.string()).min(1).max(2)])
    .optional()
    .describe('cluster column, or a list of two for two-way clustering (Cameron–Gelbach–Miller)'),
  vcov: z
    .enum(['cluster', 'iid', 'hc1'])
    .optional()
    .describe('variance estimator: cluster (CR1, default when cluster is set), iid (default otherwise) or hc1'),
  where: whereSchema.optional(),
  exclude: excludeSchema.optional(),
  weights: z.string().optional().describe('column of observation weights (> 0); rows with missing weight are dropped'),
  keep_singletons: z.boolean().default(false).describe('keep observations alone in a fixed-effect level (default: dropped iteratively)'),
  level: z.number().gt(0).lt(1).default(0.95).describe('confidence level of the intervals, in (0, 1); default 0.95'),
};


export const asList = (v: string | string[] | undefined | null): string[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);

/** The regression spec after defaults, as used by {@link prepareRegression}. */
export interface RegressionSpec {
  y: string;
  x: string[];
  fe: string[];
  cluster: string[];
  vcov: VcovType;
  weights?: string;
  where?: Where;
  exclude?: Exclude;
  keep_singletons: boolean;
  level: number;
}

/** The regression params shared by estimate and placebo, as parsed. */
type SharedRegressionParams = { y: string; controls: string[]; fe: string | string[]; cluster?: string | string[]; vcov?: VcovType; weights?: string; where?: Where; exclude?: Exclude; keep_singletons: boolean; level: number };

/** The RegressionSpec of estimate/placebo params, `treat` first among the regressors. */
export function regressionSpecOf(params: SharedRegressionParams, treat: string[]): RegressionSpec {
  const cluster = asList(params.cluster);
  return {
    y: params.y,
    x: [...treat, ...params.controls],
    fe: asList(params.fe),
    cluster,
    vcov: resolveVcov(cluster, params.vcov),
    weights: params.weights,
    where: params.where,
    exclude: params.exclude,
    keep_singletons: params.keep_singletons,
    level: params.level,
  };
}

/** Resolve the vcov default and check cluster/vcov consistency. */
export function resolveVcov(cluster: string[], vcov: VcovType | undefined): VcovType {
  const v = vcov ?? (cluster.length > 0 ? 'cluster' : 'iid');
  if (v === 'cluster' && cluster.length === 0) throw new StepError(`vcov is "cluster" but no cluster column is given; set params.cluster (e.g. cluster: city) or vcov: iid/hc1`);
  if (cluster.length > 2) throw new StepError(`at most two cluster columns are supported, got ${cluster.length}`);
  return v;
}

/** The complete-case data of a regression, ready for feols. */
export interface PreparedRegression {
  table: Table;
  /** Row indices (into `table`) of complete cases. */
  rows: Int32Array;
  y: Float64Array;
  X: Float64Array[];
  fe: Factor[];
  clusters: Factor[];
  weights: Float64Array | null;
  missing: number;
  filteredOut: number;
}

/**
 * Filter the table, check the columns, and extract complete cases of y, x, fixed effects, clusters
 * and weights. `extraCols` (numeric or text, e.g. the unit and time columns of a placebo) must be
 * present and non-missing too: a row missing one of them is not a complete case.
 */
export function prepareRegression(input: Table, spec: RegressionSpec, extraCols: string[] = []): PreparedRegression {
  const table = applyFilters(input, spec.where, spec.exclude);
  const filteredOut = input.nrows - table.nrows;
  const numericNeeded = [spec.y, ...spec.x, ...(spec.weights ? [spec.weights] : [])];
  const all = [...numericNeeded, ...spec.fe, ...spec.cluster, ...extraCols];
  const absent = [...new Set(all.filter((c) => !hasCol(table, c)))];
  if (absent.length > 0)
    throw new StepError(`column${absent.length > 1 ? 's' : ''} ${absent.map((c) => `"${c}"`).join(', ')} not found in the input table; columns are: ${table.names.join(', ')}`);
  const dup = spec.x.filter((c, i) => spec.x.indexOf(c) !== i || c === spec.y);
  if (dup.length > 0) throw new StepError(`column "${dup[0]}" is listed twice among y/treat/controls`);
  for (const c of numericNeeded) {
    if (!isNumeric(table.columns[c]!)) throw new StepError(`column "${c}" ${notNumericWhy(table.columns[c]!)}; y, treat, controls and weights must be numeric (convert it in a clean step)`);
  }
  if (table.nrows === 0) throw new StepError(`no rows left after where/exclude filters`);
  const n0 = table.nrows;
  let ok: Uint8Array | null = null;
  const drop = (i: number): void => {
    (ok ??= new Uint8Array(n0).fill(1))[i] = 0;
  };
  for (const c of numericNeeded) {
    const col = table.columns[c] as Float64Array;
    for (let i = nextNaN(col, 0); i >= 0; i = nextNaN(col, i + 1)) drop(i);
  }
  if (spec.weights) {
    const col = table.columns[spec.weights] as Float64Array;
    for (let i = 0; i < n0; i++) {
      const v = col[i]!;
      if (v < 0) throw new StepError(`weights column "${spec.weights}" has a negative value (${v}) at row ${i + 1}; weights must be >= 0`);
      if (v === 0) drop(i);
    }
  }
  // one factor per column (a column both absorbed and clustered on is coded once, and stays one
  // object: feols then knows the fixed effect is nested in the cluster without a pass)
  const factors = new Map<string, Factor>();
  const factorOf = (c: string): Factor => {
    let f = factors.get(c);
    if (!f) factors.set(c, (f = factorize(table.columns[c]!)));
    return f;
  };
  const feFull = spec.fe.map(factorOf);
  const clFull = spec.cluster.map(factorOf);
  for (const f of factors.values()) for (let i = nextMissingCode(f.codes, 0); i >= 0; i = nextMissingCode(f.codes, i + 1)) drop(i);
  for (const c of extraCols) {
    const col = table.columns[c]!;
    for (let i = 0; i < n0; i++) if (isNumeric(col) ? Number.isNaN(col[i]!) : col[i] === null) drop(i);
  }
  const base = { table, missing: 0, filteredOut };
  if (!ok) {
    // every row complete: the table's own columns and factors (codes in order of appearance on
    // all rows, as a recode on the complete cases would give), no copies
    let rows: Int32Array | null = null;
    return {
      ...base,
      get rows(): Int32Array {
        if (!rows) {
          rows = new Int32Array(n0);
          for (let i = 0; i < n0; i++) rows[i] = i;
        }
        return rows;
      },
      y: table.columns[spec.y] as Float64Array,
      X: spec.x.map((c) => table.columns[c] as Float64Array),
      fe: feFull,
      clusters: clFull,
      weights: spec.weights ? (table.columns[spec.weights] as Float64Array) : null,
    };
  }
  let m = 0;
  for (let i = 0; i < n0; i++) m += ok[i]!;
  if (m === 0) throw new StepError(`every row has a missing value in one of ${[...new Set(all)].join(', ')}`);
  const rows = new Int32Array(m);
  for (let i = 0, j = 0; i < n0; i++) if (ok[i]) rows[j++] = i;
  const pick = (c: string): Float64Array => {
    const col = table.columns[c] as Float64Array;
    const out = new Float64Array(m);
    for (let j = 0; j < m; j++) out[j] = col[rows[j]!]!;
    return out;
  };
  const refactored = new Map<Factor, Factor>();
  const refactor = (f: Factor): Factor => {
    let r = refactored.get(f);
    if (!r) refactored.set(f, (r = subsetFactor(f, rows)));
    return r;
  };
  return {
    ...base,
    rows,
    y: pick(spec.y),
    X: spec.x.map(pick),
    fe: feFull.map(refactor),
    clusters: clFull.map(refactor),
    weights: spec.weights ? pick(spec.weights) : null,
    missing: n0 - m,
  };
}

/**
 * The first index ≥ from where x is NaN, or −1. A complete column is ruled out by the native
 * `includes` (SameValueZero finds NaN), which costs no JavaScript loop in a cold worker.
 */
function nextNaN(x: Float64Array, from: number): number {
  if (from === 0 && !x.includes(NaN)) return -1;
  for (let i = from; i < x.length; i++) if (Number.isNaN(x[i]!)) return i;
  return -1;
}

/** The first index ≥ from with a missing code (−1), or −1 (a complete factor: native `includes`). */
function nextMissingCode(codes: Int32Array, from: number): number {
  if (from === 0 && !codes.includes(-1)) return -1;
  for (let i = from; i < codes.length; i++) if (codes[i]! < 0) return i;
  return -1;
}

/** Run feols on prepared data; numerical errors become StepErrors naming the step. */
export function fitRegression(prep: PreparedRegression, spec: RegressionSpec): FeolsResult {
  try {
    return feols({
      y: prep.y,
      yName: spec.y,
      X: prep.X,
      xNames: spec.x,
      fe: prep.fe,
      feNames: spec.fe,
      clusters: prep.clusters,
      clusterNames: spec.cluster,
      weights: prep.weights,
      vcov: spec.vcov,
      level: spec.level,
      keepSingletons: spec.keep_singletons,
    });
  } catch (e) {
    if (e instanceof StepError) throw e;
    throw new StepError(`${(e as Error).message}`);
  }
}

/** The model JSON of DESIGN.md's contract from a fit. */
export function modelJson(fit: FeolsResult, spec: RegressionSpec, prep: PreparedRegression): ModelArtifact {
  const G = Object.values(fit.clusters);
  return {
    y: spec.y,
    n: fit.n,
    clusters: G.length > 0 ? Math.min(...G) : null,
    cluster_counts: fit.clusters,
    r2: fit.r2,
    r2_within: fit.r2_within,
    fixed_effects: spec.fe,
    vcov: { type: spec.vcov, by: spec.cluster.length > 0 && spec.vcov === 'cluster' ? spec.cluster : null, df: fit.dfT, k: fit.dofK, nested_fe: fit.nested },
    coefficients: fit.coefficients,
    // collinear_why only when something was dropped (models without drops keep their bytes)
    dropped: { singletons: fit.singletons, collinear: fit.collinear, ...(fit.collinear.length > 0 ? { collinear_why: { ...fit.collinearWhy } } : {}), missing: prep.missing, filtered: prep.filteredOut },
    nobs_by_fe: fit.nobsByFe,
    level: spec.level,
    weights: spec.weights ?? null,
    where: spec.where ?? null,
    exclude: spec.exclude ?? null,
  } satisfies ModelArtifact;
}

/** Report singletons and collinear drops through the context. */
export function reportDrops(ctx: StepContext, fit: FeolsResult): void {
  if (fit.singletons > 0) ctx.info(`dropped ${fit.singletons} singleton observation(s)`);
  if (fit.collinear.length > 0) ctx.warn(`dropped collinear regressor(s): ${fit.collinear.map((t) => `${t} (${fit.collinearWhy[t] ?? 'collinear'})`).join(', ')}`);
}

/** Param of estimate: publish a model whose treatment was dropped as collinear (default: an error). */
export const allowDroppedTreatmentParam = z
  .boolean()
  .default(false)
  .describe('allow the treatment (or a `test` term) to be dropped as collinear with the fixed effects / constant; default false: the step fails naming why');

/**
 * Fail when one of `needed` (the treatment, terms a table asks for) was dropped as collinear,
 * naming why (constant, which fixed effect absorbed it, or the regressors before it).
 */
export function checkNeededTerms(fit: FeolsResult, needed: string[], what: string): void {
  const lost = needed.filter((t) => fit.collinear.includes(t));
  if (lost.length === 0) return;
  const why = lost.map((t) => `"${t}" is ${fit.collinearWhy[t] ?? 'collinear'}`).join('; ');
  throw new StepError(
    `the ${what} ${lost.length > 1 ? 'were' : 'was'} dropped as collinear: ${why}. Its coefficient would be missing from every table; ` +
      `check the treatment column and the fixed effects (a treatment constant within a fixed effect's levels is absorbed by it), or set allow_dropped_treatment: true to publish the model without it`,
  );
}
