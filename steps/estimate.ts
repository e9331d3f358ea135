/**
 * `estimate`: a linear regression with absorbed fixed effects and clustered inference (reghdfe /
 * fixest `feols`), producing the `model` JSON of DESIGN.md.
 *
 * @example
 * baseline:
 *   kind: estimate
 *   in: panel
 *   with: {y: so2, treat: did, controls: [pgdp, indus], fe: [city, year], cluster: city}
 *
 * Rows with a missing outcome, regressor, fixed effect, cluster or weight are dropped (counted in
 * `dropped.missing`); singletons are dropped iteratively unless `keep_singletons: true`; collinear
 * regressors are dropped in the order given, with a warning. See stats/ols.ts for R², `_cons` and
 * the parameter count K of the CR1 factor (fixed effects nested in a cluster variable not counted).
 */
import { z } from 'zod';
import { defineStep, StepError, type StepContext, type Artifact } from '../engine/types.js';
import { type Table, hasCol, isNumeric } from '../engine/table.js';
import { applyFilters, whereSchema, excludeSchema, type Where, type Exclude } from './common/filter.js';
import { factorize, type Factor } from '../stats/fe.js';
import { feols, type FeolsResult } from '../stats/ols.js';
import type { VcovType } from '../stats/vcov.js';
import { wildClusterParam, wildClusterInference } from './common/wild-cluster.js';

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

export const estimateParams = z.strictObject({
  y: outcomeParam,
  treat: strOrList.describe('regressor(s) of interest (numeric), listed first in outputs'),
  ...regressionParams,
  vcov: z.union([regressionParams.vcov.unwrap(), wildClusterParam]).optional().describe('variance estimator: cluster (CR1, default when cluster is set), iid (default otherwise), hc1, or {type: wild-cluster, ...} (CR1 SEs on `by` plus wild cluster bootstrap p-values and CIs, stats/wild-bootstrap.ts)'),
  test: z.array(z.string()).optional().describe('with vcov wild-cluster: further terms (besides the treatment) that get a bootstrap p-value and CI'),
});
export type EstimateParams = z.infer<typeof estimateParams>;

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
export function regressionSpecOf(who: string, params: SharedRegressionParams, treat: string[]): RegressionSpec {
  const cluster = asList(params.cluster);
  return {
    y: params.y,
    x: [...treat, ...params.controls],
    fe: asList(params.fe),
    cluster,
    vcov: resolveVcov(who, cluster, params.vcov),
    weights: params.weights,
    where: params.where,
    exclude: params.exclude,
    keep_singletons: params.keep_singletons,
    level: params.level,
  };
}

/** Resolve the vcov default and check cluster/vcov consistency. */
export function resolveVcov(who: string, cluster: string[], vcov: VcovType | undefined): VcovType {
  const v = vcov ?? (cluster.length > 0 ? 'cluster' : 'iid');
  if (v === 'cluster' && cluster.length === 0) throw new StepError(`${who}: vcov is "cluster" but no cluster column is given; set params.cluster (e.g. cluster: city) or vcov: iid/hc1`);
  if (cluster.length > 2) throw new StepError(`${who}: at most two cluster columns are supported, got ${cluster.length}`);
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
 * and weights. Extra numeric columns `extraNum` are returned too (complete cases include them).
 */
export function prepareRegression(input: Table, spec: RegressionSpec, who: string, extraCols: string[] = []): PreparedRegression {
  const table = applyFilters(input, spec.where, spec.exclude, who);
  const filteredOut = input.nrows - table.nrows;
  const numericNeeded = [spec.y, ...spec.x, ...(spec.weights ? [spec.weights] : [])];
  const all = [...numericNeeded, ...spec.fe, ...spec.cluster, ...extraCols];
  const absent = [...new Set(all.filter((c) => !hasCol(table, c)))];
  if (absent.length > 0)
    throw new StepError(`${who}: column${absent.length > 1 ? 's' : ''} ${absent.map((c) => `"${c}"`).join(', ')} not found in the input table; columns are: ${table.names.join(', ')}`);
  const dup = spec.x.filter((c, i) => spec.x.indexOf(c) !== i || c === spec.y);
  if (dup.length > 0) throw new StepError(`${who}: column "${dup[0]}" is listed twice among y/treat/controls`);
  for (const c of numericNeeded) {
    if (!isNumeric(table.columns[c]!)) throw new StepError(`${who}: column "${c}" is text; y, treat, controls and weights must be numeric (convert it in a clean step)`);
  }
  if (table.nrows === 0) throw new StepError(`${who}: no rows left after where/exclude filters`);
  const n0 = table.nrows;
  const ok = new Uint8Array(n0).fill(1);
  for (const c of numericNeeded) {
    const col = table.columns[c] as Float64Array;
    for (let i = 0; i < n0; i++) if (Number.isNaN(col[i]!)) ok[i] = 0;
  }
  if (spec.weights) {
    const col = table.columns[spec.weights] as Float64Array;
    for (let i = 0; i < n0; i++) {
      const v = col[i]!;
      if (v < 0) throw new StepError(`${who}: weights column "${spec.weights}" has a negative value (${v}) at row ${i + 1}; weights must be >= 0`);
      if (v === 0) ok[i] = 0;
    }
  }
  const feFull = spec.fe.map((c) => factorize(table.columns[c]!));
  const clFull = spec.cluster.map((c) => factorize(table.columns[c]!));
  for (const f of [...feFull, ...clFull]) for (let i = 0; i < n0; i++) if (f.codes[i]! < 0) ok[i] = 0;
  for (const c of extraCols) {
    const col = table.columns[c]!;
    for (let i = 0; i < n0; i++) if (isNumeric(col) ? Number.isNaN(col[i]!) : col[i] === null) ok[i] = 0;
  }
  let m = 0;
  for (let i = 0; i < n0; i++) m += ok[i]!;
  if (m === 0) throw new StepError(`${who}: every row has a missing value in one of ${[...new Set(all)].join(', ')}`);
  const rows = new Int32Array(m);
  for (let i = 0, j = 0; i < n0; i++) if (ok[i]) rows[j++] = i;
  const pick = (c: string): Float64Array => {
    const col = table.columns[c] as Float64Array;
    const out = new Float64Array(m);
    for (let j = 0; j < m; j++) out[j] = col[rows[j]!]!;
    return out;
  };
  const refactor = (f: Factor): Factor => {
    // dense recode on the complete-case rows
    const remap = new Int32Array(f.nlevels).fill(-1);
    const codes = new Int32Array(m);
    let nl = 0;
    for (let j = 0; j < m; j++) {
      const c = f.codes[rows[j]!]!;
      let r = remap[c]!;
      if (r < 0) remap[c] = r = nl++;
      codes[j] = r;
    }
    return { codes, nlevels: nl };
  };
  return {
    table,
    rows,
    y: pick(spec.y),
    X: spec.x.map(pick),
    fe: feFull.map(refactor),
    clusters: clFull.map(refactor),
    weights: spec.weights ? pick(spec.weights) : null,
    missing: n0 - m,
    filteredOut,
  };
}

/** Run feols on prepared data; numerical errors become StepErrors naming the step. */
export function fitRegression(prep: PreparedRegression, spec: RegressionSpec, who: string): FeolsResult {
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
    throw new StepError(`${who}: ${(e as Error).message}`);
  }
}

/** The model JSON of DESIGN.md's contract from a fit. */
export function modelJson(fit: FeolsResult, spec: RegressionSpec, prep: PreparedRegression): Record<string, unknown> {
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
    dropped: { singletons: fit.singletons, collinear: fit.collinear, missing: prep.missing, filtered: prep.filteredOut },
    nobs_by_fe: fit.nobsByFe,
    level: spec.level,
    weights: spec.weights ?? null,
    where: spec.where ?? null,
    exclude: spec.exclude ?? null,
  };
}

/** Report singletons and collinear drops through the context. */
export function reportDrops(ctx: StepContext, fit: FeolsResult, who: string): void {
  if (fit.singletons > 0) ctx.info(`${who}: dropped ${fit.singletons} singleton observation(s)`);
  if (fit.collinear.length > 0) ctx.warn(`${who}: dropped collinear regressor(s): ${fit.collinear.join(', ')}`);
}

export default defineStep({
  kind: 'estimate',
  doc: 'Linear regression of y on treat and controls with absorbed fixed effects (alternating projections), iid/HC1/one- or two-way clustered (CR1) inference; outputs the model JSON.',
  params: estimateParams,
  inputs: { panel: { type: 'table', doc: 'the estimation data' } },
  outputs: { model: 'json' },
  async run(ctx, inputs, params): Promise<Record<string, Artifact>> {
    const who = `estimate (${ctx.nodeId})`;
    const art = inputs.panel;
    if (!art || Array.isArray(art) || art.type !== 'table') throw new StepError(`${who}: input "panel" must be one table`);
    const treat = asList(params.treat);
    if (treat.length === 0) throw new StepError(`${who}: params.treat must name at least one column`);
    const wild = typeof params.vcov === 'object' ? params.vcov : null;
    if (wild && params.cluster !== undefined && (asList(params.cluster).length !== 1 || asList(params.cluster)[0] !== wild.by))
      throw new StepError(`${who}: params.vcov.by ("${wild.by}") and params.cluster (${JSON.stringify(params.cluster)}) differ; the wild cluster bootstrap clusters by vcov.by: drop params.cluster or make it equal`);
    if (wild && !hasCol(art.table, wild.by)) throw new StepError(`${who}: params.vcov.by names column "${wild.by}", which is not in the input table; set it to the cluster column (columns are: ${art.table.names.join(', ')})`);
    if (!wild && params.test) throw new StepError(`${who}: params.test needs vcov: {type: wild-cluster, ...}; remove params.test or set the vcov`);
    const spec = regressionSpecOf(who, { ...params, cluster: wild ? wild.by : params.cluster, vcov: wild ? 'cluster' : (params.vcov as VcovType | undefined) }, treat);
    const prep = prepareRegression(art.table, spec, who);
    const fit = fitRegression(prep, spec, who);
    reportDrops(ctx, fit, who);
    const model = modelJson(fit, spec, prep);
    if (wild) wildClusterInference(ctx, who, model, fit, wild, [...treat, ...(params.test ?? [])], spec.level);
    return { model: { type: 'json', value: model } };
  },
});
