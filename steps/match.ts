/**
 * `match`: propensity-score nearest-neighbour matching (MatchIt `method = "nearest"`; psmatch2 with
 * a caliper in raw score units). Fits a logit or probit of `treat` on `covariates`, matches each
 * treated row to its `ratio` nearest controls (greedy, in `order`, optionally within `caliper`,
 * with or without replacement, pooled or within each value of `by`), and returns:
 *
 * - `sample`: the matched rows (treated units with a match and the controls they use), all input
 *   columns plus `_weight` (MatchIt's ATT weights: treated 1; a control the sum of 1/k over the
 *   treated units it serves, rescaled to sum to the number of distinct matched controls), `_ps`
 *   (propensity score) and `_matched` (number of pairs the row is in). Feed it to `estimate`
 *   (optionally with `weights: _weight`) for PSM-DID.
 * - `pairs`: one row per (treated, control) pair: ids, input row numbers, scores, gap, round, `by`.
 * - `balance`: per covariate (the score first, as `_ps`): means treated/control before and after,
 *   standardised mean differences and variance ratios before and after (stats/balance.ts).
 *
 * Rows with a missing treatment, covariate or `by` value are dropped with a warning.
 *
 * @example
 * psm:                       # the paper's Table 4 col. 1: logit, 1:1, caliper 0.05 on the score, pooled
 *   kind: match
 *   in: panel
 *   with: {treat: did, covariates: [pgdp, indus, urb, fin, fis], caliper: 0.05, caliper_scale: ps, order: data, id: city}
 *   # psmatch2 matches WITH replacement unless told `noreplacement`: add `replace: true` to mimic its
 *   # default (Stata's own tie-breaking among equal scores depends on the sort order and is not replicated)
 * psm_did:
 *   kind: estimate
 *   in: psm.sample
 *   with: {y: so2, treat: did, controls: [pgdp, indus, urb, fin, fis], fe: [city, year], cluster: city}
 */
import { CONTRACT } from './common/contracts.js';
import { z } from 'zod';
import { defineStep, StepError, type Artifact } from '../engine/types.js';
import { type Column, hasCol, isNumeric, makeTable, takeRows, withColumn, strCol, notNumericWhy } from '../engine/table.js';
import { applyFilters, whereSchema, excludeSchema } from './common/filter.js';
import { fitBinary, GlmError } from '../stats/glm.js';
import { nearestNeighbor, matchWithin, attWeights, sampleSd, type NearestResult } from '../stats/match.js';
import { balanceTable } from '../stats/balance.js';

export const matchParams = z.strictObject({
  treat: z.string().min(1).describe('treatment indicator column: 1 = treated, 0 = control (numeric)'),
  covariates: z.array(z.string().min(1)).min(1).describe('numeric columns of the propensity-score model (an intercept is added)'),
  model: z.enum(['logit', 'probit']).default('logit').describe('propensity-score model; default logit'),
  ratio: z.number().int().min(1).max(100).default(1).describe('controls per treated unit (1..100); default 1'),
  caliper: z.number().positive().optional().describe('largest allowed gap between matched scores (see caliper_scale); default none'),
  caliper_scale: z
    .enum(['ps', 'sd'])
    .default('ps')
    .describe('units of caliper: ps = raw units of the distance (psmatch2); sd = standard deviations of the distance over all rows used (MatchIt std.caliper); default ps'),
  distance: z
    .enum(['ps', 'logit'])
    .default('ps')
    .describe('what is matched on: ps = the propensity score, logit = its linear predictor (MatchIt link = "linear.logit"); default ps'),
  replace: z.boolean().default(false).describe('match with replacement (a control may serve several treated units); default false'),
  order: z
    .enum(['data', 'largest', 'smallest', 'random'])
    .default('largest')
    .describe('order in which treated units choose: data order, largest or smallest score first (MatchIt default: largest), or random (seeded); ignored with replace'),
  by: z.string().min(1).optional().describe('match only within each value of this column (e.g. year); default pooled'),
  id: z.string().min(1).optional().describe('row key column reported in pairs (e.g. city); default: the input row number'),
  where: whereSchema.optional(),
  exclude: excludeSchema.optional(),
});
export type MatchParams = z.infer<typeof matchParams>;

const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toPrecision(4));

export default defineStep<MatchParams>({
  kind: 'match',
  doc: 'Propensity-score nearest-neighbour matching (logit/probit score; ratio, caliper, replacement, order, by-group) with MatchIt weights, a pairs table and a balance table.',
  params: matchParams,
  inputs: { panel: { type: 'table', doc: 'rows to match (e.g. the city-year panel)' } },
  outputs: { sample: 'table', pairs: 'table', balance: { type: 'table', contract: CONTRACT.matchBalance } },
  cpu: true,
  async run(ctx, inputs, p) {
    const a = inputs.panel;
    if (!a || Array.isArray(a) || a.type !== 'table') throw new StepError(`input "panel" must be one table`);
    // keep the input row number (1-based) through the filter
    const ROW = '\u0000row';
    const numbered = withColumn(a.table, ROW, Float64Array.from({ length: a.table.nrows }, (_, i) => i + 1));
    const filtered = applyFilters(numbered, p.where, p.exclude);

    const need = (col: string, param: string, numeric: boolean) => {
      if (!hasCol(filtered, col)) throw new StepError(`params.${param}: column "${col}" does not exist; columns are: ${a.table.names.join(', ')}`);
      if (numeric && !isNumeric(filtered.columns[col]!)) throw new StepError(`params.${param}: column "${col}" ${notNumericWhy(filtered.columns[col]!)}; a numeric column is required (convert it in a clean step)`);
    };
    need(p.treat, 'treat', true);
    p.covariates.forEach((c) => need(c, 'covariates', true));
    if (p.by) need(p.by, 'by', false);
    if (p.id) need(p.id, 'id', false);
    if (p.covariates.includes(p.treat)) throw new StepError(`params.covariates includes the treatment "${p.treat}"; remove it`);

    // drop incomplete rows (missing treat, covariate or by), with a warning
    const treatAll = filtered.columns[p.treat] as Float64Array;
    const byAll = p.by ? strCol(filtered, p.by) : null;
    const keep: number[] = [];
    let firstBad = '';
    for (let i = 0; i < filtered.nrows; i++) {
      const t = treatAll[i]!;
      if (!Number.isNaN(t) && t !== 0 && t !== 1) {
        throw new StepError(`params.treat: column "${p.treat}" must be 0 or 1; input row ${(filtered.columns[ROW] as Float64Array)[i]} has ${t}`);
      }
      let bad = Number.isNaN(t) ? p.treat : '';
      if (!bad) for (const c of p.covariates) if (!Number.isFinite((filtered.columns[c] as Float64Array)[i]!)) { bad = c; break; }
      if (!bad && byAll && byAll[i] === null) bad = p.by!;
      if (bad) {
        if (!firstBad) firstBad = `input row ${(filtered.columns[ROW] as Float64Array)[i]}, column "${bad}"`;
        continue;
      }
      keep.push(i);
    }
    if (keep.length < filtered.nrows) ctx.warn(`dropped ${filtered.nrows - keep.length} row(s) with a missing treatment, covariate or by value (first: ${firstBad})`);
    const data = takeRows(filtered, keep);
    const n = data.nrows;
    const treat = data.columns[p.treat] as Float64Array;
    let n1 = 0;
    for (const t of treat) n1 += t;
    if (n1 === 0 || n1 === n) throw new StepError(`params.treat: "${p.treat}" is ${n1 === 0 ? 'never 1' : 'always 1'} in the ${n} usable rows; matching needs treated and control rows`);

    if (!p.replace && !p.by && n - n1 < p.ratio * n1) {
      ctx.warn(`${n - n1} control row(s) for ${n1} treated with ratio ${p.ratio} and no replacement: not every treated row can get ${p.ratio} control(s)`);
    }
    // propensity score
    ctx.progress(0, 1, 'propensity score');
    let fit;
    try {
      fit = fitBinary({ y: treat, X: p.covariates.map((c) => data.columns[c] as Float64Array), names: p.covariates, link: p.model, who: `${p.model} of ${p.treat}` });
    } catch (e) {
      if (e instanceof GlmError) throw new StepError(`${e.message} (params.covariates)`);
      throw e;
    }
    const ps = fit.fitted;
    const dist = p.distance === 'logit' ? fit.linear : ps;
    const caliper = p.caliper === undefined ? undefined : p.caliper_scale === 'sd' ? p.caliper * sampleSd(dist) : p.caliper;

    // matching
    const progress = (d: number, t: number) => ctx.progress(d, t, 'matching');
    const opts = { ratio: p.ratio, replace: p.replace, order: p.order, caliper, progress };
    let m: NearestResult;
    const groups = byAll ? (strCol(data, p.by!) as string[]) : null;
    if (groups) {
      m = matchWithin(treat, dist, groups, {
        ...opts,
        permutationFor: (g, k) => ctx.rng(`order:${g}`).shuffle(Array.from({ length: k }, (_, i) => i)),
      });
    } else {
      m = nearestNeighbor(treat, dist, {
        ...opts,
        permutation: p.order === 'random' ? ctx.rng('order').shuffle(Array.from({ length: n1 }, (_, i) => i)) : undefined,
      });
    }
    const w = attWeights(n, m);
    const nPairs = new Float64Array(n);
    let matchedT = 0;
    for (let t = 0; t < m.treated.length; t++) {
      let any = false;
      for (let r = 0; r < m.ratio; r++) {
        const c = m.matches[t * m.ratio + r]!;
        if (c < 0) continue;
        any = true;
        nPairs[c]!++;
        nPairs[m.treated[t]!]!++;
      }
      if (any) matchedT++;
    }
    if (matchedT === 0) {
      throw new StepError(`no treated row found a control${caliper !== undefined ? ` within the caliper (${fmt(caliper)} in ${p.distance} units); widen params.caliper` : ''}`);
    }

    // sample: matched rows in input order, all columns + _weight, _ps, _matched
    const inSample: number[] = [];
    for (let i = 0; i < n; i++) if (w[i]! > 0) inSample.push(i);
    const outNames = a.table.names.filter((c) => c !== '_weight' && c !== '_ps' && c !== '_matched');
    if (outNames.length < a.table.names.length) ctx.warn(`the input already has _weight/_ps/_matched columns; they are replaced`);
    const base = takeRows(data, inSample);
    const sampleCols: Record<string, Column> = {};
    for (const c of outNames) sampleCols[c] = base.columns[c]!;
    sampleCols._weight = Float64Array.from(inSample, (i) => w[i]!);
    sampleCols._ps = Float64Array.from(inSample, (i) => ps[i]!);
    sampleCols._matched = Float64Array.from(inSample, (i) => nPairs[i]!);
    const sample = makeTable(sampleCols, [...outNames, '_weight', '_ps', '_matched']);

    // pairs
    const rowNo = data.columns[ROW] as Float64Array;
    const idCol: Column | null = p.id ? data.columns[p.id]! : null;
    const tI: number[] = [], cI: number[] = [], rounds: number[] = [];
    for (let r = 0; r < m.ratio; r++) {
      for (let t = 0; t < m.treated.length; t++) {
        const c = m.matches[t * m.ratio + r]!;
        if (c < 0) continue;
        tI.push(m.treated[t]!);
        cI.push(c);
        rounds.push(r + 1);
      }
    }
    // order pairs by treated row, then round
    const ordP = tI.map((_, k) => k).sort((x, y) => tI[x]! - tI[y]! || rounds[x]! - rounds[y]!);
    const pick = (col: Column, idx: number[]): Column =>
      isNumeric(col) ? Float64Array.from(ordP, (k) => col[idx[k]!]!) : ordP.map((k) => col[idx[k]!] ?? null);
    const pairCols: Record<string, Column> = {};
    const pairNames: string[] = [];
    const add = (name: string, col: Column) => { pairCols[name] = col; pairNames.push(name); };
    if (idCol) {
      add('treated', pick(idCol, tI));
      add('control', pick(idCol, cI));
    }
    add('treated_row', pick(rowNo, tI));
    add('control_row', pick(rowNo, cI));
    add('ps_treated', pick(ps, tI));
    add('ps_control', pick(ps, cI));
    add('distance', Float64Array.from(ordP, (k) => Math.abs(dist[tI[k]!]! - dist[cI[k]!]!)));
    add('round', Float64Array.from(ordP, (k) => rounds[k]!));
    if (p.by) add(p.by, pick(data.columns[p.by]!, tI));
    const pairs = makeTable(pairCols, pairNames);

    // balance
    const rows = balanceTable(
      [{ name: '_ps', values: ps }, ...p.covariates.map((c) => ({ name: c, values: data.columns[c] as Float64Array }))],
      treat,
      w,
    );
    const balCols: Record<string, Column> = { covariate: rows.map((r) => r.covariate) };
    const balNames = ['covariate', 'mean_treated', 'mean_control', 'mean_treated_matched', 'mean_control_matched', 'smd_before', 'smd_after', 'var_ratio_before', 'var_ratio_after'] as const;
    for (const k of balNames.slice(1)) balCols[k] = Float64Array.from(rows, (r) => r[k as Exclude<typeof k, 'covariate'>]);
    const balance = makeTable(balCols, [...balNames]);

    let nC = 0, n0 = 0;
    for (let i = 0; i < n; i++) if (treat[i] === 0) { n0++; if (w[i]! > 0) nC++; }
    const maxSmd = Math.max(...rows.slice(1).map((r) => Math.abs(r.smd_after)));
    ctx.info(
      `${p.model} score on ${p.covariates.length} covariate(s), ${n} rows; matched ${matchedT} of ${n1} treated ` +
        `(${n1 - matchedT} unmatched) to ${nC} distinct control(s) of ${n0}` +
        (caliper !== undefined ? `; caliper ${fmt(caliper)} (${p.distance} units)` : '') +
        `; max |SMD| after matching ${Number.isFinite(maxSmd) ? maxSmd.toFixed(3) : 'n/a'}`,
    );
    const out: Record<string, Artifact> = {
      sample: { type: 'table', table: sample },
      pairs: { type: 'table', table: pairs },
      balance: { type: 'table', table: balance },
    };
    return out;
  },
});


