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
import { defineStep, StepError, type Artifact } from '../engine/types.js';
import { hasCol } from '../engine/table.js';
import type { VcovType } from '../stats/vcov.js';
import { CONTRACT } from './common/contracts.js';
import { allowDroppedTreatmentParam, asList, checkNeededTerms, fitRegression, modelJson, outcomeParam, prepareRegression, regressionParams, regressionSpecOf, reportDrops } from './common/regression.js';
import { wildClusterParam, wildClusterInference } from './common/wild-cluster.js';

const strOrList = z.union([z.string(), z.array(z.string())]);

export const estimateParams = z.strictObject({
  y: outcomeParam,
  treat: strOrList.describe('regressor(s) of interest (numeric), listed first in outputs'),
  ...regressionParams,
  vcov: z.union([regressionParams.vcov.unwrap(), wildClusterParam]).optional().describe('variance estimator: cluster (CR1, default when cluster is set), iid (default otherwise), hc1, or {type: wild-cluster, ...} (CR1 SEs on `by` plus wild cluster bootstrap p-values and CIs, stats/wild-bootstrap.ts)'),
  test: z.array(z.string()).optional().describe('with vcov wild-cluster: further terms (besides the treatment) that get a bootstrap p-value and CI'),
  allow_dropped_treatment: allowDroppedTreatmentParam,
});
export type EstimateParams = z.infer<typeof estimateParams>;

export default defineStep({
  kind: 'estimate',
  doc: 'Linear regression of y on treat and controls with absorbed fixed effects (alternating projections), iid/HC1/one- or two-way clustered (CR1) inference; outputs the model JSON.',
  params: estimateParams,
  inputs: { panel: { type: 'table', doc: 'the estimation data' } },
  outputs: { model: { type: 'json', contract: CONTRACT.model } },
  cpu: true,
  async run(ctx, inputs, params): Promise<Record<string, Artifact>> {
    const art = inputs.panel;
    if (!art || Array.isArray(art) || art.type !== 'table') throw new StepError(`input "panel" must be one table`);
    const treat = asList(params.treat);
    if (treat.length === 0) throw new StepError(`params.treat must name at least one column`);
    const wild = typeof params.vcov === 'object' ? params.vcov : null;
    if (wild && params.cluster !== undefined && (asList(params.cluster).length !== 1 || asList(params.cluster)[0] !== wild.by))
      throw new StepError(`params.vcov.by ("${wild.by}") and params.cluster (${JSON.stringify(params.cluster)}) differ; the wild cluster bootstrap clusters by vcov.by: drop params.cluster or make it equal`);
    if (wild && !hasCol(art.table, wild.by)) throw new StepError(`params.vcov.by names column "${wild.by}", which is not in the input table; set it to the cluster column (columns are: ${art.table.names.join(', ')})`);
    if (!wild && params.test) throw new StepError(`params.test needs vcov: {type: wild-cluster, ...}; remove params.test or set the vcov`);
    const spec = regressionSpecOf({ ...params, cluster: wild ? wild.by : params.cluster, vcov: wild ? 'cluster' : (params.vcov as VcovType | undefined) }, treat);
    const prep = prepareRegression(art.table, spec);
    const fit = fitRegression(prep, spec);
    reportDrops(ctx, fit);
    if (!params.allow_dropped_treatment) {
      checkNeededTerms(fit, treat, treat.length > 1 ? 'treatment terms' : 'treatment');
      if (params.test) checkNeededTerms(fit, params.test, 'params.test terms');
    }
    const model = modelJson(fit, spec, prep);
    if (wild) wildClusterInference(ctx, model, fit, wild, [...treat, ...(params.test ?? [])], spec.level);
    return { model: { type: 'json', value: model } };
  },
});
