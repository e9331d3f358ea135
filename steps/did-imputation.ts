/**
 * `did-imputation`: Borusyak, Jaravel & Spiess (2024) imputation estimator, as R
 * `didimputation::did_imputation` (stats/did-imputation.ts): unit and time fixed effects (+ controls)
 * fitted on the untreated observations, Y(0) imputed for the treated ones, averaged by horizon and
 * overall, with BJS's conservative clustered standard errors.
 *
 * @example
 * imputation:
 *   kind: did-imputation
 *   in: panel.panel
 *   with: {y: so2, unit: city_code, time: year, adopt: adopt, horizons: true, pretrends: 5}
 *
 * `horizons`: true (every observed horizon ≥ 0, default) or a list such as [0, 1, 2];
 * `pretrends`: k = the pre-periods −k..−1 (didimputation `pretrends = -k:-1`), true = all observed
 * pre-periods, false / 0 = none (default). Outputs: `event` (the event-study contract of DESIGN.md;
 * there is no omitted base period — pre-period coefficients are relative to the untreated periods
 * before −k — so `base` is null; `vcov.matrix` covers pre-periods and horizons) and `att` (model
 * contract, `term: ATT`: the mean over all treated observations). Intervals and p-values use the
 * normal distribution (as didimputation's ±1.96); the pre-trend F test uses F(q, G − 1).
 */
import { CONTRACT } from './common/contracts.js';
import { z } from 'zod';
import { defineStep, StepError, type Artifact } from '../engine/types.js';
import { didImputation } from '../stats/did-imputation.js';
import { tPValue, tQuantile } from '../stats/dist.js';
import { waldF } from '../stats/eventstudy.js';
import { didParams, prepareDid } from './common/staggered-input.js';

export const didImputationParams = z.strictObject({
  ...didParams,
  controls: z.array(z.string()).default([]).describe('time-varying control columns (numeric) in the first stage'),
  horizons: z.union([z.literal(true), z.array(z.number().int().min(0)).min(1)]).default(true).describe('horizons (periods since adoption, ≥ 0) to estimate, or true = all observed'),
  pretrends: z.union([z.boolean(), z.number().int().min(0)]).default(false).describe('pre-trend coefficients: k = periods −k..−1, true = all observed pre-periods, false/0 = none'),
  level: z.number().gt(0).lt(1).default(0.95).describe('confidence level of the intervals'),
});
export type DidImputationParams = z.infer<typeof didImputationParams>;

export default defineStep({
  kind: 'did-imputation',
  doc: 'Borusyak–Jaravel–Spiess imputation DID: unit and time effects fitted on untreated observations, treated outcomes imputed; event study by horizon and overall ATT with conservative clustered SEs.',
  params: didImputationParams,
  inputs: { panel: { type: 'table', doc: 'the panel' } },
  outputs: { event: { type: 'json', contract: CONTRACT.eventStudy }, att: { type: 'json', contract: CONTRACT.model } },
  cpu: true,
  async run(ctx, inputs, params): Promise<Record<string, Artifact>> {
    const art = inputs.panel;
    if (!art || Array.isArray(art) || art.type !== 'table') throw new StepError(`input "panel" must be one table`);
    if (!params.adopt) throw new StepError(`params.adopt is required (the first treated period of each unit; 0 or empty = never treated)`);
    const d = prepareDid(art.table, params, { controls: params.controls });
    const rels = new Set<number>();
    for (let i = 0; i < d.y.length; i++) if (d.panel.D[i] === 0 && !Number.isNaN(d.panel.rel[i]!)) rels.add(d.panel.rel[i]!);
    const obsPre = [...rels].filter((r) => r < 0).sort((a, b) => a - b);
    let pretrends: number[] = [];
    if (params.pretrends === true) pretrends = obsPre;
    else if (typeof params.pretrends === 'number' && params.pretrends > 0) {
      const k = params.pretrends;
      pretrends = Array.from({ length: k }, (_, j) => j - k);
      const missing = pretrends.filter((p) => !rels.has(p));
      if (missing.length)
        throw new StepError(`params.pretrends = ${params.pretrends} asks for pre-period(s) ${missing.join(', ')}, which no treated unit has (observed pre-periods: ${obsPre[0] ?? 'none'}..-1); lower pretrends`);
    }
    let r;
    try {
      r = didImputation({ y: d.y, X: d.X, xNames: params.controls, unit: d.unit, cluster: d.cluster, panel: d.panel, horizons: params.horizons === true ? 'all' : params.horizons, pretrends });
    } catch (e) {
      const msg = (e as Error).message.replace(/^did-imputation: /, '');
      throw new StepError(`${/horizon/.test(msg) ? 'params.horizons: ' : /pre-period/.test(msg) ? 'params.pretrends: ' : ''}${msg}`);
    }
    if (r.notImputable > 0) ctx.warn(`${r.notImputable} treated observation(s) have no untreated observation of their unit or period and cannot be imputed; they are left out`);
    if (r.collinear.length) ctx.warn(`control(s) collinear with the fixed effects among untreated observations, dropped: ${r.collinear.join(', ')}`);
    const z = tQuantile(0.5 + params.level / 2, Infinity);
    const row = (est: number, se: number) => {
      const t = est / se;
      return { estimate: est, se, t, p: tPValue(t, Infinity), ci_low: est - z * se, ci_high: est + z * se };
    };
    const P = r.periods.length;
    const matrix = Array.from({ length: P }, (_, i) => Array.from(r.V.subarray(i * P, (i + 1) * P)));
    const preIdx = r.periods.map((p, i) => (p.kind === 'pre' ? i : -1)).filter((i) => i >= 0);
    const Vpre = new Float64Array(preIdx.length * preIdx.length);
    preIdx.forEach((a, i) => preIdx.forEach((b, j) => (Vpre[i * preIdx.length + j] = r.V[a * P + b]!)));
    const pretrend = preIdx.length && r.preDf ? { ...waldF(preIdx.map((i) => r.periods[i]!.estimate), Vpre, r.preDf), periods: preIdx.map((i) => r.periods[i]!.period) } : null;
    const clusterName = params.cluster ?? params.unit;
    const vcov = { type: 'cluster', by: [clusterName], estimator: 'BJS conservative (didimputation)' };
    const common = {
      y: params.y,
      n: r.nTreated + r.nUntreated,
      n_treated: r.nTreated,
      n_untreated: r.nUntreated,
      clusters: r.clusters,
      fixed_effects: [params.unit, params.time],
      estimator: 'did-imputation',
      first_stage_controls: params.controls.map((c, j) => ({ term: c, estimate: r.gamma[j] })),
      dropped: { missing: d.missing, filtered: d.filtered, not_imputable: r.notImputable, collinear: r.collinear },
    };
    const event = {
      ...common,
      base: null,
      periods: r.periods.map((p) => ({ period: p.period, ...row(p.estimate, p.se), n: p.n, base: false })),
      vcov: { ...vcov, periods: r.periods.map((p) => p.period), matrix },
      pretrend,
    };
    const att = { ...common, vcov, coefficients: [{ term: 'ATT', ...row(r.att.estimate, r.att.se) }], level: params.level };
    return { event: { type: 'json', value: event }, att: { type: 'json', value: att } };
  },
});
