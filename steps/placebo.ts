/**
 * `placebo`: randomization inference for a DiD coefficient. The observed regression is the
 * `estimate` model; then `reps` placebo treatments are drawn (`permute`: the unit-level adoption
 * times shuffled across units; `random`: as many treated units drawn afresh with random adoption
 * times — see stats/placebo.ts), each re-estimated by the Frisch–Waugh–Lovell fast path with the
 * same fixed effects, controls and standard errors. Replicates are split into fixed chunks of 50
 * that `ctx.map` spreads over the run's worker pool (within the `--jobs` budget), each replicate
 * with its own random stream ctx.rngKey(i), so the output is identical for any thread count.
 *
 * Outputs: `replicates` (rep, estimate, se, p) and `summary` (observed estimate/se/p, randomization
 * p = share of valid replicates with |placebo| ≥ |observed|, quantiles, mean, sd).
 *
 * @example
 * placebo:
 *   kind: placebo
 *   in: panel
 *   with: {y: so2, treat: did, controls: [pgdp], fe: [city, year], cluster: city,
 *          unit: city, time: year, adopt: pilot_year, reps: 1000, mode: permute}
 */
import { z } from 'zod';
import { defineStep, StepError, type Artifact, type StepContext } from '../engine/types.js';
import { hasCol, isNumeric, makeTable } from '../engine/table.js';
import { quantile7 } from '../stats/quantile.js';
import { replicates, solverOf, type PlaceboProblem, type ReplicateResults } from '../stats/placebo.js';
import { unitCohorts } from './common/cohorts.js';
import { CONTRACT, type PlaceboSummary } from './common/contracts.js';
import { fitRegression, prepareRegression, outcomeParam, regressionParams, regressionSpecOf, reportDrops } from './common/regression.js';

export const placeboParams = z.strictObject({
  y: outcomeParam,
  treat: z.string().min(1).describe('the observed treatment column (numeric 0/1), e.g. did'),
  ...regressionParams,
  unit: z.string().min(1).describe('unit (e.g. city) column: adoption times are permuted across its values'),
  time: z.string().min(1).describe('time (e.g. year) column, numeric'),
  adopt: z.string().min(1).describe('adoption-time column, constant within unit; 0 or empty = never treated'),
  reps: z.number().int().min(1).max(1_000_000).default(1000).describe('number of placebo replicates (default 1000; 1..1e6)'),
  mode: z.enum(['permute', 'random']).default('permute').describe('permute: shuffle adoption times across units; random: draw treated units and adoption times afresh'),
  seed: z.number().int().optional().describe('extra seed mixed into the per-replicate streams (default: none; streams keyed by pipeline seed, node id, replicate)'),
});
export type PlaceboParams = z.infer<typeof placeboParams>;

const QUANTILES = [0.01, 0.025, 0.05, 0.1, 0.5, 0.9, 0.95, 0.975, 0.99];

/** Replicates per ctx.map chunk: fixed, so the split (and the output) never depends on --jobs. */
const CHUNK = 50;

export default defineStep({
  kind: 'placebo',
  doc: 'Randomization-inference placebo for a DiD coefficient: permuted or random adoption times, FWL re-estimation per replicate in worker threads; outputs the replicates table and a summary.',
  params: placeboParams,
  pathParams: [],
  inputs: { panel: { type: 'table', doc: 'the estimation data (with unit, time and adoption columns)' } },
  outputs: { replicates: { type: 'table', contract: CONTRACT.placeboReplicates }, summary: { type: 'json', contract: CONTRACT.placebo } },
  cpu: true,
  tasks: { replicates },
  tasksModule: 'stats/placebo.ts', // pool workers that only run chunks import this, not the step
  async run(ctx, inputs, params): Promise<Record<string, Artifact>> {
    const art = inputs.panel;
    if (!art || Array.isArray(art) || art.type !== 'table') throw new StepError(`input "panel" must be one table`);
    const spec = regressionSpecOf(params, [params.treat]);
    // adopt is not a required column: missing (like 0) means never treated, so those units stay in
    if (!hasCol(art.table, params.adopt))
      throw new StepError(`adoption column "${params.adopt}" not found in the input table; columns are: ${art.table.names.join(', ')}`);
    const prep = prepareRegression(art.table, spec, [params.unit, params.time]);
    const fit = fitRegression(prep, spec);
    reportDrops(ctx, fit);
    if (fit.terms[0] !== params.treat) throw new StepError(`the treatment "${params.treat}" is collinear with the fixed effects or controls; nothing to test`);

    // estimation-sample rows (into prep.table), their units and the units' adoption times
    const rows = Int32Array.from(fit.internals.rows, (r) => prep.rows[r]!);
    const n = rows.length;
    const cohorts = unitCohorts(prep.table, { unit: params.unit, time: params.time, adopt: params.adopt }, rows);
    const { unit, time } = cohorts;
    const adopt = cohorts.adopt;
    const nTreated = cohorts.treated;
    if (nTreated === 0) throw new StepError(`no unit has an adoption time > 0 in "${params.adopt}"; nothing to permute`);
    const times = Float64Array.from([...new Set(Array.from(time))].sort((a, b) => a - b).slice(1));

    const keptControls = fit.terms.slice(1);
    const problem: PlaceboProblem = {
      yt: fit.internals.yt,
      Ct: keptControls.map((c) => fit.internals.Xt[spec.x.indexOf(c)]!),
      fe: fit.internals.fe,
      weights: fit.internals.weights,
      clusters: fit.internals.clusters,
      vcov: spec.vcov,
      dofK: fit.dofK,
      dfT: fit.dfT,
      unit,
      time,
      adopt,
      mode: params.mode,
      times,
    };
    // observed, through the same code path as the replicates (checks the fast path too)
    const treatCol = prep.table.columns[params.treat] as Float64Array;
    const D = Float64Array.from(rows, (r) => treatCol[r]!);
    const solver = solverOf(problem); // the solver the chunks run here reuse
    const [obsEst, obsSe, obsP] = solver.fitTreatment(D);
    // the pool's threads get its precomputation with the problem instead of redoing it
    problem.state = solver.state();

    const reps = params.reps;
    const keys = Array.from({ length: reps }, (_, i) => ctx.rngKey(params.seed === undefined ? i : `${params.seed}:${i}`));
    const chunks: string[][] = [];
    for (let s0 = 0; s0 < reps; s0 += CHUNK) chunks.push(keys.slice(s0, s0 + CHUNK));
    ctx.progress(0, reps, 'placebo replicates');
    const parts = await ctx.map<string[], ReplicateResults>('replicates', chunks, problem, { progress: 'placebo replicate chunks' });
    const res: ReplicateResults = { estimate: new Float64Array(reps), se: new Float64Array(reps), p: new Float64Array(reps) };
    parts.forEach((r, c) => {
      res.estimate.set(r.estimate, c * CHUNK);
      res.se.set(r.se, c * CHUNK);
      res.p.set(r.p, c * CHUNK);
    });
    ctx.progress(reps, reps, 'placebo replicates');

    const finite: number[] = [];
    let extreme = 0;
    for (let r = 0; r < reps; r++) {
      const b = res.estimate[r]!;
      if (Number.isNaN(b)) continue;
      finite.push(b);
      if (Math.abs(b) >= Math.abs(obsEst)) extreme++;
    }
    const valid = finite.length;
    if (valid < reps) ctx.warn(`${reps - valid} of ${reps} placebo draws were degenerate (treatment absorbed by the fixed effects) and are excluded`);
    const sorted = Float64Array.from(finite).sort();
    const mean = valid ? finite.reduce((a, b) => a + b, 0) / valid : NaN;
    const sd = valid > 1 ? Math.sqrt(finite.reduce((a, b) => a + (b - mean) * (b - mean), 0) / (valid - 1)) : NaN;
    const quantiles: Record<string, number> = {};
    for (const q of QUANTILES) quantiles[String(q)] = quantile7(sorted, q);
    const summary = {
      y: params.y,
      treat: params.treat,
      mode: params.mode,
      reps,
      valid,
      n,
      clusters: Object.values(fit.clusters).length ? Math.min(...Object.values(fit.clusters)) : null,
      vcov: { type: spec.vcov, by: spec.vcov === 'cluster' ? spec.cluster : null, df: fit.dfT },
      observed: { estimate: obsEst, se: obsSe, p: obsP },
      randomization_p: valid ? extreme / valid : NaN,
      extreme,
      mean,
      sd,
      quantiles,
      treated_units: nTreated,
      units: adopt.length,
    };
    const replicates = makeTable({
      rep: Float64Array.from({ length: reps }, (_, i) => i + 1),
      estimate: res.estimate,
      se: res.se,
      p: res.p,
    });
    return { replicates: { type: 'table', table: replicates }, summary: { type: 'json', value: summary satisfies PlaceboSummary } };
  },
});
