/**
 * `bacon`: Goodman-Bacon (2021) decomposition of the TWFE DID coefficient of `y` on the treatment
 * (unit and time fixed effects) into its 2×2 comparisons (stats/bacon.ts), as R
 * `bacondecomp::bacon(y ~ treat, data, id_var, time_var)`.
 *
 * @example
 * bacon:
 *   kind: bacon
 *   in: panel.panel
 *   with: {y: so2, unit: city_code, time: year, adopt: adopt}     # or treat: did
 *
 * Outputs: `pairs` (table: type ∈ {earlier_vs_later, later_vs_earlier, treated_vs_never}, treated
 * cohort, control cohort (empty = never treated), estimate, weight) and `summary` (JSON: weight,
 * weighted mean and number of pairs per type, the TWFE coefficient, and Σ w·β as a check).
 * The panel must be balanced (an error says which unit is not).
 */
import { z } from 'zod';
import { defineStep, StepError, type Artifact } from '../engine/types.js';
import { makeTable } from '../engine/table.js';
import { baconDecomposition, UnbalancedPanelError } from '../stats/bacon.js';
import { didParams, prepareDid } from './common/did-input.js';

export const baconParams = z
  .strictObject({ ...didParams })
  .refine((p) => p.adopt !== undefined || p.treat !== undefined, { message: 'give adopt (first treated period) or treat (0/1 column)' });

export default defineStep({
  kind: 'bacon',
  doc: 'Goodman-Bacon decomposition of the TWFE DID into 2×2 comparisons (earlier vs later, later vs earlier, treated vs never) with their weights; balanced panels.',
  params: baconParams,
  inputs: { panel: { type: 'table', doc: 'a balanced panel' } },
  outputs: { pairs: 'table', summary: 'json' },
  async run(ctx, inputs, params): Promise<Record<string, Artifact>> {
    const who = `bacon (${ctx.nodeId})`;
    const art = inputs.panel;
    if (!art || Array.isArray(art) || art.type !== 'table') throw new StepError(`${who}: input "panel" must be one table`);
    const d = prepareDid(who, art.table, params);
    let r;
    try {
      r = baconDecomposition({ y: d.y, unit: d.unit, panel: d.panel, unitLabel: d.unitLabel });
    } catch (e) {
      if (e instanceof UnbalancedPanelError) throw new StepError(`${who}: ${e.message}`);
      throw new StepError(`${who}: ${(e as Error).message}`);
    }
    const pairs = makeTable({
      type: r.pairs.map((p) => p.type),
      treated: Float64Array.from(r.pairs, (p) => p.treated),
      control: Float64Array.from(r.pairs, (p) => (p.control === null ? NaN : p.control)),
      estimate: Float64Array.from(r.pairs, (p) => p.estimate),
      weight: Float64Array.from(r.pairs, (p) => p.weight),
    });
    const summary = {
      y: params.y,
      n: d.y.length,
      units: r.nUnits,
      periods: r.nPeriods,
      twfe: r.twfe,
      weighted_sum: r.pairs.reduce((s, p) => s + p.weight * p.estimate, 0),
      types: r.summary,
      cohorts: d.panel.cohorts,
      never_treated: d.panel.nNever,
      dropped: { missing: d.missing, filtered: d.filtered },
    };
    return { pairs: { type: 'table', table: pairs }, summary: { type: 'json', value: summary } };
  },
});
