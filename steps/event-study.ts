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
 *
 * With `vcov: {type: wild-cluster, by, weights, reps, impose_null}` the SEs stay CR1 (clustered by
 * `by`), and each estimated non-base period also gets the wild cluster bootstrap p-value `p_boot`
 * and the CI by test inversion `ci_boot_low`/`ci_boot_high` (WCR, or WCU with impose_null: false;
 * as fwildclusterboot's boottest on that coefficient; null for the base period). `vcov.type` is
 * `wild-cluster`, `vcov.matrix` stays the analytic CR1 covariance (`matrix_type: cluster`), and
 * `vcov.bootstrap` records {reps, weights, enumerated, impose_null}. Full enumeration as in estimate.
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
import { hasCol } from '../engine/table.js';
import type { VcovType } from '../stats/vcov.js';
import { runWildCluster, wildClusterParam, type WildRun } from './common/wild-cluster.js';

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
    vcov: z
      .union([regressionParams.vcov.unwrap(), wildClusterParam])
      .optional()
      .describe('variance estimator: cluster (CR1, default), iid, hc1, or {type: wild-cluster, by, weights, reps, impose_null} (CR1 SEs on `by` plus, per non-base period, the wild cluster bootstrap p-value p_boot and test-inversion CI ci_boot_low/ci_boot_high; stats/wild-bootstrap.ts)'),
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
    const wild = typeof params.vcov === 'object' ? params.vcov : null;
    if (wild && params.cluster !== undefined && (asList(params.cluster).length !== 1 || asList(params.cluster)[0] !== wild.by))
      throw new StepError(`params.vcov.by ("${wild.by}") and params.cluster (${JSON.stringify(params.cluster)}) differ; the wild cluster bootstrap clusters by vcov.by: drop params.cluster or make it equal`);
    if (wild && !hasCol(art.table, wild.by)) throw new StepError(`params.vcov.by names column "${wild.by}", which is not in the input table; set it to the cluster column (columns are: ${art.table.names.join(', ')})`);
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
    const cluster = wild ? [wild.by] : params.cluster === undefined ? [params.unit] : asList(params.cluster);
    const spec: RegressionSpec = {
      y: params.y,
      x: [...terms, ...params.controls],
      fe: params.fe === undefined ? [params.unit, params.time] : asList(params.fe),
      cluster,
      vcov: resolveVcov(cluster, wild ? 'cluster' : (params.vcov as VcovType | undefined)),
      weights: params.weights,
      keep_singletons: params.keep_singletons,
      level: params.level,
    };
    const prep = prepareRegression(table, spec);
    const fit = fitRegression(prep, spec);
    reportDrops(ctx, fit);
    const q = tQuantile(0.5 + params.level / 2, fit.dfT);
    const byTerm = new Map(fit.coefficients.map((c) => [c.term, c]));
    // wild cluster bootstrap: one p-value and test-inversion CI per estimated non-base period
    // (fwildclusterboot's boottest per coefficient); the design's basis is shared by the periods
    let boot: WildRun | null = null;
    if (wild) boot = runWildCluster(ctx, fit, wild, dummies.periods.map(periodTerm).filter((t) => byTerm.has(t)), params.level, 'the event-study period');
    const all = [...dummies.periods, params.base].sort((a, b) => a - b);
    const periods = all.map((p) => {
      const bootNull = boot ? { p_boot: null, ci_boot_low: null, ci_boot_high: null } : {};
      if (p === params.base) return { period: p, estimate: 0, se: 0, t: null, p: null, ci_low: 0, ci_high: 0, base: true, ...bootNull };
      const c = byTerm.get(periodTerm(p));
      if (!c) return { period: p, estimate: null, se: null, t: null, p: null, ci_low: null, ci_high: null, base: false, dropped: true, ...bootNull };
      const b = boot?.results.get(periodTerm(p));
      return {
        period: p, estimate: c.estimate, se: c.se, t: c.t, p: c.p, ci_low: c.estimate - q * c.se, ci_high: c.estimate + q * c.se, base: false,
        ...(b ? { p_boot: b.p, ci_boot_low: b.ci_low, ci_boot_high: b.ci_high } : {}),
      };
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
      // with the wild bootstrap: type wild-cluster, the analytic CR1 matrix kept (HonestDiD needs it)
      vcov: {
        type: boot ? 'wild-cluster' : spec.vcov, by: spec.vcov === 'cluster' ? cluster : null, df: fit.dfT, k: fit.dofK, periods: estPeriods, matrix,
        ...(boot ? { matrix_type: 'cluster', bootstrap: boot.bootstrap } : {}),
      },
      r2: fit.r2,
      r2_within: fit.r2_within,
      dropped: { singletons: fit.singletons, collinear: fit.collinear, missing: prep.missing, outside_window: dropWindow, filtered: art.table.nrows - n0 },
    };
    return { event: { type: 'json', value: value satisfies EventStudyArtifact } };
  },
});
