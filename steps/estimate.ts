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
import { defineStep, StepError, type Artifact } from '../engine/types.js';
import { CONTRACT } from './common/contracts.js';
import { asList, estimateParams, fitRegression, modelJson, prepareRegression, regressionSpecOf, reportDrops } from './common/regression.js';

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
    const spec = regressionSpecOf(params, treat);
    const prep = prepareRegression(art.table, spec);
    const fit = fitRegression(prep, spec);
    reportDrops(ctx, fit);
    return { model: { type: 'json', value: modelJson(fit, spec, prep) } };
  },
});
