/**
 * `sunab`: Sun & Abraham (2021) interaction-weighted event study, as fixest
 * `feols(y ~ sunab(adopt, time) + controls | unit + time, cluster = ~unit)` (stats/sunab.ts).
 *
 * @example
 * sunab:
 *   kind: sunab
 *   in: panel.panel
 *   with: {y: so2, unit: city_code, time: year, adopt: adopt, controls: [pgdp], cluster: city_code}
 *
 * Controls are the never-treated units; without any, the last-treated cohort (the sample is then
 * restricted to the periods before it adopts). Outputs: `event` (the event-study contract of
 * DESIGN.md: cohort-share-weighted periods with the full covariance `vcov.matrix`, the reference
 * period(s) with estimate 0 and `base: true`, the joint Wald F test of the pre-periods, and the
 * cohort × period cells in `cells`) and `att` (the model contract with one coefficient,
 * `term: ATT`, fixest `summary(fit, agg = "ATT")`).
 */
import { CONTRACT } from './common/contracts.js';
import { z } from 'zod';
import { defineStep, StepError, type Artifact } from '../engine/types.js';
import { factorize } from '../stats/fe.js';
import { isNumeric } from '../engine/table.js';
import { sunabFit } from '../stats/sunab.js';
import { tPValue, tQuantile } from '../stats/dist.js';
import { waldF } from '../stats/eventstudy.js';
import { didParams, prepareDid } from './common/staggered-input.js';

export const sunabParams = z.strictObject({
  ...didParams,
  controls: z.array(z.string()).default([]).describe('control columns (numeric)'),
  fe: z.array(z.string()).optional().describe('fixed-effect columns (default [unit, time])'),
  ref_period: z.union([z.number().int(), z.array(z.number().int()).min(1)]).default(-1).describe('omitted relative period(s) (default −1)'),
  vcov: z.enum(['cluster', 'iid', 'hc1']).default('cluster').describe('variance: cluster (CR1 by `cluster`, default), iid or hc1'),
  level: z.number().gt(0).lt(1).default(0.95).describe('confidence level of the intervals'),
});
export type SunabParams = z.infer<typeof sunabParams>;

export default defineStep({
  kind: 'sunab',
  doc: 'Sun–Abraham event study (fixest sunab): cohort × relative-period interactions with fixed effects, aggregated by cohort shares; outputs the event study and the overall ATT.',
  params: sunabParams,
  inputs: { panel: { type: 'table', doc: 'the panel' } },
  outputs: { event: { type: 'json', contract: CONTRACT.eventStudy }, att: { type: 'json', contract: CONTRACT.model } },
  cpu: true,
  async run(ctx, inputs, params): Promise<Record<string, Artifact>> {
    const art = inputs.panel;
    if (!art || Array.isArray(art) || art.type !== 'table') throw new StepError(`input "panel" must be one table`);
    if (!params.adopt) throw new StepError(`params.adopt is required (the first treated period of each unit; 0 or empty = never treated)`);
    const feCols = params.fe ?? [params.unit, params.time];
    const d = prepareDid(art.table, params, { controls: params.controls });
    for (const c of feCols) if (!(c in d.table.columns)) throw new StepError(`params.fe: column "${c}" not found; columns are: ${d.table.names.join(', ')}`);
    const fe = feCols.map((c) => {
      const col = d.table.columns[c]!;
      const f = factorize(isNumeric(col) ? Float64Array.from(d.rows, (r) => col[r]!) : Array.from(d.rows, (r) => col[r] ?? null));
      for (const code of f.codes) if (code < 0) throw new StepError(`fixed-effect column "${c}" has missing values; drop those rows with where/exclude`);
      return f;
    });
    const refs = Array.isArray(params.ref_period) ? params.ref_period : [params.ref_period];
    const clusterName = params.cluster ?? params.unit;
    let r;
    try {
      r = sunabFit({
        y: d.y,
        yName: params.y,
        X: d.X,
        xNames: params.controls,
        fe,
        feNames: feCols,
        clusters: params.vcov === 'cluster' ? [d.cluster] : [],
        clusterNames: params.vcov === 'cluster' ? [clusterName] : [],
        vcov: params.vcov,
        panel: d.panel,
        refPeriods: refs,
        level: params.level,
      });
    } catch (e) {
      throw new StepError(`${(e as Error).message}`);
    }
    const fit = r.fit;
    if (r.droppedCells.length) ctx.warn(`dropped ${r.droppedCells.length} collinear cohort × period cell(s): ${r.droppedCells.map((c) => `${c.cohort}:${c.period}`).join(', ')}`);
    if (r.control !== 'never') ctx.info(`no never-treated unit; cohort ${r.control} is the control and the sample stops before ${r.control}`);
    const df = fit.dfT;
    const q = tQuantile(0.5 + params.level / 2, df);
    const row = (est: number, se: number) => {
      const t = est / se;
      return { estimate: est, se, t, p: tPValue(t, df), ci_low: est - q * se, ci_high: est + q * se };
    };
    const periods = [
      ...r.periods.map((p) => ({ period: p.period, ...row(p.estimate, p.se), base: false })),
      ...refs.filter((p) => !r.periods.some((x) => x.period === p)).map((p) => ({ period: p, estimate: 0, se: 0, t: null, p: null, ci_low: 0, ci_high: 0, base: true })),
    ].sort((a, b) => a.period - b.period);
    const P = r.periods.length;
    const matrix = Array.from({ length: P }, (_, i) => Array.from(r.V.subarray(i * P, (i + 1) * P)));
    const preIdx = r.periods.map((p, i) => (p.period < 0 ? i : -1)).filter((i) => i >= 0);
    const Vpre = new Float64Array(preIdx.length * preIdx.length);
    preIdx.forEach((a, i) => preIdx.forEach((b, j) => (Vpre[i * preIdx.length + j] = r.V[a * P + b]!)));
    const pretrend = preIdx.length ? { ...waldF(preIdx.map((i) => r.periods[i]!.estimate), Vpre, df), periods: preIdx.map((i) => r.periods[i]!.period) } : null;
    const G = Object.values(fit.clusters);
    const vcov = { type: params.vcov, by: params.vcov === 'cluster' ? [clusterName] : null, df, k: fit.dofK };
    const common = {
      y: params.y,
      n: fit.n,
      clusters: G.length ? Math.min(...G) : null,
      cluster_counts: fit.clusters,
      fixed_effects: feCols,
      r2: fit.r2,
      r2_within: fit.r2_within,
      estimator: 'sunab',
      control: r.control,
      dropped: { missing: d.missing, filtered: d.filtered, after_control_cohort: d.y.length - r.rows.length, collinear: fit.collinear },
    };
    const event = {
      ...common,
      base: refs[0],
      ref_periods: refs,
      periods,
      vcov: { ...vcov, periods: r.periods.map((p) => p.period), matrix },
      pretrend,
      cells: r.cells,
      controls: fit.coefficients.filter((c) => params.controls.includes(c.term)),
    };
    const att = {
      ...common,
      vcov,
      coefficients: [{ term: 'ATT', ...row(r.att.estimate, r.att.se) }, ...fit.coefficients.filter((c) => params.controls.includes(c.term))],
      level: params.level,
    };
    return { event: { type: 'json', value: event }, att: { type: 'json', value: att } };
  },
});
