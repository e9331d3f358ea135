/**
 * `event-study`: dynamic DiD with one coefficient per period relative to adoption, never-treated
 * units as controls, the base period normalised to 0, and a joint Wald F test of the pre-periods.
 *
 * @example
 * event:
 *   kind: event-study
 *   in: panel
 *   with: {y: so2, unit: city, time: year, adopt: pilot_year, base: -1, window: [-5, 4],
 *          controls: [pgdp], cluster: city}
 *
 * The regression is y on the period dummies (stats/eventstudy.ts) and the controls, with fixed
 * effects `fe` (default [unit, time]) absorbed as in `estimate`, clustered by `cluster` (default:
 * the unit column). Output: the event-study JSON of DESIGN.md.
 */
import { z } from 'zod';
import { defineStep, StepError, type Artifact } from '../engine/types.js';
import { isNumeric, withColumn } from '../engine/table.js';
import { eventDummies, periodTerm, waldF } from '../stats/eventstudy.js';
import { tQuantile } from '../stats/dist.js';
import { asList, fitRegression, prepareRegression, outcomeParam, regressionParams, reportDrops, resolveVcov, type RegressionSpec } from './common/regression.js';
import { applyFilters } from './common/filter.js';
import { unitCohorts } from './common/cohorts.js';
import { CONTRACT, type EventStudyArtifact } from './common/contracts.js';

export const eventStudyParams = z
  .strictObject({
    y: outcomeParam,
    unit: z.string().min(1).describe('unit column (e.g. city)'),
    time: z.string().min(1).describe('time column (numeric, e.g. year)'),
    adopt: z.string().optional().describe('adoption-time column (constant within unit); 0 or empty = never treated. Give adopt or event_time'),
    event_time: z.string().optional().describe('precomputed relative-period column (integers; empty = never treated), instead of adopt'),
    base: z.number().int().default(-1).describe('omitted reference period (default −1; the paper uses −10)'),
    window: z
      .tuple([z.number().int(), z.number().int()])
      .optional()
      .describe('[lo, hi] relative periods estimated (default: all observed periods)'),
    bin_endpoints: z.boolean().default(true).describe('count periods beyond the window as its endpoints (default true); false drops those treated observations'),
    ...regressionParams,
    fe: z.union([z.string(), z.array(z.string())]).optional().describe('fixed-effect columns (default [unit, time])'),
    cluster: regressionParams.cluster.describe('cluster column(s) (default: the unit column)'),
  })
  .refine((p) => (p.adopt === undefined) !== (p.event_time === undefined), { message: 'give exactly one of adopt or event_time' });
export type EventStudyParams = z.infer<typeof eventStudyParams>;

export default defineStep({
  kind: 'event-study',
  doc: 'Event-study regression: one coefficient per period relative to adoption (base period = 0), never-treated units as controls, fixed effects absorbed, clustered SEs, joint pre-trend F test.',
  params: eventStudyParams,
  inputs: { panel: { type: 'table', doc: 'the panel' } },
  outputs: { event: { type: 'json', contract: CONTRACT.eventStudy } },
  cpu: true,
  async run(ctx, inputs, params): Promise<Record<string, Artifact>> {
    const art = inputs.panel;
    if (!art || Array.isArray(art) || art.type !== 'table') throw new StepError(`input "panel" must be one table`);
    let table = applyFilters(art.table, params.where, params.exclude);
    const relCol = params.event_time ?? params.adopt!;
    const n0 = table.nrows;
    let rel: Float64Array;
    let timeC: Float64Array;
    if (params.adopt !== undefined) {
      // one adoption time per unit (checked), relative time = time − adoption, NaN for never treated
      const c = unitCohorts(table, { unit: params.unit, time: params.time, adopt: params.adopt });
      rel = c.rel;
      timeC = c.time;
    } else {
      for (const c of [params.time, relCol, params.unit]) {
        if (!(c in table.columns)) throw new StepError(`column "${c}" not found in the input table; columns are: ${table.names.join(', ')}`);
      }
      for (const c of [params.time, relCol]) if (!isNumeric(table.columns[c]!)) throw new StepError(`column "${c}" must be numeric`);
      timeC = table.columns[params.time] as Float64Array;
      rel = Float64Array.from(table.columns[relCol] as Float64Array);
    }
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < n0; i++) {
      const r = rel[i]!;
      if (Number.isNaN(r) || Number.isNaN(timeC[i]!)) continue;
      if (r < lo) lo = r;
      if (r > hi) hi = r;
    }
    if (!Number.isFinite(lo)) throw new StepError(`no treated observation (every "${relCol}" is empty or 0)`);
    if (params.window) [lo, hi] = params.window;
    if (params.base < lo || params.base > hi) throw new StepError(`base period ${params.base} is outside the window [${lo}, ${hi}]; change params.base or params.window`);
    let dummies;
    try {
      dummies = eventDummies(rel, { lo, hi, base: params.base, bin: params.bin_endpoints });
    } catch (e) {
      throw new StepError(`column "${relCol}": ${(e as Error).message}`);
    }
    const terms = dummies.periods.map(periodTerm);
    for (const t of terms) if (t in table.columns) throw new StepError(`the input already has a column "${t}"; rename it`);
    dummies.cols.forEach((c, j) => (table = withColumn(table, terms[j]!, c)));
    let dropWindow = 0;
    if (!params.bin_endpoints) {
      const keep = dummies.keep;
      for (let i = 0; i < n0; i++) if (!keep[i]) dropWindow++;
      if (dropWindow > 0) {
        const idx: number[] = [];
        for (let i = 0; i < n0; i++) if (keep[i]) idx.push(i);
        const { takeRows } = await import('../engine/table.js');
        table = takeRows(table, idx);
      }
    }
    const cluster = params.cluster === undefined ? [params.unit] : asList(params.cluster);
    const spec: RegressionSpec = {
      y: params.y,
      x: [...terms, ...params.controls],
      fe: params.fe === undefined ? [params.unit, params.time] : asList(params.fe),
      cluster,
      vcov: resolveVcov(cluster, params.vcov),
      weights: params.weights,
      keep_singletons: params.keep_singletons,
      level: params.level,
    };
    const prep = prepareRegression(table, spec);
    const fit = fitRegression(prep, spec);
    reportDrops(ctx, fit);
    const q = tQuantile(0.5 + params.level / 2, fit.dfT);
    const byTerm = new Map(fit.coefficients.map((c) => [c.term, c]));
    const all = [...dummies.periods, params.base].sort((a, b) => a - b);
    const periods = all.map((p) => {
      if (p === params.base) return { period: p, estimate: 0, se: 0, t: null, p: null, ci_low: 0, ci_high: 0, base: true };
      const c = byTerm.get(periodTerm(p));
      if (!c) return { period: p, estimate: null, se: null, t: null, p: null, ci_low: null, ci_high: null, base: false, dropped: true };
      return { period: p, estimate: c.estimate, se: c.se, t: c.t, p: c.p, ci_low: c.estimate - q * c.se, ci_high: c.estimate + q * c.se, base: false };
    });
    const pre = dummies.periods.filter((p) => p < 0 && byTerm.has(periodTerm(p)));
    const idx = pre.map((p) => fit.terms.indexOf(periodTerm(p)));
    const k = fit.terms.length;
    const Vpre = new Float64Array(idx.length * idx.length);
    idx.forEach((a, i) => idx.forEach((b, j) => (Vpre[i * idx.length + j] = fit.V[a * k + b]!)));
    const pretrend = { ...waldF(pre.map((p) => byTerm.get(periodTerm(p))!.estimate), Vpre, fit.dfT), periods: pre };
    const G = Object.values(fit.clusters);
    // DESIGN.md: vcov.matrix = covariance of the non-base period estimates, in vcov.periods order (joint tests, HonestDiD)
    const estPeriods = dummies.periods.filter((p) => byTerm.has(periodTerm(p))).sort((a, b) => a - b);
    const ix = estPeriods.map((p) => fit.terms.indexOf(periodTerm(p)));
    const matrix = ix.map((a) => ix.map((b) => fit.V[a * k + b]!));
    const value = {
      y: params.y,
      n: fit.n,
      clusters: G.length ? Math.min(...G) : null,
      cluster_counts: fit.clusters,
      base: params.base,
      estimator: 'twfe',
      window: [lo, hi],
      bin_endpoints: params.bin_endpoints,
      periods,
      pretrend,
      controls: fit.coefficients.filter((c) => params.controls.includes(c.term)),
      fixed_effects: spec.fe,
      vcov: { type: spec.vcov, by: spec.vcov === 'cluster' ? cluster : null, df: fit.dfT, k: fit.dofK, periods: estPeriods, matrix },
      r2: fit.r2,
      r2_within: fit.r2_within,
      dropped: { singletons: fit.singletons, collinear: fit.collinear, missing: prep.missing, outside_window: dropWindow, filtered: art.table.nrows - n0 },
    };
    return { event: { type: 'json', value: value satisfies EventStudyArtifact } };
  },
});
