/**
 * The `vcov: {type: wild-cluster, ...}` option of `estimate`: its params schema and the call into
 * stats/wild-bootstrap.ts that adds bootstrap p-values and test-inversion CIs to a model JSON.
 * Self-contained so that the regression code can move (steps/common/regression.ts) without touching it.
 *
 * @example
 * wild:
 *   extends: baseline
 *   with: {vcov: {type: wild-cluster, by: province, weights: webb, reps: 9999}, test: [pgdp]}
 *
 * The model keeps the CR1 standard errors (clustered by `by`); each tested term (the treatment(s)
 * and `test`) gets p, ci_low, ci_high from the bootstrap (the analytic ones move to p_cr1,
 * ci_low_cr1, ci_high_cr1) and `bootstrap: true`; `vcov` becomes
 * {type: wild-cluster, by, bootstrap: {reps, weights, enumerated, impose_null}}.
 */
import { z } from 'zod';
import { StepError, type StepContext } from '../../engine/types.js';
import type { FeolsResult } from '../../stats/ols.js';
import { enumerationSize, wildBasis, wildClusterBootstrap, type WildResult, type WildWeights } from '../../stats/wild-bootstrap.js';

/** Largest number of enumerated draws allowed by `enumerate: true`. */
export const MAX_ENUMERATION = 2 ** 20;

export const wildClusterParam = z.strictObject({
  type: z.literal('wild-cluster'),
  by: z.string().min(1).describe('cluster column of the bootstrap (and of the CR1 standard errors)'),
  weights: z.enum(['rademacher', 'webb', 'mammen', 'norm']).default('rademacher').describe('bootstrap weights per cluster (default rademacher; webb for fewer than ~12 clusters)'),
  reps: z.number().int().default(9999).describe('bootstrap draws (99 to 1,048,576; default 9999). Rademacher with 2^G ≤ reps (Webb: 6^G) enumerates all draws instead: exact, seed-free'),
  impose_null: z.boolean().default(true).describe('true: WCR (restricted residuals, recommended); false: WCU'),
  enumerate: z.boolean().optional().describe('force (true) or forbid (false) full enumeration; default: enumerate when 2^G (Webb 6^G) ≤ reps'),
});
export type WildClusterParam = z.infer<typeof wildClusterParam>;

/** Results of the bootstrap per tested term, and what was run (reps actually drawn or enumerated). */
export interface WildRun {
  results: Map<string, WildResult>;
  bootstrap: { reps: number; weights: WildWeights; enumerated: boolean; impose_null: boolean };
}

/**
 * Check the options and run the wild cluster bootstrap for each of `terms` (regressors of `fit`,
 * which must be clustered by `wild.by` alone). The orthonormal basis of the design is computed once
 * and shared by the terms; each term draws from its own stream `wild:<term>`.
 * `param` names the parameter listing the terms in errors (params.test).
 */
export function runWildCluster(ctx: StepContext, fit: FeolsResult, wild: WildClusterParam, terms: string[], level: number, param = 'params.test'): WildRun {
  if (wild.reps < 99) throw new StepError(`params.vcov.reps is ${wild.reps}; the wild bootstrap needs at least 99 draws (use 999 or 9999)`);
  if (wild.reps > MAX_ENUMERATION) throw new StepError(`params.vcov.reps is ${wild.reps}; at most ${MAX_ENUMERATION} draws are supported (each draw keeps five numbers per tested term; 9999 is plenty for p-values and CIs)`);
  const inn = fit.internals;
  if (inn.weights) throw new StepError(`params.vcov wild-cluster does not support regression weights; drop params.weights or use vcov: cluster`);
  const cl = inn.clusters[0]!;
  const G = cl.nlevels;
  if (G < 6) ctx.warn(`params.vcov.by "${wild.by}" has only ${G} clusters; the wild cluster bootstrap is unreliable with fewer than 6 clusters (Webb weights help from about 6 on; consider a coarser inference or report it as such)`);
  let reps = wild.reps;
  const auto = enumerationSize(wild.weights, G, reps);
  if (wild.enumerate === true && auto === null) {
    if (wild.weights === 'mammen' || wild.weights === 'norm') throw new StepError(`params.vcov.enumerate is true but ${wild.weights} weights are continuous or asymmetric and cannot be enumerated; use weights rademacher or webb`);
    const size = wild.weights === 'webb' ? 6 ** G : 2 ** G;
    if (size > MAX_ENUMERATION)
      throw new StepError(`params.vcov.enumerate is true but ${wild.weights} enumeration of ${G} clusters needs ${wild.weights === 'webb' ? '6' : '2'}^${G} = ${size.toExponential(2)} draws (more than ${MAX_ENUMERATION}); drop params.vcov.enumerate (random draws) or use weights rademacher`);
    reps = size;
  }
  const uniq = [...new Set(terms)];
  for (const term of uniq) {
    if (fit.terms.indexOf(term) < 0) {
      const known = fit.collinear.includes(term) ? ' (it was dropped as collinear)' : '';
      throw new StepError(`${param} names "${term}", which is not a regressor of the model${known}; regressors are: ${fit.terms.join(', ')}`);
    }
  }
  const results = new Map<string, WildResult>();
  let basis: Float64Array[] | undefined;
  let meta: { reps: number; enumerated: boolean } | null = null;
  for (const term of uniq) {
    const k = fit.terms.indexOf(term);
    let res;
    try {
      const prob = { yt: inn.yt, Xt: inn.Xt, k, fe: inn.fe, cluster: cl, dofK: fit.dofK };
      basis ??= wildBasis(prob);
      res = wildClusterBootstrap(
        { ...prob, basis },
        { reps, weights: wild.weights as WildWeights, imposeNull: wild.impose_null, level, rng: ctx.rng(`wild:${term}`), noEnumeration: wild.enumerate === false },
      );
    } catch (e) {
      throw new StepError(`wild cluster bootstrap of "${term}": ${(e as Error).message}`);
    }
    results.set(term, res);
    meta = { reps: res.reps, enumerated: res.enumerated };
  }
  return { results, bootstrap: { reps: meta?.reps ?? reps, weights: wild.weights as WildWeights, enumerated: meta?.enumerated ?? false, impose_null: wild.impose_null } };
}

/** Run the bootstrap for `terms` and rewrite the model JSON in place (see the module comment). */
export function wildClusterInference(ctx: StepContext, model: Record<string, unknown>, fit: FeolsResult, wild: WildClusterParam, terms: string[], level: number): void {
  const run = runWildCluster(ctx, fit, wild, terms, level);
  const coefs = model.coefficients as Record<string, unknown>[];
  for (const [term, res] of run.results) {
    const c = coefs.find((x) => x.term === term)!;
    Object.assign(c, { p_cr1: c.p, ci_low_cr1: c.ci_low, ci_high_cr1: c.ci_high, p: res.p, ci_low: res.ci_low, ci_high: res.ci_high, bootstrap: true });
  }
  model.vcov = { ...(model.vcov as object), type: 'wild-cluster', by: [wild.by], bootstrap: run.bootstrap };
}
